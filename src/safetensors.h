// safetensors reader: the file is memory-mapped; the JSON header is parsed with cJSON and every
// tensor's dtype, shape and byte range are checked against the file size before any use.
// F32 tensors are used in place when 4-byte aligned (the header may be unpadded, so alignment
// is checked, not assumed); F16 / BF16 (and unaligned F32) are converted to F32 once and kept.
// Format: u64 little-endian header length N, N bytes of JSON {"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data; offsets are relative
// to the first byte after the header.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_U8, ST_BOOL, ST_OTHER } StDtype;

#define ST_MAX_DIMS 8
typedef struct {
    char *name;
    StDtype dtype;
    char dtype_name[16];  // as in the header ("F32", "BF16", ...)
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t count;             // product of shape
    const unsigned char *raw; // into the mapping
    size_t nbytes;
    float *conv;              // F32 copy made on first st_get_f32 when needed (owned)
    int used;                 // set by st_get_f32; loaders use it to find unexpected tensors
} StTensor;

typedef struct {
    char *path;
    void *map;
    size_t size;
    int n;
    StTensor *t;  // sorted by name
} SafeTensors;

// Returns 0, or -1 with ad_error naming the file (truncated file, bad header, bad offsets).
int st_open(SafeTensors *st, const char *path);
void st_close(SafeTensors *st);
const StTensor *st_find(const SafeTensors *st, const char *name);  // NULL if absent
int st_has(const SafeTensors *st, const char *name);
// The tensor as float32 (mapped in place, or converted once), after checking that it exists,
// is F32/F16/BF16 and has exactly the given shape. NULL + ad_error naming tensor and file.
const float *st_get_f32(SafeTensors *st, const char *name, int ndim, const int64_t *shape);
// Shape printed as "(a, b, c)" into buf.
const char *st_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
// First tensor whose name starts with prefix and that no st_get_f32 call used, skipping names
// for which skip(name) returns 1 (may be NULL). NULL if none.
const StTensor *st_first_unused(const SafeTensors *st, const char *prefix, int (*skip)(const char *name));

// IEEE half / bfloat16 -> float (exact).
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t h);
