// SHA-256 (FIPS 180-4), and a per-file digest cache so that a 1.2 GB weights file is hashed
// once, not on every run.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final_hex(Sha256 *s, char hex[65]);  // 64 lowercase hex digits
void sha256_hex(char hex[65], const void *data, size_t n);
// The file's bytes, streamed. 0, or -1 + ad_error naming the file.
int sha256_file_hex(char hex[65], const char *path);

// Where digests are cached and whether the "hashing ..." line is printed. dir: the feature
// cache folder (entries go to DIR/sha256/); NULL: $XDG_CACHE_HOME/adbench/sha256, else
// ~/.cache/adbench/sha256. The runner sets it from the config's cache_dir before it opens a
// backbone; the default (NULL, not quiet) holds until then.
void sha256_cache_configure(const char *dir, int quiet);
// The cache folder that sha256_file_cached uses now (malloc'd; NULL when neither a cache
// folder nor $HOME is known).
char *sha256_cache_folder(void);
// sha256_file_hex through the cache: an entry keyed by (absolute path, size, mtime in ns) is
// reused; a missing, stale or corrupt entry means the file is hashed (one line on stderr)
// and the entry rewritten atomically. A cache that cannot be written is not an error: the
// digest is then kept in memory, so the file is still read once per process.
// *hashed (may be NULL) says whether the file was read. 0, or -1 + ad_error.
int sha256_file_cached(char hex[65], const char *path, int *hashed);
