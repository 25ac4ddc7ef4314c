// PatchCore (Roth et al., CVPR 2022) on cached ViT patch tokens: ../shared/docs/algorithms.md §4.
//
// Per image: 3x3 neighbourhood aggregation of each selected layer's token grid (zero
// padding), Preprocessing (adaptive average pool of the C*9 neighbourhood vector to
// pre_dim) and Aggregator (layers concatenated, pooled to target_dim) -- membank.h
// patchcore_embed. Memory bank = all train patches, subsampled by the approximate greedy
// coreset (coreset.h; upstream's torch/numpy draws by default). Patch score = mean squared L2 distance to the num_nn
// nearest bank rows; image score = max patch score. The maps are returned on the patch
// grid with out->half_pixel = 1 and out->smooth_sigma = sigma: the runner upsamples them
// bilinearly (align_corners=False) to the evaluation resolution and smooths with sigma
// pixels there (upstream: sigma 4 on the 224x224 map, i.e. evaluation.resolution
// resized:224 reproduces it).
//
// The runner picks the references (shots, seed: train[seed*shots, (seed+1)*shots)).
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "coreset.h"
#include "image.h"  // interp_bilinear
#include "err.h"
#include "knn.h"
#include "membank.h"
#include "method.h"

static const ParamSpec SPEC[] = {
    {"layers", PT_INT_LIST, "[-1]", -1, 1000,
     "0-based indices into the backbone's tapped layers; [-1] = all of them (concatenated by the Aggregator)"},
    {"patchsize", PT_INT, "3", 1, 15, "neighbourhood aggregation window (odd; zero padding (p-1)/2)"},
    {"pre_dim", PT_INT, "1024", 1, 65536, "Preprocessing width per layer (adaptive pool of C*p*p); = C gives per-channel window means"},
    {"target_dim", PT_INT, "1024", 1, 65536, "Aggregator output width (adaptive pool of layers*pre_dim)"},
    {"coreset_ratio", PT_DOUBLE, "0.1", 1e-9, 1, "approximate greedy coreset fraction of the bank; 1 = keep all patches"},
    {"proj_dim", PT_INT, "128", 1, 65536, "coreset random projection width"},
    {"n_starts", PT_INT, "10", 1, 1024, "coreset random start points"},
    {"coreset_seed", PT_INT, "0", 0, 2147483647, "seed of the coreset draws (upstream: np.random.seed / torch.manual_seed)"},
    {"coreset_rng", PT_STRING, "upstream", 0, -1,
     "coreset draws: upstream (numpy legacy MT19937 starts, torch CPU mt19937 nn.Linear projection) | splitmix64"},
    {"num_nn", PT_INT, "1", 1, 1000, "nearest bank rows averaged per patch (anomaly_scorer_num_nn)"},
    {"sigma", PT_DOUBLE, "4", 0, 1000, "Gaussian sigma in pixels at the evaluation resolution (upstream: 4 at 224); 0 = none"},
    PARAM_END};

// Upstream aligns a layer whose grid differs from the first layer's AFTER unfolding it on its
// own grid: each of its C*ps*ps neighbourhood components is an h x w image resized bilinearly
// (F.interpolate, align_corners=False) to the first layer's grid. Returns [H*W][C*ps*ps].
static float *unfold_resampled(const float *x, const LayerShape *s, int ps, int H, int W) {
    int h = s->gh, w = s->gw, C = s->dim, pp = ps * ps, r = ps / 2, nu = C * pp;
    float *out = ad_malloc((size_t)H * W * nu * sizeof(float));
#pragma omp parallel
    {
        float *pin = ad_malloc((size_t)h * w * sizeof(float)), *pout = ad_malloc((size_t)H * W * sizeof(float));
#pragma omp for schedule(static)
        for (int j = 0; j < nu; j++) {
            int c = j / pp, du = (j % pp) / ps, dv = j % ps;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    int yy = y + du - r, xs = xx + dv - r;
                    pin[y * w + xx] = yy < 0 || yy >= h || xs < 0 || xs >= w ? 0.f : x[(size_t)(yy * w + xs) * C + c];
                }
            interp_bilinear(pout, H, W, pin, h, w, 0);
            for (int q = 0; q < H * W; q++) out[(size_t)q * nu + j] = pout[q];
        }
        free(pin), free(pout);
    }
    return out;
}

