// Feature cache: hits and misses, content-hash invalidation, corrupt entries, rotations,
// atomic writes (no temp files), and the no-cache mode. The backbone is a test double that
// derives features from the file's bytes and counts its calls.
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "config.h"
#include "err.h"
#include "image.h"
#include "util_test.h"

static int g_calls;
struct Backbone {
    char key[64];
};

// 2 layers x 2x3 grid x 4 dims + a 5-dim embedding, all from the file's bytes.
static int fake_extract(Backbone *b, const char *path, Features *out) {
    (void)b;
    g_calls++;
    size_t n;
    char *s = slurp(path, &n);
    if (!s) return ad_error("%s: cannot read", path);
    memset(out, 0, sizeof *out);
    out->n_layers = 2, out->gh = 2, out->gw = 3, out->dim = 4, out->embed_dim = 5;
    out->patch = malloc(2 * 6 * 4 * sizeof(float));
    out->embed = malloc(5 * sizeof(float));
    for (int i = 0; i < 48; i++) out->patch[i] = (float)(unsigned char)s[(size_t)i % n] + 0.25f * i;
    for (int i = 0; i < 5; i++) out->embed[i] = (float)n + i;
    free(s);
    return 0;
}
static const char *fake_key(const Backbone *b) { return b->key; }
static const BackboneDriver FAKE = {"fake", NULL, NULL, fake_extract, fake_key, NULL, NULL};

static int count_files(const char *dir, const char *suffix) {
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = ad_sprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (!stat(p, &st) && S_ISDIR(st.st_mode)) n += count_files(p, suffix);
        else if (strstr(e->d_name, suffix)) n++;
        free(p);
    }
    closedir(d);
    return n;
}

Test(cache, hit_miss_and_content_hash_invalidation) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.bin", dir), *cdir = ad_sprintf("%s/c", dir);
    write_text(img, "hello features");
    Backbone bb = {"fake|size=8"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    cr_assert_not_null(c, "%s", ad_last_error());
    g_calls = 0;
    Features f1, f2, ref;
    int hit = -1;
    cr_assert_eq(cache_get(c, img, &f1, &hit), 0, "%s", ad_last_error());
    cr_assert_eq(hit, 0);
    cr_assert_eq(g_calls, 1);
    size_t entry = 64 + 64 + 4 * (48 + 5);  // header, layer-shape table (padded), payload
    cr_assert_eq(cache_bytes_written(c), entry);
    cr_assert_eq(cache_get(c, img, &f2, &hit), 0);
    cr_assert_eq(hit, 1, "second read must be a hit");
    cr_assert_eq(g_calls, 1, "a hit must not extract");
    fake_extract(&bb, img, &ref);
    cr_assert_eq(f2.n_layers, 2);
    cr_assert_eq(f2.gh, 2);
    cr_assert_eq(f2.gw, 3);
    cr_assert_eq(f2.dim, 4);
    cr_assert_eq(f2.embed_dim, 5);
    cr_assert(!memcmp(f2.patch, ref.patch, 48 * sizeof(float)), "cached patch tokens differ");
    cr_assert(!memcmp(f2.embed, ref.embed, 5 * sizeof(float)), "cached embedding differs");
    cr_assert_eq(cache_bytes_touched(c), 2 * entry);
    features_free(&ref);
    cache_release(c, &f1);
    cache_release(c, &f2);
    cr_assert_null(f2.patch);
    // Editing the image changes its content hash: a miss, and a second entry.
    write_text(img, "hello features, edited");
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f1, &hit), 0);
    cr_assert_eq(hit, 0);
    cr_assert_eq(g_calls, 1);
    cache_release(c, &f1);
    cache_close(c);
    cr_assert_eq(count_files(cdir, ".feat"), 2);
    cr_assert_eq(count_files(cdir, ".tmp"), 0, "temp files left behind");
    // Another backbone key: its own folder, a miss.
    Backbone bb2 = {"fake|size=16"};
    c = cache_open(cdir, &FAKE, &bb2);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f1, &hit), 0);
    cr_assert_eq(hit, 0);
    cr_assert_eq(g_calls, 1);
    cache_release(c, &f1);
    cache_close(c);
    // Reopening with the first key: the entry survives the process (a fresh cache object).
    c = cache_open(cdir, &FAKE, &bb);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f1, &hit), 0);
    cr_assert_eq(hit, 1);
    cr_assert_eq(g_calls, 0);
    cache_release(c, &f1);
    cache_close(c);
    rm_rf(dir);
    free(dir), free(img), free(cdir);
}

