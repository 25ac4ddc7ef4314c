// Backbone driver "vit": CLIP or DINOv2 from a safetensors file (family, naming scheme and
// shape told apart by the tensors), one of the reference input pipelines, per-layer patch
// tokens (CLS and registers dropped) and the image embedding RsCIN uses.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone.h"
#include "err.h"
#include "preprocess.h"
#include "sha256.h"
#include "vit.h"
#include "vit_driver.h"

#define MAX_TAPS 64

static const ParamSpec SPEC[] = {
    {"weights", PT_STRING, "", 0, -1, "path of a .safetensors CLIP or DINOv2 vision tower (scripts/fetch_weights.sh)"},
    {"size", PT_INT, "0", 0, 8192,
     "input size S: MuSc resizes to S x S (518), AnomalyDINO the shorter side to S (448); 0 = pretraining size"},
    {"layers", PT_INT_LIST, "[6,12,18,24]", 1, 64, "tapped blocks, 1-based (MuSc ViT-L: 6,12,18,24; AnomalyDINO ViT-S: 12)"},
    {"act", PT_STRING, "auto", 0, -1,
     "auto|gelu|quick_gelu. auto: DINOv2 gelu; CLIP quick_gelu at its pretraining size and exact gelu at any other "
     "size, as MuSc's released code does (it rebuilds non-336 CLIP models without quick_gelu)"},
    {"norm", PT_STRING, "auto", 0, -1,
     "auto|true|false: final LayerNorm on tapped tokens. auto: CLIP false (MuSc taps the raw stream), DINOv2 true "
     "(get_intermediate_layers(norm=True))"},
    {"preprocess", PT_STRING, "musc", 0, -1, "musc|anomalydino (backbones/preprocess.h)"},
    {"pos_resize", PT_STRING, "hub", 0, -1,
     "hub|scheme|size|offset|size_aa: position-embedding resize at other grids. hub (default): the official torch.hub "
     "DINOv2 semantics MuSc and AnomalyDINO ran, also for HF-named weights; scheme: each naming scheme's own reference "
     "(HF Dinov2Model: size=); CLIP: always open_clip's bicubic resize"},
    PARAM_END};

struct Backbone {
    ViT m;
    char *key;
    int size, n_taps, taps[MAX_TAPS], norm, act_auto;
    int size_auto, norm_auto, act_seen;  // act_seen: bit 1 << ViTAct of each activation auto chose
    ViTAct act;
    PrepKind prep;
};

// --- option helpers shared with `adbench features` ----------------------------------------
int vit_parse_act(const char *s, int *is_auto, ViTAct *act) {
    *is_auto = 0;
    if (!strcmp(s, "auto")) *is_auto = 1;
    else if (!strcmp(s, "gelu")) *act = ACT_GELU;
    else if (!strcmp(s, "quick_gelu")) *act = ACT_QUICK_GELU;
    else return ad_error("act: expected auto, gelu or quick_gelu, found '%s'", s);
    return 0;
}

ViTAct vit_auto_act(const ViT *m, int H, int W) {
    int native = m->cfg.grid * m->cfg.patch;
    if (m->cfg.family == VIT_DINOV2) return ACT_GELU;
    return H == native && W == native ? ACT_QUICK_GELU : ACT_GELU;
}

// --- driver ------------------------------------------------------------------------------------
static void close_(Backbone *b) {
    if (!b) return;
    vit_close(&b->m);
    free(b->key);
    free(b);
}

