// Suite "safetensors": the reader on valid files (aligned F32 mapped in place, unaligned F32 /
// F16 / BF16 converted) and one test per kind of broken file, each checking that the message
// names the file and the tensor. Broken files are derived at run time from the golden headers
// of tests/golden/vit (tests/gen/gen_vit.py).
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "safetensors.h"
#include "util_test.h"
#include "vit.h"
#include "vit_test.h"

#define G "tests/golden/vit/"

// Parse the JSON of a golden header.
static cJSON *load_header(const char *model) {
    size_t n;
    char *p = ad_sprintf(G "%s.hdr", model), *h = slurp(p, &n);
    cr_assert(h && n > 8);
    cJSON *j = cJSON_ParseWithLength(h + 8, n - 8);
    cr_assert(j);
    free(h), free(p);
    return j;
}

// DIR/NAME.safetensors = 8-byte length + json + the first blob_bytes of blob_f32.bin
// (all of it when blob_bytes < 0).
static char *write_file(const char *dir, const char *name, const char *json, long blob_bytes) {
    size_t bl;
    char *blob = slurp(G "blob_f32.bin", &bl);
    char *path = ad_sprintf("%s/%s.safetensors", dir, name);
    FILE *f = fopen(path, "wb");
    unsigned long long len = strlen(json);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(json, 1, len, f);
    fwrite(blob, 1, blob_bytes < 0 ? bl : (size_t)blob_bytes, f);
    fclose(f);
    free(blob);
    return path;
}

static char *write_json(const char *dir, const char *name, cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    char *p = write_file(dir, name, s, -1);
    free(s);
    return p;
}

// Opening must fail with a message containing every one of the given fragments (and the path).
static void expect_open_error(const char *path, const char *f1, const char *f2) {
    ViT m;
    cr_assert_eq(vit_open(&m, path), -1, "%s opened", path);
    const char *e = ad_last_error();
    cr_expect(strstr(e, path), "message does not name the file: %s", e);
    cr_expect(!f1 || strstr(e, f1), "message lacks '%s': %s", f1, e);
    cr_expect(!f2 || strstr(e, f2), "message lacks '%s': %s", f2, e);
}

Test(safetensors, f16_bf16_conversion_exact) {
    cr_expect_eq(st_f16_to_f32(0x3c00), 1.0f);
    cr_expect_eq(st_f16_to_f32(0xc000), -2.0f);
    cr_expect_eq(st_f16_to_f32(0x3555), 0.333251953125f);
    cr_expect_eq(st_f16_to_f32(0x0001), ldexpf(1.0f, -24));  // smallest subnormal
    cr_expect_eq(st_f16_to_f32(0x03ff), ldexpf(1023.0f, -24));
    cr_expect_eq(st_f16_to_f32(0x7bff), 65504.0f);
    cr_expect(isinf(st_f16_to_f32(0x7c00)) && st_f16_to_f32(0xfc00) < 0);
    cr_expect(isnan(st_f16_to_f32(0x7e00)));
    cr_expect(signbit(st_f16_to_f32(0x8000)) && st_f16_to_f32(0x8000) == 0.0f);
    cr_expect_eq(st_bf16_to_f32(0x3f80), 1.0f);
    cr_expect_eq(st_bf16_to_f32(0xc0a0), -5.0f);
    cr_expect_eq(st_bf16_to_f32(0x0001), ldexpf(1.0f, -133));
}

Test(safetensors, aligned_f32_in_place_unaligned_copied) {
    char *dir = make_tmpdir("st");
    char *a = vit_test_model(dir, "clip_openai", "f32"), *u = vit_test_model(dir, "clip_hf", "f32");
    SafeTensors st;
    cr_assert_eq(st_open(&st, a), 0, "%s", ad_last_error());
    const StTensor *t = st_find(&st, "visual.ln_pre.weight");
    cr_assert(t);
    const float *p = st_get_f32(&st, "visual.ln_pre.weight", 1, (int64_t[]){128});
    cr_expect_eq((const void *)p, (const void *)t->raw, "aligned F32 should be used in place");
    cr_expect_null(st_find(&st, "no.such.tensor"));
    st_close(&st);
    cr_assert_eq(st_open(&st, u), 0, "%s", ad_last_error());
    t = st_find(&st, "vision_model.pre_layrnorm.weight");
    cr_assert(t && ((uintptr_t)t->raw % 4) != 0, "golden clip_hf should be unaligned");
    p = st_get_f32(&st, t->name, 1, (int64_t[]){128});
    cr_assert(p && (const void *)p != (const void *)t->raw);
    float v;
    memcpy(&v, t->raw + 4, 4);
    cr_expect_eq(p[1], v);
    // a 0-d tensor (logit_scale) and an I64 buffer parse too
    t = st_find(&st, "logit_scale");
    cr_assert(t);
    cr_expect_eq(t->ndim, 0);
    cr_expect_eq(t->count, 1);
    cr_expect_eq(st_find(&st, "vision_model.embeddings.position_ids")->dtype, ST_I64);
    st_close(&st);
    free(a), free(u);
    rm_rf(dir);
    free(dir);
}

