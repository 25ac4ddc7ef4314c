// CLIP image towers: weight names of the OpenAI / OpenCLIP state dict (prefix "visual." in a
// full CLIP checkpoint, none in a vision-only one; q/k/v fused in attn.in_proj_weight) and of
// Hugging Face CLIPVisionModel / CLIPModel (prefix "vision_model."; q/k/v split; the
// pre-norm is spelled "pre_layrnorm" upstream; the projection is the top-level
// "visual_projection.weight"). Text-tower tensors of a full checkpoint are ignored; any other
// tensor under the vision prefix that this table does not know is an error.
// Position embeddings at another grid: open_clip resize_pos_embed (bicubic, size=, align
// corners false, no antialias, class position kept); HF CLIP's interpolate_pos_encoding does
// the same. Default activation: QuickGELU (what OpenAI CLIP was trained with).
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "vit.h"

typedef struct {
    const char *scheme;
    const char *probe;        // full name of a tensor that identifies the scheme
    const char *prefix;       // vision tower prefix
    const char *patch_w, *cls, *pos, *ln_pre_w, *ln_pre_b, *norm_w, *norm_b;
    const char *proj;         // projection, full name ("%s" = prefix); NULL if none in this scheme
    int proj_linear;          // 1: (E, D) nn.Linear weight (HF); 0: (D, E) matrix (OpenAI x @ proj)
    int pos_2d_extra;         // pos stored as (N, D) (both schemes here)
    // per block, "%s" = prefix, "%d" = 0-based block index
    const char *block_probe;
    const char *ln1_w, *ln1_b, *qkv_w, *qkv_b;      // fused q/k/v, or NULL
    const char *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;  // split q/k/v, or NULL
    const char *out_w, *out_b, *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    const char *ignore[4];    // tensors under the prefix that are not weights (buffers)
} ClipNames;

static const ClipNames OPENAI = {
    "openai", "%sconv1.weight", NULL,
    "%sconv1.weight", "%sclass_embedding", "%spositional_embedding", "%sln_pre.weight", "%sln_pre.bias",
    "%sln_post.weight", "%sln_post.bias", "%sproj", 0, 1,
    "%stransformer.resblocks.%d.ln_1.weight",
    "%stransformer.resblocks.%d.ln_1.weight", "%stransformer.resblocks.%d.ln_1.bias",
    "%stransformer.resblocks.%d.attn.in_proj_weight", "%stransformer.resblocks.%d.attn.in_proj_bias",
    NULL, NULL, NULL, NULL, NULL, NULL,
    "%stransformer.resblocks.%d.attn.out_proj.weight", "%stransformer.resblocks.%d.attn.out_proj.bias",
    "%stransformer.resblocks.%d.ln_2.weight", "%stransformer.resblocks.%d.ln_2.bias",
    "%stransformer.resblocks.%d.mlp.c_fc.weight", "%stransformer.resblocks.%d.mlp.c_fc.bias",
    "%stransformer.resblocks.%d.mlp.c_proj.weight", "%stransformer.resblocks.%d.mlp.c_proj.bias",
    {NULL},
};

static const ClipNames HF = {
    "hf-clip", "%sembeddings.patch_embedding.weight", "vision_model.",
    "%sembeddings.patch_embedding.weight", "%sembeddings.class_embedding", "%sembeddings.position_embedding.weight",
    "%spre_layrnorm.weight", "%spre_layrnorm.bias", "%spost_layernorm.weight", "%spost_layernorm.bias",
    "visual_projection.weight", 1, 1,
    "%sencoder.layers.%d.layer_norm1.weight",
    "%sencoder.layers.%d.layer_norm1.weight", "%sencoder.layers.%d.layer_norm1.bias", NULL, NULL,
    "%sencoder.layers.%d.self_attn.q_proj.weight", "%sencoder.layers.%d.self_attn.q_proj.bias",
    "%sencoder.layers.%d.self_attn.k_proj.weight", "%sencoder.layers.%d.self_attn.k_proj.bias",
    "%sencoder.layers.%d.self_attn.v_proj.weight", "%sencoder.layers.%d.self_attn.v_proj.bias",
    "%sencoder.layers.%d.self_attn.out_proj.weight", "%sencoder.layers.%d.self_attn.out_proj.bias",
    "%sencoder.layers.%d.layer_norm2.weight", "%sencoder.layers.%d.layer_norm2.bias",
    "%sencoder.layers.%d.mlp.fc1.weight", "%sencoder.layers.%d.mlp.fc1.bias",
    "%sencoder.layers.%d.mlp.fc2.weight", "%sencoder.layers.%d.mlp.fc2.bias",
    {"%sembeddings.position_ids", NULL},
};

