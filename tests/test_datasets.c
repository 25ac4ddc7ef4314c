// Dataset adapters: fixture trees in every layout (written at test time), the real MVTec AD
// screw category and VisA split file from ../shared/data, and one test per kind of bad tree
// (each checks that the message names the offending path).
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "image.h"
#include "util_test.h"

// ---- fixture helpers ---------------------------------------------------------------------

static void mkdir_p(const char *dir) {  // without a shell: fixtures make many folders
    char *p = ad_strdup(dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
    cr_assert(ds_is_dir(p), "mkdir %s", p);
    free(p);
}

// Parent folders are created as needed.
static void put_png(const char *path, int w, int h, int c, uint8_t v) {
    char *d = ad_strdup(path);
    *strrchr(d, '/') = 0;
    mkdir_p(d);
    free(d);
    ImageU8 im = {w, h, c, malloc((size_t)w * h * c)};
    memset(im.data, v, (size_t)w * h * c);
    if (c == 1 && v) im.data[0] = 0;  // masks: a background pixel too
    cr_assert_eq(image_write_png(path, &im), 0, "%s", ad_last_error());
    free(im.data);
}

static void put_le(FILE *f, uint32_t v, int n) {
    for (int i = 0; i < n; i++) fputc((int)(v >> (8 * i)) & 255, f);
}

// 24-bit uncompressed BMP (BTAD's image format), bottom-up rows padded to 4 bytes.
static void put_bmp(const char *path, int w, int h, uint8_t v) {
    char *d = ad_strdup(path);
    *strrchr(d, '/') = 0;
    mkdir_p(d);
    free(d);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    int row = (3 * w + 3) & ~3;
    fputs("BM", f);
    put_le(f, 54 + (uint32_t)(row * h), 4);
    put_le(f, 0, 4);
    put_le(f, 54, 4);
    put_le(f, 40, 4);
    put_le(f, (uint32_t)w, 4);
    put_le(f, (uint32_t)h, 4);
    put_le(f, 1, 2);
    put_le(f, 24, 2);
    put_le(f, 0, 4);
    put_le(f, (uint32_t)(row * h), 4);
    put_le(f, 2835, 4);
    put_le(f, 2835, 4);
    put_le(f, 0, 4);
    put_le(f, 0, 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < row; x++) fputc(x < 3 * w ? v : 0, f);
    fclose(f);
}

static void put_text(const char *path, const char *text) {
    char *d = ad_strdup(path);
    *strrchr(d, '/') = 0;
    mkdir_p(d);
    free(d);
    cr_assert_eq(write_text(path, text), 0);
}

static char *P(const char *dir, const char *rel) { return ad_sprintf("%s/%s", dir, rel); }

static void png_at(const char *dir, const char *rel, int w, int h, int c, uint8_t v) {
    char *p = P(dir, rel);
    put_png(p, w, h, c, v);
    free(p);
}

static void rm_at(const char *dir, const char *rel) {
    char *p = P(dir, rel);
    cr_assert_eq(remove(p), 0, "remove %s", p);
    free(p);
}

static int count_label(const Category *c, int label) {
    int n = 0;
    for (int i = 0; i < c->n_test; i++) n += c->test[i].label == label;
    return n;
}

static int count_defect(const Category *c, const char *defect) {
    int n = 0;
    for (int i = 0; i < c->n_test; i++) n += !strcmp(c->test[i].defect, defect);
    return n;
}

static const Sample *find_sample(const Category *c, const char *path_suffix) {
    for (int i = 0; i < c->n_test; i++) {
        size_t lp = strlen(c->test[i].path), ls = strlen(path_suffix);
        if (lp >= ls && !strcmp(c->test[i].path + lp - ls, path_suffix)) return &c->test[i];
    }
    return NULL;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

// Load through the registry; on failure the test fails with the message.
static void load_ok(const char *dataset, const char *root, const char *cat, Category *c) {
    const DatasetAdapter *a = dataset_find(dataset);
    cr_assert(a, "%s", ad_last_error());
    cr_assert_eq(a->load(root, cat, c), 0, "%s", ad_last_error());
}

// Load must fail and the message must contain every needle.
static void load_fails(const char *dataset, const char *root, const char *cat, const char *n1, const char *n2) {
    const DatasetAdapter *a = dataset_find(dataset);
    Category c;
    cr_assert_eq(a->load(root, cat, &c), -1, "loading %s/%s should fail", root, cat);
    const char *m = ad_last_error();
    cr_assert(strstr(m, n1), "message '%s' should name '%s'", m, n1);
    if (n2) cr_assert(strstr(m, n2), "message '%s' should name '%s'", m, n2);
}

// A small MVTec AD category. Image stems "a" and "a_b" sort in the opposite order of their
// masks ("a_b_mask" < "a_mask"), so pairing by sorted position would swap them.
static void mvtec_fixture(const char *root) {
    png_at(root, "cat1/train/good/000.png", 8, 8, 3, 100);
    png_at(root, "cat1/train/good/001.png", 8, 8, 3, 100);
    png_at(root, "cat1/train/good/002.png", 8, 8, 3, 100);
    png_at(root, "cat1/test/good/000.png", 8, 8, 3, 100);
    png_at(root, "cat1/test/good/001.png", 8, 8, 3, 100);
    png_at(root, "cat1/test/crack/a.png", 8, 8, 3, 50);
    png_at(root, "cat1/test/crack/a_b.png", 6, 6, 3, 50);
    png_at(root, "cat1/ground_truth/crack/a_mask.png", 8, 8, 1, 255);
    png_at(root, "cat1/ground_truth/crack/a_b_mask.png", 6, 6, 1, 255);
    png_at(root, "cat1/test/hole/000.png", 8, 8, 1, 30);  // gray image
    png_at(root, "cat1/ground_truth/hole/000_mask.png", 8, 8, 1, 255);
    png_at(root, "cat2/train/good/000.png", 8, 8, 3, 100);
    png_at(root, "cat2/test/good/000.png", 8, 8, 3, 100);
}

// ---- registry ----------------------------------------------------------------------------

Test(datasets, registry_rules) {
    static const struct {
        const char *name, *rule;
        int k[3];
    } E[] = {{"mvtec", "eq255", {1, 2, 3}}, {"visa", "gt0", {1, 8, 9}},   {"rad", "eq255", {1, 2, 3}},
             {"btad", "eq255", {1, 2, 3}},  {"mpdd", "eq255", {1, 2, 3}}, {"folder", "eq255", {1, 2, 3}},
             {"synth", "eq255", {1, 2, 3}}};
    for (size_t i = 0; i < sizeof E / sizeof E[0]; i++) {
        const DatasetAdapter *a = dataset_find(E[i].name);
        cr_assert(a, "%s", E[i].name);
        cr_assert_str_eq(a->name, E[i].name);
        cr_assert_str_eq(a->mask_rule, E[i].rule, "%s", E[i].name);
        for (int k = 0; k < 3; k++) cr_assert_eq(a->rscin_k[k], E[i].k[k], "%s", E[i].name);
        cr_assert(strstr(dataset_names(), E[i].name));
    }
    cr_assert_null(dataset_find("mvtecad"));
    cr_assert(strstr(ad_last_error(), "mvtecad") && strstr(ad_last_error(), "mvtec, visa"), "%s", ad_last_error());
}

Test(datasets, helpers) {
    cr_assert(ds_is_stray_copy("x (1).png"));
    cr_assert(ds_is_stray_copy("000 (12).PNG"));
    cr_assert(!ds_is_stray_copy("x(1).png"));
    cr_assert(!ds_is_stray_copy("x (a).png"));
    cr_assert(!ds_is_stray_copy("000.png"));
    cr_assert(ds_is_image_name("a.PNG") && ds_is_image_name("b.JPG") && ds_is_image_name("c.bmp") &&
              ds_is_image_name("d.tiff"));
    cr_assert(!ds_is_image_name("readme.txt") && !ds_is_image_name("png"));
    char *s = ds_stem("a.b.png");
    cr_assert_str_eq(s, "a.b");
    free(s);
}

// ---- every layout ------------------------------------------------------------------------

Test(datasets, mvtec_fixture_counts_and_stem_pairing) {
    char *root = make_tmpdir("ds-mvtec");
    mvtec_fixture(root);
    const DatasetAdapter *a = dataset_find("mvtec");
    char **names;
    int n;
    cr_assert_eq(a->list_categories(root, &names, &n), 0, "%s", ad_last_error());
    cr_assert_eq(n, 2);
    cr_assert_str_eq(names[0], "cat1");
    cr_assert_str_eq(names[1], "cat2");
    string_list_free(names, n);
    Category c;
    load_ok("mvtec", root, "cat1", &c);
    cr_assert_str_eq(c.dataset, "mvtec");
    cr_assert_str_eq(c.name, "cat1");
    cr_assert_eq(c.n_train, 3);
    cr_assert_eq(c.n_test, 5);
    cr_assert_eq(count_label(&c, 0), 2);
    cr_assert_eq(count_defect(&c, "crack"), 2);
    cr_assert_eq(count_defect(&c, "hole"), 1);
    // Sorted by (defect, path): crack/a, crack/a_b, good/000, good/001, hole/000.
    cr_assert(ends_with(c.test[0].path, "/test/crack/a.png"));
    cr_assert(ends_with(c.test[0].mask_path, "/ground_truth/crack/a_mask.png"), "%s", c.test[0].mask_path);
    cr_assert(ends_with(c.test[1].path, "/test/crack/a_b.png"));
    cr_assert(ends_with(c.test[1].mask_path, "/ground_truth/crack/a_b_mask.png"), "%s", c.test[1].mask_path);
    cr_assert_str_eq(c.test[2].defect, "good");
    cr_assert_null(c.test[2].mask_path);
    cr_assert_eq(c.test[2].label, 0);
    cr_assert(ends_with(c.test[4].mask_path, "/ground_truth/hole/000_mask.png"));
    cr_assert_eq(c.test[4].label, 1);
    cr_assert_str_eq(c.train[0].defect, "good");
    cr_assert(category_has_masks(&c));
    int w0, h0, w1, h1;
    cr_assert_eq(category_validate(&c, 1, &w0, &h0, &w1, &h1), 0, "%s", ad_last_error());
    cr_assert_eq(w0, 6);
    cr_assert_eq(h1, 8);
    category_free(&c);
    // The CLI prints per-category counts and totals.
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "crack=2 hole=1"), "%s", out);
    cr_assert(strstr(out, "cat2"), "%s", out);
    cr_assert(strstr(out, "ok: 2 categories, 10 images"), "%s", out);
    free(out);
    free(err);
    free(args);
    rm_rf(root);
    free(root);
}

