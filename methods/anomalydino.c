// AnomalyDINO (Damm et al., WACV 2025) few/full-shot on cached DINOv2 patch tokens:
// ../shared/docs/algorithms.md §5.1.
//
// Memory bank = every reference token (the runner has already picked the shots and, when
// reference_rotations() says 8, extracted 8 rotations of each reference), L2-normalised.
// Test tokens: optional PCA foreground mask (membank.h anomalydino_pca_mask; default
// mask_morphology upstream = dilate/close on the N x 1 PCA column as dammsi/AnomalyDINO
// b3435f0 does, pca_sign sklearn_u = scikit-learn 1.2-1.4's svd_flip), normalised,
// patch distance = (mean of the num_nn smallest ||a-b||^2) / 2 = 1 - cos for num_nn = 1;
// masked patches get 0 but stay in the count. Image score = mean of the top int(0.01 n).
// Maps are returned on the patch grid with out->half_pixel = 1 and out->smooth_sigma =
// sigma: upstream resizes them with cv2.INTER_LINEAR to the ORIGINAL image size and applies
// gaussian_filter(sigma=4) there (evaluation.resolution native reproduces that).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "err.h"
#include "runlog.h"
#include "knn.h"
#include "membank.h"
#include "method.h"

static const ParamSpec SPEC[] = {
    {"layer", PT_INT, "-1", -1, 1000, "0-based index into the tapped layers; -1 = the last (upstream: last block + norm)"},
    {"num_nn", PT_INT, "1", 1, 1000, "nearest reference tokens averaged per patch (knn_neighbors)"},
    {"rotation", PT_STRING, "agnostic", 0, -1,
     "reference rotations: agnostic (8 rotations, all categories) | informed (MVTec hazelnut, screw) | off"},
    {"masking", PT_STRING, "auto", 0, -1,
     "test-patch PCA masking: auto (MVTec capsule/hazelnut/pill/screw/toothbrush, all of VisA) | on | off"},
    {"mask_ref", PT_BOOL, "false", 0, -1, "also mask reference images (upstream mask_ref_images)"},
    {"mask_threshold", PT_DOUBLE, "10", -1e30, 1e30, "first principal component threshold"},
    {"mask_border", PT_DOUBLE, "0.2", 0, 0.5, "border excluded from the centre test, per side"},
    {"mask_center_frac", PT_DOUBLE, "0.35", 0, 1, "flip the sign when the centre keeps <= this fraction"},
    {"mask_kernel", PT_INT, "3", 1, 15, "square kernel of the dilation and closing (odd)"},
    {"mask_morphology", PT_STRING, "upstream", 0, -1,
     "upstream (dilate/close on the N x 1 PCA column: a vertical window along raster order) | grid (on gh x gw)"},
    {"pca_sign", PT_STRING, "sklearn_u", 0, -1,
     "sign of the first PC: sklearn_u (scikit-learn 1.2-1.4, from U) | sklearn_v (scikit-learn >= 1.5, from V)"},
    {"top_frac", PT_DOUBLE, "0.01", 0, 1, "image score = mean of the top int(top_frac * patches) distances"},
    {"sigma", PT_DOUBLE, "4", 0, 1000,
     "Gaussian sigma in pixels at the evaluation resolution (upstream: 4 at the original image size); 0 = none"},
    LAYER_ALIGN_PARAM,
    PARAM_END};

static const char *const MASKED[] = {
    // MVTec AD
    "capsule", "hazelnut", "pill", "screw", "toothbrush",
    // VisA (every category)
    "candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1", "macaroni2", "pcb1", "pcb2", "pcb3", "pcb4",
    "pipe_fryum"};

int anomalydino_default_masking(const char *category) {
    for (size_t i = 0; i < sizeof MASKED / sizeof MASKED[0]; i++)
        if (category && !strcmp(category, MASKED[i])) return 1;
    return 0;
}

int anomalydino_rotations(const char *rotation, const char *category) {
    if (!strcmp(rotation, "agnostic")) return 8;
    if (!strcmp(rotation, "off")) return 1;
    if (!strcmp(rotation, "informed"))
        return category && (!strcmp(category, "hazelnut") || !strcmp(category, "screw")) ? 8 : 1;
    return ad_error("parameter 'rotation': expected agnostic, informed or off, found '%s'", rotation);
}

static int reference_rotations(const Params *p, const char *category) {
    return anomalydino_rotations(params_str(p, "rotation"), category);
}

