// PLACEHOLDER: replaced by the real implementation of 'adbench synth'.
#include <stdio.h>
#include "cli.h"
int cmd_synth(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'synth' is not implemented in this build\n");
    return 2;
}