void patchcore_embed_ms(float *out, const float *const *layers, const LayerShape *shapes, int n_layers, int patchsize,
                        int pre_dim, int target_dim) {
    int gh = shapes[0].gh, gw = shapes[0].gw, P = gh * gw, pp = patchsize * patchsize, r = patchsize / 2;
    int max_nu = 0;
    float **up = ad_calloc((size_t)n_layers, sizeof *up);
    for (int l = 0; l < n_layers; l++) {
        max_nu = shapes[l].dim * pp > max_nu ? shapes[l].dim * pp : max_nu;
        if (shapes[l].gh != gh || shapes[l].gw != gw) up[l] = unfold_resampled(layers[l], &shapes[l], patchsize, gh, gw);
    }
#pragma omp parallel
    {
        float *u = ad_malloc((size_t)max_nu * sizeof(float));
        float *cat = ad_malloc((size_t)n_layers * pre_dim * sizeof(float));
#pragma omp for schedule(static)
        for (int p = 0; p < P; p++) {
            int y = p / gw, x = p % gw;
            for (int l = 0; l < n_layers; l++) {
                int C = shapes[l].dim, nu = C * pp;
                if (up[l]) {
                    adaptive_avg_pool1d(cat + (size_t)l * pre_dim, pre_dim, up[l] + (size_t)p * nu, nu);
                    continue;
                }
                // Unfolded neighbourhood, channel-major: u[c*pp + du*ps + dv].
                for (int du = 0; du < patchsize; du++)
                    for (int dv = 0; dv < patchsize; dv++) {
                        int yy = y + du - r, xx = x + dv - r, k = du * patchsize + dv;
                        if (yy < 0 || yy >= gh || xx < 0 || xx >= gw) {
                            for (int c = 0; c < C; c++) u[c * pp + k] = 0.f;
                        } else {
                            const float *t = layers[l] + (size_t)(yy * gw + xx) * C;
                            for (int c = 0; c < C; c++) u[c * pp + k] = t[c];
                        }
                    }
                adaptive_avg_pool1d(cat + (size_t)l * pre_dim, pre_dim, u, nu);
            }
            adaptive_avg_pool1d(out + (size_t)p * target_dim, target_dim, cat, n_layers * pre_dim);
        }
        free(cat);
        free(u);
    }
    for (int l = 0; l < n_layers; l++) free(up[l]);
    free(up);
}

void patchcore_embed(float *out, const float *const *layers, int n_layers, int gh, int gw, int C, int patchsize,
                     int pre_dim, int target_dim) {
    LayerShape s[FEAT_MAX_LAYERS];
    AD_ASSERT(n_layers >= 1 && n_layers <= FEAT_MAX_LAYERS);
    for (int l = 0; l < n_layers; l++) s[l] = (LayerShape){gh, gw, C};
    patchcore_embed_ms(out, layers, s, n_layers, patchsize, pre_dim, target_dim);
}

void patchcore_score(float *score, float *image_score, const float *Q, int nq, int P, const float *bank, int nb,
                     int d, int k) {
    float *dist = ad_malloc((size_t)nq * k * sizeof(float));
    int *idx = ad_malloc((size_t)nq * k * sizeof(int));
    knn_l2sq(dist, idx, Q, nq, bank, nb, d, k);
    for (int q = 0; q < nq; q++) {
        float s = 0.f;
        for (int j = 0; j < k; j++) s += dist[(size_t)q * k + j];
        score[q] = s / (float)k;
    }
    for (int i = 0; i < nq / P; i++) {
        float m = score[(size_t)i * P];
        for (int p = 1; p < P; p++)
            if (score[(size_t)i * P + p] > m) m = score[(size_t)i * P + p];
        image_score[i] = m;
    }
    free(idx);
    free(dist);
}

// Embed every image of a batch: [b->n * P][target_dim], P = the first selected layer's grid.
static float *embed_batch(const FeatureBatch *b, const int *lsel, int nl, int ps, int pre, int tgt) {
    LayerShape sh[FEAT_MAX_LAYERS], tmp[FEAT_MAX_LAYERS];
    const LayerShape *all = feature_batch_layers(b, tmp);
    for (int l = 0; l < nl; l++) sh[l] = all[lsel[l]];
    int P = sh[0].gh * sh[0].gw;
    float *out = ad_malloc((size_t)b->n * P * tgt * sizeof(float));
    const float **ly = ad_malloc((size_t)nl * sizeof *ly);
    for (int i = 0; i < b->n; i++) {
        for (int l = 0; l < nl; l++) ly[l] = b->feat[i] + layers_offset(all, lsel[l]);
        patchcore_embed_ms(out + (size_t)i * P * tgt, ly, sh, nl, ps, pre, tgt);
    }
    free(ly);
    return out;
}

