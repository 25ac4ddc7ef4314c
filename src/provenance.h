// What produced a result: recorded in every results.csv row.
#pragma once

typedef struct {
    char git_commit[64];    // `git rev-parse HEAD` in the binary's source tree (+"-dirty"), or "unknown"
    char version[16];       // ADBENCH_VERSION
    char cpu_model[128];    // /proc/cpuinfo "model name" (or "unknown")
    char blas_config[384];  // openblas_get_config() + "; core <the guard's summary>"
    int threads;            // omp_get_max_threads() after the config's threads: setting
} Provenance;

// Fills p. The git commit is read at run time (popen), from the folder holding the
// executable's source tree: the build folder's parent, else the current directory.
void provenance_collect(Provenance *p);