static char g_name[512];
static const char *N(const char *fmt, const char *prefix, int l) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(g_name, sizeof g_name, fmt, prefix, l);
#pragma GCC diagnostic pop
    return g_name;
}

static const char *g_ignore_prefix;
static const ClipNames *g_ignore_tab;
static int skip_buffer(const char *name) {
    for (int i = 0; i < 4 && g_ignore_tab->ignore[i]; i++)
        if (!strcmp(name, N(g_ignore_tab->ignore[i], g_ignore_prefix, 0))) return 1;
    return 0;
}


static int load_with(ViT *m, const ClipNames *t, const char *prefix) {
    SafeTensors *st = &m->st;
    const StTensor *pw = st_find(st, N(t->patch_w, prefix, 0));
    char sb[128];
    if (pw->ndim != 4 || pw->shape[1] != 3 || pw->shape[2] != pw->shape[3] || pw->shape[0] % 64)
        return ad_error("%s: tensor '%s': expected shape (width, 3, P, P) with width a multiple of 64 (heads = width / 64), found %s. Fix: use a CLIP ViT checkpoint",
                        st->path, pw->name, st_shape_str(sb, sizeof sb, pw->ndim, pw->shape));
    ViTConfig *c = &m->cfg;
    int64_t D = pw->shape[0], P = pw->shape[2];
    // Every dimension read from the file is bounded (width 0 or patch 0 once divided by zero).
    if (vit_check_dim(m, pw->name, "width (shape[0])", D, 64, 16384) ||
        vit_check_dim(m, pw->name, "patch size (shape[2])", P, 1, 1024))
        return -1;
    c->family = VIT_CLIP;
    c->scheme = t->scheme;
    c->width = (int)D, c->heads = (int)(D / 64), c->patch = (int)P;
    c->eps = 1e-5f, c->act = ACT_QUICK_GELU, c->pos_resize = POS_SIZE;
    c->n_reg = 0, c->swiglu = 0;
    while (st_has(st, N(t->block_probe, prefix, c->layers))) c->layers++;
    if (!c->layers)
        return ad_error("%s: no transformer blocks found (expected '%s'). Fix: use a complete CLIP vision tower", st->path, N(t->block_probe, prefix, 0));
    const StTensor *pe = st_find(st, N(t->pos, prefix, 0));
    if (!pe || pe->ndim != 2 || pe->shape[1] != D)
        return ad_error("%s: tensor '%s': expected shape (M*M + 1, %lld), found %s. Fix: use a CLIP ViT checkpoint", st->path,
                        N(t->pos, prefix, 0), (long long)D, pe ? st_shape_str(sb, sizeof sb, pe->ndim, pe->shape) : "it missing");
    int M = 0;
    while ((int64_t)(M + 1) * (M + 1) + 1 <= pe->shape[0]) M++;
    if ((int64_t)M * M + 1 != pe->shape[0])
        return ad_error("%s: tensor '%s': expected M*M + 1 rows (class + square grid), found %lld. Fix: use a CLIP ViT checkpoint",
                        st->path, pe->name, (long long)pe->shape[0]);
    if (vit_check_dim(m, pe->name, "position grid side M", M, 1, 1024)) return -1;
    c->grid = M;
    const StTensor *fc1 = st_find(st, N(t->fc1_w, prefix, 0));
    if (!fc1 || fc1->ndim != 2)
        return ad_error("%s: missing or malformed tensor '%s'. Fix: use a complete CLIP vision tower", st->path, N(t->fc1_w, prefix, 0));
    if (vit_check_dim(m, fc1->name, "MLP hidden width (shape[0])", fc1->shape[0], 1, 262144)) return -1;
    c->hidden = (int)fc1->shape[0];
    int64_t Hd = c->hidden;

    ViTWeights *w = &m->w;
    if (!(w->patch_w = VIT_W(m, N(t->patch_w, prefix, 0), D, 3, P, P))) return -1;
    if (!(w->cls = VIT_W(m, N(t->cls, prefix, 0), D))) return -1;
    if (!(w->pos = VIT_W(m, N(t->pos, prefix, 0), (int64_t)M * M + 1, D))) return -1;
    if (!(w->ln_pre_w = VIT_W(m, N(t->ln_pre_w, prefix, 0), D))) return -1;
    if (!(w->ln_pre_b = VIT_W(m, N(t->ln_pre_b, prefix, 0), D))) return -1;
    if (!(w->norm_w = VIT_W(m, N(t->norm_w, prefix, 0), D))) return -1;
    if (!(w->norm_b = VIT_W(m, N(t->norm_b, prefix, 0), D))) return -1;
    w->layer = ad_calloc((size_t)c->layers, sizeof(ViTLayer));
    for (int l = 0; l < c->layers; l++) {
        ViTLayer *L = &w->layer[l];
#define GET(dst, fmt, ...) if (!(dst = VIT_W(m, N(fmt, prefix, l), __VA_ARGS__))) return -1
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
        GET(L->ln2_w, t->ln2_w, D);
        GET(L->ln2_b, t->ln2_b, D);
        GET(L->fc1_w, t->fc1_w, Hd, D);
        GET(L->fc1_b, t->fc1_b, Hd);
        GET(L->fc2_w, t->fc2_w, D, Hd);
        GET(L->fc2_b, t->fc2_b, D);
#undef GET
    }
    const StTensor *pj = t->proj ? st_find(st, N(t->proj, prefix, 0)) : NULL;
    if (pj) {
        if (pj->ndim != 2 || pj->shape[t->proj_linear ? 1 : 0] != D)
            return ad_error("%s: tensor '%s': expected shape %s, found %s. Fix: re-convert the checkpoint", st->path, pj->name,
                            t->proj_linear ? "(E, width)" : "(width, E)", st_shape_str(sb, sizeof sb, pj->ndim, pj->shape));
        int64_t E = pj->shape[t->proj_linear ? 0 : 1];
        if (vit_check_dim(m, pj->name, "projection width", E, 1, 16384)) return -1;
        const float *p = t->proj_linear ? VIT_W(m, pj->name, E, D) : VIT_W(m, pj->name, D, E);
        if (!p) return -1;
        if (t->proj_linear) {
            w->proj = p;
        } else {  // OpenAI stores x @ proj; keep the nn.Linear (E, D) layout
            float *o = vit_own(m, (size_t)(E * D));
            for (int64_t i = 0; i < D; i++)
                for (int64_t e = 0; e < E; e++) o[e * D + i] = p[i * E + e];
            w->proj = o;
        }
        c->embed_dim = (int)E;
    }
    g_ignore_prefix = prefix, g_ignore_tab = t;
    const StTensor *u = st_first_unused(st, prefix, skip_buffer);
    if (u) {
        char sb2[128];
        return ad_error("%s: unexpected tensor '%s' %s in a CLIP (%s) vision tower with %d blocks: this reader does not know what it is. "
                        "Fix: use an OpenAI/OpenCLIP or Hugging Face CLIP ViT checkpoint (see scripts/convert_weights.py)",
                        st->path, u->name, st_shape_str(sb2, sizeof sb2, u->ndim, u->shape), t->scheme, c->layers);
    }
    return 0;
}

int clip_load(ViT *m) {
    if (st_has(&m->st, "visual.conv1.weight")) return load_with(m, &OPENAI, "visual.");
    if (st_has(&m->st, "conv1.weight")) return load_with(m, &OPENAI, "");
    if (st_has(&m->st, N(HF.probe, HF.prefix, 0))) return load_with(m, &HF, HF.prefix);
    return 1;
}
