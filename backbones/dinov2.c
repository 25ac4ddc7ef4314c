// DINOv2 image towers: weight names of the official checkpoints (facebookresearch/dinov2,
// "blocks.N.", LayerScale "ls1.gamma", optional "register_tokens"; SwiGLU FFN "mlp.w12"/"mlp.w3"
// for ViT-g) and of Hugging Face Dinov2Model / Dinov2WithRegistersModel ("embeddings.",
// "encoder.layer.N.", LayerScale "layer_scale1.lambda1", SwiGLU "mlp.weights_in"/"weights_out").
// "mask_token" (training only) is ignored. The position-embedding resize follows each scheme's
// reference code:
//   official, no registers (hub dinov2_vit*14, MuSc, AnomalyDINO): bicubic, scale_factor =
//       ((gh + 0.1) / M, (gw + 0.1) / M), no antialias;
//   official with registers (hub dinov2_vit*14_reg: interpolate_antialias=True, offset 0):
//       bicubic, size = (gh, gw), antialias;
//   HF Dinov2Model (transformers >= 4.45; older releases used the +0.1 scale factor):
//       bicubic, size = (gh, gw), no antialias;
//   HF Dinov2WithRegistersModel: bicubic, size = (gh, gw), antialias.
// Every variant keeps the pretraining grid untouched when gh = gw = M.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "vit.h"

typedef struct {
    const char *scheme;
    const char *patch_w, *patch_b, *cls, *reg, *pos, *norm_w, *norm_b;
    // per block, "%d" = 0-based index
    const char *block_probe;
    const char *ln1_w, *ln1_b, *qkv_w, *qkv_b;      // fused, or NULL
    const char *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;  // split, or NULL
    const char *out_w, *out_b, *ls1, *ln2_w, *ln2_b, *ls2;
    const char *fc1_w, *fc1_b, *fc2_w, *fc2_b;      // GELU MLP
    const char *w12_w, *w12_b, *w3_w, *w3_b;        // SwiGLU FFN
    const char *ignore;                             // training-only tensor
    PosResize pos_plain, pos_reg;                   // resize without / with registers
} DinoNames;

static const DinoNames OFFICIAL = {
    "dinov2", "patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "register_tokens", "pos_embed",
    "norm.weight", "norm.bias",
    "blocks.%d.norm1.weight",
    "blocks.%d.norm1.weight", "blocks.%d.norm1.bias", "blocks.%d.attn.qkv.weight", "blocks.%d.attn.qkv.bias",
    NULL, NULL, NULL, NULL, NULL, NULL,
    "blocks.%d.attn.proj.weight", "blocks.%d.attn.proj.bias", "blocks.%d.ls1.gamma",
    "blocks.%d.norm2.weight", "blocks.%d.norm2.bias", "blocks.%d.ls2.gamma",
    "blocks.%d.mlp.fc1.weight", "blocks.%d.mlp.fc1.bias", "blocks.%d.mlp.fc2.weight", "blocks.%d.mlp.fc2.bias",
    "blocks.%d.mlp.w12.weight", "blocks.%d.mlp.w12.bias", "blocks.%d.mlp.w3.weight", "blocks.%d.mlp.w3.bias",
    "mask_token", POS_SCALE_OFFSET, POS_SIZE_AA,
};

static const DinoNames HF = {
    "hf-dinov2", "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
    "embeddings.cls_token", "embeddings.register_tokens", "embeddings.position_embeddings",
    "layernorm.weight", "layernorm.bias",
    "encoder.layer.%d.norm1.weight",
    "encoder.layer.%d.norm1.weight", "encoder.layer.%d.norm1.bias", NULL, NULL,
    "encoder.layer.%d.attention.attention.query.weight", "encoder.layer.%d.attention.attention.query.bias",
    "encoder.layer.%d.attention.attention.key.weight", "encoder.layer.%d.attention.attention.key.bias",
    "encoder.layer.%d.attention.attention.value.weight", "encoder.layer.%d.attention.attention.value.bias",
    "encoder.layer.%d.attention.output.dense.weight", "encoder.layer.%d.attention.output.dense.bias",
    "encoder.layer.%d.layer_scale1.lambda1",
    "encoder.layer.%d.norm2.weight", "encoder.layer.%d.norm2.bias", "encoder.layer.%d.layer_scale2.lambda1",
    "encoder.layer.%d.mlp.fc1.weight", "encoder.layer.%d.mlp.fc1.bias", "encoder.layer.%d.mlp.fc2.weight",
    "encoder.layer.%d.mlp.fc2.bias",
    "encoder.layer.%d.mlp.weights_in.weight", "encoder.layer.%d.mlp.weights_in.bias",
    "encoder.layer.%d.mlp.weights_out.weight", "encoder.layer.%d.mlp.weights_out.bias",
    "embeddings.mask_token", POS_SIZE, POS_SIZE_AA,
};

static char g_name[512];
static const char *N(const char *fmt, int l) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(g_name, sizeof g_name, fmt, l);
#pragma GCC diagnostic pop
    return g_name;
}