// LAPACK (OpenBLAS ships it; no lapacke.h on the system): Fortran ABI with hidden lengths.
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info, size_t, size_t, size_t);

// Top eigenvector of the symmetric D x D matrix A (destroyed) into v.
static void top_eigvec(double *v, double *A, int D) {
    int il = D, iu = D, m = 0, info = 0, isuppz[2], lwork = -1, liwork = -1, iwq;
    double vl = 0, vu = 0, abstol = 0, w[1], wq;
    // Workspace query, then the call.
    dsyevr_("V", "I", "U", &D, A, &D, &vl, &vu, &il, &iu, &abstol, &m, w, v, &D, isuppz, &wq, &lwork, &iwq, &liwork,
            &info, 1, 1, 1);
    lwork = (int)wq, liwork = iwq;
    double *work = ad_malloc((size_t)lwork * sizeof(double));
    int *iwork = ad_malloc((size_t)liwork * sizeof(int));
    dsyevr_("V", "I", "U", &D, A, &D, &vl, &vu, &il, &iu, &abstol, &m, w, v, &D, isuppz, work, &lwork, iwork, &liwork,
            &info, 1, 1, 1);
    if (info != 0 || m != 1) AD_INTERNAL("dsyevr failed: info %d, m %d", info, m);
    free(iwork);
    free(work);
}

// cv2 morphology with a k x k square and its default border (outside pixels ignored):
// dilate = max over the window, erode = min over the window, both over in-image pixels only.
static void morph(uint8_t *out, const uint8_t *in, int gh, int gw, int k, int dilate) {
    int r = k / 2;
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++) {
            int v = dilate ? 0 : 1;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= gh || xx < 0 || xx >= gw) continue;
                    if (dilate) v |= in[yy * gw + xx];
                    else v &= in[yy * gw + xx];
                }
            out[y * gw + x] = (uint8_t)v;
        }
}

void anomalydino_pca_mask(uint8_t *mask, double *pc1, const float *X, int gh, int gw, int D, double threshold,
                          double border, double center_frac, int kernel, int morph_grid, int sign_v) {
    int P = gh * gw;
    double *Xc = ad_malloc((size_t)P * D * sizeof(double));
    double *mu = ad_calloc((size_t)D, sizeof(double));
    for (int p = 0; p < P; p++)
        for (int c = 0; c < D; c++) mu[c] += X[(size_t)p * D + c];
    for (int c = 0; c < D; c++) mu[c] /= P;
    for (int p = 0; p < P; p++)
        for (int c = 0; c < D; c++) Xc[(size_t)p * D + c] = X[(size_t)p * D + c] - mu[c];
    double *A = ad_malloc((size_t)D * D * sizeof(double));
    // A = Xc^T Xc (row-major upper = column-major lower; fill both triangles to be safe).
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, D, P, 1.0, Xc, D, 0.0, A, D);
    for (int i = 0; i < D; i++)
        for (int j = 0; j < i; j++) A[(size_t)i * D + j] = A[(size_t)j * D + i];
    double *v = ad_malloc((size_t)D * sizeof(double));
    top_eigvec(v, A, D);
    double *s = pc1 ? pc1 : ad_malloc((size_t)P * sizeof(double));
    int amax = 0;
    for (int p = 0; p < P; p++) {
        double t = 0;
        for (int c = 0; c < D; c++) t += Xc[(size_t)p * D + c] * v[c];
        s[p] = t;
        if (fabs(t) > fabs(s[amax])) amax = p;
    }
    int vmax = 0;
    for (int c = 1; c < D; c++)
        if (fabs(v[c]) > fabs(v[vmax])) vmax = c;
    // svd_flip: u-based (sklearn 1.2-1.4) makes the largest |score| positive, v-based
    // (sklearn >= 1.5) the component's largest |entry| (first maximum, as np.argmax).
    if (sign_v ? v[vmax] < 0 : s[amax] < 0)
        for (int p = 0; p < P; p++) s[p] = -s[p];
    uint8_t *m0 = ad_malloc((size_t)P);
    for (int p = 0; p < P; p++) m0[p] = s[p] > threshold;
    int y0 = (int)(gh * border), y1 = (int)(gh * (1 - border)), x0 = (int)(gw * border), x1 = (int)(gw * (1 - border));
    long kept = 0, size = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) kept += m0[y * gw + x], size++;
    if ((double)kept <= (double)size * center_frac)
        for (int p = 0; p < P; p++) m0[p] = -s[p] > threshold;
    uint8_t *m1 = ad_malloc((size_t)P);
    // Upstream: the image is the P x 1 column (a k x k square on one column = k taps along
    // raster order); grid: gh x gw.
    int mh = morph_grid ? gh : P, mw = morph_grid ? gw : 1;
    morph(m1, m0, mh, mw, kernel, 1);   // dilate
    morph(m0, m1, mh, mw, kernel, 1);   // close = dilate ...
    morph(mask, m0, mh, mw, kernel, 0); // ... then erode
    free(m1);
    free(m0);
    if (!pc1) free(s);
    free(v);
    free(A);
    free(mu);
    free(Xc);
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

