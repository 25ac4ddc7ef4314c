// OpenBLAS kernel guard (issue 13). A DYNAMIC_ARCH OpenBLAS that does not know the CPU
// falls back to a lesser kernel (Prescott/SSE3 on AVX-512 parts: 3-4x slower GEMMs) and
// says nothing. At start-up blas_guard() compares the core in use with what cpuid and the
// OS support, re-executes the binary with OPENBLAS_CORETYPE set to the best core this
// OpenBLAS offers (OpenBLAS reads it only when it is loaded), self-tests the kernel
// against a double-precision reference in a forked child (wrong results and SIGILL both
// count as failure) and steps down with a warning if it fails.
//
// ADBENCH_BLAS_CORE (environment):
//   unset  auto, unless OPENBLAS_CORETYPE is already set: that is an explicit choice and is kept
//   auto   upgrade to the best supported core even over an OPENBLAS_CORETYPE in the environment
//   keep   never change the core (the self-test still runs and warns)
//   NAME   use that OpenBLAS core (e.g. SkylakeX), self-tested like auto
// ADBENCH_BLAS_SELFTEST_FAIL=NAME[:crash][,NAME...]  test hook: the self-test of these cores
//   fails (a corrupted result, or SIGILL with :crash).
// One line on stderr ("adbench: blas: ...") says which core runs and why.
#pragma once

// Call first in main() with main's argv; may execv() /proc/self/exe and not return.
void blas_guard(char **argv);
// "Cooperlake (auto: upgraded from Haswell, self-test passed)", or NULL when
// blas_guard() did not run in this process (the test binary).
const char *blas_guard_summary(void);
// Runs the self-test in this process with the loaded core; 0 when it passes.
int blas_selftest(void);
