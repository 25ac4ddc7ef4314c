// Feature cache: one file per (backbone cache key, image content hash); layout in cache.h.
#include "cache.h"
#include "runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"  // fnv1a64
#include "err.h"
#include "fsutil.h"
#include "half.h"
#include "image.h"

#define CACHE_MAGIC "ADBFEAT1"
// 2: payload checksum; 3: + per-layer shape table (CNN layers differ), float32 payload;
// 4: the same with a float16 payload (dtype word 1). float32 entries are still written as v3,
// byte for byte what adbench wrote before cache_dtype existed, so those caches stay valid.
#define CACHE_VERSION 3u
#define CACHE_VERSION_F16 4u
#define HEADER_BYTES 64

typedef struct {
    char magic[8];
    uint32_t version, header_bytes;
    int32_t n_layers, gh, gw, dim, embed_dim;
    uint32_t dtype;  // CacheDtype: 0 in v3 (float32), 1 in v4 (float16)
    uint64_t content_hash, key_hash;
    uint64_t payload_hash;  // checksum of the float payload, checked on every map
} CacheHeader;  // 64 bytes = HEADER_BYTES

typedef struct {
    float *patch;  // the key: Features.patch handed out
    void *base;
    size_t len;
} Mapping;

struct FeatureCache {
    const BackboneDriver *drv;
    Backbone *bb;
    char *dir;  // <root>/<K>, NULL when caching is off
    uint64_t key_hash;
    CacheDtype dtype;
    size_t written, touched;
    Mapping *maps;
    int n_maps, cap_maps;
    int warned_old;  // one warning per cache for entries of an older format
    // The image cache_preflight extracted to learn the entry size: handed to the next get of
    // the same (content hash, rotation), so it is never extracted twice.
    int has_stash;
    uint64_t stash_h;
    double stash_deg;
    Features stash;
};

static size_t elem_bytes(CacheDtype d) { return d == CACHE_FLOAT16 ? 2 : 4; }

static int mkdir_p(const char *path) {
    char *p = ad_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) {
            int e = errno;
            ad_error("%s: cannot create folder (%s). Fix: check permissions or choose another cache_dir", p, strerror(e));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0777) && errno != EEXIST)
        rc = ad_error("%s: cannot create folder (%s). Fix: check permissions or choose another cache_dir", p, strerror(errno));
    free(p);
    return rc;
}

