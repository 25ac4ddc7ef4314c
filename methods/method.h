// Anomaly-scoring methods behind one interface. Adding a method = one file + one line in
// methods/method.c's registry.
//
// A zero-shot method (MuSc, CoDeGraph) sees the test set of one category; a few/full-shot
// method (PatchCore, AnomalyDINO) also sees a memory bank of normal training images. Every
// method returns one score per image and one patch-grid map per image; the runner upsamples
// the maps to the evaluation resolution.
#pragma once
#include "feature_layout.h"
#include "params.h"

typedef struct {
    int n;                      // images
    // Every image has the same layout. gh, gw: the grid of every layer, or of layer 0 when
    // the layers differ (CNNs); dim: the common width, or 0 when the layers differ. layer[]:
    // each layer's own grid and width (always filled).
    int n_layers, gh, gw, dim;
    const float *const *feat;   // feat[i]: layer after layer, [gh_l*gw_l][dim_l] (may be memory-mapped)
    int embed_dim;              // 0 if none
    const float *const *embed;  // embed[i]: [embed_dim], or NULL
    LayerShape layer[FEAT_MAX_LAYERS];
} FeatureBatch;

typedef struct {
    const char *out_dir;    // where diagnostics may be written (may be NULL: write none)
    const char *category;   // for messages and diagnostics file names
    const int *rscin_k;     // the dataset's RsCIN windows (3 values; 0 entries are skipped)
    int score_size;         // side S of the upsampled map on which image scores are taken
    const char *const *defect;  // per test image, for diagnostics ONLY (never for scoring); may be NULL
    int quiet;              // no progress output
} MethodContext;

typedef struct {
    float *image_score;  // [n] (malloc'd by the method)
    float *maps;         // [n][gh*gw] (malloc'd by the method)
    // Optional map post-processing requested by the method (zero-initialised = none; the
    // runner's defaults apply). PatchCore and AnomalyDINO set both: upstream upsamples the
    // patch map bilinearly with align_corners=False (torch / cv2.INTER_LINEAR) to the
    // evaluation resolution and then applies scipy gaussian_filter(sigma) IN PIXELS OF THAT
    // RESOLUTION (PatchCore: sigma 4 on the 224 map; AnomalyDINO: sigma 4 at the original
    // image size). membank_map_to_resolution() (methods/membank.h) does exactly this.
    int half_pixel;        // 1: upsample with align_corners=False (0: the runner's default)
    int gh, gw;            // grid of maps when it differs from the batch's gh x gw (0 = the batch's)
    double smooth_sigma;   // > 0: gaussian_filter2d(map, H, W, smooth_sigma) after upsampling
    // Optional per-image diagnostics, written as per_image.csv columns "diag.<name>":
    // n_diag names (static strings) and diag[n][n_diag] (malloc'd; method_output_free frees it).
    int n_diag;
    const char *const *diag_names;
    float *diag;
} MethodOutput;

typedef struct {
    const char *name;          // "musc", "codegraph", "patchcore", "anomalydino"
    int needs_train;           // 1: train must be non-NULL (k-shot bank)
    const ParamSpec *params;   // its config keys
    int (*run)(const Params *p, const FeatureBatch *test, const FeatureBatch *train,
               const MethodContext *ctx, MethodOutput *out);  // 0 or -1 + ad_error
    // Reference-image augmentation the runner must apply before extracting train features:
    // the number of rotations by 360/R degrees each (1 = none; AnomalyDINO: 8). May be NULL.
    // The train batch then holds R consecutive entries per reference image.
    int (*reference_rotations)(const Params *p, const char *category);
    // 1: run() reads layers of different grids and widths itself (PatchCore, as upstream does
    // for CNN layers). 0: the runner hands it feature_batch_align()'s uniform batch instead.
    int multiscale;
} Method;

// Scoring progress: a method reports the fraction done (0..1) at checkpoints, from the
// calling thread (never inside a parallel region); the runner turns it into its progress bar.
typedef void (*MethodProgressFn)(void *user, double fraction);
void method_set_progress(MethodProgressFn fn, void *user);  // NULL: no reporting
void method_progress(double fraction);

// Layers of different grids / widths (CNN features) brought to one layout for methods that
// expect one (MuSc, CoDeGraph, AnomalyDINO). Every layer is resampled to layer 0's grid (the
// finest: ResNet's shallowest tapped layer) with bilinear interpolation, align_corners=False
// (F.interpolate's default, as PatchCore aligns its layers); then
//   mode "concat": the layers' channels concatenated into ONE layer of width sum(dim_l)
//                  (PaDiM / SPADE style multi-scale descriptor),
//   mode "pool":   each layer's channels adaptive-average-pooled (torch adaptive_avg_pool1d)
//                  to the narrowest layer's width, the layers kept separate (MuSc then scores
//                  each layer and averages, as it does over ViT blocks).
// A uniform batch (ViT) is returned as it is (*out = *in, nothing allocated): bit-identical.
// Free with feature_batch_align_free. -1 + ad_error on an unknown mode.
#define LAYER_ALIGN_PARAM \
    {"layer_align", PT_STRING, "concat", 0, -1, \
     "concat|pool: how CNN layers of different grids and widths are made one layout (ViT layers already are)"}
int feature_batch_align(FeatureBatch *out, const FeatureBatch *in, const char *mode);
// b->layer, or (when a caller built a uniform batch and left layer[] zeroed) gh, gw, dim
// repeated for every layer, in tmp[FEAT_MAX_LAYERS].
const LayerShape *feature_batch_layers(const FeatureBatch *b, LayerShape *tmp);
void feature_batch_align_free(FeatureBatch *out, const FeatureBatch *in);

const Method *method_find(const char *name);  // NULL + ad_error if unknown
const char *method_names(void);
void method_output_free(MethodOutput *o);