Test(datasets, mpdd_fixture_both_mask_names) {
    char *root = make_tmpdir("ds-mpdd");
    png_at(root, "tubes/train/good/000.png", 8, 8, 3, 90);
    png_at(root, "tubes/test/good/000.png", 8, 8, 3, 90);
    png_at(root, "tubes/test/anomalous/000.png", 8, 8, 3, 20);
    png_at(root, "tubes/test/anomalous/001.png", 8, 8, 3, 20);
    png_at(root, "tubes/ground_truth/anomalous/000_mask.png", 8, 8, 1, 255);
    png_at(root, "tubes/ground_truth/anomalous/001.png", 8, 8, 1, 255);
    Category c;
    load_ok("mpdd", root, "tubes", &c);
    cr_assert_eq(c.n_train, 1);
    cr_assert_eq(c.n_test, 3);
    cr_assert(ends_with(c.test[0].mask_path, "anomalous/000_mask.png"));
    cr_assert(ends_with(c.test[1].mask_path, "anomalous/001.png"));
    category_free(&c);
    // Both names for one image: ambiguous.
    png_at(root, "tubes/ground_truth/anomalous/000.png", 8, 8, 1, 255);
    load_fails("mpdd", root, "tubes", "000_mask.png", "000.png");
    // MVTec accepts only <stem>_mask.png: 001 has no mask there.
    load_fails("mvtec", root, "tubes", "tubes/test/anomalous/001.png", "has no mask");
    rm_rf(root);
    free(root);
}

