// .npy files (NumPy format v1.0/2.0/3.0 header), little-endian, C order.
// dtypes: float32 <f4, float64 <f8, uint8 |u1, bool |b1, int32 <i4, int64 <i8.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { NPY_F32, NPY_F64, NPY_U8, NPY_BOOL, NPY_I32, NPY_I64 } NpyDtype;

#define NPY_MAX_DIMS 8
typedef struct {
    NpyDtype dtype;
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    size_t count;  // product of shape
    void *data;    // malloc'd, count * npy_dtype_size(dtype) bytes
} NpyArray;

size_t npy_dtype_size(NpyDtype d);
const char *npy_dtype_name(NpyDtype d);  // "float32", ...
// Returns 0, or -1 with ad_error() set (naming the file).
int npy_read(const char *path, NpyArray *out);
int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data);
// npy_write to a temporary name, then renamed into place: never a partial file at path.
int npy_write_atomic(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data);
void npy_free(NpyArray *a);
// Converting copies (malloc'd). Any numeric dtype is accepted.
double *npy_as_f64(const NpyArray *a);
float *npy_as_f32(const NpyArray *a);