int file_content_hash(const char *path, uint64_t *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return ad_error("%s: cannot open image (%s)", path, strerror(errno));
    uint64_t h = FNV1A64_INIT;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a64(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return ad_error("%s: read error while hashing", path);
    *out = h;
    return 0;
}

FeatureCache *cache_open(const char *dir, const BackboneDriver *drv, Backbone *bb) {
    return cache_open_dtype(dir, drv, bb, CACHE_FLOAT32);
}

FeatureCache *cache_open_dtype(const char *dir, const BackboneDriver *drv, Backbone *bb, CacheDtype dtype) {
    FeatureCache *c = ad_calloc(1, sizeof *c);
    c->drv = drv;
    c->bb = bb;
    c->dtype = dtype;
    const char *key0 = drv && drv->cache_key && bb ? drv->cache_key(bb) : NULL;
    if (!dir || !key0) return c;  // no caching
    // float16 entries get their own key (folder): a float32 entry is never read as float16.
    char *keybuf = dtype == CACHE_FLOAT16 ? ad_sprintf("%s|cache_dtype=float16", key0) : ad_strdup(key0);
    const char *key = keybuf;
    c->key_hash = fnv1a64(FNV1A64_INIT, key, strlen(key));
    c->dir = ad_sprintf("%s/%016llx", dir, (unsigned long long)c->key_hash);
    if (mkdir_p(c->dir)) {
        free(c->dir);
        free(c);
        free(keybuf);
        return NULL;
    }
    // key.txt: the human-readable key, and a guard against 64-bit hash collisions.
    char *kp = ad_sprintf("%s/key.txt", c->dir);
    FILE *f = fopen(kp, "rb");
    if (f) {
        char *buf = ad_malloc(strlen(key) + 2);
        size_t n = fread(buf, 1, strlen(key) + 1, f);
        fclose(f);
        buf[n] = 0;
        if (n && buf[n - 1] == '\n') buf[n - 1] = 0;
        int same = !strcmp(buf, key);
        free(buf);
        if (!same) {
            ad_error("%s: holds features for another backbone key (hash collision). Fix: delete %s", kp, c->dir);
            free(kp);
            free(c->dir);
            free(c);
            free(keybuf);
            return NULL;
        }
    } else {
        char *tmp = ad_sprintf("%s.tmp.%d", kp, (int)getpid());
        f = fopen(tmp, "wb");
        if (f) {
            fprintf(f, "%s\n", key);
            fclose(f);
            rename(tmp, kp);
        }
        free(tmp);
    }
    free(kp);
    free(keybuf);
    return c;
}

static char *entry_path(const FeatureCache *c, uint64_t h, double deg) {
    if (deg == 0) return ad_sprintf("%s/%016llx.feat", c->dir, (unsigned long long)h);
    return ad_sprintf("%s/%016llx-r%g.feat", c->dir, (unsigned long long)h, deg);
}

// The fixed header, then n_layers x (gh, gw, dim) int32, padded to a multiple of 64 bytes
// (the payload stays 64-byte aligned).
static size_t table_bytes(int n_layers) { return ((size_t)n_layers * 12 + 63) / 64 * 64; }

// FNV-1a over 64-bit words (then the tail bytes), continued from h: fast enough to check
// every entry on map. Checksum = over the patch floats, then the embedding floats.
static uint64_t hash_cont(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 1099511628211ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}
// Over the stored bytes (es = 4 for float32, 2 for float16).
static uint64_t payload_hash(const void *patch, size_t n_patch, const void *embed, size_t n_embed, size_t es) {
    uint64_t h = hash_cont(1469598103934665603ULL, patch, es * n_patch);
    return n_embed ? hash_cont(h, embed, es * n_embed) : h;
}

// Map an entry; 1 = hit, 0 = missing or invalid (caller re-extracts).
static int try_map(FeatureCache *c, const char *path, uint64_t h, Features *out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) || st.st_size < HEADER_BYTES) {
        close(fd);
        return 0;
    }
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) return 0;
    CacheHeader hd;
    memcpy(&hd, base, sizeof hd);
    const char *why = NULL;
    Features f = {0};
    size_t need = 0;
    if (!memcmp(hd.magic, CACHE_MAGIC, 8) && hd.version < CACHE_VERSION) {  // an older adbench's entry: rebuilt
        if (!c->warned_old++)
            fprintf(runlog_stream(), "adbench: warning: %s: feature-cache entry of an older format (v%u; this adbench reads v%u/v%u); "
                    "extracting it again, and any other old entry in %s (warned once)\n",
                    path, hd.version, CACHE_VERSION, CACHE_VERSION_F16, c->dir);
        munmap(base, (size_t)st.st_size);
        return 0;
    }
    CacheDtype edt = hd.version == CACHE_VERSION_F16 ? CACHE_FLOAT16 : CACHE_FLOAT32;
    size_t es = elem_bytes(edt);
    if (memcmp(hd.magic, CACHE_MAGIC, 8) || (hd.version != CACHE_VERSION && hd.version != CACHE_VERSION_F16) ||
        hd.dtype != (uint32_t)edt)
        why = "not a feature-cache entry of this adbench version";
    else if (edt != c->dtype)
        why = edt == CACHE_FLOAT16 ? "it holds float16 features; this cache is float32"
                                   : "it holds float32 features; this cache is float16";
    else if (hd.n_layers <= 0 ||
        hd.n_layers > FEAT_MAX_LAYERS || hd.embed_dim < 0 || hd.header_bytes != HEADER_BYTES + table_bytes(hd.n_layers) ||
        (size_t)st.st_size < hd.header_bytes)
        why = "not a feature-cache entry of this adbench version";
    else if (hd.content_hash != h || hd.key_hash != c->key_hash)
        why = "its header belongs to another image or backbone";
    else {
        // Overflow-safe size check: every count is bounded by the file size before it is used.
        f.n_layers = hd.n_layers;
        const int32_t *tab = (const int32_t *)(const void *)((const char *)base + HEADER_BYTES);
        size_t avail = ((size_t)st.st_size - hd.header_bytes) / es;
        need = (size_t)hd.embed_dim;
        int ok = need <= avail;
        for (int l = 0; l < hd.n_layers && ok; l++) {
            LayerShape ls = {tab[3 * l], tab[3 * l + 1], tab[3 * l + 2]};
            ok = ls.gh > 0 && ls.gw > 0 && ls.dim > 0 && (size_t)ls.gh * ls.gw <= avail &&
                 (size_t)ls.dim <= avail / ((size_t)ls.gh * ls.gw) && layer_floats(&ls) <= avail - need;
            if (ok) need += layer_floats(&ls), f.layer[l] = ls;
        }
        if (!ok || need != avail || (size_t)st.st_size != hd.header_bytes + es * need || features_fill_layers(&f))
            why = "its size does not match the dimensions in its header";
        else {
            const char *pl = (const char *)base + hd.header_bytes;
            size_t np = need - (size_t)hd.embed_dim;
            if (payload_hash(pl, np, pl + es * np, (size_t)hd.embed_dim, es) != hd.payload_hash)
                why = "checksum mismatch: the features were altered after they were written";
        }
    }
    if (why) {
        fprintf(runlog_stream(), "adbench: warning: %s: damaged feature-cache entry (%s); extracting the image again\n", path, why);
        munmap(base, (size_t)st.st_size);
        return 0;
    }
    *out = f;
    out->embed_dim = hd.embed_dim;
    c->touched += (size_t)st.st_size;
    if (edt == CACHE_FLOAT16) {  // decoded into owned float32 buffers (cache_release frees them)
        size_t np = layers_floats(f.layer, f.n_layers);
        const uint16_t *pl = (const uint16_t *)(const void *)((const char *)base + hd.header_bytes);
        out->patch = ad_malloc(np * sizeof(float));
        half_decode(out->patch, pl, np);
        out->embed = NULL;
        if (hd.embed_dim) {
            out->embed = ad_malloc((size_t)hd.embed_dim * sizeof(float));
            half_decode(out->embed, pl + np, (size_t)hd.embed_dim);
        }
        munmap(base, (size_t)st.st_size);
        return 1;
    }
    out->patch = (float *)((char *)base + hd.header_bytes);
    out->embed = hd.embed_dim ? out->patch + layers_floats(f.layer, f.n_layers) : NULL;
    if (c->n_maps == c->cap_maps) {
        c->cap_maps = c->cap_maps ? 2 * c->cap_maps : 64;
        c->maps = ad_realloc(c->maps, (size_t)c->cap_maps * sizeof *c->maps);
    }
    c->maps[c->n_maps++] = (Mapping){out->patch, base, (size_t)st.st_size};
    return 1;
}

