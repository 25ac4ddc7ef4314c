// OpenBLAS kernel guard: see blasguard.h for what and why.
#include "blasguard.h"

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define GUARD_X86 1
#endif

char *openblas_get_corename(void);  // OpenBLAS extension

static char g_summary[200];
static int g_ran;

const char *blas_guard_summary(void) { return g_ran ? g_summary : NULL; }

// ISA levels: what a core's sgemm kernels need from the CPU and the OS.
enum { ISA_UNKNOWN = -1, ISA_NONE = 0, ISA_SSE3, ISA_AVX, ISA_AVX2, ISA_AVX512, ISA_AVX512BF16, ISA_AMX };
static const char *ISA_NAME[] = {"none", "SSE3", "AVX", "AVX2/FMA", "AVX-512", "AVX-512+BF16", "AMX"};

// The cores the guard may pick, best first (OpenBLAS 0.3.21 names; SapphireRapids is 0.3.22+).
static const struct {
    const char *name;
    int isa;
} LADDER[] = {{"SapphireRapids", ISA_AMX}, {"Cooperlake", ISA_AVX512BF16}, {"SkylakeX", ISA_AVX512},
              {"Haswell", ISA_AVX2},       {"Sandybridge", ISA_AVX},        {"Prescott", ISA_SSE3}};
// Other cores OpenBLAS may report, by the ISA level of their kernels (never picked, only ranked).
static const struct {
    const char *name;
    int isa;
} OTHER[] = {{"Zen", ISA_AVX2},        {"Excavator", ISA_AVX2},  {"Steamroller", ISA_AVX}, {"Piledriver", ISA_AVX},
             {"Bulldozer", ISA_AVX},   {"Nehalem", ISA_SSE3},    {"Core2", ISA_SSE3},      {"Penryn", ISA_SSE3},
             {"Dunnington", ISA_SSE3}, {"Atom", ISA_SSE3},       {"Nano", ISA_SSE3},       {"Opteron", ISA_SSE3},
             {"Opteron_SSE3", ISA_SSE3}, {"Barcelona", ISA_SSE3}, {"Bobcat", ISA_SSE3},    {"Athlon", ISA_SSE3},
             {"Katmai", ISA_NONE},     {"Coppermine", ISA_NONE}, {"Northwood", ISA_NONE},  {"Banias", ISA_NONE}};
#define NLADDER (int)(sizeof LADDER / sizeof LADDER[0])

static int core_isa(const char *name) {
    for (int i = 0; i < NLADDER; i++)
        if (!strcasecmp(name, LADDER[i].name)) return LADDER[i].isa;
    for (size_t i = 0; i < sizeof OTHER / sizeof OTHER[0]; i++)
        if (!strcasecmp(name, OTHER[i].name)) return OTHER[i].isa;
    return ISA_UNKNOWN;  // a core newer than this table: never "upgraded"
}

// What the CPU *and* the OS (XCR0 register state) support.
static int cpu_isa(void) {
#ifdef GUARD_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return ISA_NONE;
    int level = (c & 1) ? ISA_SSE3 : ISA_NONE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return level;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
    if ((xcr0 & 0x6) != 0x6) return level;  // XMM+YMM state
    level = ISA_AVX;
    if (__get_cpuid_max(0, NULL) < 7) return level;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1, f = (b >> 16) & 1, dq = (b >> 17) & 1, cd = (b >> 28) & 1, bw = (b >> 30) & 1,
        vl = (b >> 31) & 1;
    int amx_bf16 = (d >> 22) & 1, fp16 = (d >> 23) & 1, amx_tile = (d >> 24) & 1;
    if (!avx2 || !fma) return level;
    level = ISA_AVX2;
    if (!(f && dq && cd && bw && vl) || (xcr0 & 0xe6) != 0xe6) return level;  // + opmask/ZMM state
    level = ISA_AVX512;
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    if (!((a1 >> 5) & 1)) return level;  // AVX512_BF16
    level = ISA_AVX512BF16;
    if (amx_bf16 && amx_tile && fp16 && (xcr0 & 0x60000) == 0x60000) level = ISA_AMX;
    return level;
#else
    return ISA_UNKNOWN;
#endif
}

