// PLACEHOLDER: replaced by the real implementation of 'adbench compare'.
#include <stdio.h>
#include "cli.h"
int cmd_compare(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'compare' is not implemented in this build\n");
    return 2;
}
