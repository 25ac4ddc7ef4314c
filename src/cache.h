// Feature cache: backbone outputs stored per image on disk, keyed by the backbone's cache
// key (family, weights hash, input size, layers, ...) and the image's content hash, and
// memory-mapped when reused, so a second run or another method skips extraction.
#pragma once
#include <stddef.h>

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