Test(cache, corrupt_entry_is_a_miss_and_rewritten) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.bin", dir), *cdir = ad_sprintf("%s/c", dir);
    write_text(img, "pixels");
    Backbone bb = {"fake|k"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    Features f;
    int hit;
    cr_assert_eq(cache_get(c, img, &f, &hit), 0);
    cache_release(c, &f);
    // Truncate the entry.
    uint64_t h;
    cr_assert_eq(file_content_hash(img, &h), 0);
    uint64_t kh = fnv1a64(FNV1A64_INIT, "fake|k", 6);
    char *entry = ad_sprintf("%s/%016llx/%016llx.feat", cdir, (unsigned long long)kh, (unsigned long long)h);
    size_t len;
    char *bytes = slurp(entry, &len);
    cr_assert_not_null(bytes, "entry %s missing", entry);
    FILE *fp = fopen(entry, "wb");
    fwrite(bytes, 1, len - 8, fp);
    fclose(fp);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f, &hit), 0);
    cr_assert_eq(hit, 0, "a truncated entry must not be used");
    cr_assert_eq(g_calls, 1);
    cache_release(c, &f);
    size_t len2;
    char *bytes2 = slurp(entry, &len2);
    cr_assert_eq(len2, len, "the entry must be rewritten whole");
    cache_close(c);
    free(bytes), free(bytes2), free(entry);
    rm_rf(dir);
    free(dir), free(img), free(cdir);
}

Test(cache, content_hash_is_fnv1a_of_the_bytes) {
    char *dir = make_tmpdir("cache");
    char *p = ad_sprintf("%s/f", dir);
    write_text(p, "foobar");
    uint64_t h;
    cr_assert_eq(file_content_hash(p, &h), 0);
    cr_assert_eq(h, 0x85944171f73967e8ULL);
    cr_assert_eq(file_content_hash("/nonexistent/x.png", &h), -1);
    cr_assert(strstr(ad_last_error(), "/nonexistent/x.png"));
    rm_rf(dir);
    free(dir), free(p);
}

Test(cache, rotations_have_their_own_entries) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.png", dir), *cdir = ad_sprintf("%s/c", dir);
    ImageU8 im = {8, 6, 3, malloc(8 * 6 * 3)};
    for (int i = 0; i < 8 * 6 * 3; i++) im.data[i] = (unsigned char)(i * 37);
    cr_assert_eq(image_write_png(img, &im), 0, "%s", ad_last_error());
    free(im.data);
    Backbone bb = {"fake|rot"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    Features f0, f90, again;
    int hit;
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f0, &hit), 0);
    cr_assert_eq(cache_get_rotated(c, img, 90, &f90, &hit), 0, "%s", ad_last_error());
    cr_assert_eq(hit, 0);
    cr_assert_eq(g_calls, 2);
    cr_assert_eq(cache_get_rotated(c, img, 90, &again, &hit), 0);
    cr_assert_eq(hit, 1);
    cr_assert(!memcmp(again.patch, f90.patch, 48 * sizeof(float)));
    cr_assert(memcmp(f0.patch, f90.patch, 48 * sizeof(float)), "the rotated image must give other features");
    cache_release(c, &f0), cache_release(c, &f90), cache_release(c, &again);
    cache_close(c);
    cr_assert_eq(count_files(cdir, "-r90.feat"), 1);
    cr_assert_eq(count_files(cdir, ".png"), 0, "the temporary rotated PNG must be removed");
    rm_rf(dir);
    free(dir), free(img), free(cdir);
}

