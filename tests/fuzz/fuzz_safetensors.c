// safetensors header + the CLIP/DINOv2 loaders. An input starting with '{' is a JSON header:
// the harness adds the 8-byte length and the golden 225 KB weight blob (tests/golden/vit) so
// that offsets land in real data and the loaders run; any other input is the whole file.
// Every shape read from the file must be validated, never trusted.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "safetensors.h"
#include "vit.h"

static unsigned char *g_blob;
static size_t g_blob_n;

FUZZ_TARGET(safetensors) {
    if (!g_blob) {
        FILE *f = fopen("tests/golden/vit/blob_f32.bin", "rb");
        if (!f) abort();
        g_blob = malloc(1 << 18);
        g_blob_n = fread(g_blob, 1, 1 << 18, f);
        fclose(f);
    }
    const char *p;
    if (size && data[0] == '{') {
        unsigned char *file = malloc(8 + size + g_blob_n);
        for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)size >> (8 * i));
        memcpy(file + 8, data, size);
        memcpy(file + 8 + size, g_blob, g_blob_n);
        p = fuzz_tmp_file("st", ".safetensors", file, 8 + size + g_blob_n);
        free(file);
    } else {
        p = fuzz_tmp_file("st", ".safetensors", data, size);
    }
    ViT m;
    if (!vit_open(&m, p)) {
        (void)vit_tokens(&m, 32, 32);
        vit_close(&m);
    }
    ad_clear_error();
    unlink(p);
    return 0;
}
