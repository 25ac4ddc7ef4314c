// Feature cache: hits and misses, content-hash invalidation, corrupt entries, rotations,
// atomic writes (no temp files), and the no-cache mode. The backbone is a test double that
// derives features from the file's bytes and counts its calls.
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
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
static const BackboneDriver FAKE = {"fake", NULL, NULL, fake_extract, fake_key, NULL};

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
static const BackboneDriver MS = {"ms", NULL, NULL, ms_extract, fake_key, NULL};

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