static int write_entry(FeatureCache *c, const char *path, uint64_t h, const Features *f) {
    CacheHeader hd = {0};
    memcpy(hd.magic, CACHE_MAGIC, 8);
    hd.version = c->dtype == CACHE_FLOAT16 ? CACHE_VERSION_F16 : CACHE_VERSION;
    hd.dtype = (uint32_t)c->dtype;
    size_t es = elem_bytes(c->dtype), np = layers_floats(f->layer, f->n_layers), ne = (size_t)f->embed_dim;
    uint16_t *h16 = NULL;  // float16: the payload as stored (patch then embedding)
    const void *pp = f->patch, *pe = f->embed;
    if (c->dtype == CACHE_FLOAT16) {
        h16 = ad_malloc((np + ne + 1) * sizeof *h16);
        half_encode(h16, f->patch, np);
        if (ne) half_encode(h16 + np, f->embed, ne);
        pp = h16, pe = h16 + np;
    }
    size_t hb = HEADER_BYTES + table_bytes(f->n_layers);
    hd.header_bytes = (uint32_t)hb;
    hd.n_layers = f->n_layers, hd.gh = f->gh, hd.gw = f->gw, hd.dim = f->dim, hd.embed_dim = f->embed_dim;
    hd.content_hash = h;
    hd.key_hash = c->key_hash;
    hd.payload_hash = payload_hash(pp, np, pe, ne, es);
    unsigned char head[HEADER_BYTES + FEAT_MAX_LAYERS * 12 + 64] = {0};
    memcpy(head, &hd, sizeof hd);
    for (int l = 0; l < f->n_layers; l++) {
        int32_t t[3] = {f->layer[l].gh, f->layer[l].gw, f->layer[l].dim};
        memcpy(head + HEADER_BYTES + 12 * l, t, sizeof t);
    }
    char *tmp = fs_tmp_name(path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int rc = ad_error("%s: cannot write cache entry (%s). Fix: check cache_dir permissions and free space", tmp,
                          strerror(errno));
        free(tmp);
        free(h16);
        return rc;
    }
    int ok = fwrite(head, 1, hb, fp) == hb && fwrite(pp, es, np, fp) == np && (!ne || fwrite(pe, es, ne, fp) == ne);
    ok = (fclose(fp) == 0) && ok;
    free(h16);
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        int rc = ad_error("%s: cannot write cache entry (disk full?). Fix: free space, set cache_dtype: float16 or "
                          "cache_dir: none", path);
        free(tmp);
        return rc;
    }
    free(tmp);
    size_t bytes = hb + es * (np + ne);
    c->written += bytes;
    c->touched += bytes;
    return 0;
}

