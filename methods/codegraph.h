// CoDeGraph's stages, exposed for tests and the benchmark (the method itself is
// method_codegraph in methods/codegraph.c; see ../shared/docs/codegraph.md).
#pragma once
#include <stdint.h>

#include "burnout.h"
#include "graph.h"
#include "musc.h"

typedef struct {
    int community;       // 0: plain MuSc
    BurnoutConfig burnout;
    GraphConfig graph;   // max_size is set per (sub)set from max_share
    double max_share;    // largest accepted community / images
    int links_min;
    int dilate;
    int filter_image;    // 0: patch filtering, 1: drop whole images
    int stages;
    int diagnostics;
    int full_recompute;  // 1: musc_recompute_pair; 0: codegraph_recompute_pair
    const char *graph_sets;
} CodegraphConfig;

typedef struct {
    int stages_run;
    int flagged;      // flagged patches, all stages
    int edges;        // kept edges, all stages
    int accepted;     // accepted communities, all stages
    int recomputed;   // (i, j) pairs recomputed with a patch mask
    int excluded;     // (i, j) pairs dropped from i's references
} CodegraphStats;

// Read the config keys (method_codegraph.params); -1 + ad_error on a bad value.
int codegraph_config(CodegraphConfig *c, const Params *p);
// Square dilation of a gh x gw mask by r cells.
void codegraph_dilate(uint8_t *out, const uint8_t *in, int gh, int gw, int r);

// Stage 5 plan: inside every accepted community C and for i != j in C, add j's flagged patches
// (flag [n][P], dilated by `dilate`) to removed[i*n + j] (P bytes, allocated on demand) and
// mark dirty[i*n + j]; with filter_image (or when every patch of j would go) drop j from i's
// references instead (exclude, n*n bytes, allocated on demand), unless i would keep fewer
// than 4 references. Counts land in st.
void codegraph_plan_filter(uint8_t **removed, uint8_t **exclude_io, uint8_t *dirty, const uint8_t *flag, int n,
                           int gh, int gw, const Community *cs, int n_comm, int dilate, int filter_image,
                           CodegraphStats *st);

// dist[k][i][j][.] for every set with j's patches in `removed` (P bytes) dropped, when dist
// holds the distances for a subset of them dropped (or none): only the rows whose best match
// may have been a removed patch are recomputed (GEMM against the removed rows first). Equal
// to musc_recompute_pair(s, i, j, !removed) up to float rounding in the recomputed rows.
// Needs Z of i and j (kept, or musc_fill_z).
void codegraph_recompute_pair(MuscState *s, int i, int j, const uint8_t *removed);

// Diagnostics (codegraph.md step 7): codegraph_<category>_{stages,flags,patches,edges,
// communities,curves}.csv in dir, written under temp names and renamed on close(ok = 1).
// defect (per global image, may be NULL) only labels them (purity); never used for scoring.
typedef struct CodegraphDiag CodegraphDiag;
CodegraphDiag *codegraph_diag_open(const char *dir, const char *category, const char *const *defect);
int codegraph_diag_close(CodegraphDiag *g, int ok);

// Stages 2-5 (x `stages`) on a prepared MuSc state (musc_prepare, or musc_prepare_ex with
// keep_z = 0 while its batch is alive: stage 5 then refills Z for the images of filtered pairs
// only, musc_fill_z, and frees it after each stage): burnout on the fused curves of the chosen
// sets, graph, communities, filtering (s->dist is recomputed in place). *exclude_io receives
// the exclusion matrix for musc_score_maps (NULL when none). g (may be NULL) gets the
// diagnostics, with image indices mapped through global (NULL = identity) and tagged subset.
int codegraph_stages(MuscState *s, uint8_t **exclude_io, const CodegraphConfig *c, CodegraphDiag *g,
                     const int *global, int subset, CodegraphStats *st);