Test(cache, no_dir_means_no_caching) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.bin", dir);
    write_text(img, "x");
    Backbone bb = {"fake"};
    FeatureCache *c = cache_open(NULL, &FAKE, &bb);
    cr_assert_not_null(c);
    g_calls = 0;
    Features f;
    int hit;
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(cache_get(c, img, &f, &hit), 0);
        cr_assert_eq(hit, 0);
        cache_release(c, &f);
    }
    cr_assert_eq(g_calls, 2);
    cr_assert_eq(cache_bytes_written(c), 0);
    cache_close(c);
    rm_rf(dir);
    free(dir), free(img);
}

Test(cache, unwritable_dir_is_a_clear_error) {
    Backbone bb = {"fake"};
    FeatureCache *c = cache_open("/proc/adbench-cache", &FAKE, &bb);
    cr_assert_null(c);
    cr_assert(strstr(ad_last_error(), "cannot create folder"), "%s", ad_last_error());
}

// CNN-style features: layers of different grids and widths survive the cache exactly.
static int ms_extract(Backbone *b, const char *path, Features *out) {
    (void)b, (void)path;
    memset(out, 0, sizeof *out);
    out->n_layers = 2, out->embed_dim = 0;
    out->layer[0] = (LayerShape){4, 6, 3};
    out->layer[1] = (LayerShape){2, 3, 5};
    out->patch = malloc((72 + 30) * sizeof(float));
    for (int i = 0; i < 102; i++) out->patch[i] = 0.5f * i - 7;
    return 0;
}
static const BackboneDriver MS = {"ms", NULL, NULL, ms_extract, fake_key, NULL, NULL};

Test(cache, per_layer_shapes_round_trip) {
    char *dir = make_tmpdir("cache");
    char *cdir = ad_sprintf("%s/c", dir), *img = ad_sprintf("%s/a.png", dir);
    write_text(img, "x");
    Backbone bb = {"ms|v1"};
    FeatureCache *c = cache_open(cdir, &MS, &bb);
    cr_assert_not_null(c);
    Features a, b;
    int hit;
    cr_assert_eq(cache_get(c, img, &a, &hit), 0, "%s", ad_last_error());
    cr_expect_eq(hit, 0);
    cr_expect(a.gh == 4 && a.gw == 6 && a.dim == 0, "layer 0 grid, dim 0 for mixed widths");
    cr_assert_eq(cache_get(c, img, &b, &hit), 0, "%s", ad_last_error());
    cr_expect_eq(hit, 1);
    cr_expect(b.n_layers == 2 && layers_equal(a.layer, b.layer, 2) && b.dim == 0 && b.gh == 4);
    cr_expect(!memcmp(a.patch, b.patch, 102 * sizeof(float)));
    cache_release(c, &a);
    cache_release(c, &b);
    cache_close(c);
    rm_rf(dir);
    free(dir), free(cdir), free(img);
}

