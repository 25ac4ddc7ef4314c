// Image graph + Leiden/CPM through igraph 0.10 (see graph.h).
#include "graph.h"

#include <igraph.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int graph_edges(GraphEdge **edges, const int *links, int n, int links_min) {
    int count = 0, cap = 0;
    *edges = NULL;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int w = links[(size_t)i * n + j] + links[(size_t)j * n + i];
            if (w < links_min || w <= 0) continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                *edges = ad_realloc(*edges, (size_t)cap * sizeof **edges);
            }
            (*edges)[count++] = (GraphEdge){i, j, w};
        }
    return count;
}

#define IG_CHECK(call)                                                         \
    do {                                                                       \
        igraph_error_t e_ = (call);                                            \
        if (e_ != IGRAPH_SUCCESS) AD_INTERNAL("igraph: %s failed (%s)", #call, \
                                              igraph_strerror(e_));            \
    } while (0)

int graph_leiden_cpm(int *membership, int n, const GraphEdge *edges, int n_edges, const GraphConfig *c) {
    if (n <= 0) return 0;
    igraph_vector_int_t ev, memb;
    IG_CHECK(igraph_vector_int_init(&ev, 2 * (igraph_integer_t)n_edges));
    for (int e = 0; e < n_edges; e++) {
        VECTOR(ev)[2 * e] = edges[e].i;
        VECTOR(ev)[2 * e + 1] = edges[e].j;
    }
    igraph_t g;
    IG_CHECK(igraph_create(&g, &ev, n, IGRAPH_UNDIRECTED));
    IG_CHECK(igraph_vector_int_init(&memb, n));
    // Leiden is randomised: a fixed seed on igraph's default RNG makes it reproducible. The
    // default RNG is global, so this must run on one thread (it does: the caller is serial).
    IG_CHECK(igraph_rng_seed(igraph_rng_default(), (igraph_uint_t)c->seed));
    igraph_integer_t k = 0;
    igraph_real_t quality = 0;
    // node_weights NULL = unit node weights: the quality is sum_ij (A_ij - gamma) delta(c_i, c_j),
    // i.e. the Constant Potts Model (modularity would need degrees as node weights).
    IG_CHECK(igraph_community_leiden(&g, NULL, NULL, c->gamma, c->beta, 0, c->n_iterations, &memb, &k, &quality));
    // Renumber clusters by first member so that ids do not depend on igraph internals.
    int *map = ad_malloc((size_t)n * sizeof *map);
    for (int v = 0; v < n; v++) map[v] = -1;
    int next = 0;
    for (int v = 0; v < n; v++) {
        int id = (int)VECTOR(memb)[v];
        AD_ASSERT(id >= 0 && id < n);
        if (map[id] < 0) map[id] = next++;
        membership[v] = map[id];
    }
    free(map);
    igraph_vector_int_destroy(&memb);
    igraph_destroy(&g);
    igraph_vector_int_destroy(&ev);
    return next;
}

int graph_communities(Community **out, const int *membership, int n, const GraphEdge *edges, int n_edges,
                      const GraphConfig *c) {
    int k = 0;
    for (int v = 0; v < n; v++)
        if (membership[v] + 1 > k) k = membership[v] + 1;
    Community *cs = ad_calloc(k ? (size_t)k : 1, sizeof *cs);
    for (int v = 0; v < n; v++) cs[membership[v]].size++;
    for (int t = 0; t < k; t++) cs[t].members = ad_malloc((size_t)(cs[t].size ? cs[t].size : 1) * sizeof(int)), cs[t].size = 0;
    for (int v = 0; v < n; v++) {
        Community *C = &cs[membership[v]];
        C->members[C->size++] = v;
    }
    for (int e = 0; e < n_edges; e++)
        if (membership[edges[e].i] == membership[edges[e].j]) cs[membership[edges[e].i]].internal++;
    for (int t = 0; t < k; t++) {
        Community *C = &cs[t];
        double pairs = 0.5 * C->size * (C->size - 1.0);
        C->density = pairs > 0 ? C->internal / pairs : 0;
        C->accepted = C->size >= c->min_size && C->size >= 2 && C->density >= c->gamma &&
                      (c->max_size <= 0 || C->size <= c->max_size);
    }
    *out = cs;
    return k;
}

void graph_communities_free(Community *c, int count) {
    for (int t = 0; t < count; t++) free(c[t].members);
    free(c);
}