static int check_features(const char *path, Features *f) {
    if (!f->patch || f->embed_dim < 0 || (f->embed_dim && !f->embed) || features_fill_layers(f))
        return ad_error("%s: the backbone returned empty features (layers %d, grid %dx%d, dim %d)", path, f->n_layers,
                        f->gh, f->gw, f->dim);
    return 0;
}

// Extract image_path (or its rotation by deg) with the backbone.
static int extract(FeatureCache *c, const char *image_path, double deg, Features *out) {
    memset(out, 0, sizeof *out);
    if (!c->drv || !c->drv->extract) return ad_error("backbone '%s' cannot extract features in this build", c->drv ? c->drv->name : "?");
    if (deg == 0) {
        if (c->drv->extract(c->bb, image_path, out)) return -1;
        return check_features(image_path, out);
    }
    // Rotations go through a lossless PNG, so the backbone sees exactly the rotated pixels.
    ImageU8 im = {0}, rot = {0};
    if (image_read_rgb8(image_path, &im)) return -1;
    image_rotate_u8(&rot, &im, deg);
    image_u8_free(&im);
    const char *td = getenv("TMPDIR");
    char *base = c->dir ? ad_sprintf("%s/rot", c->dir) : ad_sprintf("%s/adbench-rot", td ? td : "/tmp");
    char *tmp0 = fs_tmp_name(base), *tmp = ad_sprintf("%s.png", tmp0);  // unique per thread and process
    free(base), free(tmp0);
    int rc = image_write_png(tmp, &rot);
    image_u8_free(&rot);
    if (!rc) rc = c->drv->extract(c->bb, tmp, out);
    unlink(tmp);
    free(tmp);
    if (rc) return ad_error_prefix("%s rotated by %g degrees", image_path, deg);
    return check_features(image_path, out);
}

static int get(FeatureCache *c, const char *image_path, double deg, Features *out, int *hit) {
    *hit = 0;
    if (!c->dir) {  // no cache: float16 still rounds, so results do not depend on caching
        int rc = extract(c, image_path, deg, out);
        if (!rc && c->dtype == CACHE_FLOAT16) {
            half_round(out->patch, layers_floats(out->layer, out->n_layers));
            if (out->embed_dim) half_round(out->embed, (size_t)out->embed_dim);
        }
        return rc;
    }
    uint64_t h;
    if (file_content_hash(image_path, &h)) return -1;
    char *path = entry_path(c, h, deg);
    if (try_map(c, path, h, out)) {
        *hit = 1;
        free(path);
        return 0;
    }
    int rc = 0;
    if (c->has_stash && c->stash_h == h && c->stash_deg == deg) {
        *out = c->stash;
        c->has_stash = 0;
        memset(&c->stash, 0, sizeof c->stash);
    } else {
        rc = extract(c, image_path, deg, out);
    }
    // float16: the caller gets the features as the entry will give them back on a hit, so a
    // first run and a rerun compute on the same numbers.
    if (!rc && c->dtype == CACHE_FLOAT16) {
        half_round(out->patch, layers_floats(out->layer, out->n_layers));
        if (out->embed_dim) half_round(out->embed, (size_t)out->embed_dim);
    }
    if (!rc) rc = write_entry(c, path, h, out);
    if (rc) features_free(out);
    free(path);
    return rc;
}

int cache_get(FeatureCache *c, const char *image_path, Features *out, int *hit) {
    return get(c, image_path, 0, out, hit);
}