static const DinoNames *g_tab;
static int skip_mask_token(const char *name) { return !strcmp(name, g_tab->ignore); }


static int load_with(ViT *m, const DinoNames *t) {
    SafeTensors *st = &m->st;
    char sb[128];
    const StTensor *pw = st_find(st, t->patch_w);
    if (pw->ndim != 4 || pw->shape[1] != 3 || pw->shape[2] != pw->shape[3] || pw->shape[0] % 64)
        return ad_error("%s: tensor '%s': expected shape (width, 3, P, P) with width a multiple of 64 (heads = width / 64), found %s. Fix: use a DINOv2 ViT checkpoint",
                        st->path, pw->name, st_shape_str(sb, sizeof sb, pw->ndim, pw->shape));
    ViTConfig *c = &m->cfg;
    int64_t D = pw->shape[0], P = pw->shape[2];
    // Every dimension read from the file is bounded (width 0 or patch 0 once divided by zero).
    if (vit_check_dim(m, pw->name, "width (shape[0])", D, 64, 16384) ||
        vit_check_dim(m, pw->name, "patch size (shape[2])", P, 1, 1024))
        return -1;
    c->family = VIT_DINOV2;
    c->scheme = t->scheme;
    c->width = (int)D, c->heads = (int)(D / 64), c->patch = (int)P;
    c->eps = 1e-6f, c->act = ACT_GELU;
    while (st_has(st, N(t->block_probe, c->layers))) c->layers++;
    if (!c->layers)
        return ad_error("%s: no transformer blocks found (expected '%s'). Fix: use a complete DINOv2 checkpoint", st->path, N(t->block_probe, 0));
    const StTensor *pe = st_find(st, t->pos);
    if (!pe || pe->ndim != 3 || pe->shape[0] != 1 || pe->shape[2] != D)
        return ad_error("%s: tensor '%s': expected shape (1, M*M + 1, %lld), found %s. Fix: use a DINOv2 checkpoint", st->path, t->pos,
                        (long long)D, pe ? st_shape_str(sb, sizeof sb, pe->ndim, pe->shape) : "it missing");
    int M = 0;
    while ((int64_t)(M + 1) * (M + 1) + 1 <= pe->shape[1]) M++;
    if ((int64_t)M * M + 1 != pe->shape[1])
        return ad_error("%s: tensor '%s': expected M*M + 1 positions (class + square grid), found %lld. Fix: use a DINOv2 checkpoint",
                        st->path, pe->name, (long long)pe->shape[1]);
    if (vit_check_dim(m, pe->name, "position grid side M", M, 1, 1024)) return -1;
    c->grid = M;
    const StTensor *rg = st_find(st, t->reg);
    if (rg && (rg->ndim != 3 || rg->shape[0] != 1 || rg->shape[2] != D))
        return ad_error("%s: tensor '%s': expected shape (1, R, %lld), found %s. Fix: re-convert the checkpoint", st->path, rg->name,
                        (long long)D, st_shape_str(sb, sizeof sb, rg->ndim, rg->shape));
    if (rg && vit_check_dim(m, rg->name, "register count (shape[1])", rg->shape[1], 0, 256)) return -1;
    c->n_reg = rg ? (int)rg->shape[1] : 0;
    c->pos_resize = c->n_reg ? t->pos_reg : t->pos_plain;
    c->swiglu = st_has(st, N(t->w12_w, 0));
    const StTensor *f1 = st_find(st, N(c->swiglu ? t->w12_w : t->fc1_w, 0));
    if (!f1 || f1->ndim != 2 || (c->swiglu && f1->shape[0] % 2))
        return ad_error("%s: missing or malformed tensor '%s'. Fix: use a complete DINOv2 checkpoint", st->path,
                        N(c->swiglu ? t->w12_w : t->fc1_w, 0));
    // SwiGLU: w12 holds [x1; x2], each `hidden` rows; hidden = (int(4D * 2/3) + 7) // 8 * 8
    // in both the official SwiGLUFFNFused and HF Dinov2SwiGLUFFN (4096 for ViT-g, D = 1536).
    if (vit_check_dim(m, f1->name, "MLP hidden width (shape[0])", f1->shape[0], 1, 262144)) return -1;
    c->hidden = (int)(c->swiglu ? f1->shape[0] / 2 : f1->shape[0]);
    int64_t Hd = c->hidden;

    ViTWeights *w = &m->w;
    if (!(w->patch_w = VIT_W(m, t->patch_w, D, 3, P, P))) return -1;
    if (!(w->patch_b = VIT_W(m, t->patch_b, D))) return -1;
    if (!(w->cls = VIT_W(m, t->cls, 1, 1, D))) return -1;
    if (!(w->pos = VIT_W(m, t->pos, 1, (int64_t)M * M + 1, D))) return -1;
    if (c->n_reg && !(w->reg = VIT_W(m, t->reg, 1, c->n_reg, D))) return -1;
    if (!(w->norm_w = VIT_W(m, t->norm_w, D))) return -1;
    if (!(w->norm_b = VIT_W(m, t->norm_b, D))) return -1;
    w->layer = ad_calloc((size_t)c->layers, sizeof(ViTLayer));
    for (int l = 0; l < c->layers; l++) {
        ViTLayer *L = &w->layer[l];
#define GET(dst, fmt, ...) if (!(dst = VIT_W(m, N(fmt, l), __VA_ARGS__))) return -1
        GET(L->ln1_w, t->ln1_w, D);
        GET(L->ln1_b, t->ln1_b, D);
        if (t->qkv_w) {
            GET(L->qkv_w, t->qkv_w, 3 * D, D);
            GET(L->qkv_b, t->qkv_b, 3 * D);
        } else {
            const float *q, *k, *v, *qb, *kb, *vb;
            GET(q, t->q_w, D, D);
            GET(k, t->k_w, D, D);
            GET(v, t->v_w, D, D);
            GET(qb, t->q_b, D);
            GET(kb, t->k_b, D);
            GET(vb, t->v_b, D);
            L->qkv_w = vit_fuse3(m, q, k, v, (size_t)(D * D));
            L->qkv_b = vit_fuse3(m, qb, kb, vb, (size_t)D);
        }
        GET(L->proj_w, t->out_w, D, D);
        GET(L->proj_b, t->out_b, D);
        GET(L->ls1, t->ls1, D);
        GET(L->ln2_w, t->ln2_w, D);
        GET(L->ln2_b, t->ln2_b, D);
        GET(L->ls2, t->ls2, D);
        if (c->swiglu) {
            GET(L->fc1_w, t->w12_w, 2 * Hd, D);
            GET(L->fc1_b, t->w12_b, 2 * Hd);
            GET(L->fc2_w, t->w3_w, D, Hd);
            GET(L->fc2_b, t->w3_b, D);
        } else {
            GET(L->fc1_w, t->fc1_w, Hd, D);
            GET(L->fc1_b, t->fc1_b, Hd);
            GET(L->fc2_w, t->fc2_w, D, Hd);
            GET(L->fc2_b, t->fc2_b, D);
        }
#undef GET
    }
    g_tab = t;
    const StTensor *u = st_first_unused(st, "", skip_mask_token);
    if (u)
        return ad_error("%s: unexpected tensor '%s' %s in a DINOv2 (%s) model with %d blocks: this reader does not know what it is. "
                        "Fix: use an official or Hugging Face DINOv2 backbone checkpoint (see scripts/convert_weights.py)",
                        st->path, u->name, st_shape_str(sb, sizeof sb, u->ndim, u->shape), t->scheme, c->layers);
    return 0;
}