// Issue 12 item 9: an entry altered between runs (same size) gave other metrics silently, and
// crafted dimensions wrapped the size check. Each entry carries a checksum of its payload,
// checked on map; the size check is overflow-safe; a bad entry is a miss with a warning.
Test(cache, altered_or_crafted_entry_is_a_miss_with_a_warning, .init = cr_redirect_stderr) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.bin", dir), *cdir = ad_sprintf("%s/c", dir);
    write_text(img, "pixels");
    Backbone bb = {"fake|k"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    Features f;
    int hit;
    cr_assert_eq(cache_get(c, img, &f, &hit), 0);
    cache_release(c, &f);
    uint64_t h;
    cr_assert_eq(file_content_hash(img, &h), 0);
    uint64_t kh = fnv1a64(FNV1A64_INIT, "fake|k", 6);
    char *entry = ad_sprintf("%s/%016llx/%016llx.feat", cdir, (unsigned long long)kh, (unsigned long long)h);
    size_t len;
    char *bytes = slurp(entry, &len);
    cr_assert(bytes && len > 136);
    // 1. one payload float changed, size unchanged (payload after the 64-byte header and the
    // 64-byte layer-shape table)
    bytes[128 + 4] ^= 0x40;
    FILE *fp = fopen(entry, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f, &hit), 0);
    cr_expect_eq(hit, 0, "an altered entry was used");
    cr_expect_eq(g_calls, 1);
    cache_release(c, &f);
    // 2. crafted dimensions whose product wraps to the real payload size
    char *good = slurp(entry, &len);
    // the layer table's (gh, gw, dim) of layer 0 and 1 made huge: 2^16 x 2^16 x 2^16 twice
    // would wrap a 32-bit count and exceed any file; the embedding count set to the real size
    int32_t dims[6] = {65536, 65536, 65536, 65536, 65536, 65536}, emb;
    memcpy(good + 64, dims, sizeof dims);
    emb = (int32_t)((len - 128) / 4);
    memcpy(good + 32, &emb, sizeof emb);  // embed_dim
    fp = fopen(entry, "wb");
    fwrite(good, 1, len, fp);
    fclose(fp);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f, &hit), 0);
    cr_expect_eq(hit, 0, "crafted dimensions were mapped");
    cr_expect(f.n_layers > 0 && f.n_layers < 65536, "n_layers %d", f.n_layers);
    cache_release(c, &f);
    cache_close(c);
    fflush(stderr);
    char *err = NULL;
    size_t n = 0;
    FILE *ef = cr_get_redirected_stderr();
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, ef)) > 0) {
        err = realloc(err, n + k + 1);
        memcpy(err + n, chunk, k);
        n += k;
        err[n] = 0;
    }
    cr_expect(err && strstr(err, entry) && strstr(err, "checksum mismatch"), "%s", err ? err : "(no warning)");
    free(err), free(bytes), free(good), free(entry);
    rm_rf(dir);
    free(dir), free(img), free(cdir);
}

// --- size estimate, disk budget, float16 entries (issue 11 item 11) --------------------------

#include "cache_budget.h"
#include "half.h"

Test(cache, estimate_formula_matches_mvtec_at_clip_l_518) {
    // MuSc on MVTec AD with CLIP ViT-L/14 at 518: 1725 test images, 4 layers of 37 x 37 x 1024,
    // a 768-dim embedding: "~39 GB of float32".
    uint64_t per = 64 + 64 + 4ULL * (4 * 37 * 37 * 1024 + 768);
    uint64_t b = cache_estimate_bytes(4, 37, 37, 1024, 768, CACHE_FLOAT32, 1725);
    cr_assert_eq(b, per * 1725);
    cr_assert(b > 38.5e9 && b < 39.0e9, "%.3f GB", b / 1e9);
    uint64_t h = cache_estimate_bytes(4, 37, 37, 1024, 768, CACHE_FLOAT16, 1725);
    cr_assert_eq(h, (128 + 2ULL * (4 * 37 * 37 * 1024 + 768)) * 1725);
    cr_assert(h > 19.3e9 && h < 19.4e9, "float16 halves it: %.3f GB", h / 1e9);
    char s[32];
    cache_fmt_bytes(s, sizeof s, b);
    cr_assert_str_eq(s, "38.7 GB");
    cache_fmt_bytes(s, sizeof s, 999);
    cr_assert_str_eq(s, "999 B");
    cache_fmt_bytes(s, sizeof s, 1500000);
    cr_assert_str_eq(s, "1.5 MB");
    // CNN layers of different shapes (ResNet-18 at 224: layer2 28x28x128, layer3 14x14x256)
    LayerShape l[2] = {{28, 28, 128}, {14, 14, 256}};
    cr_assert_eq(cache_entry_bytes(l, 2, 0, CACHE_FLOAT32), 128 + 4ULL * (28 * 28 * 128 + 14 * 14 * 256));
    cr_assert_eq(cache_entry_bytes(l, 2, 0, CACHE_FLOAT16), 128 + 2ULL * (28 * 28 * 128 + 14 * 14 * 256));
    LayerShape six[6];
    for (int i = 0; i < 6; i++) six[i] = (LayerShape){1, 1, 1};
    cr_assert_eq(cache_entry_bytes(six, 6, 0, CACHE_FLOAT32), 64 + 128 + 24, "the layer table pads to 64 bytes");
}