static Backbone *open_(const Params *p) {
    const char *path = params_str(p, "weights");
    if (!path || !*path) {
        ad_error("backbone vit: key 'weights' is empty; expected the path of a .safetensors file. Fix: set backbone.weights (scripts/fetch_weights.sh downloads them)");
        return NULL;
    }
    Backbone *b = ad_calloc(1, sizeof *b);
    if (vit_open(&b->m, path)) { free(b); return NULL; }
    const ViTConfig *c = &b->m.cfg;
    b->size = params_int(p, "size");
    b->size_auto = !b->size;
    if (!b->size) b->size = c->grid * c->patch;
    b->n_taps = params_int_list(p, "layers", b->taps, MAX_TAPS);
    for (int i = 0; i < b->n_taps; i++)
        if (b->taps[i] < 1 || b->taps[i] > c->layers) {
            ad_error("backbone vit: layers: block %d does not exist in %s (%d blocks, 1-based). Fix: choose layers in 1..%d",
                     b->taps[i], path, c->layers, c->layers);
            close_(b);
            return NULL;
        }
    const char *act = params_str(p, "act"), *norm = params_str(p, "norm"), *prep = params_str(p, "preprocess");
    if (vit_parse_act(act, &b->act_auto, &b->act)) {
        ad_error_prefix("backbone vit");
        close_(b);
        return NULL;
    }
    b->norm_auto = !strcmp(norm, "auto");
    if (b->norm_auto) b->norm = c->family == VIT_DINOV2;
    else if (!strcmp(norm, "true")) b->norm = 1;
    else if (!strcmp(norm, "false")) b->norm = 0;
    else {
        ad_error("backbone vit: norm: expected auto, true or false, found '%s'", norm);
        close_(b);
        return NULL;
    }
    if (!strcmp(prep, "musc")) b->prep = PREP_MUSC;
    else if (!strcmp(prep, "anomalydino")) b->prep = PREP_ANOMALYDINO;
    else {
        ad_error("backbone vit: preprocess: expected musc or anomalydino, found '%s'", prep);
        close_(b);
        return NULL;
    }
    const char *pr = params_str(p, "pos_resize");
    if (vit_set_pos_resize(&b->m, pr)) {
        ad_error_prefix("backbone vit");
        close_(b);
        return NULL;
    }
    char hex[65];
    if (sha256_file_cached(hex, path, NULL)) {  // cached by (path, size, mtime): 1.2 GB is hashed once
        close_(b);
        return NULL;
    }
    char layers[512] = "";
    for (int i = 0; i < b->n_taps; i++) snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "," : "", b->taps[i]);
    b->key = ad_sprintf("vit:%s:%s:sha256=%s:size=%d:layers=%s:act=%s:norm=%d:preprocess=%s:pos=%d",
                        c->family == VIT_CLIP ? "clip" : "dinov2", c->scheme, hex, b->size, layers,
                        b->act_auto ? "auto" : b->act == ACT_GELU ? "gelu" : "quick_gelu", b->norm, prep, (int)c->pos_resize);
    return b;
}

static const char *cache_key_(const Backbone *b) { return b->key; }

static const char *resolved_(const Backbone *b, const char *key) {
    static _Thread_local char v[32];
    if (!strcmp(key, "size") && b->size_auto) return snprintf(v, sizeof v, "%d", b->size), v;
    if (!strcmp(key, "norm") && b->norm_auto) return b->norm ? "true" : "false";
    if (!strcmp(key, "act") && b->act_auto) {
        // what extraction used; before any (all features cached) what an S x S input gets
        int seen = b->act_seen ? b->act_seen : 1 << vit_auto_act(&b->m, b->size, b->size);
        if (seen == (1 << ACT_GELU)) return "gelu";
        if (seen == (1 << ACT_QUICK_GELU)) return "quick_gelu";
        return "gelu or quick_gelu (by input size)";
    }
    return NULL;
}

static int extract_(Backbone *b, const char *image_path, Features *out) {
    ViT *m = &b->m;
    const ViTConfig *c = &m->cfg;
    float *img;
    int H, W;
    memset(out, 0, sizeof *out);
    if (vit_preprocess_file(&img, &H, &W, image_path, b->prep, c->family == VIT_CLIP, b->size, c->patch)) return -1;
    m->cfg.act = b->act_auto ? vit_auto_act(m, H, W) : b->act;
    if (b->act_auto) b->act_seen |= 1 << m->cfg.act;
    int T = vit_tokens(m, H, W), D = c->width, R = 1 + c->n_reg, gh = H / c->patch, gw = W / c->patch, G = gh * gw;
    float *tok = ad_malloc((size_t)b->n_taps * T * D * sizeof(float));
    float *emb = ad_malloc((size_t)vit_embed_dim(m) * sizeof(float));
    int r = vit_forward(m, tok, emb, img, 1, H, W, b->taps, b->n_taps, b->norm);
    free(img);
    if (r) {
        free(tok), free(emb);
        return strstr(ad_last_error(), image_path) ? -1 : ad_error_prefix("%s", image_path);
    }
    out->n_layers = b->n_taps, out->gh = gh, out->gw = gw, out->dim = D;
    out->patch = ad_malloc((size_t)b->n_taps * G * D * sizeof(float));
    for (int i = 0; i < b->n_taps; i++)  // drop CLS and registers
        memcpy(out->patch + (size_t)i * G * D, tok + ((size_t)i * T + R) * D, (size_t)G * D * sizeof(float));
    free(tok);
    out->embed_dim = vit_embed_dim(m);
    out->embed = emb;
    return 0;
}

const BackboneDriver backbone_vit = {"vit", SPEC, open_, extract_, cache_key_, close_, resolved_};