Test(safetensors, truncated_file) {
    char *dir = make_tmpdir("st");
    cJSON *j = load_header("clip_openai");
    char *s = cJSON_PrintUnformatted(j);
    char *p = write_file(dir, "trunc", s, 1000);
    expect_open_error(p, "truncated", "data ends at byte");
    free(p);
    // shorter than the 8-byte length field
    p = ad_sprintf("%s/tiny.safetensors", dir);
    write_text(p, "abc");
    expect_open_error(p, "truncated", "3 bytes");
    free(p);
    // JSON cut in the middle: the length field points past the end of the file
    p = ad_sprintf("%s/cut.safetensors", dir);
    FILE *f = fopen(p, "wb");
    unsigned long long len = strlen(s);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(s, 1, len / 2, f);
    fclose(f);
    expect_open_error(p, "header length", "truncated");
    free(p);
    free(s);
    cJSON_Delete(j);
    rm_rf(dir);
    free(dir);
}

Test(safetensors, bad_header) {
    char *dir = make_tmpdir("st");
    char *p = write_file(dir, "notjson", "{\"a\": [1, 2", -1);
    expect_open_error(p, "does not parse", NULL);
    free(p);
    p = write_file(dir, "notobj", "[1, 2, 3]   ", -1);
    expect_open_error(p, "expected the JSON header to start with '{'", NULL);
    free(p);
    p = write_file(dir, "fields", "{\"visual.x\": {\"dtype\": \"F32\", \"shape\": [2]}}", -1);
    expect_open_error(p, "'visual.x'", "data_offsets");
    free(p);
    p = write_file(dir, "dtype", "{\"visual.x\": {\"dtype\": \"F99\", \"shape\": [2], \"data_offsets\": [0, 8]}}", -1);
    expect_open_error(p, "'visual.x'", "unknown dtype 'F99'");
    free(p);
    p = write_file(dir, "negative", "{\"visual.x\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", -1);
    expect_open_error(p, "'visual.x'", "shape entry 0");
    free(p);
    p = write_file(dir, "size", "{\"visual.x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", -1);
    expect_open_error(p, "'visual.x'", "hold 8 bytes, but dtype F32 and shape (3,) need 12");
    free(p);
    p = write_file(dir, "dup", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", -1);
    expect_open_error(p, "'a' appears twice", NULL);
    free(p);
    // a huge length field
    p = ad_sprintf("%s/huge.safetensors", dir);
    FILE *f = fopen(p, "wb");
    fwrite("\xff\xff\xff\xff\xff\x00\x00\x00{}", 1, 10, f);
    fclose(f);
    expect_open_error(p, "header length", NULL);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(safetensors, missing_tensor) {
    char *dir = make_tmpdir("st");
    cJSON *j = load_header("clip_openai");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "visual.transformer.resblocks.1.attn.in_proj_bias");
    char *p = write_json(dir, "missing", j);
    expect_open_error(p, "missing tensor 'visual.transformer.resblocks.1.attn.in_proj_bias'", "(384,)");
    free(p);
    cJSON_Delete(j);
    j = load_header("hfdino_reg4");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "encoder.layer.2.layer_scale2.lambda1");
    p = write_json(dir, "missing2", j);
    expect_open_error(p, "missing tensor 'encoder.layer.2.layer_scale2.lambda1'", NULL);
    free(p);
    cJSON_Delete(j);
    rm_rf(dir);
    free(dir);
}