Test(cache, budget_decision_limit_and_free_space) {
    CacheBudget b = {100, 10000000000ULL, 30000000000ULL, UINT64_MAX, 0};  // add 10 GB to 30 GB
    cr_assert_eq(cache_budget_check(&b, "cache/features", "mvtec/screw", CACHE_FLOAT32), 0, "no limit, free unknown");
    b.max_gb = 40;  // 30 + 10 = 40: fits exactly
    cr_assert_eq(cache_budget_check(&b, "cache/features", "mvtec/screw", CACHE_FLOAT32), 0, "%s", ad_last_error());
    b.max_gb = 39.9;
    cr_assert_eq(cache_budget_check(&b, "cache/features", "mvtec/screw", CACHE_FLOAT32), -1);
    const char *e = ad_last_error();
    cr_expect(strstr(e, "cache/features") && strstr(e, "40.0 GB") && strstr(e, "30.0 GB") && strstr(e, "10.0 GB") &&
                  strstr(e, "cache_max_gb: 39.9") && strstr(e, "cache_dtype: float16") && strstr(e, "cache_dir: none") &&
                  strstr(e, "delete old entries") && strstr(e, "100 images of mvtec/screw"),
              "%s", e);
    cr_assert_eq(cache_budget_check(&b, "cache/features", "mvtec/screw", CACHE_FLOAT16), -1);
    cr_expect(!strstr(ad_last_error(), "cache_dtype: float16"), "already float16: %s", ad_last_error());
    // Free space, without any limit: add must fit in free minus min(1 GB, free / 10).
    b.max_gb = 0;
    b.free = 11000000000ULL;  // 11 GB free, margin 1 GB: 10 GB fits exactly
    cr_assert_eq(cache_budget_check(&b, "/c", "x", CACHE_FLOAT32), 0, "%s", ad_last_error());
    b.free = 10999999999ULL;
    cr_assert_eq(cache_budget_check(&b, "/c", "x", CACHE_FLOAT32), -1);
    e = ad_last_error();
    cr_expect(strstr(e, "/c:") && strstr(e, "11.0 GB free") && strstr(e, "~10.0 GB") && strstr(e, "free disk space"), "%s", e);
    cr_assert_eq(cache_free_margin(5000), 500);
    cr_assert_eq(cache_free_margin(100000000000ULL), 1000000000ULL);
    b.free = 5, b.add = 6;  // a nearly full tiny disk (margin 0): no underflow
    cr_assert_eq(cache_budget_check(&b, "/c", "x", CACHE_FLOAT32), -1);
    b.add = 0;
    cr_assert_eq(cache_budget_check(&b, "/c", "x", CACHE_FLOAT32), 0);
    char line[256];
    b = (CacheBudget){3, 3000, 0, 120000000000ULL, 0};
    cache_budget_line(line, sizeof line, &b, "cache/features", "mvtec/screw", CACHE_FLOAT16);
    cr_assert_str_eq(line, "cache: mvtec/screw will add ~3.0 kB (float16, 3 images) to cache/features; 120.0 GB free");
}

