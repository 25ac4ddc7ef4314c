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
} MuscState;

// LNAMD for every set, then every unordered image pair's similarity block once (both
// directions' minima from it), OpenMP over pairs. Fewer than 5 images: -1 + ad_error.
int musc_prepare(MuscState *s, const Params *p, const FeatureBatch *b);
// Recompute dist[k][i][j][.] for all k with j's reference patches limited to valid_j
// (P bytes; NULL = all). Used by CoDeGraph's targeted filtering.
void musc_recompute_pair(MuscState *s, int i, int j, const uint8_t *valid_j);
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
