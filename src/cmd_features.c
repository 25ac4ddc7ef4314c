// PLACEHOLDER: replaced by the real implementation of 'adbench features'.
#include <stdio.h>
#include "cli.h"
int cmd_features(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "adbench: error: 'features' is not implemented in this build\n");
    return 2;
}
