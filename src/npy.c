// .npy reader and writer. The header is a Python dict literal; we parse the three keys
// numpy writes ('descr', 'fortran_order', 'shape') and reject anything we cannot honour.
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

static const struct { NpyDtype d; const char *descr; const char *name; size_t size; } DT[] = {
    {NPY_F32, "<f4", "float32", 4}, {NPY_F64, "<f8", "float64", 8}, {NPY_U8, "|u1", "uint8", 1},
    {NPY_BOOL, "|b1", "bool", 1},   {NPY_I32, "<i4", "int32", 4},   {NPY_I64, "<i8", "int64", 8},
};

size_t npy_dtype_size(NpyDtype d) { return DT[d].size; }
const char *npy_dtype_name(NpyDtype d) { return DT[d].name; }

void npy_free(NpyArray *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

// Find the value text after 'key': in the header dict.
static const char *dict_value(const char *hdr, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p && (isspace((unsigned char)*p) || *p == ':')) p++;
    return p;
}

static int parse_header(const char *path, const char *hdr, NpyArray *out) {
    const char *d = dict_value(hdr, "descr");
    if (!d || (*d != '\'' && *d != '"'))
        return ad_error("%s: .npy header has no 'descr' key. Fix: write the file with numpy.save", path);
    char descr[32] = {0};
    const char *e = strchr(d + 1, *d);
    if (!e || e - d - 1 >= (int)sizeof descr)
        return ad_error("%s: malformed 'descr' in .npy header", path);
    memcpy(descr, d + 1, (size_t)(e - d - 1));
    // numpy writes '|u1' and '|b1' but also accepts '<u1'; normalise the byte-order char.
    if ((descr[1] == 'u' || descr[1] == 'b') && descr[2] == '1' && descr[0] != '>') descr[0] = '|';
    int found = -1;
    for (size_t i = 0; i < sizeof DT / sizeof DT[0]; i++)
        if (!strcmp(descr, DT[i].descr)) found = (int)i;
    if (found < 0)
        return ad_error("%s: unsupported dtype '%s'; expected one of float32, float64, uint8, bool, "
                        "int32, int64 (little-endian). Fix: convert with arr.astype(np.float32)",
                        path, descr);
    out->dtype = DT[found].d;

    const char *f = dict_value(hdr, "fortran_order");
    if (!f) return ad_error("%s: .npy header has no 'fortran_order' key", path);
    if (!strncmp(f, "True", 4))
        return ad_error("%s: Fortran-order arrays are not supported; expected C order. "
                        "Fix: save np.ascontiguousarray(arr)", path);
    if (strncmp(f, "False", 5)) return ad_error("%s: malformed 'fortran_order' in .npy header", path);

    const char *s = dict_value(hdr, "shape");
    if (!s || *s != '(') return ad_error("%s: .npy header has no 'shape' tuple", path);
    s++;
    out->ndim = 0;
    out->count = 1;
    for (;;) {
        while (isspace((unsigned char)*s) || *s == ',') s++;
        if (*s == ')') break;
        if (!isdigit((unsigned char)*s)) return ad_error("%s: malformed 'shape' in .npy header", path);
        if (out->ndim == NPY_MAX_DIMS)
            return ad_error("%s: more than %d dimensions are not supported", path, NPY_MAX_DIMS);
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || v < 0) return ad_error("%s: bad dimension in .npy shape", path);
        out->shape[out->ndim++] = v;
        if (v && out->count > SIZE_MAX / (size_t)v) return ad_error("%s: .npy shape overflows", path);
        out->count *= (size_t)v;
        s = end;
    }
    return 0;
}