int cache_get_rotated(FeatureCache *c, const char *image_path, double deg, Features *out, int *hit) {
    return get(c, image_path, deg, out, hit);
}

void cache_release(FeatureCache *c, Features *f) {
    if (!f->patch) return;
    for (int i = 0; i < c->n_maps; i++)
        if (c->maps[i].patch == f->patch) {
            munmap(c->maps[i].base, c->maps[i].len);
            c->maps[i] = c->maps[--c->n_maps];
            memset(f, 0, sizeof *f);
            return;
        }
    features_free(f);
}

// Preflight: which (content hash, rotation) pairs have no entry yet.
typedef struct {
    uint64_t h;
    double deg;
    int i;  // index into the caller's paths
} Want;
static int want_cmp(const void *a, const void *b) {
    const Want *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return x->deg < y->deg ? -1 : x->deg > y->deg;
}

// A readable entry of this cache's format: its size, else 0 (missing, older or foreign).
static uint64_t entry_size(const FeatureCache *c, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    CacheHeader hd;
    struct stat st;
    int ok = !fstat(fd, &st) && S_ISREG(st.st_mode) && read(fd, &hd, sizeof hd) == (ssize_t)sizeof hd &&
             !memcmp(hd.magic, CACHE_MAGIC, 8) &&
             hd.version == (c->dtype == CACHE_FLOAT16 ? CACHE_VERSION_F16 : CACHE_VERSION);
    close(fd);
    return ok ? (uint64_t)st.st_size : 0;
}

int cache_preflight(FeatureCache *c, const char *root, const char *const *paths, const double *deg, int n,
                    double max_gb, const char *what, FILE *log, CacheBudget *out) {
    memset(out, 0, sizeof *out);
    out->free = UINT64_MAX;
    out->max_gb = max_gb;
    if (!c->dir || n <= 0) return 0;
    Want *w = ad_malloc((size_t)n * sizeof *w);
    for (int i = 0; i < n; i++) {
        if (file_content_hash(paths[i], &w[i].h)) {
            free(w);
            return -1;
        }
        w[i].deg = deg ? deg[i] : 0;
        w[i].i = i;
    }
    qsort(w, (size_t)n, sizeof *w, want_cmp);
    long missing = 0;
    int first = -1;
    uint64_t per = 0;
    for (int i = 0; i < n; i++) {
        if (i && !want_cmp(&w[i], &w[i - 1])) continue;  // the same image twice: one entry
        char *p = entry_path(c, w[i].h, w[i].deg);
        uint64_t sz = entry_size(c, p);
        free(p);
        if (sz) {
            if (!per) per = sz;  // every entry of one backbone key has the same size
        } else {
            missing++;
            if (first < 0) first = i;
        }
    }
    if (!missing) {
        free(w);
        return 0;
    }
    if (!per) {  // nothing cached yet: one image gives the shapes, and is kept for its cache_get
        Features f;
        if (extract(c, paths[w[first].i], w[first].deg, &f)) {
            free(w);
            return -1;
        }
        per = cache_entry_bytes(f.layer, f.n_layers, f.embed_dim, c->dtype);
        if (c->has_stash) features_free(&c->stash);
        c->stash = f, c->has_stash = 1, c->stash_h = w[first].h, c->stash_deg = w[first].deg;
    }
    free(w);
    out->n_images = missing;
    out->add = per * (uint64_t)missing;
    if (max_gb > 0) out->existing = cache_tree_bytes(root);
    uint64_t fb;
    if (cache_free_space && !cache_free_space(c->dir, &fb)) out->free = fb;
    if (log) {
        char line[512];
        cache_budget_line(line, sizeof line, out, root, what, c->dtype);
        fprintf(log, "%s\n", line);
    }
    return cache_budget_check(out, root, what, c->dtype);
}

CacheDtype cache_dtype(const FeatureCache *c) { return c->dtype; }
size_t cache_bytes_written(const FeatureCache *c) { return c->written; }
size_t cache_bytes_touched(const FeatureCache *c) { return c->touched; }

void cache_close(FeatureCache *c) {
    if (!c) return;
    if (c->has_stash) features_free(&c->stash);
    for (int i = 0; i < c->n_maps; i++) munmap(c->maps[i].base, c->maps[i].len);
    free(c->maps);
    free(c->dir);
    free(c);
}
