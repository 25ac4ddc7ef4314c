// SHA-256 (src/sha256.c): the FIPS 180-4 / NIST example vectors, streaming in odd pieces,
// a file against coreutils' sha256sum, and the digest cache (miss, hit, corrupt entry,
// changed file, unwritable cache folder: kept in memory).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sha256.h"
#include "util_test.h"

Test(sha256, fips_180_4_vectors) {
    char hex[65];
    sha256_hex(hex, "", 0);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex(hex, "abc", 3);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 448 bits
    sha256_hex(hex, m448, strlen(m448));
    cr_expect_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    sha256_hex(hex, a, 1000000);
    cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // The same million bytes streamed in pieces of 1..127 bytes (block boundaries everywhere).
    Sha256 s;
    sha256_init(&s);
    size_t off = 0;
    for (size_t k = 1; off < 1000000; k = k % 127 + 1) {
        size_t n = off + k > 1000000 ? 1000000 - off : k;
        sha256_update(&s, a + off, n);
        off += n;
    }
    sha256_final_hex(&s, hex);
    cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static char *write_random(const char *dir, const char *name, size_t n, unsigned seed) {
    char *p = ad_sprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    srand(seed);
    for (size_t i = 0; i < n; i++) fputc(rand() & 255, f);
    fclose(f);
    return p;
}

Test(sha256, file_matches_sha256sum) {
    char *dir = make_tmpdir("sha256");
    char *p = write_random(dir, "w.bin", 300001, 7), hex[65];
    cr_assert_eq(sha256_file_hex(hex, p), 0, "%s", ad_last_error());
    char *ref = sha256sum_of(p);
    cr_expect_str_eq(hex, ref);
    char *missing = ad_sprintf("%s/nope.bin", dir);
    cr_expect_eq(sha256_file_hex(hex, missing), -1);
    cr_expect(strstr(ad_last_error(), "nope.bin"), "%s", ad_last_error());
    rm_rf(dir);
    free(dir), free(p), free(ref), free(missing);
}

Test(sha256, cache_hit_miss_corrupt_and_changed_file) {
    char *dir = make_tmpdir("sha256c");
    char *cache = ad_sprintf("%s/cache", dir);
    sha256_cache_configure(cache, 1);
    char *p = write_random(dir, "w.safetensors", 100000, 3), hex[65];
    char *ref = sha256sum_of(p);
    int hashed = -1;
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0, "%s", ad_last_error());
    cr_expect_eq(hashed, 1, "first call must hash the file");
    cr_expect_str_eq(hex, ref);
    char *folder = sha256_cache_folder();
    cr_expect(strstr(folder, "/cache/sha256"), "%s", folder);
    // exactly one entry, which names the file
    char *cmd = ad_sprintf("ls '%s'", folder), *ls = NULL;
    cr_assert_eq(run_capture(cmd, &ls, NULL), 0);
    cr_expect(strstr(ls, ".txt\n") && strchr(ls, '\n') == strrchr(ls, '\n'), "%s", ls);
    ls[strcspn(ls, "\n")] = 0;
    char *entry = ad_sprintf("%s/%s", folder, ls);
    char *txt = slurp(entry, NULL);
    cr_expect(txt && strstr(txt, ref) && strstr(txt, "w.safetensors"), "%s", txt ? txt : "(none)");
    // hit: not read again
    memset(hex, 0, sizeof hex);
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0);
    cr_expect_eq(hashed, 0, "second call must come from the cache");
    cr_expect_str_eq(hex, ref);
    // a forged digest with a wrong key (other size) is not used
    FILE *f = fopen(entry, "w");
    fprintf(f, "adbench-sha256 v1 1 2 %064d %s\n", 0, "/elsewhere");
    fclose(f);
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0);
    cr_expect_eq(hashed, 1);
    cr_expect_str_eq(hex, ref);
    // corrupt entry (garbage, truncated): recomputed and rewritten
    const char *bad[] = {"garbage\n", "", "adbench-sha256 v1 100000", "adbench-sha256 v1 100000 0 zz"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        write_text(entry, bad[k]);
        cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0, "%s", ad_last_error());
        cr_expect_eq(hashed, 1, "corrupt entry %zu was trusted", k);
        cr_expect_str_eq(hex, ref);
        cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0);
        cr_expect_eq(hashed, 0, "entry %zu was not rewritten", k);
    }
    // the file changes (same size, new bytes, new mtime): hashed again, new digest
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    free(p);
    p = write_random(dir, "w.safetensors", 100000, 4);
    char *ref2 = sha256sum_of(p);
    cr_assert_str_neq(ref, ref2);
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0);
    cr_expect_eq(hashed, 1, "a changed file was served from the cache");
    cr_expect_str_eq(hex, ref2);
    // an unwritable cache folder is not an error, and the file is still read once (the
    // runner, then the driver ask for it)
    sha256_cache_configure("/proc/adbench-no-such-dir", 1);
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0, "%s", ad_last_error());
    cr_expect_eq(hashed, 1);
    cr_expect_str_eq(hex, ref2);
    memset(hex, 0, sizeof hex);
    cr_assert_eq(sha256_file_cached(hex, p, &hashed), 0, "%s", ad_last_error());
    cr_expect_eq(hashed, 0, "an unwritable cache folder made the file be read again");
    cr_expect_str_eq(hex, ref2);
    sha256_cache_configure(NULL, 0);
    rm_rf(dir);
    free(dir), free(cache), free(p), free(ref), free(ref2), free(folder), free(cmd), free(ls), free(entry), free(txt);
}
