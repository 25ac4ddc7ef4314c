// CoDeGraph's image graph and its communities (../shared/docs/codegraph.md, Reconstruction
// steps 3-4): suspicious-link counts -> kept edges -> Leiden with the Constant Potts Model
// (igraph 0.10) -> communities accepted by size and internal density.
#pragma once

typedef struct {
    int i, j;    // i < j
    int weight;  // links i -> j plus links j -> i
} GraphEdge;

typedef struct {
    int size;
    int *members;      // ascending image indices
    int internal;      // kept edges inside
    double density;    // internal / (size choose 2); 0 for singletons
    int accepted;      // min_size <= size <= max_size and density >= gamma
} Community;

typedef struct {
    double gamma;      // CPM resolution (also the density threshold)
    double beta;       // Leiden randomness
    int n_iterations;  // Leiden iterations (negative: until stable)
    unsigned long seed;
    int min_size;      // smallest accepted community
    int max_size;      // largest accepted community (0: no limit)
} GraphConfig;

// Edges with weight links[i*n+j] + links[j*n+i] >= links_min (i < j, row-major order).
// Returns the count; *edges is malloc'd (NULL when none).
int graph_edges(GraphEdge **edges, const int *links, int n, int links_min);
// Leiden/CPM on the unweighted graph of the edges: membership[n] (cluster ids 0..k-1, numbered
// by first member), returns k. Deterministic for a given seed.
int graph_leiden_cpm(int *membership, int n, const GraphEdge *edges, int n_edges, const GraphConfig *c);
// Communities of a membership with their statistics, ordered by first member; returns the count.
int graph_communities(Community **out, const int *membership, int n, const GraphEdge *edges, int n_edges,
                      const GraphConfig *c);
void graph_communities_free(Community *c, int count);