double anomalydino_top_mean(const float *d, int n, double frac) {
    int m = (int)(n * frac);
    if (m == 0) {
        float mx = d[0];
        for (int i = 1; i < n; i++)
            if (d[i] > mx) mx = d[i];
        return mx;
    }
    float *c = ad_malloc((size_t)n * sizeof(float));
    memcpy(c, d, (size_t)n * sizeof(float));
    qsort(c, (size_t)n, sizeof(float), cmp_desc);
    double s = 0;
    for (int i = 0; i < m; i++) s += c[i];
    free(c);
    return s / m;
}

static int masking_on(const Params *p, const char *category) {
    const char *m = params_str(p, "masking");
    if (!strcmp(m, "on")) return 1;
    if (!strcmp(m, "off")) return 0;
    if (!strcmp(m, "auto")) return anomalydino_default_masking(category);
    return ad_error("parameter 'masking': expected auto, on or off, found '%s'", m);
}

// Masks of every image of b (layer lay), in parallel over images (BLAS/LAPACK inside run
// single-threaded, so the result is the same for any thread count).
static uint8_t *batch_masks(const FeatureBatch *b, int lay, const Params *p) {
    int P = b->gh * b->gw;
    uint8_t *mask = ad_malloc((size_t)b->n * P);
    double thr = params_double(p, "mask_threshold"), border = params_double(p, "mask_border");
    double cf = params_double(p, "mask_center_frac");
    int k = params_int(p, "mask_kernel");
    int grid = !strcmp(params_str(p, "mask_morphology"), "grid"), sv = !strcmp(params_str(p, "pca_sign"), "sklearn_v");
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < b->n; i++)
        anomalydino_pca_mask(mask + (size_t)i * P, NULL, b->feat[i] + (size_t)lay * P * b->dim, b->gh, b->gw, b->dim,
                             thr, border, cf, k, grid, sv);
    return mask;
}

// Rows of layer lay of every image of b whose mask is set (all when mask is NULL),
// normalised: [*n_rows][dim].
static float *gather_rows(long *n_rows, const FeatureBatch *b, int lay, const uint8_t *mask) {
    int P = b->gh * b->gw, D = b->dim;
    long n = 0;
    for (long r = 0; r < (long)b->n * P; r++) n += !mask || mask[r];
    float *X = ad_malloc((size_t)(n ? n : 1) * D * sizeof(float));
    long j = 0;
    for (int i = 0; i < b->n; i++)
        for (int q = 0; q < P; q++)
            if (!mask || mask[(size_t)i * P + q])
                memcpy(X + (size_t)j++ * D, b->feat[i] + ((size_t)lay * P + q) * D, (size_t)D * sizeof(float));
    l2_normalize_rows(X, n, D);
    *n_rows = n;
    return X;
}

