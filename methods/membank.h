// The memory-bank baselines' stages (PatchCore: methods/patchcore.c; AnomalyDINO:
// methods/anomalydino.c; shared helpers: methods/membank.c), exposed for the golden tests
// (tests/test_patchcore.c, tests/test_anomalydino.c against tests/gen/gen_membank.py) and
// for the runner (map post-processing, few-shot slice).
#pragma once
#include <stdint.h>

#include "feature_layout.h"

// --- shared (methods/membank.c) ------------------------------------------------------
// Few-shot references: entries [seed*shots, (seed+1)*shots) of the sorted train list, as
// AnomalyDINO's run_anomalydino.py picks them (shots 0 = all). -1 + ad_error when the slice
// does not fit in n_train (upstream silently used fewer images).
int membank_shot_range(int *lo, int *hi, int n_train, int shots, int seed, const char *category);
// One patch map (gh x gw) to the evaluation resolution (oh x ow) as upstream does it:
// bilinear, align_corners=False (F.interpolate / cv2.INTER_LINEAR), then
// scipy.ndimage.gaussian_filter(sigma, mode="reflect", truncate=4) when sigma > 0.
void membank_map_to_resolution(float *out, int oh, int ow, const float *grid, int gh, int gw, double sigma);

// torch.nn.functional.adaptive_avg_pool1d of one vector (n_in -> n_out): output t is the
// mean of in[floor(t*n_in/n_out) .. ceil((t+1)*n_in/n_out)), summed in float in order.
void adaptive_avg_pool1d(float *out, int n_out, const float *in, int n_in);

// --- PatchCore (methods/patchcore.c) --------------------------------------------------
// Locally aware patch features of one image (algorithms.md §4.1 steps 3-6 on a ViT grid):
// for each selected layer, the patchsize x patchsize neighbourhood (zero padding, stride 1)
// of every grid position flattened channel-major (index c*ps*ps + du*ps + dv) and
// adaptive-average-pooled to pre_dim (PatchCore's Preprocessing; pre_dim == C gives exactly
// the per-channel window mean); then the layers' vectors concatenated layer-major and
// pooled to target_dim (PatchCore's Aggregator). ViT layers share one grid, so there is no
// layer2 -> layer3 grid alignment step.
// out: [gh*gw][target_dim]; layers[l]: [gh*gw][C] tokens of selected layer l.
void patchcore_embed(float *out, const float *const *layers, int n_layers, int gh, int gw, int C, int patchsize,
                     int pre_dim, int target_dim);
// The same for layers of different grids and widths (CNN layer2 + layer3), as upstream's
// PatchCore._embed: each layer unfolded on its own grid; a layer whose grid differs from
// layer 0's has each of its C*ps*ps components resized bilinearly (align_corners=False) to
// layer 0's grid; then Preprocessing and Aggregator as above. out: [gh_0*gw_0][target_dim].
// With one shared grid it computes exactly what patchcore_embed does.
void patchcore_embed_ms(float *out, const float *const *layers, const LayerShape *shapes, int n_layers, int patchsize,
                        int pre_dim, int target_dim);
// Patch scores: mean over the k nearest bank rows of the squared L2 distance (faiss
// IndexFlatL2 + mean); image score = max over the image's P patches.
// score[nq]: per query row; image_score[nq / P].
void patchcore_score(float *score, float *image_score, const float *Q, int nq, int P, const float *bank, int nb,
                     int d, int k);

// --- AnomalyDINO (methods/anomalydino.c) ----------------------------------------------
// Does the category mask test patches by default (run_anomalydino.py "agnostic" /
// "informed"): MVTec AD capsule, hazelnut, pill, screw, toothbrush; every VisA category.
int anomalydino_default_masking(const char *category);
// 8 when reference rotation is on for the category: rotation "agnostic" = every category,
// "informed" = MVTec AD hazelnut and screw only, "off" = none. -1 + ad_error if unknown.
int anomalydino_rotations(const char *rotation, const char *category);
// Foreground mask of one image from its own tokens X [gh*gw][D] (algorithms.md §5.1 step 5;
// upstream: dammsi/AnomalyDINO src/backbones.py compute_background_mask at b3435f0):
// pc1 = projection on the first principal component (deterministic: top eigenvector of the
// DxD covariance by LAPACK dsyevr in double; upstream's randomized SVD has no fixed seed).
// Sign (sign_v): 0 = scikit-learn 1.2-1.4 svd_flip from U (the entry of largest |pc1| is
// positive), 1 = scikit-learn >= 1.5 (the component's entry of largest |v| is positive).
// mask = pc1 > threshold; if the centre [int(gh*border), int(gh*(1-border))) x (same for
// gw) keeps <= center_frac of its patches, mask = -pc1 > threshold; then cv2.dilate and
// cv2 MORPH_CLOSE with a kernel x kernel square (cv2 border semantics: outside pixels never
// win, i.e. dilation pads with 0 and erosion with 1). morph_grid 0 = upstream: the
// morphology runs on the (gh*gw) x 1 column PCA.fit_transform returns, i.e. a kernel-tap
// window along raster order (a row's last patch neighbours the next row's first);
// 1 = on the gh x gw grid. mask[gh*gw]: 1 = keep; pc1 (may be NULL): [gh*gw].
void anomalydino_pca_mask(uint8_t *mask, double *pc1, const float *X, int gh, int gw, int D, double threshold,
                          double border, double center_frac, int kernel, int morph_grid, int sign_v);
// Image score: mean of the top int(n*frac) values (the max when that is 0), in double.
double anomalydino_top_mean(const float *d, int n, double frac);
// Rows of X (n x d) scaled to unit L2 norm in place (faiss.normalize_L2; zero rows stay 0).
void l2_normalize_rows(float *X, long n, int d);
