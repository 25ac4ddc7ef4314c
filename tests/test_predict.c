// adbench predict (src/cmd_predict.c): a folder of unlabeled images scored by the real CLI
// with the pixel backbone, zero-shot (MuSc) on the folder itself and PatchCore against
// --reference; scores.csv rows, maps (the evaluation grid) and pictures; and the errors (empty
// folder, few-shot method without --reference, undecodable image) leave no output.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "image.h"
#include "npy.h"
#include "overlay.h"
#include "results.h"
#include "util_test.h"

typedef struct {
    char *dir, *root, *cat, *imgs, *refs, *cfg, *out;
    int n;        // images in imgs
    char **stem;  // their stems, sorted
} Fixture;

// imgs/: the test images of one synthetic category, flattened to <defect>_<name>.png;
// refs/: its train images (normal). Config: pixel backbone at 32 px, MuSc and PatchCore.
static Fixture fixture(void) {
    Fixture f = {0};
    f.dir = make_tmpdir("predict");
    f.root = synth_fixture(f.dir);
    char **cats;
    int nc;
    cr_assert_eq(ds_list(f.root, 1, &cats, &nc), 0, "%s", ad_last_error());
    f.cat = ad_strdup(cats[0]);
    Category C = {0};
    cr_assert_eq(dataset_find("synth")->load(f.root, f.cat, &C), 0, "%s", ad_last_error());
    f.imgs = ad_sprintf("%s/imgs", f.dir), f.refs = ad_sprintf("%s/refs", f.dir);
    mkdir(f.imgs, 0777), mkdir(f.refs, 0777);
    for (int part = 0; part < 2; part++) {
        int n = part ? C.n_train : C.n_test;
        for (int i = 0; i < n; i++) {
            const Sample *s = part ? &C.train[i] : &C.test[i];
            char *stem = overlay_stem(s->path);
            char *p = part ? ad_sprintf("%s/%s.png", f.refs, stem) : ad_sprintf("%s/%s_%s.png", f.imgs, s->defect, stem);
            ImageU8 im;
            cr_assert_eq(image_read_rgb8(s->path, &im), 0);
            cr_assert_eq(image_write_png(p, &im), 0, "%s", ad_last_error());
            image_u8_free(&im);
            free(p), free(stem);
        }
    }
    char **names;
    cr_assert_eq(ds_list(f.imgs, 0, &names, &f.n), 0);
    f.stem = ad_malloc((size_t)f.n * sizeof *f.stem);
    for (int i = 0; i < f.n; i++) f.stem[i] = overlay_stem(names[i]);
    string_list_free(names, f.n);
    f.cfg = ad_sprintf("%s/c.yaml", f.dir);
    f.out = ad_sprintf("%s/out", f.dir);
    cr_assert_eq(write_text(f.cfg, "datasets: [{name: synth, root: unused}]\n"
                                   "backbone: {name: pixel, size: 32, patch: 8, stride: 8}\n"
                                   "methods:\n  - {name: musc}\n  - {name: patchcore, shots: 2}\n"
                                   "cache_dir: none\n"),
                 0);
    category_free(&C);
    string_list_free(cats, nc);
    return f;
}

static void fixture_free(Fixture *f) {
    rm_rf(f->dir);
    for (int i = 0; i < f->n; i++) free(f->stem[i]);
    free(f->stem), free(f->dir), free(f->root), free(f->cat), free(f->imgs), free(f->refs), free(f->cfg), free(f->out);
}