Test(safetensors, unexpected_tensor) {
    char *dir = make_tmpdir("st");
    cJSON *j = load_header("clip_openai");
    cJSON_AddItemToObject(j, "visual.transformer.resblocks.0.ls_1.gamma",
                          cJSON_Duplicate(cJSON_GetObjectItem(j, "visual.ln_pre.bias"), 1));
    char *p = write_json(dir, "unexp", j);
    expect_open_error(p, "unexpected tensor 'visual.transformer.resblocks.0.ls_1.gamma'", "(128,)");
    free(p);
    cJSON_Delete(j);
    j = load_header("dino");
    cJSON_AddItemToObject(j, "head.weight", cJSON_Duplicate(cJSON_GetObjectItem(j, "norm.bias"), 1));
    p = write_json(dir, "unexp2", j);
    expect_open_error(p, "unexpected tensor 'head.weight'", "DINOv2");
    free(p);
    cJSON_Delete(j);
    // text-tower tensors of a full CLIP checkpoint are NOT unexpected (clip_openai has some)
    rm_rf(dir);
    free(dir);
}

Test(safetensors, misshaped_tensor) {
    char *dir = make_tmpdir("st");
    cJSON *j = load_header("clip_openai");
    cJSON *t = cJSON_GetObjectItem(j, "visual.transformer.resblocks.1.ln_2.weight");
    cJSON *sh = cJSON_GetObjectItem(t, "shape"), *of = cJSON_GetObjectItem(t, "data_offsets");
    cJSON_SetNumberValue(cJSON_GetArrayItem(sh, 0), 64);
    cJSON_SetNumberValue(cJSON_GetArrayItem(of, 1), cJSON_GetArrayItem(of, 0)->valuedouble + 256);
    char *p = write_json(dir, "shape", j);
    expect_open_error(p, "'visual.transformer.resblocks.1.ln_2.weight'", "expected shape (128,), found (64,)");
    free(p);
    cJSON_Delete(j);
    // a weight stored as integers
    j = load_header("dino");
    t = cJSON_GetObjectItem(j, "norm.weight");
    cJSON_ReplaceItemInObject(t, "dtype", cJSON_CreateString("I32"));
    p = write_json(dir, "dtype", j);
    expect_open_error(p, "'norm.weight'", "expected dtype F32, F16 or BF16, found I32");
    free(p);
    cJSON_Delete(j);
    rm_rf(dir);
    free(dir);
}

Test(safetensors, neither_family) {
    char *dir = make_tmpdir("st");
    char *p = write_file(dir, "other", "{\"fc.weight\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", -1);
    expect_open_error(p, "not a CLIP or DINOv2", "convert_weights.py");
    free(p);
    char *q = ad_sprintf("%s/absent.safetensors", dir);
    expect_open_error(q, "cannot open", NULL);
    free(q);
    rm_rf(dir);
    free(dir);
}

// Issue 12 item 1: width 0 or patch 0 passed the shape check (0 % 64 == 0) and then divided by
// zero (SIGFPE) or tripped an assertion. Every dimension is bounded, the tensor named.
static void zero_dim(const char *dir, const char *model, const char *tensor, int dim, const char *frag) {
    cJSON *j = load_header(model);
    cJSON *t = cJSON_GetObjectItem(j, tensor);
    cr_assert(t, "%s lacks %s", model, tensor);
    cJSON *sh = cJSON_GetObjectItem(t, "shape"), *of = cJSON_GetObjectItem(t, "data_offsets");
    cJSON_SetNumberValue(cJSON_GetArrayItem(sh, dim), 0);
    if (dim == 2) cJSON_SetNumberValue(cJSON_GetArrayItem(sh, 3), 0);
    cJSON_SetNumberValue(cJSON_GetArrayItem(of, 1), cJSON_GetArrayItem(of, 0)->valuedouble);
    char *name = ad_sprintf("%s_%d", model, dim);
    char *p = write_json(dir, name, j);
    char *frag_t = ad_sprintf("'%s'", tensor);
    expect_open_error(p, frag_t, frag);
    free(frag_t), free(name), free(p);
    cJSON_Delete(j);
}

Test(safetensors, zero_width_or_patch_is_an_error) {
    char *dir = make_tmpdir("st");
    zero_dim(dir, "clip_openai", "visual.conv1.weight", 0, "width");
    zero_dim(dir, "clip_openai", "visual.conv1.weight", 2, "patch size");
    zero_dim(dir, "dino", "patch_embed.proj.weight", 0, "width");
    zero_dim(dir, "dino", "patch_embed.proj.weight", 2, "patch size");
    zero_dim(dir, "clip_hf", "vision_model.embeddings.patch_embedding.weight", 2, "patch size");
    rm_rf(dir);
    free(dir);
}
