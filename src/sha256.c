// SHA-256 (FIPS 180-4 §6.2) and the digest cache of sha256.h.
#include "sha256.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"  // fnv1a64
#include "err.h"
#include "fsutil.h"
#include "runlog.h"

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(Sha256 *s, const unsigned char *p) {
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, s->h, sizeof a);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof(uint32_t));
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) s->h[i] += a[i];
}

void sha256_init(Sha256 *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0, s->n = 0;
}

void sha256_update(Sha256 *s, const void *data, size_t n) {
    const unsigned char *p = data;
    s->len += n;
    if (s->n) {
        while (n && s->n < 64) s->buf[s->n++] = *p++, n--;
        if (s->n == 64) block(s, s->buf), s->n = 0;
    }
    for (; n >= 64; p += 64, n -= 64) block(s, p);
    while (n--) s->buf[s->n++] = *p++;
}

void sha256_final_hex(Sha256 *s, char hex[65]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, z = 0, lb[8];
    sha256_update(s, &pad, 1);
    while (s->n != 56) sha256_update(s, &z, 1);
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(s, lb, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

void sha256_hex(char hex[65], const void *data, size_t n) {
    Sha256 s;
    sha256_init(&s);
    sha256_update(&s, data, n);
    sha256_final_hex(&s, hex);
}

int sha256_file_hex(char hex[65], const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return ad_error("%s: cannot open the file to hash it (%s)", path, strerror(errno));
    Sha256 s;
    sha256_init(&s);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = ad_malloc(CHUNK);
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) sha256_update(&s, buf, n);
    int bad = ferror(f);
    fclose(f);
    free(buf);
    if (bad) return ad_error("%s: read error while hashing it", path);
    sha256_final_hex(&s, hex);
    return 0;
}

// --- cache ----------------------------------------------------------------------------------

static char *g_dir;  // the feature cache folder, or NULL: the per-user one
static int g_quiet;

void sha256_cache_configure(const char *dir, int quiet) {
    free(g_dir);
    g_dir = dir ? ad_strdup(dir) : NULL;
    g_quiet = quiet;
}

char *sha256_cache_folder(void) {
    if (g_dir) return ad_sprintf("%s/sha256", g_dir);
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && *x == '/') return ad_sprintf("%s/adbench/sha256", x);
    if (home && *home) return ad_sprintf("%s/.cache/adbench/sha256", home);
    return NULL;
}

static int is_hex64(const char *s) {
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[64] == 0;
}

// One line: "adbench-sha256 v1 <size> <mtime_ns> <hex> <absolute path>".
static int entry_read(const char *file, const char *abs, long long size, long long mtime, char hex[65]) {
    FILE *f = fopen(file, "r");
    if (!f) return -1;
    char line[PATH_MAX + 256];
    int ok = 0;
    if (fgets(line, sizeof line, f)) {
        long long sz, mt;
        char h[80];
        int pos = 0;
        if (sscanf(line, "adbench-sha256 v1 %lld %lld %79s %n", &sz, &mt, h, &pos) == 3 && pos > 0) {
            char *p = line + pos;
            p[strcspn(p, "\n")] = 0;
            ok = sz == size && mt == mtime && strlen(h) == 64 && is_hex64(h) && !strcmp(p, abs);
            if (ok) memcpy(hex, h, 65);
        }
    }
    fclose(f);
    return ok ? 0 : -1;
}

// 0 when the entry is on disk now.
static int entry_write(const char *folder, const char *file, const char *abs, long long size, long long mtime,
                       const char *hex) {
    if (fs_mkdirs(folder)) {
        ad_clear_error();
        return -1;
    }
    char *line = ad_sprintf("adbench-sha256 v1 %lld %lld %s %s\n", size, mtime, hex, abs);
    int rc = fs_write_text_atomic(file, line);
    free(line);
    if (rc) ad_clear_error();  // an unwritable cache is not an error: the digest is kept in memory
    return rc;
}

// Digests this process computed but could not store (no cache folder, a read-only one): the
// runner and then the driver ask for the same file, which was read again each time.
typedef struct {
    char *abs;
    long long size, mtime;
    char hex[65];
} Memo;
static Memo *g_memo;
static int g_n_memo;

static int memo_find(const char *abs, long long size, long long mtime, char hex[65]) {
    for (int i = 0; i < g_n_memo; i++)
        if (g_memo[i].size == size && g_memo[i].mtime == mtime && !strcmp(g_memo[i].abs, abs)) {
            memcpy(hex, g_memo[i].hex, 65);
            return 0;
        }
    return -1;
}

static void memo_add(const char *abs, long long size, long long mtime, const char *hex) {
    g_memo = ad_realloc(g_memo, (size_t)(g_n_memo + 1) * sizeof *g_memo);
    Memo *m = &g_memo[g_n_memo++];
    m->abs = ad_strdup(abs), m->size = size, m->mtime = mtime;
    memcpy(m->hex, hex, 65);
}

int sha256_file_cached(char hex[65], const char *path, int *hashed) {
    if (hashed) *hashed = 0;
    struct stat st;
    char abs[PATH_MAX];
    if (stat(path, &st) || !realpath(path, abs))
        return ad_error("%s: cannot open the file to hash it (%s)", path, strerror(errno));
    long long size = (long long)st.st_size, mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    char *folder = sha256_cache_folder(), *file = NULL;
    if (folder) {
        uint64_t h = fnv1a64(FNV1A64_INIT, abs, strlen(abs));
        file = ad_sprintf("%s/%016llx.txt", folder, (unsigned long long)h);
    }
    if ((file && !entry_read(file, abs, size, mtime, hex)) || !memo_find(abs, size, mtime, hex)) {
        free(folder), free(file);
        return 0;
    }
    if (!g_quiet) {
        int big = size >= 1000000000LL;
        runlog_printf("hashing weights %s (%.1f %s) once; cached for later runs\n", path, big ? size / 1e9 : size / 1e6,
                      big ? "GB" : "MB");
    }
    if (hashed) *hashed = 1;
    int rc = sha256_file_hex(hex, path);
    if (!rc && (!file || entry_write(folder, file, abs, size, mtime, hex))) memo_add(abs, size, mtime, hex);
    free(folder), free(file);
    return rc;
}
