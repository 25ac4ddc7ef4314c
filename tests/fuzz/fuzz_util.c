#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

const char *fuzz_tmp_file(const char *tag, const char *suffix, const uint8_t *data, size_t size) {
    static _Thread_local char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/adbench-fuzz-%d-%s%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), tag, suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f)) abort();
    return path;
}