// Values that exercise rounding: ties, subnormals, overflow, NaN.
static int tricky_extract(Backbone *b, const char *path, Features *out) {
    (void)b, (void)path;
    g_calls++;
    memset(out, 0, sizeof *out);
    out->n_layers = 2, out->gh = 2, out->gw = 3, out->dim = 4, out->embed_dim = 5;
    out->patch = malloc(48 * sizeof(float));
    out->embed = malloc(5 * sizeof(float));
    const float special[8] = {1.0f + 0x1p-11f, 0x1.8p-24f, 70000.0f, -0.0f, NAN, 0x1p-30f, 65504.0f, -1e-7f};
    for (int i = 0; i < 48; i++) out->patch[i] = i < 8 ? special[i] : 0.1f * i - 2.345678f;
    for (int i = 0; i < 5; i++) out->embed[i] = 1.0f / (3.0f + i);
    return 0;
}
static const BackboneDriver TRICKY = {"tricky", NULL, NULL, tricky_extract, fake_key, NULL, NULL};

static int same_bits(const float *a, const float *b, size_t n) { return !memcmp(a, b, n * sizeof(float)); }

Test(cache, float16_entries_give_float16_rounded_features_bit_for_bit) {
    char *dir = make_tmpdir("cache");
    char *img = ad_sprintf("%s/a.bin", dir), *cdir = ad_sprintf("%s/c", dir);
    write_text(img, "pixels");
    Backbone bb = {"tricky|k"};
    Features ref, miss, hit16, f32;
    tricky_extract(&bb, img, &ref);
    half_round(ref.patch, 48);
    half_round(ref.embed, 5);
    FeatureCache *c = cache_open_dtype(cdir, &TRICKY, &bb, CACHE_FLOAT16);
    cr_assert_not_null(c, "%s", ad_last_error());
    int hit;
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &miss, &hit), 0, "%s", ad_last_error());
    cr_assert_eq(hit, 0);
    cr_expect(same_bits(miss.patch, ref.patch, 48) && same_bits(miss.embed, ref.embed, 5),
              "a miss must hand out the float16-rounded features");
    size_t entry = 64 + 64 + 2 * (48 + 5);
    cr_assert_eq(cache_bytes_written(c), entry, "float16: 2 bytes a value");
    cr_assert_eq(cache_get(c, img, &hit16, &hit), 0, "%s", ad_last_error());
    cr_assert_eq(hit, 1);
    cr_assert_eq(g_calls, 1);
    cr_expect(same_bits(hit16.patch, ref.patch, 48) && same_bits(hit16.embed, ref.embed, 5), "hit != rounded float32");
    cr_expect(hit16.patch[0] == 1.0f && hit16.patch[1] == 0x1p-23f && isinf(hit16.patch[2]) && isnan(hit16.patch[4]) &&
              hit16.patch[5] == 0 && hit16.patch[6] == 65504.0f, "tie, subnormal tie, overflow, NaN, underflow");
    cr_assert_eq(cache_dtype(c), CACHE_FLOAT16);
    cache_release(c, &miss);
    cache_release(c, &hit16);
    cr_assert_null(hit16.patch);
    cache_close(c);
    // A float32 cache on the same folder and key never reads the float16 entry: its own folder.
    c = cache_open(cdir, &TRICKY, &bb);
    g_calls = 0;
    cr_assert_eq(cache_get(c, img, &f32, &hit), 0);
    cr_expect_eq(hit, 0, "a float16 entry was read by a float32 cache");
    cr_expect_eq(g_calls, 1);
    Features raw;
    tricky_extract(&bb, img, &raw);
    cr_expect(same_bits(f32.patch + 8, raw.patch + 8, 40), "float32 cache must keep the exact values");
    cr_expect(!same_bits(f32.patch + 8, ref.patch + 8, 40));
    cache_release(c, &f32);
    cache_close(c);
    cr_assert_eq(count_files(cdir, ".feat"), 2, "one entry per dtype");
    // No cache folder: float16 still rounds (results do not depend on caching).
    c = cache_open_dtype(NULL, &TRICKY, &bb, CACHE_FLOAT16);
    cr_assert_eq(cache_get(c, img, &f32, &hit), 0);
    cr_expect(same_bits(f32.patch, ref.patch, 48));
    cache_release(c, &f32);
    cache_close(c);
    features_free(&ref), features_free(&raw);
    rm_rf(dir);
    free(dir), free(img), free(cdir);
}

