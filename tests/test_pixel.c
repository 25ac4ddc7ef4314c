// Weight-free pixel backbone (backbones/pixel.c) on a real MVTec AD screw image, against the
// NumPy/Pillow reference in tests/gen/gen_musc.py.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backbone.h"
#include "err.h"
#include "npy.h"
#include "util_test.h"

static float *load(const char *name, size_t expect) {
    char path[256];
    snprintf(path, sizeof path, "tests/golden/musc/%s", name);
    NpyArray a;
    cr_assert_eq(npy_read(path, &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.count, expect, "%s: %zu values, expected %zu", path, a.count, expect);
    float *f = npy_as_f32(&a);
    npy_free(&a);
    return f;
}

static char *screw(void) { return ad_sprintf("%s/mvtec_ad/screw/test/good/000.png", shared_data()); }

static Backbone *open_with(Params *p, const char *const *kv) {
    const BackboneDriver *d = backbone_find("pixel");
    cr_assert(d);
    p->spec = d->params, p->n = 0, p->keys = p->values = NULL;
    for (int t = 0; kv[t]; t += 2) cr_assert_eq(params_set(p, kv[t], kv[t + 1]), 0, "%s", ad_last_error());
    return d->open(p);
}

static void check_config(const char *const *kv, const char *golden, const char *golden_embed, int L, int g, int dim,
                         int edim) {
    const BackboneDriver *d = backbone_find("pixel");
    Params p;
    Backbone *b = open_with(&p, kv);
    cr_assert(b, "%s", ad_last_error());
    char *img = screw();
    Features f, f2;
    cr_assert_eq(d->extract(b, img, &f), 0, "%s", ad_last_error());
    cr_assert_eq(f.n_layers, L);
    cr_assert_eq(f.gh, g);
    cr_assert_eq(f.gw, g);
    cr_assert_eq(f.dim, dim);
    cr_assert_eq(f.embed_dim, edim);
    float *want = load(golden, (size_t)L * g * g * dim), *we = load(golden_embed, edim);
    for (size_t t = 0; t < (size_t)L * g * g * dim; t++)
        cr_assert(fabsf(f.patch[t] - want[t]) <= 1e-5f, "%s[%zu]: %g vs %g", golden, t, f.patch[t], want[t]);
    for (int t = 0; t < edim; t++) cr_assert(fabsf(f.embed[t] - we[t]) <= 1e-5f, "embed[%d]", t);
    // Deterministic: a second extraction is bit-identical.
    cr_assert_eq(d->extract(b, img, &f2), 0);
    cr_assert(!memcmp(f.patch, f2.patch, (size_t)L * g * g * dim * sizeof(float)));
    cr_assert(!memcmp(f.embed, f2.embed, edim * sizeof(float)));
    features_free(&f), features_free(&f2);
    free(want), free(we), free(img);
    d->close(b);
    params_free(&p);
}

Test(pixel, screw_two_scales_mean_embed) {
    const char *kv[] = {"size", "64", "scales", "[1,2]", NULL};
    check_config(kv, "pixel_a.npy", "pixel_a_embed.npy", 2, 8, 192, 192);
}

Test(pixel, screw_odd_stride_scale3_thumb_embed) {
    const char *kv[] = {"size", "60", "patch", "6", "stride", "5", "scales", "[3]", "embed", "thumb", NULL};
    check_config(kv, "pixel_b.npy", "pixel_b_embed.npy", 1, 11, 108, 768);
}

Test(pixel, default_shape_and_cache_key) {
    const BackboneDriver *d = backbone_find("pixel");
    Params p;
    const char *none[] = {NULL};
    Backbone *b = open_with(&p, none);
    cr_assert(b, "%s", ad_last_error());
    char *img = screw();
    Features f;
    cr_assert_eq(d->extract(b, img, &f), 0, "%s", ad_last_error());
    cr_assert_eq(f.n_layers, 1);
    cr_assert_eq(f.gh, 28);
    cr_assert_eq(f.dim, 192);
    const char *k1 = d->cache_key(b);
    cr_assert(strstr(k1, "size=224") && strstr(k1, "patch=8") && strstr(k1, "stride=8") && strstr(k1, "scales=1") &&
                  strstr(k1, "embed=mean"),
              "%s", k1);
    // Every parameter changes the key.
    const char *variants[][2] = {{"size", "200"}, {"patch", "4"}, {"stride", "4"}, {"scales", "[1,2]"}, {"embed", "none"}};
    for (int v = 0; v < 5; v++) {
        Params q;
        const char *kv[] = {variants[v][0], variants[v][1], NULL};
        Backbone *b2 = open_with(&q, kv);
        cr_assert(b2);
        cr_assert(strcmp(d->cache_key(b2), k1), "key unchanged by %s", variants[v][0]);
        d->close(b2);
        params_free(&q);
    }
    features_free(&f);
    free(img);
    d->close(b);
    params_free(&p);
}

Test(pixel, clear_errors) {
    const BackboneDriver *d = backbone_find("pixel");
    Params p;
    const char *bad_embed[] = {"embed", "clip", NULL};
    cr_assert_null(open_with(&p, bad_embed));
    cr_assert(strstr(ad_last_error(), "embed") && strstr(ad_last_error(), "clip"), "%s", ad_last_error());
    params_free(&p);
    const char *too_big[] = {"size", "16", "patch", "32", NULL};
    cr_assert_null(open_with(&p, too_big));
    cr_assert(strstr(ad_last_error(), "patch") && strstr(ad_last_error(), "size"), "%s", ad_last_error());
    params_free(&p);
    const char *none[] = {NULL};
    Backbone *b = open_with(&p, none);
    Features f;
    cr_assert_eq(d->extract(b, "/nonexistent/img.png", &f), -1);
    cr_assert(strstr(ad_last_error(), "/nonexistent/img.png"), "%s", ad_last_error());
    d->close(b);
    params_free(&p);
}

// Issue 12 item 15: size 4096, patch 64, stride 1 (each in range) tried to allocate 800 GB.
// The memory is estimated from the parameters when the backbone opens and refused with it.
Test(pixel, huge_feature_memory_is_refused_before_extraction) {
    Params p;
    const char *huge[] = {"size", "4096", "patch", "64", "stride", "1", NULL};
    cr_assert_null(open_with(&p, huge), "800 GB of features per image accepted");
    cr_expect(strstr(ad_last_error(), "4033x4033 grid of 12288-dim features: 799.5 GB per image"), "%s", ad_last_error());
    params_free(&p);
    // Issue 12 item 19: the runner prefixes "backbone 'pixel'"; the backbone no longer does.
    const char *bad_embed[] = {"embed", "clip", NULL};
    cr_assert_null(open_with(&p, bad_embed));
    cr_expect(!strstr(ad_last_error(), "backbone 'pixel'"), "%s", ad_last_error());
    params_free(&p);
}
