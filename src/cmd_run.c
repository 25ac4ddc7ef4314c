// PLACEHOLDER: replaced by the real implementation of 'adbench run'.
#include <stdio.h>
#include "cli.h"
int cmd_run(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'run' is not implemented in this build\n");
    return 2;
}