static char *read_redirected_stderr(void) {
    fflush(stderr);
    char *err = calloc(1, 1);
    size_t n = 0, k;
    char chunk[4096];
    FILE *ef = cr_get_redirected_stderr();
    while ((k = fread(chunk, 1, sizeof chunk, ef)) > 0) {
        err = realloc(err, n + k + 1);
        memcpy(err + n, chunk, k);
        n += k;
        err[n] = 0;
    }
    return err;
}

Test(cache, older_format_and_wrong_dtype_entries_are_rebuilt_with_a_warning, .init = cr_redirect_stderr) {
    char *dir = make_tmpdir("cache");
    char *a = ad_sprintf("%s/a.bin", dir), *b = ad_sprintf("%s/b.bin", dir), *cdir = ad_sprintf("%s/c", dir);
    write_text(a, "aaa");
    write_text(b, "bbbb");
    Backbone bb = {"fake|old"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    Features f;
    int hit;
    const char *imgs[2] = {a, b};
    char *entry[2];
    uint64_t kh = fnv1a64(FNV1A64_INIT, "fake|old", 8);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(cache_get(c, imgs[i], &f, &hit), 0);
        cache_release(c, &f);
        uint64_t h;
        file_content_hash(imgs[i], &h);
        entry[i] = ad_sprintf("%s/%016llx/%016llx.feat", cdir, (unsigned long long)kh, (unsigned long long)h);
        size_t len;
        char *bytes = slurp(entry[i], &len);
        uint32_t v2 = 2;
        memcpy(bytes + 8, &v2, 4);  // as an older adbench wrote it
        FILE *fp = fopen(entry[i], "wb");
        fwrite(bytes, 1, len, fp);
        fclose(fp);
        free(bytes);
    }
    cache_close(c);
    c = cache_open(cdir, &FAKE, &bb);
    g_calls = 0;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(cache_get(c, imgs[i], &f, &hit), 0);
        cr_expect_eq(hit, 0, "an older-format entry was used");
        cache_release(c, &f);
    }
    cr_expect_eq(g_calls, 2);
    for (int i = 0; i < 2; i++) {  // rebuilt: a hit now
        cr_assert_eq(cache_get(c, imgs[i], &f, &hit), 0);
        cr_expect_eq(hit, 1);
        cache_release(c, &f);
    }
    cache_close(c);
    // An entry claiming float16 (version 4) placed in the float32 folder: a miss with a warning.
    size_t len;
    char *bytes = slurp(entry[0], &len);
    uint32_t v4 = 4, d1 = 1;
    memcpy(bytes + 8, &v4, 4);
    memcpy(bytes + 36, &d1, 4);
    FILE *fp = fopen(entry[0], "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    free(bytes);
    c = cache_open(cdir, &FAKE, &bb);
    cr_assert_eq(cache_get(c, a, &f, &hit), 0);
    cr_expect_eq(hit, 0);
    cache_release(c, &f);
    cache_close(c);
    char *err = read_redirected_stderr();
    cr_expect(strstr(err, "older format (v2") && strstr(err, entry[0]) && strstr(err, "warned once"), "%s", err);
    cr_expect(!strstr(err, entry[1]), "one warning per cache, not per entry: %s", err);
    cr_expect(strstr(err, "it holds float16 features; this cache is float32"), "%s", err);
    free(err), free(entry[0]), free(entry[1]);
    rm_rf(dir);
    free(dir), free(a), free(b), free(cdir);
}

static int g_free_calls;
static int planted_free(const char *dir, uint64_t *free_b) {
    (void)dir;
    g_free_calls++;
    *free_b = 300;  // a nearly full disk: less than one entry
    return 0;
}

