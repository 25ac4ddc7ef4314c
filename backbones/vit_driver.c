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
    ViTAct act;
    PrepKind prep;
};

// --- SHA-256 (FIPS 180-4) of the weights file for the cache key ----------------------------
typedef struct { uint32_t h[8]; uint64_t len; unsigned char buf[64]; size_t n; } Sha256;
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(Sha256 *s, const unsigned char *p) {
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, s->h, sizeof a);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof(uint32_t));
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) s->h[i] += a[i];
}
static void sha_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0, s->n = 0;
}
static void sha_update(Sha256 *s, const unsigned char *p, size_t n) {
    s->len += n;
    if (s->n) {
        while (n && s->n < 64) s->buf[s->n++] = *p++, n--;
        if (s->n == 64) sha_block(s, s->buf), s->n = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha_block(s, p);
    while (n--) s->buf[s->n++] = *p++;
}
static void sha_final(Sha256 *s, char hex[65]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, z = 0, lb[8];
    sha_update(s, &pad, 1);
    while (s->n != 56) sha_update(s, &z, 1);
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, lb, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

void vit_sha256_hex(char hex[65], const void *data, size_t n) {
    Sha256 s;
    sha_init(&s);
    sha_update(&s, data, n);
    sha_final(&s, hex);
}

int file_sha256_hex(char hex[65], const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return ad_error("%s: cannot open weights file", path);
    Sha256 s;
    sha_init(&s);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&s, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return ad_error("%s: read error while hashing the weights", path);
    sha_final(&s, hex);
    return 0;
}

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
    if (!strcmp(norm, "auto")) b->norm = c->family == VIT_DINOV2;
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
    vit_sha256_hex(hex, b->m.st.map, b->m.st.size);
    char layers[512] = "";
    for (int i = 0; i < b->n_taps; i++) snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "," : "", b->taps[i]);
    b->key = ad_sprintf("vit:%s:%s:sha256=%s:size=%d:layers=%s:act=%s:norm=%d:preprocess=%s:pos=%d",
                        c->family == VIT_CLIP ? "clip" : "dinov2", c->scheme, hex, b->size, layers,
                        b->act_auto ? "auto" : b->act == ACT_GELU ? "gelu" : "quick_gelu", b->norm, prep, (int)c->pos_resize);
    return b;
}

static const char *cache_key_(const Backbone *b) { return b->key; }

static int extract_(Backbone *b, const char *image_path, Features *out) {
    ViT *m = &b->m;
    const ViTConfig *c = &m->cfg;
    float *img;
    int H, W;
    memset(out, 0, sizeof *out);
    if (vit_preprocess_file(&img, &H, &W, image_path, b->prep, c->family == VIT_CLIP, b->size, c->patch)) return -1;
    m->cfg.act = b->act_auto ? vit_auto_act(m, H, W) : b->act;
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

const BackboneDriver backbone_vit = {"vit", SPEC, open_, extract_, cache_key_, close_};
