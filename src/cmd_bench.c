// PLACEHOLDER: replaced by the real implementation of 'adbench bench'.
#include <stdio.h>
#include "cli.h"
int cmd_bench(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'bench' is not implemented in this build\n");
    return 2;
}