static int run(const Params *p, const FeatureBatch *test, const FeatureBatch *train, const MethodContext *ctx,
               MethodOutput *out) {
    const char *cat = ctx && ctx->category ? ctx->category : "patchcore";
    if (!train || train->n < 1)
        return ad_error("%s: patchcore needs normal training images for its memory bank, found none. Fix: check the "
                        "dataset's train/good folder and the shots setting", cat);
    LayerShape ttmp[FEAT_MAX_LAYERS], rtmp[FEAT_MAX_LAYERS];
    const LayerShape *tl = feature_batch_layers(test, ttmp), *rl = feature_batch_layers(train, rtmp);
    if (train->n_layers != test->n_layers || !layers_equal(rl, tl, test->n_layers))
        return ad_error("%s: patchcore expected train and test features of one layout, found train %d layers %dx%d x %d "
                        "and test %d layers %dx%d x %d (layer 0). Fix: extract both with the same backbone settings",
                        cat, train->n_layers, rl[0].gh, rl[0].gw, rl[0].dim, test->n_layers, tl[0].gh, tl[0].gw,
                        tl[0].dim);
    int ps = params_int(p, "patchsize");
    if (ps % 2 == 0) return ad_error("parameter 'patchsize': expected an odd window, found %d. Fix: use 3 or 5", ps);
    int lsel[64], nl = params_int_list(p, "layers", lsel, 64);
    if (nl == 1 && lsel[0] == -1) {
        nl = test->n_layers < 64 ? test->n_layers : 64;
        for (int l = 0; l < nl; l++) lsel[l] = l;
    }
    for (int l = 0; l < nl; l++)
        if (lsel[l] < 0 || lsel[l] >= test->n_layers)
            return ad_error("parameter 'layers': index %d is out of range; the features hold %d tapped layers "
                            "(0..%d). Fix: use indices in that range or [-1] for all", lsel[l], test->n_layers,
                            test->n_layers - 1);
    int pre = params_int(p, "pre_dim"), tgt = params_int(p, "target_dim"), k = params_int(p, "num_nn");
    double ratio = params_double(p, "coreset_ratio");
    const char *rng = params_str(p, "coreset_rng");
    if (strcmp(rng, "upstream") && strcmp(rng, "splitmix64"))
        return ad_error("parameter 'coreset_rng': expected upstream or splitmix64, found '%s'", rng);
    CoresetConfig cc = {params_int(p, "proj_dim"), params_int(p, "n_starts"), (uint64_t)params_int(p, "coreset_seed"),
                        strcmp(rng, "upstream") ? CORESET_RNG_SPLITMIX64 : CORESET_RNG_UPSTREAM};
    // The map grid is the first selected layer's (upstream: layer2's when layer2 + layer3).
    int mgh = tl[lsel[0]].gh, mgw = tl[lsel[0]].gw, P = mgh * mgw;
    long Ntr = (long)train->n * P;
    long nsel = ratio >= 1.0 ? Ntr : coreset_count(Ntr, ratio);
    if (nsel < k)
        return ad_error("%s: parameter 'coreset_ratio' %g keeps int(%ld * %g) = %ld memory-bank patches, fewer than "
                        "num_nn = %d. Fix: raise coreset_ratio or use more shots", cat, ratio, Ntr, ratio, nsel, k);
    if (Ntr > 2147483647L || (long)test->n * P > 2147483647L)
        return ad_error("%s: patchcore supports at most 2^31-1 patches per bank or test set, found %ld train and %ld "
                        "test. Fix: use fewer shots", cat, Ntr, (long)test->n * P);

    float *bank = embed_batch(train, lsel, nl, ps, pre, tgt);
    if (nsel < Ntr) {
        int *sel = ad_malloc((size_t)nsel * sizeof(int));
        coreset_select(sel, bank, Ntr, tgt, nsel, &cc, NULL, NULL);
        float *sub = ad_malloc((size_t)nsel * tgt * sizeof(float));
        for (long i = 0; i < nsel; i++) memcpy(sub + (size_t)i * tgt, bank + (size_t)sel[i] * tgt, (size_t)tgt * sizeof(float));
        free(bank);
        free(sel);
        bank = sub;
    }
    float *q = embed_batch(test, lsel, nl, ps, pre, tgt);
    out->maps = ad_malloc((size_t)test->n * P * sizeof(float));
    out->image_score = ad_malloc((size_t)test->n * sizeof(float));
    patchcore_score(out->maps, out->image_score, q, test->n * P, P, bank, (int)nsel, tgt, k);
    out->gh = mgh, out->gw = mgw;
    out->half_pixel = 1;
    out->smooth_sigma = params_double(p, "sigma");
    free(q);
    free(bank);
    return 0;
}

const Method method_patchcore = {"patchcore", 1, SPEC, run, NULL, 1};
