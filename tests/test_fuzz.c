// Suite "fuzz": replays the committed corpus tests/fuzz/corpus/<harness>/ (seeds and the
// reproducers of fixed crashes) through the libFuzzer entry points of tests/fuzz/, compiled
// into this binary with -DFUZZ_REPLAY. Each input must return without crashing (the ASan
// build also checks memory and UB). `make fuzz` runs the same harnesses under libFuzzer.
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util_test.h"

int fuzz_npy_one_input(const uint8_t *data, size_t size);
int fuzz_safetensors_one_input(const uint8_t *data, size_t size);
int fuzz_config_one_input(const uint8_t *data, size_t size);
int fuzz_image_one_input(const uint8_t *data, size_t size);
int fuzz_vit_forward_one_input(const uint8_t *data, size_t size);

static void replay(const char *name, int (*fn)(const uint8_t *, size_t), int min_files) {
    char *dir = ad_sprintf("tests/fuzz/corpus/%s", name);
    DIR *d = opendir(dir);
    cr_assert(d, "missing corpus %s", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = ad_sprintf("%s/%s", dir, e->d_name);
        size_t len = 0;
        char *buf = slurp(p, &len);
        cr_assert(buf, "cannot read %s", p);
        cr_assert_eq(fn((const uint8_t *)buf, len), 0, "%s", p);
        free(buf), free(p);
        n++;
    }
    closedir(d);
    cr_expect(n >= min_files, "%s: %d corpus files", dir, n);
    free(dir);
}

Test(fuzz, npy_corpus) { replay("npy", fuzz_npy_one_input, 5); }
Test(fuzz, safetensors_corpus) { replay("safetensors", fuzz_safetensors_one_input, 4); }
Test(fuzz, config_corpus) { replay("config", fuzz_config_one_input, 4); }
Test(fuzz, image_corpus) { replay("image", fuzz_image_one_input, 5); }
Test(fuzz, vit_forward_corpus, .timeout = 120) { replay("vit_forward", fuzz_vit_forward_one_input, 3); }