// A DYNAMIC_ARCH OpenBLAS exports one gotoblas_<CORE> table per core it was built with.
static int offered(const char *name) {
    char sym[64] = "gotoblas_";
    size_t n = strlen(sym);
    for (const char *p = name; *p && n < sizeof sym - 1; p++) sym[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    sym[n] = 0;
    return dlsym(RTLD_DEFAULT, sym) != NULL;
}

static int is_dynamic(void) { return dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init") != NULL; }

static int in_list(const char *list, const char *name, const char **tail) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = p + strcspn(p, ",");
        const char *colon = memchr(p, ':', (size_t)(e - p));
        size_t len = (size_t)((colon ? colon : e) - p);
        if (len == n && !strncasecmp(p, name, n)) {
            if (tail) *tail = colon && !strncmp(colon + 1, "crash", 5) && colon + 6 == e ? "crash" : "";
            return 1;
        }
        p = *e ? e + 1 : e;
    }
    return 0;
}

// ---- self-test: the sgemm shapes and transposes adbench uses, odd sizes, strided rows,
// alpha/beta, against a double-precision reference.
static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

static int selftest(int corrupt) {
    static const struct {
        int ta, tb, m, n, k, pad;
        float alpha, beta;
    } S[] = {{0, 0, 1, 1, 1, 0, 1, 0},          {0, 1, 7, 5, 3, 0, 1, 0},       {0, 0, 17, 33, 65, 0, 1, 0},
             {0, 1, 31, 129, 70, 5, 0.125f, 0}, {1, 0, 65, 37, 193, 0, 1, 1},   {0, 1, 130, 257, 515, 3, 1, 0},
             {0, 0, 97, 64, 577, 128, -1, 0.5f}, {1, 1, 23, 19, 41, 2, 2, 0}};
    int bad = 0;
    uint32_t seed = 12345;
    for (size_t t = 0; t < sizeof S / sizeof S[0] && !bad; t++) {
        int m = S[t].m, n = S[t].n, k = S[t].k;
        // Row-major: op(A) is m x k, op(B) is k x n; stored shapes follow the transposes.
        int ar = S[t].ta ? k : m, ac = S[t].ta ? m : k, br = S[t].tb ? n : k, bc = S[t].tb ? k : n;
        int lda = ac + S[t].pad, ldb = bc + S[t].pad, ldc = n + S[t].pad;
        float *A = malloc(sizeof(float) * (size_t)ar * lda), *B = malloc(sizeof(float) * (size_t)br * ldb);
        float *C = malloc(sizeof(float) * (size_t)m * ldc), *C0 = malloc(sizeof(float) * (size_t)m * ldc);
        if (!A || !B || !C || !C0) abort();
        for (int i = 0; i < ar * lda; i++) A[i] = (float)(lcg(&seed) >> 8) / (float)(1 << 23) - 1.f;
        for (int i = 0; i < br * ldb; i++) B[i] = (float)(lcg(&seed) >> 8) / (float)(1 << 23) - 1.f;
        for (int i = 0; i < m * ldc; i++) C[i] = C0[i] = (float)(lcg(&seed) >> 8) / (float)(1 << 23) - 1.f;
        cblas_sgemm(CblasRowMajor, S[t].ta ? CblasTrans : CblasNoTrans, S[t].tb ? CblasTrans : CblasNoTrans, m, n, k,
                    S[t].alpha, A, lda, B, ldb, S[t].beta, C, ldc);
        if (corrupt) C[(m / 2) * ldc + n / 2] += 1.f;
        for (int i = 0; i < m && !bad; i++)
            for (int j = 0; j < n && !bad; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    double x = S[t].ta ? A[p * lda + i] : A[i * lda + p], y = S[t].tb ? B[j * ldb + p] : B[p * ldb + j];
                    s += x * y, abs += fabs(x * y);
                }
                double ref = S[t].alpha * s + S[t].beta * (double)C0[i * ldc + j];
                double tol = 1e-4 * (fabs(S[t].alpha) * abs + fabs(S[t].beta * C0[i * ldc + j])) + 1e-6;
                if (!(fabs((double)C[i * ldc + j] - ref) <= tol)) bad = 1;  // NaN fails too
            }
        for (int i = 0; i < m && !bad; i++)  // the padding of C must be left alone
            for (int j = n; j < ldc; j++)
                if (C[i * ldc + j] != C0[i * ldc + j]) bad = 1;
        free(A), free(B), free(C), free(C0);
    }
    return bad;
}