int npy_read(const char *path, NpyArray *out) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return ad_error("%s: cannot open (%s). Fix: check the path", path, strerror(errno));
    unsigned char pre[10];
    char *hdr = NULL;
    int rc = -1;
    if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        ad_error("%s: not a .npy file (expected the magic string \\x93NUMPY). Fix: write it with numpy.save", path);
        goto done;
    }
    size_t hlen;
    int major = pre[6];
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        unsigned char b[2];
        if (fread(b, 1, 2, fp) != 2) { ad_error("%s: truncated .npy header", path); goto done; }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)b[0] << 16 | (size_t)b[1] << 24;
    } else {
        ad_error("%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)", path, major, pre[7]);
        goto done;
    }
    if (hlen > (1u << 24)) { ad_error("%s: implausible .npy header length %zu", path, hlen); goto done; }
    hdr = ad_malloc(hlen + 1);
    if (fread(hdr, 1, hlen, fp) != hlen) { ad_error("%s: truncated .npy header", path); goto done; }
    hdr[hlen] = 0;
    if (parse_header(path, hdr, out)) goto done;
    // Overflow-checked byte count, compared with what the file holds before allocating
    // (shape (2^61,) int64 wrapped to 0 bytes; 6.7e12 elements were allocated first).
    size_t esz = npy_dtype_size(out->dtype);
    if (out->count > SIZE_MAX / esz) {
        ad_error("%s: .npy shape holds %zu elements of %zu bytes: the byte count overflows. Fix: re-create the file", path,
                 out->count, esz);
        goto done;
    }
    size_t nbytes = out->count * esz;
    struct stat sb;
    long pos = ftell(fp);
    if (fstat(fileno(fp), &sb) || pos < 0) {
        ad_error("%s: cannot stat (%s)", path, strerror(errno));
        goto done;
    }
    size_t avail = (uint64_t)sb.st_size > (uint64_t)pos ? (size_t)((uint64_t)sb.st_size - (uint64_t)pos) : 0;
    if (nbytes > avail) {
        ad_error("%s: truncated .npy data: expected %zu bytes for %zu %s values, found %zu. Fix: re-create the file",
                 path, nbytes, out->count, npy_dtype_name(out->dtype), avail);
        goto done;
    }
    out->data = ad_malloc(nbytes);
    size_t got = fread(out->data, 1, nbytes, fp);
    if (got != nbytes) {
        ad_error("%s: truncated .npy data: expected %zu bytes for shape and dtype %s, found %zu. "
                 "Fix: re-create the file", path, nbytes, npy_dtype_name(out->dtype), got);
        npy_free(out);
        goto done;
    }
    rc = 0;
done:
    free(hdr);
    fclose(fp);
    return rc;
}

int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data) {
    if (ndim < 0 || ndim > NPY_MAX_DIMS) AD_INTERNAL("npy_write: ndim %d", ndim);
    // Shape as numpy prints it: (3,) for 1-D, (2, 3) otherwise, () for a scalar.
    char shp[256] = "";
    size_t count = 1;
    for (int i = 0, m = 0; i < ndim; i++) {
        m += snprintf(shp + m, sizeof shp - (size_t)m, "%s%lld", i ? ", " : "", (long long)shape[i]);
        count *= (size_t)shape[i];
    }
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s%s), }",
                     DT[dtype].descr, shp, ndim == 1 ? "," : "");
    // v1.0 header: magic(6) + version(2) + len(2) + dict padded with spaces to 64 bytes, ending '\n'.
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    FILE *fp = fopen(path, "wb");
    if (!fp) return ad_error("%s: cannot create (%s). Fix: check that the folder exists and is writable", path, strerror(errno));
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(dict, 1, (size_t)n, fp) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', fp) != EOF;
    ok = ok && fputc('\n', fp) != EOF;
    size_t nbytes = count * npy_dtype_size(dtype);
    ok = ok && (nbytes == 0 || fwrite(data, 1, nbytes, fp) == nbytes);
    if (fclose(fp) != 0) ok = 0;
    if (!ok) return ad_error("%s: write failed (%s). Fix: check free disk space", path, strerror(errno));
    return 0;
}

#define CONVERT(T)                                                        \
    for (size_t i = 0; i < a->count; i++) {                               \
        switch (a->dtype) {                                               \
        case NPY_F32: dst[i] = (T)((const float *)a->data)[i]; break;     \
        case NPY_F64: dst[i] = (T)((const double *)a->data)[i]; break;    \
        case NPY_U8:                                                      \
        case NPY_BOOL: dst[i] = (T)((const uint8_t *)a->data)[i]; break;  \
        case NPY_I32: dst[i] = (T)((const int32_t *)a->data)[i]; break;   \
        case NPY_I64: dst[i] = (T)((const int64_t *)a->data)[i]; break;   \
        }                                                                 \
    }

double *npy_as_f64(const NpyArray *a) {
    double *dst = ad_malloc(a->count * sizeof *dst);
    CONVERT(double)
    return dst;
}
float *npy_as_f32(const NpyArray *a) {
    float *dst = ad_malloc(a->count * sizeof *dst);
    CONVERT(float)
    return dst;
}

int npy_write_atomic(const char *path, NpyDtype dtype, int ndim, const int64_t *shape, const void *data) {
    char *tmp = fs_tmp_name(path);
    int rc = npy_write(tmp, dtype, ndim, shape, data);
    if (!rc && rename(tmp, path))
        rc = ad_error("%s: cannot move %s into place (%s). Fix: check the output folder", path, tmp, strerror(errno));
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}