// scores.csv has one row per image for `method`, in sorted order, with its map and picture.
static void check_method(const Fixture *f, const Table *t, const char *method, int side) {
    int k = 0;
    for (int r = 0; r < t->n_rows; r++) {
        if (strcmp(table_get(t, r, "method"), method)) continue;
        cr_assert_lt(k, f->n, "%s: more rows than images", method);
        char *want = ad_sprintf("%s/%s.png", f->imgs, f->stem[k]);
        cr_expect_str_eq(table_get(t, r, "path"), want, "%s row %d", method, k);
        cr_expect_str_eq(table_get(t, r, "variant"), "");
        double s;
        cr_expect_eq(cell_double(table_get(t, r, "score"), &s), 0, "score '%s'", table_get(t, r, "score"));
        char *mp = ad_sprintf("%s/maps/%s/%s.npy", f->out, method, f->stem[k]);
        NpyArray a;
        cr_assert_eq(npy_read(mp, &a), 0, "%s", ad_last_error());
        cr_expect_eq(a.dtype, NPY_F32);
        cr_expect(a.ndim == 2 && a.shape[0] == side && a.shape[1] == side, "%s: the map is %lld x %lld, expected %d x %d",
                  mp, a.ndim == 2 ? (long long)a.shape[0] : -1LL, a.ndim == 2 ? (long long)a.shape[1] : -1LL, side, side);
        npy_free(&a);
        char *pp = ad_sprintf("%s/pictures/%s/%s.png", f->out, method, f->stem[k]);
        int w, h;
        cr_expect_eq(image_size(pp, &w, &h), 0, "missing picture %s", pp);
        cr_expect_gt(w, OVERLAY_MIN_SIDE, "%s: %d px wide (image enlarged + colour bar)", pp, w);
        free(want), free(mp), free(pp);
        k++;
    }
    cr_expect_eq(k, f->n, "%s: %d rows for %d images", method, k, f->n);
}

Test(predict, zero_shot_and_reference, .timeout = 120) {
    Fixture f = fixture();
    char *args = ad_sprintf("predict '%s' --images '%s' --method musc --out '%s' --quiet", f.cfg, f.imgs, f.out), *err;
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    Table t;
    char *csv = ad_sprintf("%s/scores.csv", f.out);
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    cr_expect_eq(t.n_cols, 4);
    cr_expect_str_eq(t.cols[0], "path");
    cr_expect_str_eq(t.cols[1], "method");
    cr_expect_str_eq(t.cols[2], "variant");
    cr_expect_str_eq(t.cols[3], "score");
    cr_expect_eq(t.n_rows, f.n);
    check_method(&f, &t, "musc", 32);  // native: the image's 32 x 32
    table_free(&t);
    free(args), free(err);
    // Every method of the config, PatchCore against the reference folder (into a fresh
    // folder: the first call's files must not stand in for missing ones).
    rm_rf(f.out);
    args = ad_sprintf("predict '%s' --images '%s' --reference '%s' --out '%s' --quiet", f.cfg, f.imgs, f.refs, f.out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    cr_expect_eq(t.n_rows, 2 * f.n);
    check_method(&f, &t, "musc", 32);
    check_method(&f, &t, "patchcore", 32);
    // The synthetic defects score above the normal images on average (PatchCore).
    double sd = 0, sg = 0;
    int nd = 0, ng = 0;
    for (int r = 0; r < t.n_rows; r++) {
        if (strcmp(table_get(&t, r, "method"), "patchcore")) continue;
        double s;
        cell_double(table_get(&t, r, "score"), &s);
        if (strstr(table_get(&t, r, "path"), "/good_")) sg += s, ng++;
        else sd += s, nd++;
    }
    cr_expect_gt(sd / nd, sg / ng, "defects %.3g vs normal %.3g", sd / nd, sg / ng);
    table_free(&t);
    free(args), free(err);
    // The config's evaluation grid is followed: center_crop:40:24 gives 24 x 24 maps (and
    // pictures of the cropped image), as a run's evaluation would
    rm_rf(f.out);
    args = ad_sprintf("predict '%s' --images '%s' --method musc --out '%s' --quiet --set evaluation.resolution=center_crop:40:24",
                      f.cfg, f.imgs, f.out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    check_method(&f, &t, "musc", 24);
    table_free(&t);
    free(args), free(err), free(csv);
    fixture_free(&f);
}

// predict scores an image as a run scores it: PatchCore (its score is independent of the
// other test images) against the same references gives the scores of the run's
// per_image.csv, image by image.
Test(predict, scores_match_a_run, .timeout = 120) {
    Fixture f = fixture();
    char *rcfg = ad_sprintf("%s/run.yaml", f.dir), *rout = ad_sprintf("%s/run", f.dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [%s]}]\n"
                            "backbone: {name: pixel, size: 32, patch: 8, stride: 8}\n"
                            "methods:\n  - {name: patchcore, shots: 2}\ncache_dir: none\n",
                            f.root, f.cat);
    cr_assert_eq(write_text(rcfg, text), 0);
    char *args = ad_sprintf("run '%s' --out '%s' --quiet", rcfg, rout), *err = NULL;
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    free(args), free(err);
    args = ad_sprintf("predict '%s' --images '%s' --reference '%s' --method patchcore --out '%s' --quiet", f.cfg, f.imgs,
                      f.refs, f.out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    Table run, pred;
    char *rcsv = ad_sprintf("%s/per_image.csv", rout), *pcsv = ad_sprintf("%s/scores.csv", f.out);
    cr_assert_eq(table_read_csv(&run, rcsv), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&pred, pcsv), 0, "%s", ad_last_error());
    cr_assert_eq(run.n_rows, f.n);
    cr_assert_eq(pred.n_rows, f.n);
    for (int r = 0; r < run.n_rows; r++) {
        char *stem = overlay_stem(table_get(&run, r, "path"));
        char *want = ad_sprintf("%s/%s_%s.png", f.imgs, table_get(&run, r, "defect"), stem);
        int q = 0;
        while (q < pred.n_rows && strcmp(table_get(&pred, q, "path"), want)) q++;
        cr_assert_lt(q, pred.n_rows, "%s: no predict row", want);
        double a, b;
        cr_assert_eq(cell_double(table_get(&run, r, "score"), &a), 0);
        cr_assert_eq(cell_double(table_get(&pred, q, "score"), &b), 0);
        cr_expect_eq(a, b, "%s: run %.9g, predict %.9g", want, a, b);
        free(stem), free(want);
    }
    table_free(&run), table_free(&pred);
    free(args), free(err), free(rcsv), free(pcsv), free(text), free(rcfg), free(rout);
    fixture_free(&f);
}

