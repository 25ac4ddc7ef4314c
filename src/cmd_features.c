// adbench features: run a CLIP / DINOv2 ViT from safetensors on one image (or an already
// normalised tensor) and write the residual stream after the requested blocks, all tokens.
// Contract (docs/DESIGN.md): DIR/blockK.npy, float32 (T, width), tokens in model order
// (class, registers, patches row-major); --norm applies the final LayerNorm.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "npy.h"
#include "opts.h"
#include "preprocess.h"
#include "vit.h"
#include "vit_driver.h"

#define MAX_LAYERS 64

static int parse_layers(const char *s, int *out) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || n == MAX_LAYERS)
            return ad_error("--layers: expected a comma-separated list of block numbers (1-based), e.g. 6,12,18,24; found '%s'", s);
        out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!n) return ad_error("--layers: expected at least one block number, found '%s'", s);
    return n;
}

static int mkdir_p(const char *dir) {
    char *d = ad_strdup(dir);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(d, 0777);
            *p = '/';
        }
    int r = mkdir(d, 0777);
    free(d);
    if (r && errno != EEXIST) return ad_error("%s: cannot create the output folder: %s", dir, strerror(errno));
    return 0;
}

static int run(int argc, char **argv) {
    const char *weights = NULL, *image = NULL, *tensor = NULL, *size_s = NULL, *layers_s = NULL, *norm = NULL,
               *act_s = NULL, *prep_s = NULL, *out = NULL, *help = NULL, *pos_s = NULL;
    const Opt opts[] = {
        {"weights", 1, &weights, "W.safetensors: CLIP (OpenAI/OpenCLIP/HF) or DINOv2 (official/HF) vision tower"},
        {"image", 1, &image, "input image (decoded, resized and normalised by --preprocess)"},
        {"tensor", 1, &tensor, "X.npy: an already-normalised float32 (3, H, W) input instead of --image"},
        {"size", 1, &size_s, "with --image: input size (default: the pretraining size, e.g. 336 / 518)"},
        {"layers", 1, &layers_s, "K1,K2,...: blocks to write (1-based)"},
        {"norm", 0, &norm, "apply the final LayerNorm (ln_post / norm) to the written tokens"},
        {"act", 1, &act_s, "gelu|quick_gelu (default: DINOv2 gelu; CLIP quick_gelu at the pretraining size, gelu otherwise, as MuSc)"},
        {"preprocess", 1, &prep_s, "with --image: musc (default) or anomalydino (backbones/preprocess.h)"},
        {"pos-resize", 1, &pos_s, "scheme (default: as the naming scheme's reference code) | hub (official DINOv2 hub) | size | offset | size_aa"},
        {"out", 1, &out, "output folder (created): blockK.npy, float32 (T, width)"},
        {"help", 0, &help, "this help"},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]);
    const char *syn = "--weights W.safetensors (--image IMG [--size S] | --tensor X.npy) --layers K1,K2,... [--norm] [--act gelu|quick_gelu] --out DIR";
    if (opts_parse("features", argc, argv, 2, opts, nopt, NULL, 0) < 0) return -1;
    if (help) {
        opts_usage("features", syn, opts, nopt);
        return 0;
    }
    if (!weights) return ad_error("adbench features: missing --weights W.safetensors. Fix: usage: adbench features %s", syn);
    if (!layers_s) return ad_error("adbench features: missing --layers K1,K2,... (1-based blocks)");
    if (!out) return ad_error("adbench features: missing --out DIR");
    if (!image == !tensor) return ad_error("adbench features: expected exactly one of --image IMG and --tensor X.npy, found %s",
                                           image ? "both" : "neither");
    if (size_s && !image) return ad_error("adbench features: --size applies to --image only (a --tensor input has its own size)");
    int taps[MAX_LAYERS], n = parse_layers(layers_s, taps);
    if (n < 0) return -1;
    ViT m;
    if (vit_open(&m, weights)) return -1;
    int rc = -1, H = 0, W = 0, act_auto = 1;
    float *img = NULL, *res = NULL;
    ViTAct act = ACT_GELU;
    if (act_s && (vit_parse_act(act_s, &act_auto, &act) || act_auto)) {
        ad_error("--act: expected gelu or quick_gelu, found '%s'", act_s);
        goto done;
    }
    if (pos_s && vit_set_pos_resize(&m, pos_s)) {
        ad_error_prefix("--pos-resize");
        goto done;
    }
    if (tensor) {
        NpyArray a;
        if (npy_read(tensor, &a)) goto done;
        if (a.dtype != NPY_F32 || a.ndim != 3 || a.shape[0] != 3) {
            ad_error("%s: expected a float32 array of shape (3, H, W) (a normalised image), found %s with %d dimensions%s. "
                     "Fix: save it with np.save(path, x.astype(np.float32)) for x of shape (3, H, W)",
                     tensor, npy_dtype_name(a.dtype), a.ndim, a.ndim == 3 && a.shape[0] != 3 ? " and a first dimension other than 3" : "");
            npy_free(&a);
            goto done;
        }
        H = (int)a.shape[1], W = (int)a.shape[2];
        img = a.data;
    } else {
        int size = m.cfg.grid * m.cfg.patch;
        if (size_s) {
            char *end;
            long v = strtol(size_s, &end, 10);
            if (*end || v < m.cfg.patch || v > 8192) {
                ad_error("--size: expected an integer in %d..8192, found '%s'", m.cfg.patch, size_s);
                goto done;
            }
            size = (int)v;
        }
        PrepKind pk = PREP_MUSC;
        if (prep_s && !strcmp(prep_s, "anomalydino")) pk = PREP_ANOMALYDINO;
        else if (prep_s && strcmp(prep_s, "musc")) {
            ad_error("--preprocess: expected musc or anomalydino, found '%s'", prep_s);
            goto done;
        }
        if (vit_preprocess_file(&img, &H, &W, image, pk, m.cfg.family == VIT_CLIP, size, m.cfg.patch)) goto done;
    }
    if (H < m.cfg.patch || W < m.cfg.patch) {
        ad_error("%s: input is %dx%d pixels, smaller than one %dx%d patch. Fix: use a larger input", tensor ? tensor : image, W, H,
                 m.cfg.patch, m.cfg.patch);
        goto done;
    }
    m.cfg.act = act_s ? act : vit_auto_act(&m, H, W);
    int T = vit_tokens(&m, H, W), D = m.cfg.width;
    res = ad_malloc((size_t)n * T * D * sizeof(float));
    if (vit_forward(&m, res, NULL, img, 1, H, W, taps, n, norm != NULL)) goto done;
    if (mkdir_p(out)) goto done;
    for (int i = 0; i < n; i++) {
        char *path = ad_sprintf("%s/block%d.npy", out, taps[i]), *tmp = ad_sprintf("%s/.block%d.npy.tmp", out, taps[i]);
        int64_t shape[2] = {T, D};
        int e = npy_write(tmp, NPY_F32, 2, shape, res + (size_t)i * T * D);
        if (!e && rename(tmp, path)) e = ad_error("%s: cannot write: %s", path, strerror(errno));
        free(path), free(tmp);
        if (e) goto done;
    }
    printf("%s: %s (%s names), width %d, %d blocks, %d heads, patch %d, grid %dx%d; input %dx%d -> %d tokens; act %s%s; wrote %d file%s to %s\n",
           weights, m.cfg.family == VIT_CLIP ? "CLIP" : "DINOv2", m.cfg.scheme, D, m.cfg.layers, m.cfg.heads, m.cfg.patch,
           m.cfg.grid, m.cfg.grid, W, H, T, m.cfg.act == ACT_GELU ? "gelu" : "quick_gelu", norm ? ", final norm" : "", n,
           n > 1 ? "s" : "", out);
    rc = 0;
done:
    free(img);
    free(res);
    vit_close(&m);
    return rc;
}

int cmd_features(int argc, char **argv) {
    if (run(argc, argv)) ad_die_user();
    return 0;
}
