// The feature cache's disk budget: how much a run will add, and whether that fits under
// cache_max_gb and in the free space of the cache's file system. Pure decisions here (tested
// without running anything); cache_preflight (cache.h) gathers the numbers and calls them.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "feature_layout.h"

typedef enum { CACHE_FLOAT32 = 0, CACHE_FLOAT16 = 1 } CacheDtype;
const char *cache_dtype_name(CacheDtype d);  // "float32" / "float16"

// Bytes of one entry on disk: 64-byte header + the layer-shape table (12 bytes a layer, padded
// to 64) + (patch floats of every layer + embed_dim) x 4 (float32) or 2 (float16).
uint64_t cache_entry_bytes(const LayerShape *layer, int n_layers, int embed_dim, CacheDtype dt);
// The same for n_layers layers of one grid gh x gw x dim, times n_images: the estimate of a run.
uint64_t cache_estimate_bytes(int n_layers, int gh, int gw, int dim, int embed_dim, CacheDtype dt, long n_images);

typedef struct {
    long n_images;      // images (or rotations) without an entry yet
    uint64_t add;       // bytes they will add
    uint64_t existing;  // bytes under the cache folder now (only measured when max_gb > 0)
    uint64_t free;      // free bytes of its file system for this user; UINT64_MAX = unknown
    double max_gb;      // cache_max_gb (1 GB = 1e9 bytes); 0 = no limit
} CacheBudget;

// Kept free on the cache's file system: min(1 GB, a tenth of what is free).
uint64_t cache_free_margin(uint64_t free_b);
// 0 when b fits, else -1 + ONE ad_error naming dir, the sizes and the fixes. what = the images
// ("mvtec/screw"). Checks cache_max_gb first, then free space minus the margin.
int cache_budget_check(const CacheBudget *b, const char *dir, const char *what, CacheDtype dt);
// The stage line: "cache: WHAT will add ~X (DTYPE, N images) to DIR; Y free[; cache now Z of
// cache_max_gb M]" (no newline).
void cache_budget_line(char *buf, size_t n, const CacheBudget *b, const char *dir, const char *what, CacheDtype dt);
// "512 B", "3.4 kB", "12.0 MB", "38.7 GB" (decimal units).
void cache_fmt_bytes(char *buf, size_t n, uint64_t bytes);

// Sum of the sizes of the regular files under root (symlinks not followed); 0 when absent.
uint64_t cache_tree_bytes(const char *root);
// Free bytes (statvfs f_bavail x f_frsize) of dir's file system: 0, or -1 when unknown.
// A pointer so tests can plant a nearly full disk.
extern int (*cache_free_space)(const char *dir, uint64_t *free_b);
