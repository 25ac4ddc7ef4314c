// Feature-cache size estimate and disk budget (cache_budget.h).
#include "cache_budget.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "err.h"

const char *cache_dtype_name(CacheDtype d) { return d == CACHE_FLOAT16 ? "float16" : "float32"; }

uint64_t cache_entry_bytes(const LayerShape *layer, int n_layers, int embed_dim, CacheDtype dt) {
    uint64_t table = ((uint64_t)n_layers * 12 + 63) / 64 * 64;
    uint64_t elems = (uint64_t)layers_floats(layer, n_layers) + (uint64_t)embed_dim;
    return 64 + table + elems * (dt == CACHE_FLOAT16 ? 2 : 4);
}

uint64_t cache_estimate_bytes(int n_layers, int gh, int gw, int dim, int embed_dim, CacheDtype dt, long n_images) {
    LayerShape l[FEAT_MAX_LAYERS];
    if (n_layers < 1 || n_layers > FEAT_MAX_LAYERS || n_images < 0) return 0;
    for (int i = 0; i < n_layers; i++) l[i] = (LayerShape){gh, gw, dim};
    return cache_entry_bytes(l, n_layers, embed_dim, dt) * (uint64_t)n_images;
}

void cache_fmt_bytes(char *buf, size_t n, uint64_t b) {
    double d = (double)b;
    if (b < 1000) snprintf(buf, n, "%llu B", (unsigned long long)b);
    else if (d < 1e6) snprintf(buf, n, "%.1f kB", d / 1e3);
    else if (d < 1e9) snprintf(buf, n, "%.1f MB", d / 1e6);
    else snprintf(buf, n, "%.1f GB", d / 1e9);
}

uint64_t cache_free_margin(uint64_t free_b) {
    uint64_t tenth = free_b / 10;
    return tenth < 1000000000ULL ? tenth : 1000000000ULL;
}

int cache_budget_check(const CacheBudget *b, const char *dir, const char *what, CacheDtype dt) {
    char add[32], now[32], tot[32], fr[32], mg[32];
    cache_fmt_bytes(add, sizeof add, b->add);
    const char *f16 = dt == CACHE_FLOAT16 ? "" : "cache_dtype: float16 (half the size), ";
    if (b->max_gb > 0 && (double)b->existing + (double)b->add > b->max_gb * 1e9) {
        cache_fmt_bytes(now, sizeof now, b->existing);
        cache_fmt_bytes(tot, sizeof tot, b->existing + b->add);
        return ad_error("%s: the feature cache would grow to %s (now %s + ~%s for %ld images of %s, %s), past "
                        "cache_max_gb: %g. Nothing was extracted. Fix: %sa larger cache_max_gb, cache_dir: none (no "
                        "cache), or delete old entries under %s",
                        dir, tot, now, add, b->n_images, what, cache_dtype_name(dt), b->max_gb, f16, dir);
    }
    if (b->free != UINT64_MAX) {
        uint64_t margin = cache_free_margin(b->free);
        if (b->add > b->free - margin) {
            cache_fmt_bytes(fr, sizeof fr, b->free);
            cache_fmt_bytes(mg, sizeof mg, margin);
            return ad_error("%s: the feature cache needs ~%s more (%ld images of %s, %s) but its file system has %s free "
                            "(%s of it is kept free). Nothing was extracted. Fix: free disk space, %scache_dir: another "
                            "disk or none (no cache), or delete old entries under %s",
                            dir, add, b->n_images, what, cache_dtype_name(dt), fr, mg, f16, dir);
        }
    }
    return 0;
}

void cache_budget_line(char *buf, size_t n, const CacheBudget *b, const char *dir, const char *what, CacheDtype dt) {
    char add[32], fr[32], now[32];
    cache_fmt_bytes(add, sizeof add, b->add);
    if (b->free == UINT64_MAX) snprintf(fr, sizeof fr, "free space unknown");
    else cache_fmt_bytes(fr, sizeof fr - 5, b->free), strcat(fr, " free");
    int k = snprintf(buf, n, "cache: %s will add ~%s (%s, %ld image%s) to %s; %s", what, add, cache_dtype_name(dt),
                     b->n_images, b->n_images == 1 ? "" : "s", dir, fr);
    if (b->max_gb > 0 && k >= 0 && (size_t)k < n) {
        cache_fmt_bytes(now, sizeof now, b->existing);
        snprintf(buf + k, n - (size_t)k, "; cache now %s of cache_max_gb %g", now, b->max_gb);
    }
}

uint64_t cache_tree_bytes(const char *root) {
    DIR *d = opendir(root);
    if (!d) return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = ad_sprintf("%s/%s", root, e->d_name);
        struct stat st;
        if (!lstat(p, &st)) {
            if (S_ISDIR(st.st_mode)) sum += cache_tree_bytes(p);
            else if (S_ISREG(st.st_mode)) sum += (uint64_t)st.st_size;
        }
        free(p);
    }
    closedir(d);
    return sum;
}

static int statvfs_free(const char *dir, uint64_t *free_b) {
    struct statvfs s;
    if (statvfs(dir, &s)) return -1;
    *free_b = (uint64_t)s.f_bavail * (uint64_t)s.f_frsize;
    return 0;
}
int (*cache_free_space)(const char *dir, uint64_t *free_b) = statvfs_free;
