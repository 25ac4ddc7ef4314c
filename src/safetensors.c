// safetensors reader (see safetensors.h). Every number in the header is validated before use:
// a corrupt or truncated file gives one error naming the file (and the tensor), never a crash.
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#define FIX_HINT "Fix: re-download the weights or re-run scripts/convert_weights.py"
#define MAX_HEADER ((uint64_t)100 << 20)  // the format's own limit is 100 MB

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float st_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static const struct { const char *name; StDtype dt; size_t size; } DTYPES[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4}, {"U8", ST_U8, 1},     {"BOOL", ST_BOOL, 1},
    {"I8", ST_OTHER, 1}, {"I16", ST_OTHER, 2}, {"U16", ST_OTHER, 2}, {"U32", ST_OTHER, 4},
    {"U64", ST_OTHER, 8}, {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1},
};

const char *st_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
    return buf;
}

static int cmp_tensor(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

// A JSON number that must be a non-negative integer below 2^53 (exact in a double).
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int parse_entry(SafeTensors *st, const cJSON *e, StTensor *t, size_t data_size, uint64_t *begin) {
    const char *p = st->path, *nm = e->string;
    if (!cJSON_IsObject(e))
        return ad_error("%s: tensor '%s': expected a JSON object in the header, found another type. %s", p, nm, FIX_HINT);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of))
        return ad_error("%s: tensor '%s': expected 'dtype' (string), 'shape' and 'data_offsets' (arrays) in the header, found them missing or of the wrong type. %s",
                        p, nm, FIX_HINT);
    size_t es = 0;
    t->dtype = ST_OTHER;
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (!strcmp(dt->valuestring, DTYPES[i].name)) t->dtype = DTYPES[i].dt, es = DTYPES[i].size;
    if (!es)
        return ad_error("%s: tensor '%s': unknown dtype '%.20s' (expected F32, F16, BF16, ...). %s", p, nm, dt->valuestring, FIX_HINT);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS)
        return ad_error("%s: tensor '%s': expected at most %d dimensions, found %d. %s", p, nm, ST_MAX_DIMS, nd, FIX_HINT);
    t->ndim = nd;
    uint64_t count = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t d;
        if (json_uint(cJSON_GetArrayItem(sh, i), &d) || d > ((uint64_t)1 << 40))
            return ad_error("%s: tensor '%s': shape entry %d is not a valid size. %s", p, nm, i, FIX_HINT);
        t->shape[i] = (int64_t)d;
        count *= d;
        if (count > ((uint64_t)1 << 40))
            return ad_error("%s: tensor '%s': shape too large. %s", p, nm, FIX_HINT);
    }
    uint64_t b0, b1;
    if (cJSON_GetArraySize(of) != 2 || json_uint(cJSON_GetArrayItem(of, 0), &b0) ||
        json_uint(cJSON_GetArrayItem(of, 1), &b1))
        return ad_error("%s: tensor '%s': expected data_offsets [begin, end] of non-negative integers. %s", p, nm, FIX_HINT);
    if (b1 < b0 || b1 - b0 != count * es) {
        char sb[128];
        return ad_error("%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but dtype %s and shape %s need %llu. %s",
                        p, nm, (unsigned long long)b0, (unsigned long long)b1, (unsigned long long)(b1 - b0),
                        t->dtype_name, st_shape_str(sb, sizeof sb, nd, t->shape), (unsigned long long)(count * es), FIX_HINT);
    }
    if (b1 > data_size)
        return ad_error("%s: tensor '%s': data ends at byte %llu of the data section, but the file holds only %zu data bytes (truncated file?). %s",
                        p, nm, (unsigned long long)b1, data_size, FIX_HINT);
    t->count = (size_t)count;
    t->nbytes = (size_t)(b1 - b0);
    t->name = ad_strdup(nm);
    t->raw = NULL;  // set by the caller (needs the data base)
    t->conv = NULL;
    t->used = 0;
    *begin = b0;
    return 0;
}