static int run(const Params *p, const FeatureBatch *test, const FeatureBatch *train, const MethodContext *ctx,
               MethodOutput *out) {
    const char *cat = ctx && ctx->category ? ctx->category : "anomalydino";
    if (!train || train->n < 1)
        return ad_error("%s: anomalydino needs normal reference images, found none. Fix: check the dataset's "
                        "train/good folder and the shots setting", cat);
    if (train->n_layers != test->n_layers || train->gh * train->gw < 1 || train->dim != test->dim)
        return ad_error("%s: anomalydino expected reference and test features of one backbone layout, found reference "
                        "%d layers x %d and test %d layers x %d. Fix: extract both with the same backbone settings",
                        cat, train->n_layers, train->dim, test->n_layers, test->dim);
    int R = anomalydino_rotations(params_str(p, "rotation"), cat);
    if (R < 0) return -1;
    if (train->n % R)
        return ad_error("%s: anomalydino expected %d rotated copies per reference image, found %d reference entries "
                        "(not a multiple of %d). Fix: the runner must extract reference_rotations() rotations of "
                        "each reference", cat, R, train->n, R);
    int masking = masking_on(p, cat);
    if (masking < 0) return -1;
    int lay = params_int(p, "layer");
    if (lay == -1) lay = test->n_layers - 1;
    if (lay < 0 || lay >= test->n_layers)
        return ad_error("parameter 'layer': index %d is out of range; the features hold %d tapped layers (0..%d). "
                        "Fix: use an index in that range or -1 for the last", lay, test->n_layers, test->n_layers - 1);
    const char *mm = params_str(p, "mask_morphology"), *ps = params_str(p, "pca_sign");
    if (strcmp(mm, "upstream") && strcmp(mm, "grid"))
        return ad_error("parameter 'mask_morphology': expected upstream or grid, found '%s'", mm);
    if (strcmp(ps, "sklearn_u") && strcmp(ps, "sklearn_v"))
        return ad_error("parameter 'pca_sign': expected sklearn_u or sklearn_v, found '%s'", ps);
    if (params_int(p, "mask_kernel") % 2 == 0)
        return ad_error("parameter 'mask_kernel': expected an odd kernel size, found %d. Fix: use 3",
                        params_int(p, "mask_kernel"));
    int k = params_int(p, "num_nn"), D = test->dim, P = test->gh * test->gw;
    if ((long)train->n * train->gh * train->gw > 2147483647L || (long)test->n * P > 2147483647L)
        return ad_error("%s: anomalydino supports at most 2^31-1 reference or test patches. Fix: use fewer shots", cat);

    uint8_t *rmask = masking && params_bool(p, "mask_ref") ? batch_masks(train, lay, p) : NULL;
    long nb;
    float *bank = gather_rows(&nb, train, lay, rmask);
    free(rmask);
    if (nb < k) {
        free(bank);
        return ad_error("%s: anomalydino's reference bank holds %ld tokens after masking, fewer than num_nn = %d. "
                        "Fix: set mask_ref false or use more shots", cat, nb, k);
    }
    uint8_t *tmask = masking ? batch_masks(test, lay, p) : NULL;
    if (tmask) {  // a warning, not progress: printed even when ctx->quiet
        // Upstream scores an image whose mask is empty as 0 everywhere; say so, since the
        // threshold (10) is tuned for DINOv2 tokens and other features may never pass it.
        int empty = 0;
        for (int i = 0; i < test->n; i++) {
            int any = 0;
            for (int q = 0; q < P && !any; q++) any = tmask[(size_t)i * P + q];
            empty += !any;
        }
        if (empty)
            fprintf(runlog_stream(), "adbench: note: %s: anomalydino's PCA mask (mask_threshold %g) removed every patch of %d of "
                            "%d test images; they score 0. Fix if unintended: masking off, or a mask_threshold suited "
                            "to these features\n", cat, params_double(p, "mask_threshold"), empty, test->n);
    }
    long nq;
    float *q = gather_rows(&nq, test, lay, tmask);
    float *dist = ad_malloc((size_t)(nq ? nq : 1) * k * sizeof(float));
    int *idx = ad_malloc((size_t)(nq ? nq : 1) * k * sizeof(int));
    if (nq) knn_l2sq(dist, idx, q, (int)nq, bank, (int)nb, D, k);
    out->maps = ad_malloc((size_t)test->n * P * sizeof(float));
    out->image_score = ad_malloc((size_t)test->n * sizeof(float));
    long j = 0;
    for (long r = 0; r < (long)test->n * P; r++) {
        if (tmask && !tmask[r]) {
            out->maps[r] = 0.f;
            continue;
        }
        float s = 0.f;
        for (int t = 0; t < k; t++) s += dist[(size_t)j * k + t];
        out->maps[r] = s / (float)k / 2.f;
        j++;
    }
    double frac = params_double(p, "top_frac");
    for (int i = 0; i < test->n; i++) out->image_score[i] = (float)anomalydino_top_mean(out->maps + (size_t)i * P, P, frac);
    out->half_pixel = 1;
    out->smooth_sigma = params_double(p, "sigma");
    free(idx);
    free(dist);
    free(q);
    free(tmask);
    free(bank);
    return 0;
}

const Method method_anomalydino = {"anomalydino", 1, SPEC, run, reference_rotations, 0};