Test(datasets, btad_fixture_bmp_and_png) {
    char *root = make_tmpdir("ds-btad");
    char *p;
    // 01: .bmp images, .png masks; 03: .bmp images and masks; 02: .png everything.
    for (int i = 0; i < 3; i++) {
        p = ad_sprintf("%s/01/train/ok/%04d.bmp", root, i);
        put_bmp(p, 5, 4, 120);
        free(p);
    }
    p = P(root, "01/test/ok/0000.bmp"), put_bmp(p, 5, 4, 120), free(p);
    p = P(root, "01/test/ko/0003.bmp"), put_bmp(p, 5, 4, 10), free(p);
    p = P(root, "01/test/ko/0004.bmp"), put_bmp(p, 5, 4, 10), free(p);
    png_at(root, "01/ground_truth/ko/0003.png", 5, 4, 1, 255);
    png_at(root, "01/ground_truth/ko/0004.png", 5, 4, 1, 255);
    png_at(root, "02/train/ok/0000.png", 6, 6, 3, 120);
    png_at(root, "02/test/ok/0000.png", 6, 6, 3, 120);
    png_at(root, "02/test/ko/0001.png", 6, 6, 3, 12);
    png_at(root, "02/ground_truth/ko/0001.png", 6, 6, 1, 255);
    p = P(root, "03/train/ok/0000.bmp"), put_bmp(p, 7, 3, 120), free(p);
    p = P(root, "03/test/ok/0000.bmp"), put_bmp(p, 7, 3, 120), free(p);
    p = P(root, "03/test/ko/0001.bmp"), put_bmp(p, 7, 3, 9), free(p);
    p = P(root, "03/ground_truth/ko/0001.bmp"), put_bmp(p, 7, 3, 255), free(p);
    const DatasetAdapter *a = dataset_find("btad");
    char **names;
    int n;
    cr_assert_eq(a->list_categories(root, &names, &n), 0, "%s", ad_last_error());
    cr_assert_eq(n, 3);
    cr_assert_str_eq(names[2], "03");
    string_list_free(names, n);
    Category c;
    load_ok("btad", root, "01", &c);
    cr_assert_eq(c.n_train, 3);
    cr_assert_eq(c.n_test, 3);
    cr_assert_eq(count_defect(&c, "ko"), 2);
    cr_assert_eq(count_defect(&c, "good"), 1);
    cr_assert(ends_with(find_sample(&c, "ko/0004.bmp")->mask_path, "ground_truth/ko/0004.png"));
    cr_assert_eq(category_validate(&c, 1, NULL, NULL, NULL, NULL), 0, "%s", ad_last_error());
    category_free(&c);
    load_ok("btad", root, "03", &c);
    cr_assert_eq(c.n_test, 2);
    cr_assert(ends_with(find_sample(&c, "ko/0001.bmp")->mask_path, "ground_truth/ko/0001.bmp"));
    int w, h, w1, h1;
    cr_assert_eq(category_validate(&c, 0, &w, &h, &w1, &h1), 0, "%s", ad_last_error());
    cr_assert_eq(w, 7);
    cr_assert_eq(h, 3);
    category_free(&c);
    char *out, *err, *args = ad_sprintf("datasets check --dataset btad --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "total                      5         3              4"), "%s", out);
    free(out);
    free(err);
    free(args);
    rm_rf(root);
    free(root);
}

Test(datasets, rad_fixture_same_name_masks_and_stray_copies) {
    char *root = make_tmpdir("ds-rad");
    const char *cats[4] = {"bolt", "ribbon", "sponge", "tape"};
    for (int k = 0; k < 4; k++) {
        char *r;
        r = ad_sprintf("%s/train/good/000.png", cats[k]), png_at(root, r, 8, 8, 3, 80), free(r);
        r = ad_sprintf("%s/train/good/001.png", cats[k]), png_at(root, r, 8, 8, 3, 80), free(r);
        r = ad_sprintf("%s/test/good/000.png", cats[k]), png_at(root, r, 8, 8, 3, 80), free(r);
        r = ad_sprintf("%s/test/defect/000.png", cats[k]), png_at(root, r, 8, 8, 3, 200), free(r);
        r = ad_sprintf("%s/ground_truth/defect/000.png", cats[k]), png_at(root, r, 8, 8, 1, 255), free(r);
    }
    png_at(root, "bolt/test/defect/000 (1).png", 8, 8, 3, 200);
    png_at(root, "bolt/ground_truth/defect/000 (1).png", 8, 8, 1, 255);
    png_at(root, "bolt/test/good/000 (1).png", 8, 8, 3, 80);
    Category c;
    load_ok("rad", root, "bolt", &c);
    cr_assert_eq(c.n_train, 2);
    cr_assert_eq(c.n_test, 2);  // the three " (1)" copies are skipped
    cr_assert(ends_with(c.test[0].mask_path, "bolt/ground_truth/defect/000.png"), "%s", c.test[0].mask_path);
    category_free(&c);
    char *out, *err, *args = ad_sprintf("datasets check --dataset rad --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(err, "bolt/test/defect/000 (1).png: skipped: looks like a stray duplicate copy"), "%s", err);
    cr_assert(strstr(err, "bolt/ground_truth/defect/000 (1).png: skipped"), "%s", err);
    cr_assert(strstr(out, "total                      8         4              4"), "%s", out);
    free(out);
    free(err);
    free(args);
    // RAD masks have no "_mask" suffix: a "_mask" file is an extra mask and the image has none.
    rm_at(root, "tape/ground_truth/defect/000.png");
    png_at(root, "tape/ground_truth/defect/000_mask.png", 8, 8, 1, 255);
    load_fails("rad", root, "tape", "tape/test/defect/000.png", "tape/ground_truth/defect/000.png");
    rm_rf(root);
    free(root);
}

Test(datasets, folder_fixture_optional_masks) {
    char *root = make_tmpdir("ds-folder");
    png_at(root, "parts/train/a.png", 8, 8, 3, 80);
    png_at(root, "parts/train/b.jpg.png", 8, 8, 3, 80);
    png_at(root, "parts/test/normal/n1.png", 8, 8, 3, 80);
    png_at(root, "parts/test/normal/n2.png", 8, 8, 3, 80);
    png_at(root, "parts/test/scratch/s1.png", 8, 8, 3, 20);
    png_at(root, "parts/test/scratch/s2.png", 8, 8, 3, 20);
    png_at(root, "parts/masks/scratch/s1.png", 8, 8, 1, 255);
    png_at(root, "parts/masks/scratch/s2.png", 8, 8, 1, 255);
    png_at(root, "parts/test/dent/d1.png", 8, 8, 3, 20);
    char *readme = P(root, "parts/test/normal/README.txt");
    put_text(readme, "ignored: not an image\n");
    free(readme);
    Category c;
    load_ok("folder", root, "parts", &c);
    cr_assert_eq(c.n_train, 2);
    cr_assert_eq(c.n_test, 5);
    cr_assert_eq(count_label(&c, 0), 2);
    cr_assert_eq(count_defect(&c, "scratch"), 2);
    cr_assert_eq(count_defect(&c, "dent"), 1);
    cr_assert_null(find_sample(&c, "dent/d1.png")->mask_path);
    cr_assert(ends_with(find_sample(&c, "scratch/s2.png")->mask_path, "masks/scratch/s2.png"));
    cr_assert(!category_has_masks(&c));  // dent has no masks folder
    category_free(&c);
    // Without the unmasked defect every anomalous image has its mask; train/ is optional.
    rm_at(root, "parts/test/dent/d1.png");
    rm_at(root, "parts/train/a.png");
    rm_at(root, "parts/train/b.jpg.png");
    char *tr = P(root, "parts/train");
    cr_assert_eq(remove(tr), 0);
    free(tr);
    load_ok("folder", root, "parts", &c);
    cr_assert_eq(c.n_train, 0);
    cr_assert_eq(c.n_test, 4);
    cr_assert(category_has_masks(&c));
    category_free(&c);
    // A masks folder must cover every image of its defect.
    rm_at(root, "parts/masks/scratch/s2.png");
    load_fails("folder", root, "parts", "parts/test/scratch/s2.png", "masks/scratch/s2.png");
    rm_rf(root);
    free(root);
}

// test/good/ is normal for the folder layout (MVTec AD / anomalib / MuSc name), as is
// test/normal/; a test set without any normal image loads with a warning.
Test(datasets, folder_good_is_normal_and_no_normal_warns) {
    char *root = make_tmpdir("ds-folder-good");
    png_at(root, "p/test/good/g1.png", 8, 8, 3, 80);
    png_at(root, "p/test/good/g2.png", 8, 8, 3, 80);
    png_at(root, "p/test/normal/n1.png", 8, 8, 3, 80);
    png_at(root, "p/test/crack/c1.png", 8, 8, 3, 20);
    png_at(root, "q/test/crack/c1.png", 8, 8, 3, 20);
    png_at(root, "q/test/dent/d1.png", 8, 8, 3, 20);
    Category c;
    load_ok("folder", root, "p", &c);
    cr_assert_eq(c.n_test, 4);
    cr_assert_eq(count_label(&c, 0), 3, "test/good and test/normal are both normal");
    cr_assert_eq(count_defect(&c, "good"), 3);
    cr_assert_eq(count_defect(&c, "crack"), 1);
    cr_assert_eq(find_sample(&c, "good/g1.png")->label, 0);
    category_free(&c);
    // Through the CLI: p loads silently, q (defects only) loads with a one-line warning.
    char *out, *err;
    char *args = ad_sprintf("datasets check --dataset folder --root '%s' --category p", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(!strstr(err, "warning"), "%s", err);
    free(args), free(out), free(err);
    args = ad_sprintf("datasets check --dataset folder --root '%s' --category q", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(err, "adbench: warning: ") && strstr(err, "q/test: no normal test image") &&
                  strstr(err, "test/normal/") && strstr(err, "Fix:"),
              "%s", err);
    free(args), free(out), free(err);
    load_ok("folder", root, "q", &c);
    cr_assert_eq(count_label(&c, 0), 0);
    category_free(&c);
    // MVTec AD: test/normal is not a normal folder there (a defect class without masks: error).
    png_at(root, "m/train/good/t.png", 8, 8, 3, 80);
    png_at(root, "m/test/good/g.png", 8, 8, 3, 80);
    png_at(root, "m/test/normal/n.png", 8, 8, 3, 80);
    load_fails("mvtec", root, "m", "m/test/normal/n.png", "no mask");
    rm_rf(root);
    free(root);
}

// VisA raw layout: JPEG-named images (content sniffed, not the extension), class-id masks.
static void visa_fixture(const char *root) {
    char *csv = P(root, "split_csv/1cls.csv");
    put_text(csv,
             "object,split,label,image,mask\n"
             "candle,train,normal,candle/Data/Images/Normal/0001.JPG,\n"
             "candle,train,normal,candle/Data/Images/Normal/0002.JPG,\n"
             "candle,test,normal,candle/Data/Images/Normal/0003.JPG,\n"
             "candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png\n"
             "candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png\n"
             "pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\n"
             "pcb1,test,anomaly,pcb1/Data/Images/Anomaly/005.JPG,pcb1/Data/Masks/Anomaly/005.png\n");
    free(csv);
    png_at(root, "candle/Data/Images/Normal/0001.JPG", 12, 9, 3, 100);
    png_at(root, "candle/Data/Images/Normal/0002.JPG", 12, 9, 3, 100);
    png_at(root, "candle/Data/Images/Normal/0003.JPG", 12, 9, 3, 100);
    png_at(root, "candle/Data/Images/Anomaly/000.JPG", 12, 9, 3, 60);
    png_at(root, "candle/Data/Images/Anomaly/001.JPG", 12, 9, 3, 60);
    png_at(root, "candle/Data/Masks/Anomaly/000.png", 12, 9, 1, 2);  // class id 2, not 255
    png_at(root, "candle/Data/Masks/Anomaly/001.png", 12, 9, 1, 1);
    png_at(root, "pcb1/Data/Images/Normal/0000.JPG", 10, 10, 3, 100);
    png_at(root, "pcb1/Data/Images/Anomaly/005.JPG", 10, 10, 3, 100);
    png_at(root, "pcb1/Data/Masks/Anomaly/005.png", 10, 10, 1, 3);
}

Test(datasets, visa_fixture_raw_layout) {
    char *root = make_tmpdir("ds-visa");
    visa_fixture(root);
    const DatasetAdapter *a = dataset_find("visa");
    char **names;
    int n;
    cr_assert_eq(a->list_categories(root, &names, &n), 0, "%s", ad_last_error());
    cr_assert_eq(n, 2);
    cr_assert_str_eq(names[0], "candle");
    cr_assert_str_eq(names[1], "pcb1");
    string_list_free(names, n);
    Category c;
    load_ok("visa", root, "candle", &c);
    cr_assert_eq(c.n_train, 2);
    cr_assert_eq(c.n_test, 3);
    cr_assert_eq(count_defect(&c, "anomaly"), 2);
    cr_assert_eq(count_defect(&c, "good"), 1);
    const Sample *s = find_sample(&c, "candle/Data/Images/Anomaly/001.JPG");
    cr_assert(s && s->label == 1);
    cr_assert(ends_with(s->mask_path, "candle/Data/Masks/Anomaly/001.png"));
    cr_assert_eq(category_validate(&c, 1, NULL, NULL, NULL, NULL), 0, "%s", ad_last_error());
    ImageU8 m;
    cr_assert_eq(mask_read(find_sample(&c, "Anomaly/000.JPG")->mask_path, &m), 0);
    cr_assert_eq(m.data[1], 2);  // raw class id: nonzero = anomalous ("gt0")
    image_u8_free(&m);
    category_free(&c);
    char *out, *err, *args = ad_sprintf("datasets check --dataset visa --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "pcb1                       1         0              1  10x10"), "%s", out);
    cr_assert(strstr(out, "candle                     2         1              2  12x9"), "%s", out);
    free(out);
    free(err);
    free(args);
    load_fails("visa", root, "pcb2", "no object 'pcb2'", "known categories: candle, pcb1");
    // A row pointing at a missing file.
    rm_at(root, "pcb1/Data/Masks/Anomaly/005.png");
    load_fails("visa", root, "pcb1", "pcb1/Data/Masks/Anomaly/005.png", "does not exist");
    rm_rf(root);
    free(root);
}

Test(datasets, visa_prepared_tree) {
    char *root = make_tmpdir("ds-visap");
    png_at(root, "1cls/candle/train/good/0001.JPG", 8, 6, 3, 100);
    png_at(root, "1cls/candle/test/good/0003.JPG", 8, 6, 3, 100);
    png_at(root, "1cls/candle/test/bad/000.JPG", 8, 6, 3, 10);
    png_at(root, "1cls/candle/ground_truth/bad/000.png", 8, 6, 3, 255);  // 3-channel 0/255 (anomalib)
    Category c;
    load_ok("visa", root, "candle", &c);
    cr_assert_eq(c.n_train, 1);
    cr_assert_eq(c.n_test, 2);
    cr_assert(ends_with(c.test[0].mask_path, "1cls/candle/ground_truth/bad/000.png"));
    cr_assert_str_eq(c.test[0].defect, "bad");
    category_free(&c);
    char *sub = P(root, "1cls");
    load_ok("visa", sub, "candle", &c);  // VisA_pytorch/1cls as root works too
    cr_assert_eq(c.n_test, 2);
    category_free(&c);
    free(sub);
    rm_rf(root);
    free(root);
}

// ---- real data (../shared/data) ----------------------------------------------------------

Test(datasets, real_mvtec_screw) {
    char *root = ad_sprintf("%s/mvtec_ad", shared_data());
    Category c;
    load_ok("mvtec", root, "screw", &c);
    cr_assert_eq(c.n_train, 320);
    cr_assert_eq(c.n_test, 160);
    cr_assert_eq(count_label(&c, 0), 41);
    cr_assert_eq(count_label(&c, 1), 119);
    static const struct {
        const char *d;
        int n;
    } T[] = {{"manipulated_front", 24}, {"scratch_head", 24}, {"scratch_neck", 25}, {"thread_side", 23}, {"thread_top", 23}};
    for (int t = 0; t < 5; t++) cr_assert_eq(count_defect(&c, T[t].d), T[t].n, "%s", T[t].d);
    cr_assert_eq(count_defect(&c, "good"), 41);
    // Sorted by (defect, path), and every defective image has the mask of the same stem.
    for (int i = 0; i < c.n_test; i++) {
        const Sample *s = &c.test[i];
        if (i) {
            int k = strcmp(c.test[i - 1].defect, s->defect);
            cr_assert(k < 0 || (k == 0 && strcmp(c.test[i - 1].path, s->path) < 0));
        }
        if (!s->label) {
            cr_assert_null(s->mask_path);
            continue;
        }
        const char *f = strrchr(s->path, '/') + 1;
        char *want = ad_sprintf("%s/screw/ground_truth/%s/%.3s_mask.png", root, s->defect, f);
        cr_assert_str_eq(s->mask_path, want);
        free(want);
    }
    int w0, h0, w1, h1;
    cr_assert_eq(category_validate(&c, 0, &w0, &h0, &w1, &h1), 0, "%s", ad_last_error());
    cr_assert(w0 == 1024 && h0 == 1024 && w1 == 1024 && h1 == 1024);
    // Masks: 1024x1024, values exactly {0, 255}, each with some anomalous pixels.
    for (int i = 0; i < c.n_test; i++) {
        if (!c.test[i].label) continue;
        ImageU8 m;
        cr_assert_eq(mask_read(c.test[i].mask_path, &m), 0, "%s", ad_last_error());
        cr_assert(m.w == 1024 && m.h == 1024 && m.c == 1);
        long pos = 0, other = 0;
        for (long k = 0; k < (long)m.w * m.h; k++) {
            pos += m.data[k] == 255;
            other += m.data[k] != 0 && m.data[k] != 255;
        }
        cr_assert(pos > 0, "%s", c.test[i].mask_path);
        cr_assert_eq(other, 0, "%s", c.test[i].mask_path);
        image_u8_free(&m);
    }
    category_free(&c);
    free(root);
}

Test(datasets, real_visa_split_counts) {
    char *csv = ad_sprintf("%s/visa_split_csv/1cls.csv", shared_data());
    Category *cats;
    int n;
    cr_assert_eq(visa_read_split(csv, "/VisA", &cats, &n), 0, "%s", ad_last_error());
    static const struct {
        const char *name;
        int train, good, bad;
    } E[12] = {{"candle", 900, 100, 100},    {"capsules", 542, 60, 100},   {"cashew", 450, 50, 100},
               {"chewinggum", 453, 50, 100}, {"fryum", 450, 50, 100},      {"macaroni1", 900, 100, 100},
               {"macaroni2", 900, 100, 100}, {"pcb1", 904, 100, 100},      {"pcb2", 901, 100, 100},
               {"pcb3", 905, 101, 100},      {"pcb4", 904, 101, 100},      {"pipe_fryum", 450, 50, 100}};
    cr_assert_eq(n, 12);
    int tt = 0, tg = 0, tb = 0;
    for (int i = 0; i < 12; i++) {
        Category *c = &cats[i];
        cr_assert_str_eq(c->name, E[i].name);
        cr_assert_str_eq(c->dataset, "visa");
        cr_assert_eq(c->n_train, E[i].train, "%s", c->name);
        cr_assert_eq(count_label(c, 0), E[i].good, "%s", c->name);
        cr_assert_eq(count_label(c, 1), E[i].bad, "%s", c->name);
        tt += c->n_train;
        tg += count_label(c, 0);
        tb += count_label(c, 1);
        // Paths joined to the root; every anomalous image has its mask of the same stem.
        for (int k = 0; k < c->n_test; k++) {
            const Sample *s = &c->test[k];
            char *pre = ad_sprintf("/VisA/%s/Data/Images/%s/", c->name, s->label ? "Anomaly" : "Normal");
            cr_assert(!strncmp(s->path, pre, strlen(pre)), "%s", s->path);
            free(pre);
            cr_assert(ends_with(s->path, ".JPG"));
            if (!s->label) {
                cr_assert_null(s->mask_path);
                continue;
            }
            char *st = ds_stem(strrchr(s->path, '/') + 1);
            char *want = ad_sprintf("/VisA/%s/Data/Masks/Anomaly/%s.png", c->name, st);
            cr_assert_str_eq(s->mask_path, want);
            free(want);
            free(st);
        }
        for (int k = 0; k < c->n_train; k++) cr_assert_eq(c->train[k].label, 0);
        category_free(c);
    }
    cr_assert_eq(tt, 8659);
    cr_assert_eq(tg, 962);
    cr_assert_eq(tb, 1200);
    free(cats);
    free(csv);
}

// ---- bad trees: one clear message naming the path ------------------------------------------

Test(datasets, bad_missing_root) {
    for (const char *const *d = (const char *const[]){"mvtec", "visa", "rad", "btad", "mpdd", "folder", NULL}; *d; d++)
        load_fails(*d, "/nonexistent/adbench-root", "x", "/nonexistent/adbench-root", "not found");
    char *out, *err;
    cr_assert_eq(run_adbench("datasets check --dataset mvtec --root /nonexistent/adbench-root", &out, &err), 1);
    cr_assert(strstr(err, "adbench: error: /nonexistent/adbench-root: mvtec dataset root folder not found"), "%s", err);
    free(out);
    free(err);
}

Test(datasets, bad_unknown_category_lists_known) {
    char *root = make_tmpdir("ds-bad1");
    mvtec_fixture(root);
    load_fails("mvtec", root, "cat3", "no category 'cat3'", "known categories: cat1, cat2");
    cr_assert(strstr(ad_last_error(), root));
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s' --category screw", root);
    cr_assert_eq(run_adbench(args, &out, &err), 1);
    cr_assert(strstr(err, "known categories: cat1, cat2"), "%s", err);
    free(out);
    free(err);
    free(args);
    cr_assert_eq(run_adbench("datasets check --dataset mvtecad --root /tmp", &out, &err), 1);
    cr_assert(strstr(err, "unknown dataset 'mvtecad'") && strstr(err, "mvtec, visa, rad, btad, mpdd, folder"), "%s",
              err);
    free(out);
    free(err);
    rm_rf(root);
    free(root);
}

Test(datasets, bad_missing_mask) {
    char *root = make_tmpdir("ds-bad2");
    mvtec_fixture(root);
    rm_at(root, "cat1/ground_truth/crack/a_b_mask.png");
    load_fails("mvtec", root, "cat1", "cat1/test/crack/a_b.png", "cat1/ground_truth/crack/a_b_mask.png");
    cr_assert(strstr(ad_last_error(), "has no mask"));
    // A whole mask folder missing.
    png_at(root, "cat2/test/bent/000.png", 8, 8, 3, 1);
    load_fails("mvtec", root, "cat2", "cat2/test/bent/000.png", "cat2/ground_truth/bent");
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 1);
    cr_assert(strstr(err, "adbench: error: ") && strstr(err, "cat1/test/crack/a_b.png"), "%s", err);
    free(out);
    free(err);
    free(args);
    rm_rf(root);
    free(root);
}

Test(datasets, bad_extra_mask) {
    char *root = make_tmpdir("ds-bad3");
    mvtec_fixture(root);
    png_at(root, "cat1/ground_truth/crack/zz_mask.png", 8, 8, 1, 255);
    load_fails("mvtec", root, "cat1", "cat1/ground_truth/crack/zz_mask.png", "no matching test image");
    cr_assert(strstr(ad_last_error(), "test/crack/zz."), "%s", ad_last_error());
    rm_at(root, "cat1/ground_truth/crack/zz_mask.png");
    // Masks of a defect that has no test folder.
    png_at(root, "cat1/ground_truth/fold/000_mask.png", 8, 8, 1, 255);
    load_fails("mvtec", root, "cat1", "cat1/ground_truth/fold/000_mask.png", "cat1/test/fold");
    rm_rf(root);
    free(root);
}

Test(datasets, bad_corrupt_and_truncated_images) {
    char *root = make_tmpdir("ds-bad4");
    mvtec_fixture(root);
    char *p = P(root, "cat1/test/good/001.png");
    put_text(p, "this is not a png");
    Category c;
    load_ok("mvtec", root, "cat1", &c);  // listing does not decode
    cr_assert_eq(category_validate(&c, 0, NULL, NULL, NULL, NULL), -1);
    cr_assert(strstr(ad_last_error(), p), "%s", ad_last_error());
    category_free(&c);
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 1);
    cr_assert(strstr(err, p), "%s", err);
    free(out);
    free(err);
    // Truncated PNG: the header is intact, --decode reads the pixels and catches it.
    png_at(root, "cat1/test/good/001.png", 64, 64, 3, 7);
    size_t len;
    char *bytes = slurp(p, &len);
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
    free(bytes);
    load_ok("mvtec", root, "cat1", &c);
    cr_assert_eq(category_validate(&c, 1, NULL, NULL, NULL, NULL), -1);
    cr_assert(strstr(ad_last_error(), p), "%s", ad_last_error());
    category_free(&c);
    char *args2 = ad_sprintf("%s --decode", args);
    cr_assert_eq(run_adbench(args2, &out, &err), 1);
    cr_assert(strstr(err, p), "%s", err);
    free(out);
    free(err);
    free(args);
    free(args2);
    // A corrupt mask.
    png_at(root, "cat1/test/good/001.png", 8, 8, 3, 7);
    char *mp = P(root, "cat1/ground_truth/hole/000_mask.png");
    put_text(mp, "GIF89a");
    load_ok("mvtec", root, "cat1", &c);
    cr_assert_eq(category_validate(&c, 0, NULL, NULL, NULL, NULL), -1);
    cr_assert(strstr(ad_last_error(), mp), "%s", ad_last_error());
    category_free(&c);
    free(mp);
    free(p);
    rm_rf(root);
    free(root);
}

Test(datasets, bad_mask_size) {
    char *root = make_tmpdir("ds-bad5");
    mvtec_fixture(root);
    png_at(root, "cat1/ground_truth/hole/000_mask.png", 8, 7, 1, 255);
    Category c;
    load_ok("mvtec", root, "cat1", &c);
    cr_assert_eq(category_validate(&c, 0, NULL, NULL, NULL, NULL), -1);
    const char *m = ad_last_error();
    cr_assert(strstr(m, "cat1/ground_truth/hole/000_mask.png: mask is 8x7") && strstr(m, "is 8x8"), "%s", m);
    category_free(&c);
    rm_rf(root);
    free(root);
}

Test(datasets, bad_empty_category_and_missing_folders) {
    char *root = make_tmpdir("ds-bad6");
    mvtec_fixture(root);
    char *d = P(root, "cat3/test/good");
    mkdir_p(d);
    free(d);
    d = P(root, "cat3/train/good");
    mkdir_p(d);
    free(d);
    load_fails("mvtec", root, "cat3", "cat3/test", "empty category");
    // No train/good: MVTec requires it.
    d = P(root, "cat4/test/good");
    mkdir_p(d);
    free(d);
    png_at(root, "cat4/test/good/000.png", 8, 8, 3, 1);
    load_fails("mvtec", root, "cat4", "cat4/train/good", "not found");
    // A category folder without test/.
    png_at(root, "cat5/train/good/000.png", 8, 8, 3, 1);
    load_fails("mvtec", root, "cat5", "cat5/test", "test folder not found");
    // A root without any category.
    char *empty = make_tmpdir("ds-bad6e");
    load_fails("mvtec", empty, "x", empty, "no mvtec category folders");
    rm_rf(empty);
    free(empty);
    rm_rf(root);
    free(root);
}

static void bad_csv(const char *body, const char *n1, const char *n2) {
    char *root = make_tmpdir("ds-badcsv");
    char *csv = P(root, "split_csv/1cls.csv");
    put_text(csv, body);
    Category *cats;
    int n;
    cr_assert_eq(visa_read_split(csv, root, &cats, &n), -1, "should fail: %s", body);
    const char *m = ad_last_error();
    cr_assert(strstr(m, csv), "message '%s' should name %s", m, csv);
    cr_assert(strstr(m, n1), "message '%s' should contain '%s'", m, n1);
    if (n2) cr_assert(strstr(m, n2), "message '%s' should contain '%s'", m, n2);
    load_fails("visa", root, "candle", csv, n1);
    free(csv);
    rm_rf(root);
    free(root);
}

Test(datasets, bad_visa_csv) {
    const char *H = "object,split,label,image,mask\n";
    char *b;
    bad_csv("object,split,label,image\ncandle,train,normal,a.JPG\n", ":1: expected the header", NULL);
    b = ad_sprintf("%scandle,train,normal,a.JPG,\ncandle,test,normal\n", H);
    bad_csv(b, ":3: expected 5 fields", "found 3");
    free(b);
    b = ad_sprintf("%scandle,val,normal,a.JPG,\n", H);
    bad_csv(b, ":2: split must be", "'val'");
    free(b);
    b = ad_sprintf("%scandle,test,bad,a.JPG,\n", H);
    bad_csv(b, ":2: label must be", "'bad'");
    free(b);
    b = ad_sprintf("%scandle,test,anomaly,a.JPG,\n", H);
    bad_csv(b, ":2: anomalous image a.JPG has an empty mask", NULL);
    free(b);
    b = ad_sprintf("%scandle,train,anomaly,a.JPG,m.png\n", H);
    bad_csv(b, ":2: anomalous image a.JPG in the train split", NULL);
    free(b);
    b = ad_sprintf("%scandle,test,normal,\"a.JPG,\n", H);
    bad_csv(b, "malformed CSV", NULL);
    free(b);
    bad_csv("", "empty file", NULL);
    bad_csv(H, "no data rows", NULL);
}

// Issue 12 item 11: test/hole/000.png and 000.jpg were both paired with ground_truth/hole/
// 000_mask.png. Ambiguity is an error naming both images.
Test(datasets, two_images_of_one_stem_are_ambiguous) {
    char *root = make_tmpdir("ds-amb");
    mvtec_fixture(root);
    char *src = P(root, "cat1/test/hole/000.png"), *dst = P(root, "cat1/test/hole/000.jpg");
    cr_assert_eq(link(src, dst), 0);
    load_fails("mvtec", root, "cat1", "hole/000.jpg", "hole/000.png");
    load_fails("mvtec", root, "cat1", "ambiguous", "000_mask.png");
    rm_rf(root);
    free(root), free(src), free(dst);
}

// Issue 12 item 23: a dangling symlink, a symlink loop or a FIFO among the images was skipped
// silently. Each is skipped with a warning naming it.
Test(datasets, odd_entries_are_named_in_a_warning) {
    char *root = make_tmpdir("ds-odd");
    mvtec_fixture(root);
    char *dang = P(root, "cat1/test/good/002.png"), *loop = P(root, "cat1/test/good/003.png"),
         *fifo = P(root, "cat1/train/good/009.png");
    cr_assert_eq(symlink("/nonexistent/zzz.png", dang), 0);
    cr_assert_eq(symlink(loop, loop), 0);
    cr_assert_eq(mkfifo(fifo, 0666), 0);
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s'", root);
    run_adbench(args, &out, &err);
    cr_expect(strstr(err, "test/good/002.png: skipped: a dangling symlink"), "%s", err);
    cr_expect(strstr(err, "test/good/003.png: skipped: a symlink loop"), "%s", err);
    cr_expect(strstr(err, "train/good/009.png: skipped: not a regular file (a FIFO)"), "%s", err);
    free(out), free(err), free(args);
    rm_rf(root);
    free(root), free(dang), free(loop), free(fifo);
}

// Issue 12 item 19: `datasets check` said "every image readable" after reading headers only.
// It says what was checked.
Test(datasets, check_says_what_was_checked) {
    char *root = make_tmpdir("ds-what");
    mvtec_fixture(root);
    char *out, *err, *args = ad_sprintf("datasets check --dataset mvtec --root '%s'", root);
    cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
    cr_expect(strstr(out, "every image header read") && !strstr(out, "every image readable"), "%s", out);
    free(out), free(err);
    char *args2 = ad_sprintf("%s --decode", args);
    cr_assert_eq(run_adbench(args2, &out, &err), 0, "%s", err);
    cr_expect(strstr(out, "every image decoded"), "%s", out);
    free(out), free(err), free(args), free(args2);
    rm_rf(root);
    free(root);
}
