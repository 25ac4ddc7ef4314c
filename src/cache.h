// Feature cache: backbone outputs stored per image on disk, keyed by the backbone's cache
// key (family, weights hash, input size, layers, ...) and the image's content hash, and
// memory-mapped when reused, so a second run or another method skips extraction.
//
// Layout (src/cache.c): <dir>/<K>/key.txt holds the backbone's full cache_key() string, K =
// its 64-bit FNV-1a in hex; one file per image <dir>/<K>/<H>.feat (rotated references:
// <H>-r<deg>.feat), H = FNV-1a 64 of the image file's bytes, so editing an image misses.
// File: 64-byte header (magic "ADBFEAT1", version, header bytes, n_layers, gh, gw, dim,
// embed_dim, dtype, content hash, key hash, payload checksum), then each layer's (gh, gw, dim)
// as int32, padded to a multiple of 64 bytes, then the patch values (layer after layer,
// [gh_l*gw_l][dim_l]), then embed[embed_dim], host byte order. Version 3: float32 values,
// dtype 0 (what adbench wrote before cache_dtype: those caches stay valid); version 4:
// IEEE float16 values (half.h), dtype 1. float16 caches key on "<key>|cache_dtype=float16",
// so they live in their own <K> folder: an entry is never read with the other dtype (and an
// entry whose dtype disagrees with its cache is a miss with a warning). Older versions are a
// miss, re-extracted, with one warning per cache. Written to a temp file
// and renamed (atomic); a truncated, foreign or older-version file is a miss and rewritten; an
// entry whose checksum or size does not match its header is a miss too, with a warning naming
// the file.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "backbone.h"
#include "cache_budget.h"

typedef struct FeatureCache FeatureCache;

// dir is created if needed; NULL dir = no caching (always extract).
FeatureCache *cache_open(const char *dir, const BackboneDriver *drv, Backbone *bb);
// Features of one image: from the cache (memory-mapped, *hit = 1) or extracted and stored.
// Release with cache_release (never features_free on a cached result).
int cache_get(FeatureCache *c, const char *image_path, Features *out, int *hit);
void cache_release(FeatureCache *c, Features *f);
size_t cache_bytes_written(const FeatureCache *c);  // bytes this run added
void cache_close(FeatureCache *c);

// Additions (compatible): the same as cache_get for the image rotated by deg degrees about its
// centre (image_rotate_u8) before extraction; AnomalyDINO-style reference augmentation.
int cache_get_rotated(FeatureCache *c, const char *image_path, double deg, Features *out, int *hit);
// Bytes of every entry returned so far (hits and writes): the cache size a category uses.
size_t cache_bytes_touched(const FeatureCache *c);
// cache_open with a storage dtype. float16: features are rounded to half (ties to even) before
// they are stored AND before they are returned on a miss, and decoded to float32 on a hit
// (owned buffers), so a miss and a hit give the same bits.
FeatureCache *cache_open_dtype(const char *dir, const BackboneDriver *drv, Backbone *bb, CacheDtype dtype);
CacheDtype cache_dtype(const FeatureCache *c);
// Before extracting paths[i] (rotated by deg[i] degrees; deg NULL = none): counts the images
// without an entry, estimates the bytes they add (the size of an entry already there, or of one
// image extracted now and kept for its cache_get), prints the stage line to log (NULL:
// silent; nothing is printed when everything is cached) and checks the budget against max_gb
// and the free space of root's file system (cache_budget_check). 0, or -1 + ad_error (nothing
// was written). No-op without a cache folder. root = the cache_dir, for the messages and sizes.
int cache_preflight(FeatureCache *c, const char *root, const char *const *paths, const double *deg, int n,
                    double max_gb, const char *what, FILE *log, CacheBudget *out);
// 64-bit FNV-1a of a file's bytes (the content hash). 0 or -1 + ad_error.
int file_content_hash(const char *path, uint64_t *out);
