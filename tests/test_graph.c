// Image graph and Leiden/CPM communities (methods/graph.c).
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static uint64_t rng_state;
static uint64_t splitmix(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unif(void) { return (splitmix() >> 11) * (1.0 / 9007199254740992.0); }

static const GraphConfig CFG = {.gamma = 0.3, .beta = 0.01, .n_iterations = 10, .seed = 0, .min_size = 2};

Test(graph, edges_sum_both_directions_and_threshold) {
    int n = 4;
    int links[16] = {0};
    links[0 * 4 + 1] = 1, links[1 * 4 + 0] = 1;  // 2 in total: kept at links_min 2
    links[0 * 4 + 2] = 1;                        // 1: dropped
    links[3 * 4 + 2] = 5;                        // one direction only: kept
    GraphEdge *e;
    int m = graph_edges(&e, links, n, 2);
    cr_assert_eq(m, 2);
    cr_assert(e[0].i == 0 && e[0].j == 1 && e[0].weight == 2);
    cr_assert(e[1].i == 2 && e[1].j == 3 && e[1].weight == 5);
    free(e);
    cr_assert_eq(graph_edges(&e, links, n, 6), 0);
    cr_assert_null(e);
}

Test(graph, density_by_hand) {
    // Path 0-1-2 and a pair 3-4; membership given by hand.
    GraphEdge e[3] = {{0, 1, 1}, {1, 2, 1}, {3, 4, 1}};
    int memb[6] = {0, 0, 0, 1, 1, 2};
    Community *c;
    int k = graph_communities(&c, memb, 6, e, 3, &CFG);
    cr_assert_eq(k, 3);
    cr_assert_eq(c[0].size, 3);
    cr_assert_eq(c[0].internal, 2);
    cr_assert_float_eq(c[0].density, 2.0 / 3.0, 1e-12);
    cr_assert(c[0].accepted);
    cr_assert(c[1].accepted && c[1].density == 1.0);
    cr_assert_eq(c[2].size, 1);
    cr_assert(!c[2].accepted, "singletons are never accepted");
    cr_assert_eq(c[0].members[2], 2);
    graph_communities_free(c, k);
    GraphConfig strict = CFG;
    strict.gamma = 0.7;
    k = graph_communities(&c, memb, 6, e, 3, &strict);
    cr_assert(!c[0].accepted, "density 2/3 < 0.7");
    graph_communities_free(c, k);
    strict = CFG;
    strict.min_size = 3;
    k = graph_communities(&c, memb, 6, e, 3, &strict);
    cr_assert(c[0].accepted && !c[1].accepted);
    graph_communities_free(c, k);
    strict = CFG;
    strict.max_size = 2;
    k = graph_communities(&c, memb, 6, e, 3, &strict);
    cr_assert(!c[0].accepted && c[1].accepted, "size 3 > max_size 2");
    graph_communities_free(c, k);
}

static int add_edge(GraphEdge *e, int m, uint8_t *adj, int n, int i, int j) {
    if (i > j) { int t = i; i = j; j = t; }
    if (i == j || adj[i * n + j]) return m;
    adj[i * n + j] = 1;
    e[m] = (GraphEdge){i, j, 1};
    return m + 1;
}

// Edge list sorted as graph_edges would give it (row-major).
static int edges_from_adj(GraphEdge *e, const uint8_t *adj, int n) {
    int m = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (adj[i * n + j]) e[m++] = (GraphEdge){i, j, 1};
    return m;
}

static int same_set(const Community *c, const int *set, int k) {
    if (c->size != k) return 0;
    for (int t = 0; t < k; t++)
        if (c->members[t] != set[t]) return 0;
    return 1;
}

Test(graph, planted_cliques_come_back) {
    int n = 40;
    uint8_t *adj = calloc(n * n, 1);
    GraphEdge *e = malloc(n * n * sizeof *e);
    const int A[6] = {1, 5, 9, 13, 17, 21}, B[8] = {2, 7, 12, 22, 27, 32, 37, 38};
    int m = 0;
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++) m = add_edge(e, m, adj, n, A[a], A[b]);
    for (int a = 0; a < 8; a++)
        for (int b = a + 1; b < 8; b++) m = add_edge(e, m, adj, n, B[a], B[b]);
    rng_state = 3;
    for (int i = 0; i < n; i++)  // sparse background noise, also touching the cliques
        for (int j = i + 1; j < n; j++)
            if (unif() < 0.03) m = add_edge(e, m, adj, n, i, j);
    m = edges_from_adj(e, adj, n);
    int memb[40], memb2[40];
    int k = graph_leiden_cpm(memb, n, e, m, &CFG);
    cr_assert(k >= 3);
    cr_assert_eq(graph_leiden_cpm(memb2, n, e, m, &CFG), k);
    cr_assert(!memcmp(memb, memb2, sizeof memb), "same seed, same communities");
    Community *c;
    k = graph_communities(&c, memb, n, e, m, &CFG);
    int foundA = 0, foundB = 0;
    for (int t = 0; t < k; t++) {
        foundA |= c[t].accepted && same_set(&c[t], A, 6);
        foundB |= c[t].accepted && same_set(&c[t], B, 8);
        if (c[t].accepted && !same_set(&c[t], A, 6) && !same_set(&c[t], B, 8))
            cr_assert(c[t].size <= 3, "background community of size %d", c[t].size);
    }
    cr_assert(foundA && foundB);
    graph_communities_free(c, k);
    free(adj);
    free(e);
}

// CPM on a sparse random graph: a community is worth keeping only if its density exceeds gamma,
// so the components found are tiny (size < 2/gamma + 1) trees or pairs; nothing clique-like.
Test(graph, sparse_random_graph_gives_no_dense_community) {
    int n = 100;
    uint8_t *adj = calloc(n * n, 1);
    GraphEdge *e = malloc(n * n * sizeof *e);
    int biggest = 0, found_dense = 0;
    for (uint64_t seed = 10; seed < 20; seed++) {
        memset(adj, 0, n * n);
        rng_state = seed;
        int m = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (unif() < 0.01) m = add_edge(e, m, adj, n, i, j);
        m = edges_from_adj(e, adj, n);
        int memb[100];
        graph_leiden_cpm(memb, n, e, m, &CFG);
        Community *c;
        int k = graph_communities(&c, memb, n, e, m, &CFG);
        for (int t = 0; t < k; t++) {
            if (c[t].accepted && c[t].size > biggest) biggest = c[t].size;
            found_dense |= c[t].accepted && c[t].size >= 4 && c[t].density > 0.75;
        }
        graph_communities_free(c, k);
    }
    cr_assert(biggest <= (int)(2 / CFG.gamma) + 1, "largest accepted community %d", biggest);
    cr_assert(!found_dense);
    free(adj);
    free(e);
}

Test(graph, empty_graph_all_singletons) {
    int memb[7];
    cr_assert_eq(graph_leiden_cpm(memb, 7, NULL, 0, &CFG), 7);
    for (int v = 0; v < 7; v++) cr_assert_eq(memb[v], v);
    Community *c;
    int k = graph_communities(&c, memb, 7, NULL, 0, &CFG);
    for (int t = 0; t < k; t++) cr_assert(!c[t].accepted);
    graph_communities_free(c, k);
}