int dinov2_load(ViT *m) {
    if (st_has(&m->st, OFFICIAL.patch_w)) return load_with(m, &OFFICIAL);
    if (st_has(&m->st, HF.patch_w)) return load_with(m, &HF);
    return 1;
}

// --- F.interpolate(mode="bicubic", antialias=True, align_corners=False) ------------------------
// PyTorch's separable antialiased resampling (the PIL-style kernel with a = -0.5, support
// 2 * max(scale, 1), window clipped at the borders and weights renormalised to sum 1).

static double aa_cubic(double x) {
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// Weights of output index i along one axis: taps [*x0, *x0 + *n), w[0..n).
static void aa_weights(int i, int in, int outn, double *w, int *x0, int *n) {
    double scale = (double)in / outn, support = scale >= 1.0 ? 2.0 * scale : 2.0;
    double center = scale * (i + 0.5), inv = scale >= 1.0 ? 1.0 / scale : 1.0;
    long lo = (long)(center - support + 0.5), hi = (long)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    double tot = 0;
    for (long j = lo; j < hi; j++) tot += (w[j - lo] = aa_cubic((j - center + 0.5) * inv));
    for (long j = lo; j < hi; j++) w[j - lo] = tot != 0 ? w[j - lo] / tot : w[j - lo];
    *x0 = (int)lo, *n = (int)(hi - lo);
}

void interp_bicubic_aa_torch(float *out, int oh, int ow, const float *in, int ih, int iw, int C) {
    // in (ih*iw, C), out (oh*ow, C), channels last. Width pass first, then height, as PyTorch.
    int maxn = 4 * (ih / (oh > 0 ? oh : 1) + iw / (ow > 0 ? ow : 1) + 2) + 8;
    double *w = ad_malloc((size_t)maxn * sizeof(double));
    float *tmp = ad_malloc((size_t)ih * ow * C * sizeof(float));
    for (int x = 0; x < ow; x++) {
        int x0, n;
        aa_weights(x, iw, ow, w, &x0, &n);
        for (int y = 0; y < ih; y++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += w[k] * in[((size_t)y * iw + x0 + k) * C + c];
                tmp[((size_t)y * ow + x) * C + c] = (float)s;
            }
    }
    for (int y = 0; y < oh; y++) {
        int y0, n;
        aa_weights(y, ih, oh, w, &y0, &n);
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += w[k] * tmp[((size_t)(y0 + k) * ow + x) * C + c];
                out[((size_t)y * ow + x) * C + c] = (float)s;
            }
    }
    free(tmp);
    free(w);
}
