// adbench metrics --labels L.npy --scores S.npy [--masks M.npy --maps A.npy] [--pro-limit 0.3]
// Prints a CSV header line and one row (DESIGN.md command-line contract); NaN prints "nan".
// Every input problem is one clear message on stderr, exit 1, nothing on stdout.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "metrics.h"
#include "npy.h"
#include "opts.h"

static void shape_str(char *buf, size_t cap, const NpyArray *a) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < a->ndim && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%lld%s", (long long)a->shape[d], a->ndim == 1 ? "," : d + 1 < a->ndim ? ", " : "");
    if (o < cap) snprintf(buf + o, cap - o, ")");
}

// Reads path and checks ndim and dtype (allowed: bitmask over NpyDtype).
static int load(const char *path, const char *what, int ndim, unsigned allowed, const char *allowed_txt, NpyArray *a) {
    if (npy_read(path, a)) return -1;
    char sh[128];
    shape_str(sh, sizeof sh, a);
    if (!(allowed & (1u << a->dtype))) {
        ad_error("%s: expected %s of dtype %s, found dtype %s. Fix: save it as %s (e.g. arr.astype(...))",
                 path, what, allowed_txt, npy_dtype_name(a->dtype), allowed_txt);
        npy_free(a);
        return -1;
    }
    if (a->ndim != ndim) {
        ad_error("%s: expected %s with %d dimension%s %s, found shape %s. Fix: save it with that shape", path,
                 what, ndim, ndim > 1 ? "s" : "", ndim == 1 ? "(N,)" : "(N, H, W)", sh);
        npy_free(a);
        return -1;
    }
    return 0;
}

static void print_value(double v, int last) {
    if (isnan(v)) printf("nan");
    else printf("%.12g", v);
    putchar(last ? '\n' : ',');
}

static int run(const char *lp, const char *sp, const char *mp, const char *ap, double limit) {
    NpyArray L = {0}, S = {0}, M = {0}, A = {0};
    int rc = -1;
    const unsigned INT_T = 1u << NPY_BOOL | 1u << NPY_U8 | 1u << NPY_I32 | 1u << NPY_I64;
    const unsigned FLT_T = 1u << NPY_F32 | 1u << NPY_F64;
    const unsigned MASK_T = 1u << NPY_BOOL | 1u << NPY_U8;
    if (load(lp, "image labels", 1, INT_T, "bool/uint8/int32/int64", &L)) goto done;
    if (load(sp, "image scores", 1, FLT_T, "float32/float64", &S)) goto done;
    if (L.shape[0] != S.shape[0]) {
        ad_error("%s has shape (%lld,) but %s has shape (%lld,); expected one label per score. "
                 "Fix: save labels and scores for the same images",
                 lp, (long long)L.shape[0], sp, (long long)S.shape[0]);
        goto done;
    }
    if (L.count == 0) { ad_error("%s: no images (shape (0,)). Fix: pass at least one image", lp); goto done; }
    if (mp) {
        if (load(mp, "ground-truth masks", 3, MASK_T, "uint8/bool", &M)) goto done;
        if (load(ap, "anomaly maps", 3, FLT_T, "float32/float64", &A)) goto done;
        char sm[128], sa[128];
        shape_str(sm, sizeof sm, &M), shape_str(sa, sizeof sa, &A);
        if (memcmp(M.shape, A.shape, 3 * sizeof M.shape[0])) {
            ad_error("%s has shape %s but %s has shape %s; expected equal shapes (N, H, W). "
                     "Fix: save one mask per anomaly map at the map's resolution", mp, sm, ap, sa);
            goto done;
        }
        if (M.shape[0] != L.shape[0]) {
            ad_error("%s has %lld images (shape %s) but %s has shape (%lld,); expected the same N. "
                     "Fix: save masks and maps for the same images as the labels", mp, (long long)M.shape[0], sm,
                     lp, (long long)L.shape[0]);
            goto done;
        }
        if (M.shape[1] > 1 << 30 || M.shape[2] > 1 << 30 || M.shape[0] > 1 << 30) {
            ad_error("%s: shape %s is too large", mp, sm);
            goto done;
        }
    }
    // image level
    uint8_t *lab = ad_malloc(L.count);
    for (size_t i = 0; i < L.count; i++) {
        switch (L.dtype) {
        case NPY_I32: lab[i] = ((const int32_t *)L.data)[i] != 0; break;
        case NPY_I64: lab[i] = ((const int64_t *)L.data)[i] != 0; break;
        default: lab[i] = ((const uint8_t *)L.data)[i] != 0; break;
        }
    }
    double *sc = npy_as_f64(&S);
    BinaryMetrics im;
    int e = metrics_image(lab, sc, S.count, &im);
    free(lab), free(sc);
    if (e) { ad_error_prefix("%s", sp); goto done; }
    PixelMetrics pm;
    if (mp) {
        int n = (int)M.shape[0], h = (int)M.shape[1], w = (int)M.shape[2];
        size_t hw = (size_t)h * w;
        const uint8_t **mk = ad_malloc((size_t)n * sizeof *mk);
        const void **mapp = ad_malloc((size_t)n * sizeof *mapp);
        int *hs = ad_malloc((size_t)n * sizeof *hs), *ws = ad_malloc((size_t)n * sizeof *ws);
        for (int k = 0; k < n; k++) {
            mk[k] = (const uint8_t *)M.data + k * hw;
            mapp[k] = (const char *)A.data + k * hw * npy_dtype_size(A.dtype);
            hs[k] = h, ws[k] = w;
        }
        if (A.dtype == NPY_F32) e = metrics_pixel(mk, (const float *const *)mapp, hs, ws, n, limit, &pm);
        else e = metrics_pixel_f64(mk, (const double *const *)mapp, hs, ws, n, limit, &pm);
        free(mk), free(mapp), free(hs), free(ws);
        if (e) { ad_error_prefix("%s", ap); goto done; }
    }
    // all good: only now write to stdout
    printf("image_auroc,image_ap,image_f1max%s\n",
           mp ? ",pixel_auroc,pixel_ap,pixel_f1max,pixel_aupro,pixel_aupro_musc" : "");
    print_value(im.auroc, 0), print_value(im.ap, 0), print_value(im.f1max, !mp);
    if (mp) {
        print_value(pm.auroc, 0), print_value(pm.ap, 0), print_value(pm.f1max, 0);
        print_value(pm.aupro, 0), print_value(pm.aupro_musc, 1);
    }
    rc = 0;
done:
    npy_free(&L), npy_free(&S), npy_free(&M), npy_free(&A);
    return rc;
}