static void expect_error(const Fixture *f, const char *args, const char *const *needles) {
    char *err = NULL;
    int rc = run_adbench(args, NULL, &err);
    cr_expect_eq(rc, 1, "%s: exit %d, stderr %s", args, rc, err);
    for (int i = 0; needles[i]; i++) cr_expect(strstr(err, needles[i]), "'%s' not in: %s", needles[i], err);
    cr_expect_neq(access(f->out, F_OK), 0, "%s: output written despite the error", args);
    free(err);
}

Test(predict, errors_leave_no_output, .timeout = 120) {
    Fixture f = fixture();
    char *empty = ad_sprintf("%s/empty", f.dir);
    mkdir(empty, 0777);
    char *a1 = ad_sprintf("predict '%s' --images '%s' --out '%s'", f.cfg, empty, f.out);
    expect_error(&f, a1, (const char *[]){"--images", empty, "no images found", NULL});
    char *a2 = ad_sprintf("predict '%s' --images '%s' --out '%s'", f.cfg, f.imgs, f.out);
    expect_error(&f, a2, (const char *[]){"patchcore", "--reference DIR", "Fix:", NULL});
    // An undecodable image: named before any work.
    char *bad = ad_sprintf("%s/zz_broken.png", f.imgs);
    cr_assert_eq(write_text(bad, "not a png"), 0);
    char *a3 = ad_sprintf("predict '%s' --images '%s' --method musc --out '%s'", f.cfg, f.imgs, f.out);
    expect_error(&f, a3, (const char *[]){bad, NULL});
    unlink(bad);
    // Too few images for a zero-shot method.
    char *few = ad_sprintf("%s/few", f.dir);
    mkdir(few, 0777);
    for (int i = 0; i < 3; i++) {
        ImageU8 im;
        char *src = ad_sprintf("%s/%s.png", f.imgs, f.stem[i]), *dst = ad_sprintf("%s/%d.png", few, i);
        cr_assert_eq(image_read_rgb8(src, &im), 0);
        cr_assert_eq(image_write_png(dst, &im), 0);
        image_u8_free(&im);
        free(src), free(dst);
    }
    char *a4 = ad_sprintf("predict '%s' --images '%s' --method musc --out '%s'", f.cfg, few, f.out);
    expect_error(&f, a4, (const char *[]){"musc", "at least 5", "found 3", NULL});
    char *a5 = ad_sprintf("predict '%s' --images '%s' --method nosuch --out '%s'", f.cfg, f.imgs, f.out);
    expect_error(&f, a5, (const char *[]){"nosuch", "musc, patchcore", NULL});
    free(a1), free(a2), free(a3), free(a4), free(a5), free(bad), free(empty), free(few);
    fixture_free(&f);
}
