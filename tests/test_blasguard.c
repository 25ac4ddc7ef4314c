// The OpenBLAS kernel guard (src/blasguard.c), exercised through the adbench binary with an
// explicit environment: OpenBLAS reads OPENBLAS_CORETYPE only when it is loaded, so only a
// fresh process shows what the guard chose. The in-process self-test runs on whatever core
// the test binary itself was given.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "blasguard.h"
#include "err.h"
#include "util_test.h"

#if defined(__x86_64__)
#include <cpuid.h>
// The CPU and OS run AVX-512 (F/BW/VL/DQ) code: the guard's best choice is then SkylakeX or better.
static int have_avx512(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1)) {
        __get_cpuid(1, &a, &b, &c, &d);
        if (!((c >> 27) & 1)) return 0;
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        return (lo & 0xe6) == 0xe6;
    }
    return 0;
}
#else
static int have_avx512(void) { return 0; }
#endif

// Runs `adbench bench sgemm --size 48` under env; returns the kernel the bench line reports
// (malloc'd) and the stderr.
static char *kernel_under(const char *env, char **err) {
    char *out = NULL;
    char *cmd = ad_sprintf("env -u ADBENCH_BLAS_CORE -u ADBENCH_BLAS_SELFTEST_FAIL %s '%s' bench sgemm --size 48", env,
                           adbench_bin());
    int rc = run_capture(cmd, &out, err);
    cr_assert_eq(rc, 0, "%s\n%s", cmd, *err);
    char *k = strstr(out, "(kernel ");
    cr_assert(k, "%s", out);
    k += 8;
    char *core = ad_sprintf("%.*s", (int)strcspn(k, ";"), k);
    free(out), free(cmd);
    return core;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

Test(blasguard, selftest_passes_on_the_loaded_core) { cr_assert_eq(blas_selftest(), 0); }

Test(blasguard, environment_core_is_kept_with_one_line) {
    char *err;
    char *k = kernel_under("OPENBLAS_CORETYPE=Prescott", &err);
    cr_assert_str_eq(k, "Prescott");
    cr_assert_eq(count(err, "adbench: blas: "), 1, "%s", err);
    cr_assert(strstr(err, "adbench: blas: OpenBLAS core Prescott (kept: OPENBLAS_CORETYPE set in the environment"), "%s", err);
    free(k), free(err);
}

Test(blasguard, auto_upgrades_a_forced_lesser_core) {
    if (!have_avx512()) cr_skip_test("no AVX-512 on this CPU: nothing to upgrade Prescott to that this test can name");
    char *err;
    char *k = kernel_under("ADBENCH_BLAS_CORE=auto OPENBLAS_CORETYPE=Prescott", &err);
    cr_assert(!strcmp(k, "SkylakeX") || !strcmp(k, "Cooperlake") || !strcmp(k, "SapphireRapids"), "%s\n%s", k, err);
    cr_assert_eq(count(err, "adbench: blas: "), 1, "%s", err);
    char *want = ad_sprintf("adbench: blas: OpenBLAS core %s (auto: upgraded from Prescott;", k);
    cr_assert(strstr(err, want), "%s", err);
    cr_assert(strstr(err, "self-test passed)"), "%s", err);
    free(want), free(k), free(err);
}

Test(blasguard, failed_selftest_falls_back_with_a_warning) {
    if (!have_avx512()) cr_skip_test("no AVX-512 on this CPU");
    char *err;
    // What auto picks first, then the same with that pick failing its self-test.
    char *first = kernel_under("ADBENCH_BLAS_CORE=auto OPENBLAS_CORETYPE=Prescott", &err);
    free(err);
    char *env = ad_sprintf("ADBENCH_BLAS_CORE=auto OPENBLAS_CORETYPE=Prescott ADBENCH_BLAS_SELFTEST_FAIL=%s", first);
    char *k = kernel_under(env, &err);
    cr_assert_str_neq(k, first, "%s", err);
    cr_assert_str_neq(k, "Prescott", "fell back to a lesser core that still beats Prescott: %s", err);
    char *warn = ad_sprintf("adbench: warning: blas: OpenBLAS core %s wrong sgemm results; falling back", first);
    cr_assert(strstr(err, warn), "%s", err);
    cr_assert(strstr(err, "self-test passed)") && strstr(err, "failed: "), "%s", err);
    free(warn), free(env), free(k), free(err);
    // A kernel that dies (SIGILL) in the self-test is caught too.
    env = ad_sprintf("ADBENCH_BLAS_CORE=auto OPENBLAS_CORETYPE=Prescott ADBENCH_BLAS_SELFTEST_FAIL=%s:crash", first);
    k = kernel_under(env, &err);
    cr_assert_str_neq(k, first, "%s", err);
    cr_assert(strstr(err, "crashed (signal"), "%s", err);
    free(env), free(k), free(err), free(first);
}

Test(blasguard, named_core_and_keep) {
    char *err;
    char *k = kernel_under("ADBENCH_BLAS_CORE=Prescott OPENBLAS_CORETYPE=Haswell", &err);
    cr_assert_str_eq(k, "Prescott", "%s", err);
    free(k), free(err);
    k = kernel_under("ADBENCH_BLAS_CORE=keep OPENBLAS_CORETYPE=Prescott", &err);
    cr_assert_str_eq(k, "Prescott", "%s", err);
    cr_assert(strstr(err, "kept: ADBENCH_BLAS_CORE=keep"), "%s", err);
    free(k), free(err);
    k = kernel_under("ADBENCH_BLAS_CORE=NoSuchCore OPENBLAS_CORETYPE=Prescott", &err);
    cr_assert(strstr(err, "ADBENCH_BLAS_CORE=NoSuchCore: this OpenBLAS has no such core"), "%s", err);
    free(k), free(err);
    // Every core failing: the run goes on, on a loud warning.
    k = kernel_under("ADBENCH_BLAS_CORE=Prescott ADBENCH_BLAS_SELFTEST_FAIL=Prescott", &err);
    cr_assert(strstr(err, "no other core to fall back to") && strstr(err, "self-test FAILED)"), "%s", err);
    free(k), free(err);
}

// results.csv's blas_config records the core that ran and why.
Test(blasguard, blas_config_records_the_core_used, .timeout = 120) {
    char *dir = make_tmpdir("blasguard");
    char *cfg = ad_sprintf("%s/c.yaml", dir);
    char *text = ad_sprintf(
        "name: g\n"
        "datasets:\n"
        "  - name: synth\n"
        "    synth: {seed: 0, size: 32, kind: texture, categories: [woven], n_train: 2, n_good: 4, n_unique: 2, "
        "consistent: \"patch:2\"}\n"
        "backbone: {name: pixel, size: 32, patch: 8, stride: 8, scales: [1]}\n"
        "methods:\n"
        "  - name: musc\n"
        "evaluation: {resolution: \"resized:32\"}\n"
        "seed: 0\nthreads: 1\ncache_dir: %s/cache\nout_dir: %s/out\n",
        dir, dir);
    cr_assert_eq(write_text(cfg, text), 0);
    char *cmd = ad_sprintf("env -u ADBENCH_BLAS_SELFTEST_FAIL ADBENCH_BLAS_CORE=Prescott '%s' run '%s' --quiet",
                           adbench_bin(), cfg);
    char *out, *err;
    cr_assert_eq(run_capture(cmd, &out, &err), 0, "%s\n%s", out, err);
    char *csvp = ad_sprintf("%s/out/results.csv", dir);
    char *csv = slurp(csvp, NULL);
    cr_assert(csv, "%s", err);
    cr_assert(strstr(csv, "USE_OPENMP Prescott") && strstr(csv, "; core Prescott (ADBENCH_BLAS_CORE:"), "%s", csv);
    rm_rf(dir);
    free(dir), free(cfg), free(text), free(cmd), free(out), free(err), free(csvp), free(csv);
}
