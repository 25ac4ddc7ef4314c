// ViT forward on the tiny golden towers (tests/golden/vit, widths 128): the input chooses the
// model, the input size, the taps, and supplies the weights (repeated to fill the blob, so any
// float bit pattern: NaN, Inf, huge) and the image. Must never crash nor hit UB; non-finite
// activations must be refused.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "vit.h"

static unsigned char *slurp_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

FUZZ_TARGET(vit_forward) {
    static const char *models[] = {"clip_openai", "clip_hf", "dino", "dino_reg4", "hfdino_reg4"};
    if (size < 4) return 0;
    const char *model = models[data[0] % 5];
    int side = 14 + data[1] % 30, tap = 1 + data[2] % 3, norm = data[3] & 1;
    data += 4, size -= 4;
    char hp[128];
    snprintf(hp, sizeof hp, "tests/golden/vit/%s.hdr", model);
    size_t hl = 0, bl = 0;
    unsigned char *h = slurp_file(hp, &hl), *b = slurp_file("tests/golden/vit/blob_f32.bin", &bl);
    if (!h || !b) abort();
    // weights: the golden blob with the fuzz bytes XOR-ed over its start (repeated)
    for (size_t i = 0; size && i < bl && i < 64 * size; i++) b[i] ^= data[i % size];
    unsigned char *file = malloc(hl + bl);
    memcpy(file, h, hl), memcpy(file + hl, b, bl);
    const char *p = fuzz_tmp_file("vit", ".safetensors", file, hl + bl);
    free(file), free(h), free(b);
    ViT m;
    if (!vit_open(&m, p)) {
        int H = side, W = side + (size ? data[0] % 7 : 0);
        int T = vit_tokens(&m, H, W), D = m.cfg.width;
        float *img = malloc(sizeof(float) * 3 * (size_t)H * W);
        for (size_t i = 0; i < (size_t)3 * H * W; i++) img[i] = size ? (float)((int)data[i % size] - 128) / 64.0f : 0.0f;
        float *out = malloc(sizeof(float) * (size_t)T * D), *emb = malloc(sizeof(float) * (size_t)vit_embed_dim(&m));
        if (!vit_forward(&m, out, emb, img, 1, H, W, &tap, 1, norm))
            for (size_t i = 0; i < (size_t)T * D; i++)
                if (!isfinite(out[i])) abort();  // accepted features must be finite
        free(img), free(out), free(emb);
        vit_close(&m);
    }
    ad_clear_error();
    unlink(p);
    return 0;
}
