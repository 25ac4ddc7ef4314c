// Feature cache: backbone outputs stored per image on disk, keyed by the backbone's cache
// key (family, weights hash, input size, layers, ...) and the image's content hash, and
// memory-mapped when reused, so a second run or another method skips extraction.
//
// Layout (src/cache.c): <dir>/<K>/key.txt holds the backbone's full cache_key() string, K =
// its 64-bit FNV-1a in hex; one file per image <dir>/<K>/<H>.feat (rotated references:
// <H>-r<deg>.feat), H = FNV-1a 64 of the image file's bytes, so editing an image misses.
// File: 64-byte header (magic "ADBFEAT1", version 3, header bytes, n_layers, gh, gw, dim,
// embed_dim, content hash, key hash, payload checksum), then each layer's (gh, gw, dim) as
// int32, padded to a multiple of 64 bytes, then float32 patch (layer after layer,
// [gh_l*gw_l][dim_l]), then float32 embed[embed_dim], host byte order. Written to a temp file
// and renamed (atomic); a truncated, foreign or older-version file is a miss and rewritten; an
// entry whose checksum or size does not match its header is a miss too, with a warning naming
// the file.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "backbone.h"

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
// 64-bit FNV-1a of a file's bytes (the content hash). 0 or -1 + ad_error.
int file_content_hash(const char *path, uint64_t *out);
