// PLACEHOLDER: replaced by the real implementation of 'adbench datasets'.
#include <stdio.h>
#include "cli.h"
int cmd_datasets(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'datasets' is not implemented in this build\n");
    return 2;
}