int st_open(SafeTensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ad_error("%s: cannot open weights file: %s. Fix: check the path", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ad_error("%s: expected a regular safetensors file, found something else. Fix: check the path", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return ad_error("%s: expected a safetensors file (8-byte header length + JSON), found only %zu bytes (truncated file). %s", path, size, FIX_HINT);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return ad_error("%s: cannot memory-map the file: %s", path, strerror(errno));
    st->path = ad_strdup(path);
    st->map = map;
    st->size = size;
    const unsigned char *b = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen < 2 || hlen > MAX_HEADER || hlen > size - 8) {
        int r = ad_error("%s: header length field says %llu bytes, but the file has %zu bytes after it (expected 2..%llu): not a safetensors file, or truncated. %s",
                         path, (unsigned long long)hlen, size - 8, (unsigned long long)MAX_HEADER, FIX_HINT);
        st_close(st);
        return r;
    }
    const char *json = (const char *)b + 8;
    if (json[0] != '{') {
        int r = ad_error("%s: expected the JSON header to start with '{', found byte 0x%02x: not a safetensors file. %s",
                         path, (unsigned char)json[0], FIX_HINT);
        st_close(st);
        return r;
    }
    cJSON *root = cJSON_ParseWithLength(json, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        st_close(st);
        return ad_error("%s: the JSON header (%llu bytes) does not parse as a JSON object. %s", path, (unsigned long long)hlen, FIX_HINT);
    }
    size_t data_off = 8 + (size_t)hlen, data_size = size - data_off;
    int n = 0;
    for (cJSON *e = root->child; e; e = e->next)
        if (strcmp(e->string, "__metadata__")) n++;
    st->t = ad_calloc((size_t)n ? (size_t)n : 1, sizeof(StTensor));
    int k = 0;
    for (cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        StTensor *t = &st->t[k];
        uint64_t b0 = 0;
        if (parse_entry(st, e, t, data_size, &b0)) {
            cJSON_Delete(root);
            st->n = k;
            st_close(st);
            return -1;
        }
        t->raw = b + data_off + b0;
        k++;
        st->n = k;
    }
    cJSON_Delete(root);
    qsort(st->t, (size_t)st->n, sizeof(StTensor), cmp_tensor);
    for (int i = 1; i < st->n; i++)
        if (!strcmp(st->t[i].name, st->t[i - 1].name)) {
            int r = ad_error("%s: tensor '%s' appears twice in the header. %s", path, st->t[i].name, FIX_HINT);
            st_close(st);
            return r;
        }
    return 0;
}

void st_close(SafeTensors *st) {
    for (int i = 0; i < st->n; i++) {
        free(st->t[i].name);
        free(st->t[i].conv);
    }
    free(st->t);
    if (st->map) munmap(st->map, st->size);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const SafeTensors *st, const char *name) {
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(st->t[mid].name, name);
        if (!c) return &st->t[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

int st_has(const SafeTensors *st, const char *name) { return st_find(st, name) != NULL; }

const float *st_get_f32(SafeTensors *st, const char *name, int ndim, const int64_t *shape) {
    StTensor *t = (StTensor *)st_find(st, name);
    char want[160], got[160];
    if (!t) {
        ad_error("%s: missing tensor '%s' (expected shape %s). Fix: use weights with the naming scheme of this family (see scripts/convert_weights.py)",
                 st->path, name, st_shape_str(want, sizeof want, ndim, shape));
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        ad_error("%s: tensor '%s': expected shape %s, found %s. Fix: the tensors of this file do not form one consistent model; re-convert it",
                 st->path, name, st_shape_str(want, sizeof want, ndim, shape), st_shape_str(got, sizeof got, t->ndim, t->shape));
        return NULL;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        ad_error("%s: tensor '%s': expected dtype F32, F16 or BF16, found %s. %s", st->path, name, t->dtype_name, FIX_HINT);
        return NULL;
    }
    t->used = 1;
    if (t->dtype == ST_F32 && ((uintptr_t)t->raw % _Alignof(float)) == 0) return (const float *)(const void *)t->raw;
    if (!t->conv) {
        float *c = ad_malloc(t->count * sizeof(float));
        for (size_t i = 0; i < t->count; i++) {
            const unsigned char *q = t->raw + i * (t->dtype == ST_F32 ? 4 : 2);
            if (t->dtype == ST_F32) {
                memcpy(&c[i], q, 4);  // unaligned F32: copy bytes (little-endian host assumed, as x86/ARM)
            } else {
                uint16_t h = (uint16_t)(q[0] | (q[1] << 8));
                c[i] = t->dtype == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
            }
        }
        t->conv = c;
    }
    return t->conv;
}

const StTensor *st_first_unused(const SafeTensors *st, const char *prefix, int (*skip)(const char *name)) {
    size_t pl = strlen(prefix);
    for (int i = 0; i < st->n; i++) {
        const StTensor *t = &st->t[i];
        if (t->used || strncmp(t->name, prefix, pl)) continue;
        if (skip && skip(t->name)) continue;
        return t;
    }
    return NULL;
}