int blas_selftest(void) { return selftest(0); }

// Self-test the loaded core in a forked child, so a kernel that dies (SIGILL) is a failure
// too. Returns NULL when it passes, else why it failed.
static const char *selftest_forked(const char *core, char *why, size_t n) {
    const char *hook = NULL;
    int forced = in_list(getenv("ADBENCH_BLAS_SELFTEST_FAIL"), core, &hook);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {  // no fork: test in-process (a crash then ends the run, but visibly)
        if (forced && !strcmp(hook, "crash")) raise(SIGILL);
        return selftest(forced) ? "wrong sgemm results" : NULL;
    }
    if (pid == 0) {
        if (forced && !strcmp(hook, "crash")) raise(SIGILL);
        _exit(selftest(forced) ? 1 : 0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return NULL;
    if (WIFSIGNALED(st))
        snprintf(why, n, "crashed (signal %d)", WTERMSIG(st));
    else
        snprintf(why, n, "wrong sgemm results");
    return why;
}

// The best core this CPU and this OpenBLAS support, below isa_below, not in failed.
static const char *best_core(int isa, int isa_below, const char *failed) {
    for (int i = 0; i < NLADDER; i++)
        if (LADDER[i].isa <= isa && LADDER[i].isa < isa_below && offered(LADDER[i].name) &&
            !in_list(failed, LADDER[i].name, NULL))
            return LADDER[i].name;
    return NULL;
}

#define ENV_MODE "ADBENCH_BLAS_GUARD_MODE"      // auto | name: the mode of the first process
#define ENV_WANT "ADBENCH_BLAS_GUARD_WANT"      // the core the last re-exec asked for
#define ENV_FROM "ADBENCH_BLAS_GUARD_FROM"      // the core before the guard changed anything
#define ENV_FAILED "ADBENCH_BLAS_GUARD_FAILED"  // cores that failed, comma-separated
#define ENV_HOPS "ADBENCH_BLAS_GUARD_HOPS"      // re-exec count (a hard stop against loops)

static void clear_state(void) {
    unsetenv(ENV_MODE), unsetenv(ENV_WANT), unsetenv(ENV_FROM), unsetenv(ENV_FAILED), unsetenv(ENV_HOPS);
}

// Re-execute with OPENBLAS_CORETYPE=core; returns only when execv fails.
static void reexec(char **argv, const char *core, const char *mode, const char *from, const char *failed) {
    const char *h = getenv(ENV_HOPS);
    int hops = h ? atoi(h) : 0;
    if (hops >= NLADDER + 2) {
        fprintf(stderr, "adbench: warning: blas: too many kernel re-executions; staying with %s\n",
                openblas_get_corename());
        return;
    }
    char hb[16];
    snprintf(hb, sizeof hb, "%d", hops + 1);
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv(ENV_WANT, core, 1), setenv(ENV_MODE, mode, 1), setenv(ENV_FROM, from, 1), setenv(ENV_FAILED, failed, 1);
    setenv(ENV_HOPS, hb, 1);
    fflush(stdout), fflush(stderr);
    // The resolved path rather than /proc/self/exe itself: under valgrind /proc/self/exe is the
    // tool, while readlink reports the client.
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = 0, execv(exe, argv);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "adbench: warning: blas: could not re-execute to switch to %s; staying with %s\n", core,
            openblas_get_corename());
}

static void add_failed(char *failed, size_t n, const char *core) {
    if (*failed) strncat(failed, ",", n - strlen(failed) - 1);
    strncat(failed, core, n - strlen(failed) - 1);
}

// After `core` failed (or was not taken): try the next lesser core, or give up on a warning.
static void step_down(char **argv, const char *core, int isa, const char *mode, const char *from, char *failed,
                      size_t nf, const char *why) {
    add_failed(failed, nf, core);
    int below = core_isa(core);
    const char *next = best_core(isa, below == ISA_UNKNOWN ? isa + 1 : below, failed);
    fprintf(stderr, "adbench: warning: blas: OpenBLAS core %s %s; %s\n", core, why,
            next ? "falling back to a lesser core" : "no other core to fall back to");
    if (next) reexec(argv, next, mode, from, failed);
}

void blas_guard(char **argv) {
    g_ran = 1;
    const char *cur = openblas_get_corename();
    int isa = cpu_isa(), cur_isa = core_isa(cur);
    const char *want = getenv(ENV_WANT);
    char failed[256] = "", from[64], mode[16], why[64];
    const char *fs = getenv(ENV_FAILED), *fr = getenv(ENV_FROM), *md = getenv(ENV_MODE);
    snprintf(failed, sizeof failed, "%s", fs ? fs : "");
    snprintf(from, sizeof from, "%s", fr ? fr : cur);
    const char *req = getenv("ADBENCH_BLAS_CORE"), *env_core = getenv("OPENBLAS_CORETYPE");
    const char *best = best_core(isa, ISA_AMX + 1, "");
    const char *result = NULL;  // why the loaded core runs

    if (want) {  // a re-executed process: did OpenBLAS take the core, does it work?
        snprintf(mode, sizeof mode, "%s", md ? md : "auto");
        if (strcasecmp(cur, want)) {
            step_down(argv, want, isa, mode, from, failed, sizeof failed, "was not taken by this OpenBLAS");
            result = "the guard's choices were not taken";
        } else if (selftest_forked(cur, why, sizeof why)) {
            step_down(argv, cur, isa, mode, from, failed, sizeof failed, why);
            result = "FAILED";
        }
    } else if (!req || !*req ? env_core && *env_core : !strcasecmp(req, "keep")) {
        snprintf(mode, sizeof mode, "keep");
        if (selftest_forked(cur, why, sizeof why)) {
            fprintf(stderr, "adbench: warning: blas: OpenBLAS core %s %s (kept: ADBENCH_BLAS_CORE=auto or NAME chooses another)\n",
                    cur, why);
            result = "FAILED";
        }
    } else {
        int named = req && *req && strcasecmp(req, "auto");
        if (named && !offered(req) && is_dynamic()) {
            fprintf(stderr, "adbench: warning: blas: ADBENCH_BLAS_CORE=%s: this OpenBLAS has no such core; choosing automatically\n",
                    req);
            named = 0;
        }
        snprintf(mode, sizeof mode, named ? "name" : "auto");
        const char *target = named ? req : best;
        int change = target && strcasecmp(cur, target) && (named || (cur_isa != ISA_UNKNOWN && core_isa(target) > cur_isa));
        if (change && is_dynamic()) reexec(argv, target, mode, from, failed);
        if (selftest_forked(cur, why, sizeof why)) {
            step_down(argv, cur, isa, mode, from, failed, sizeof failed, why);
            result = "FAILED";
        }
    }

    // Only the process that keeps running gets here: say once which core runs and why.
    char reason[160];
    int upgraded = strcasecmp(from, cur) != 0;
    if (!strcmp(mode, "keep"))
        snprintf(reason, sizeof reason, "kept: %s%s%s", env_core && (!req || !*req) ? "OPENBLAS_CORETYPE set in the environment" : "ADBENCH_BLAS_CORE=keep",
                 best && strcasecmp(best, cur) && core_isa(best) > cur_isa ? "; the CPU supports " : "",
                 best && strcasecmp(best, cur) && core_isa(best) > cur_isa ? best : "");
    else if (upgraded)
        snprintf(reason, sizeof reason, "%s: %s %s", mode[0] == 'n' ? "ADBENCH_BLAS_CORE" : "auto",
                 core_isa(cur) > core_isa(from) ? "upgraded from" : "changed from", from);
    else
        snprintf(reason, sizeof reason, "%s: %s", mode[0] == 'n' ? "ADBENCH_BLAS_CORE" : "auto",
                 cur_isa == ISA_UNKNOWN ? "core unknown to the guard; left alone"
                 : *failed                ? "the best core that passed"
                                          : "already the best for this CPU");
    char fl[200] = "";
    if (*failed) snprintf(fl, sizeof fl, "; failed: %s", failed);
    snprintf(g_summary, sizeof g_summary, "%s (%s%s; CPU %s; self-test %s)", cur, reason, fl,
             isa >= 0 ? ISA_NAME[isa] : "unknown", result ? result : "passed");
    for (char *p = g_summary; *p; p++)
        if (*p == ',') *p = '/';  // results.csv friendliness: no commas
    fprintf(stderr, "adbench: blas: OpenBLAS core %s\n", g_summary);
    clear_state();
}
