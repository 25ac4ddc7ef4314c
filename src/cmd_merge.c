// PLACEHOLDER: replaced by the real implementation of 'adbench merge'.
#include <stdio.h>
#include "cli.h"
int cmd_merge(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'merge' is not implemented in this build\n");
    return 2;
}