Test(cache, preflight_counts_missing_images_extracts_nothing_twice_and_stops_on_a_full_disk) {
    char *dir = make_tmpdir("cache");
    char *cdir = ad_sprintf("%s/c", dir), *p[3];
    for (int i = 0; i < 3; i++) {  // PNGs: p[2] is also read rotated
        p[i] = ad_sprintf("%s/%d.png", dir, i);
        ImageU8 im = {8, 6, 3, malloc(8 * 6 * 3)};
        for (int k = 0; k < 8 * 6 * 3; k++) im.data[k] = (unsigned char)(k * (i + 3));
        cr_assert_eq(image_write_png(p[i], &im), 0, "%s", ad_last_error());
        free(im.data);
    }
    Backbone bb = {"fake|pre"};
    FeatureCache *c = cache_open(cdir, &FAKE, &bb);
    const char *paths[5] = {p[0], p[1], p[2], p[1], p[2]};
    double deg[5] = {0, 0, 0, 0, 90};  // p[1] twice (one entry), p[2] also rotated (its own entry)
    CacheBudget b;
    size_t entry = 64 + 64 + 4 * (48 + 5);
    g_calls = 0;
    cr_assert_eq(cache_preflight(c, cdir, paths, deg, 5, 0, "t/x", NULL, &b), 0, "%s", ad_last_error());
    cr_assert_eq(b.n_images, 4);
    cr_assert_eq(b.add, 4 * entry);
    cr_assert_eq(g_calls, 1, "nothing cached yet: one image extracted to learn the size");
    Features f;
    int hit;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cache_get(c, p[i], &f, &hit), 0);
        cache_release(c, &f);
    }
    cr_assert_eq(g_calls, 3, "the preflight's image was reused, not extracted again");
    cr_assert_eq(cache_bytes_written(c), 3 * entry);
    // One rotation left: its size comes from the entries there, nothing is extracted.
    g_calls = 0;
    cr_assert_eq(cache_preflight(c, cdir, paths, deg, 5, 1e-9 * (3 * entry + entry + 10), "t/x", NULL, &b), 0, "%s",
                 ad_last_error());
    cr_assert_eq(b.n_images, 1);
    cr_assert_eq(b.add, entry);
    cr_assert_eq(g_calls, 0);
    cr_assert(b.existing >= 3 * entry, "existing %llu", (unsigned long long)b.existing);
    // cache_max_gb just below: one clear error, nothing written.
    cr_assert_eq(cache_preflight(c, cdir, paths, deg, 5, 1e-9 * (3 * entry), "t/x", NULL, &b), -1);
    cr_expect(strstr(ad_last_error(), "cache_max_gb") && strstr(ad_last_error(), cdir), "%s", ad_last_error());
    // A planted full disk, no limit.
    int (*saved)(const char *, uint64_t *) = cache_free_space;
    cache_free_space = planted_free;
    g_free_calls = 0;
    cr_assert_eq(cache_preflight(c, cdir, paths, deg, 5, 0, "t/x", NULL, &b), -1);
    cache_free_space = saved;
    cr_expect_eq(g_free_calls, 1);
    cr_expect(strstr(ad_last_error(), "300 B free") && strstr(ad_last_error(), "free disk space"), "%s", ad_last_error());
    cr_assert_eq(count_files(cdir, ".feat"), 3, "a refused preflight writes nothing");
    // Everything cached: nothing to add, no line, no check.
    cr_assert_eq(cache_get_rotated(c, p[2], 90, &f, &hit), 0);
    cache_release(c, &f);
    cache_free_space = planted_free;
    g_free_calls = 0;
    cr_assert_eq(cache_preflight(c, cdir, paths, deg, 5, 1e-12, "t/x", NULL, &b), 0);
    cache_free_space = saved;
    cr_expect_eq(g_free_calls, 0);
    cr_expect_eq(b.n_images, 0);
    cache_close(c);
    rm_rf(dir);
    for (int i = 0; i < 3; i++) free(p[i]);
    free(dir), free(cdir);
}
