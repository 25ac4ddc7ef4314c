// PLACEHOLDER: replaced by the real implementation of 'adbench metrics'.
#include <stdio.h>
#include "cli.h"
int cmd_metrics(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'metrics' is not implemented in this build\n");
    return 2;
}
