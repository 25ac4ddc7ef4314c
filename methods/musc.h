// MuSc's stages (../shared/docs/algorithms.md §2.1), exposed so that CoDeGraph reuses the
// distances and the scoring instead of recomputing them.
#pragma once
#include <stdint.h>

#include "method.h"

typedef struct {
    int n, P, D;       // images, patches per image (gh*gw), feature width
    int gh, gw;
    int n_sets;        // (layer, degree) feature sets = n_layers * n_degrees, layer-major
    float **Z;         // Z[k]: [n][P][D] LNAMD output (L2-normalised) of set k
    float **dist;      // dist[k]: [n][n][P]: dist[k][(i*n + j)*P + p] = min_q ||Z_ip - Z_jq||, i != j
    // Added by musc.c (set k = layer * n_degrees + degree index):
    int n_layers, n_degrees;
    int degrees[16];
    // Added for recomputation without kept Z (musc_fill_z):
    const FeatureBatch *src;  // the features musc_prepare_ex read (must outlive musc_fill_z calls)
    float **zimg;             // [n_sets * n]: zimg[k*n + i] = image i's [P][D] Z rows of set k, or NULL
} MuscState;

// The config keys MuSc's stages read. musc_prepare reads "degrees" (default [1,3,5] when the
// caller's table lacks it); a method reusing the stages can splice these entries into its
// own ParamSpec table: static const ParamSpec SPEC[] = {MUSC_PARAM_ENTRIES, ..., PARAM_END};
// Fewest images one mutual-scoring (sub)set may hold: below it the 0-30 % interval average of
// the N-1 per-image minima is empty (K = floor(0.3 * (N-1)) = 0).
#define MUSC_MIN_IMAGES 5

#define MUSC_PARAM_ENTRIES                                                                          \
    {"degrees", PT_INT_LIST, "[1,3,5]", 1, 15, "LNAMD aggregation degrees r (odd; r x r box mean)"}, \
    {"topmin_min", PT_DOUBLE, "0", 0, 1e9, "interval average start: fraction of the N-1 minima (<1) or a count"}, \
    {"topmin_max", PT_DOUBLE, "0.3", 0, 1e9, "interval average end: fraction of the N-1 minima (<1) or a count"}, \
    {"divide_num", PT_INT, "1", 1, 1000, "subsets scored independently (upstream split: by defect folder, seeded shuffle)"}, \
    {"seed", PT_INT, "0", 0, 2147483647, "seed of the subset split (Python random.seed semantics)"}, \
    {"rscin", PT_BOOL, "true", 1, 0, "RsCIN image-score re-scoring with the dataset's windows"}, \
    {"score_size", PT_INT, "0", 0, 8192, "side of the upsampled map for image scores (0 = the run's evaluation size)"}, \
    LAYER_ALIGN_PARAM

// LNAMD for every set, then every unordered image pair's similarity block once (both
// directions' minima from it), OpenMP over pairs. Fewer than 5 images: -1 + ad_error.
int musc_prepare(MuscState *s, const Params *p, const FeatureBatch *b);
// The same with keep_z = 0: each set's Z is freed right after its MSM (Z[k] = NULL; dist
// identical), so memory holds one N*P*D set instead of n_sets. musc_recompute_pair then
// cannot be used. musc_prepare(s, p, b) = musc_prepare_ex(s, p, b, 1).
int musc_prepare_ex(MuscState *s, const Params *p, const FeatureBatch *b, int keep_z);
// Recompute dist[k][i][j][.] for all k with j's reference patches limited to valid_j
// (P bytes; NULL = all). Used by CoDeGraph's targeted filtering. Needs Z of images i and j:
// a kept-Z state (musc_prepare) or musc_fill_z with both images marked.
void musc_recompute_pair(MuscState *s, int i, int j, const uint8_t *valid_j);
// Z rows of the images with need[i] = 1 (n bytes), for every set, recomputed from s->src exactly
// as musc_prepare_ex computes them (bit-identical); memory proportional to the marked images.
// No-op when Z was kept. Images already filled are kept. Free with musc_free_z.
void musc_fill_z(MuscState *s, const uint8_t *need);
// Drops what musc_fill_z filled (kept Z is untouched).
void musc_free_z(MuscState *s);
// Image i's [P][D] Z rows of set k (kept Z or musc_fill_z); asserts that they exist.
const float *musc_z(const MuscState *s, int k, int i);
// Interval average over the other images (lowest [lo, hi) fraction of the n-1 minima, MuSc's
// 0..0.3 by default), then the mean over the sets: maps [n][P].
// exclude (n x n bytes, may be NULL): exclude[i*n+j] drops image j from i's references.
void musc_score_maps(float *maps, const MuscState *s, double lo, double hi, const uint8_t *exclude);
// s_i = max of the map bilinearly upsampled (align_corners=True) to S x S.
void musc_image_scores(float *score, const float *maps, int n, int gh, int gw, int S);
// RsCIN (algorithms.md §2.1 step 9): min-max normalise, window-k neighbourhood averages
// over the embedding similarity graph, mean over k in ks (zeros skipped).
void musc_rscin(float *out, const float *score, const float *const *embed, int n, int dim,
                const int *ks, int n_ks);
void musc_state_free(MuscState *s);
// A view of subset t of a divide_num split (subset[i] = subset of image i): *ids (malloc'd)
// lists its images, view->feat (malloc'd) points at their features; embeddings are dropped
// (RsCIN runs over the whole set). Returns the subset size. Free with musc_subset_view_free.
int musc_subset_view(FeatureBatch *view, int **ids, const FeatureBatch *b, const int *subset, int t);
void musc_subset_view_free(FeatureBatch *view, int *ids);
// The end of a MuSc-style run (shared with CoDeGraph): image scores = max of the maps upsampled
// to S, then RsCIN when enabled and embeddings exist. out takes ownership of maps.
void musc_finish(MethodOutput *out, float *maps, const Params *p, const FeatureBatch *test,
                 const MethodContext *ctx, int S);

// --- the single steps (exposed for tests and benchmarks) ------------------------------------
// Per-image LayerNorm over all P*D values (biased variance, eps 1e-5, no affine).
void musc_layernorm(float *out, const float *in, int P, int D);
// LNAMD degree r (odd): zero-padded r x r box mean / r^2 per channel, then L2 normalisation.
void musc_lnamd(float *out, const float *ln, int gh, int gw, int D, int r);
// MSM distances of one set: Z [n][P][D] unit rows -> dist [n][n][P] (diagonal blocks zero).
// Each unordered pair's block once (knn_max_ip), OpenMP over pairs.
void musc_msm(float *dist, const float *Z, int n, int P, int D);
// Mean of the sorted positions [klo, khi) of v[0..m) (MuSc's topmin_min/max rule: a bound < 1
// is a fraction of m, truncated; otherwise a count). Reorders v. NaN when m = 0.
float musc_interval_mean(float *v, int m, double lo, double hi);
// MuSc's divide_num split (datasets/mvtec.py sub_datasets): images grouped by group[i] in
// order of first appearance (group may be NULL: one group), each group shuffled with
// Python's random.seed(seed) + random.shuffle (one generator across groups), cut into
// chunks of divide_num; subset t takes element t of every chunk. subset[i] receives the
// subset of image i; order[] (n entries, may be NULL) lists the images subset by subset in
// upstream's order.
void musc_split(int *subset, int *order, int n, int divide_num, int seed, const char *const *group);
