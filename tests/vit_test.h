// Helpers shared by the "vit", "safetensors" and "features" suites (defined in test_vit.c).
#pragma once
#include <stdint.h>

// Writes DIR/MODEL.safetensors = tests/golden/vit/MODEL.hdr + blob_BLOB.bin; returns its path.
char *vit_test_model(const char *dir, const char *model, const char *blob);
// A golden tests/golden/vit/NAME.npy as float32 (malloc'd), *n values.
float *vit_test_load(const char *name, int64_t *n);
// Expects max |got - ref| <= 1e-4 * max |ref|; returns the relative error.
double vit_test_check(const float *got, const float *ref, int64_t n, const char *what);
