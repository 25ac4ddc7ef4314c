// PLACEHOLDER: replaced by the real benchmark.
#include <stdio.h>
#include "bench.h"
int bench_codegraph(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: benchmark not implemented in this build\n");
    return 2;
}