int cmd_metrics(int argc, char **argv) {
    const char *lp = NULL, *sp = NULL, *mp = NULL, *ap = NULL, *lim = NULL, *help = NULL;
    const Opt opts[] = {
        {"labels", 1, &lp, "L.npy: (N,) bool/int image labels, nonzero = anomalous"},
        {"scores", 1, &sp, "S.npy: (N,) float32/float64 image scores"},
        {"masks", 1, &mp, "M.npy: (N,H,W) uint8/bool ground truth, nonzero = anomalous pixel"},
        {"maps", 1, &ap, "A.npy: (N,H,W) float32/float64 anomaly maps"},
        {"pro-limit", 1, &lim, "FPR integration limit of AU-PRO, in (0,1] (default 0.3)"},
        {"help", 0, &help, "this help"},
    };
    const int no = sizeof opts / sizeof opts[0];
    const char *syn = "--labels L.npy --scores S.npy [--masks M.npy --maps A.npy] [--pro-limit 0.3]";
    if (opts_parse("metrics", argc, argv, 2, opts, no, NULL, 0) < 0) ad_die_user();
    if (help) {
        opts_usage("metrics", syn, opts, no);
        return 0;
    }
    if (!lp || !sp) {
        ad_error("adbench metrics: --labels and --scores are required. Usage: adbench metrics %s", syn);
        ad_die_user();
    }
    if (!mp != !ap) {
        ad_error("adbench metrics: --masks and --maps go together (got only %s). Fix: pass both or neither",
                 mp ? "--masks" : "--maps");
        ad_die_user();
    }
    double limit = 0.3;
    if (lim) {
        char *end = NULL;
        limit = strtod(lim, &end);
        if (!*lim || *end || !(limit > 0 && limit <= 1)) {
            ad_error("adbench metrics: --pro-limit '%s' is not a number in (0, 1]. Fix: use e.g. --pro-limit 0.3", lim);
            ad_die_user();
        }
    }
    if (run(lp, sp, mp, ap, limit)) ad_die_user();
    return 0;
}
