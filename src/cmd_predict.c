// adbench predict CONFIG --images DIR [--reference DIR] [--out DIR] [--method NAME] [--set k=v]... [--quiet]
//
// Scores a folder of unlabeled images with the config's backbone and methods (docs/outputs.md
// "adbench predict"): the images become the test set of an in-memory category (label 0,
// defect "unlabeled") and --reference's images its train set, and runner_predict runs the
// run's own extraction and method dispatch on it. Nothing is written until every method has
// scored; then OUT/maps/<method>/<stem>.npy, OUT/pictures/<method>/<stem>.png and, last,
// OUT/scores.csv, each atomically.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "dataset.h"
#include "err.h"
#include "evaluate.h"
#include "fsutil.h"
#include "npy.h"
#include "musc.h"  // MUSC_MIN_IMAGES
#include "opts.h"
#include "overlay.h"
#include "results.h"
#include "runner.h"
#include "variant.h"


static void usage(FILE *f) {
    fprintf(f,
            "usage: adbench predict CONFIG.yaml --images DIR [--reference DIR] [--out DIR] [--method NAME]\n"
            "                       [--set key=value]... [--quiet]\n"
            "  --images DIR     the images to score (png, jpg, jpeg, bmp, tif, tiff; sorted by name); no labels\n"
            "                   or masks needed\n"
            "  --reference DIR  normal images: the memory bank of few-shot methods (patchcore, anomalydino),\n"
            "                   chosen by their shots and the config's seed as in a run; zero-shot methods\n"
            "                   (musc, codegraph) score the --images folder against itself (>= %d images)\n"
            "  --out DIR        output folder (default: predictions)\n"
            "  --method NAME    only this method of the config (default: every method)\n"
            "  --set key=value  override a config value, as in adbench run (a grid must be pinned to one value)\n"
            "  --quiet          no progress output\n"
            "Writes OUT/scores.csv (path, method, variant, score), OUT/maps/<method>/<stem>.npy (float32\n"
            "maps at each image's own resolution) and OUT/pictures/<method>/<stem>.png: docs/outputs.md.\n",
            MUSC_MIN_IMAGES);
}

// Sorted image files of dir as samples (paths dir/name). 0, or -1 + ad_error.
static int list_images(const char *dir, const char *opt, Sample **out, int *n_out) {
    if (!ds_is_dir(dir)) return ad_error("%s %s: not a folder. Fix: pass a folder of images", opt, dir);
    char **names;
    int k;
    if (ds_list_images(dir, 0, &names, &k)) return -1;
    Sample *s = ad_calloc((size_t)(k ? k : 1), sizeof *s);
    for (int i = 0; i < k; i++) {
        s[i].path = ds_join(dir, names[i]);
        s[i].defect = ad_strdup("unlabeled");
    }
    string_list_free(names, k);
    if (!k) {
        free(s);
        return ad_error("%s %s: no images found (expected .png, .jpg, .jpeg, .bmp, .tif or .tiff files). Fix: point %s "
                        "at a folder of images",
                        opt, dir, opt);
    }
    *out = s, *n_out = k;
    return 0;
}

// What runner_predict gave for one method, copied (its output is freed after the callback).
typedef struct {
    char *dir_name;   // folder name of its outputs
    int m, gh, gw;    // index in the config's methods; the maps' grid
    MethodOutput mo;  // image_score, maps, half_pixel and smooth_sigma only
} Kept;

typedef struct {
    const Config *cfg;
    const Category *C;
    const char *out;
    Table table;
    Kept *kept;  // per method that ran
    int n_kept;
    char **stem;  // per test image: the name of its outputs (overlay_stem)
} Predict;

static int keep_output(void *user, int m, const MethodOutput *mo, int gh, int gw) {
    Predict *P = user;
    int n = P->C->n_test;
    P->kept = ad_realloc(P->kept, (size_t)(P->n_kept + 1) * sizeof *P->kept);
    Kept *K = &P->kept[P->n_kept++];
    const Variant *V = &P->cfg->variants[0];
    int same = 0;  // two entries of one method: told apart by their position in methods:
    for (int j = 0; j < V->n_methods; j++) same += !strcmp(V->methods[j].name, V->methods[m].name);
    *K = (Kept){same > 1 ? ad_sprintf("%s~%d", V->methods[m].name, m) : ad_strdup(V->methods[m].name), m, gh, gw, {0}};
    K->mo.half_pixel = mo->half_pixel, K->mo.smooth_sigma = mo->smooth_sigma;
    K->mo.image_score = ad_malloc((size_t)n * sizeof *K->mo.image_score);
    memcpy(K->mo.image_score, mo->image_score, (size_t)n * sizeof *K->mo.image_score);
    K->mo.maps = ad_malloc((size_t)n * gh * gw * sizeof *K->mo.maps);
    memcpy(K->mo.maps, mo->maps, (size_t)n * gh * gw * sizeof *K->mo.maps);
    return 0;
}

// Maps, pictures and rows of method k. Each map is brought to the config's evaluation grid
// once, as a run's evaluation does (evaluate.h eval_map_full: `native` at the image's own
// size, `resized:S` / `center_crop:R:S` at S x S with the image resized / cropped the same way
// for the picture). The pictures share one colour range over the folder, known only after
// every map: pass 1 writes the maps and takes the range, pass 2 reads each map back for its
// picture, so memory holds one map, not the folder's.
static int write_method(Predict *P, int k) {
    const Category *C = P->C;
    const Variant *V = &P->cfg->variants[0];
    const Kept *K = &P->kept[k];
    int n = C->n_test, rc = 0;
    char *mdir = ad_sprintf("%s/maps/%s", P->out, K->dir_name), *pdir = ad_sprintf("%s/pictures/%s", P->out, K->dir_name);
    if (fs_mkdirs(mdir) || fs_mkdirs(pdir)) rc = -1;
    int *W = ad_calloc((size_t)n, sizeof *W), *H = ad_calloc((size_t)n, sizeof *H);
    double *score = ad_calloc((size_t)n, sizeof *score);
    char **np = ad_calloc((size_t)n, sizeof *np);
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n && !rc; i++) {
        if (eval_map_size(&V->eval, C->test[i].path, &W[i], &H[i])) {
            rc = -1;
            break;
        }
        float *map = ad_malloc((size_t)W[i] * H[i] * sizeof *map);
        score[i] = eval_map_full(map, W[i], H[i], &V->eval, &K->mo, K->gh, K->gw, i);
        for (size_t p = 0; p < (size_t)W[i] * H[i]; p++)
            lo = map[p] < lo ? map[p] : lo, hi = map[p] > hi ? map[p] : hi;
        np[i] = ad_sprintf("%s/%s.npy", mdir, P->stem[i]);
        rc = npy_write_atomic(np[i], NPY_F32, 2, (int64_t[]){H[i], W[i]}, map);
        free(map);
    }
    char *variant = variant_label(V, K->m, ',');
    char *note = ad_sprintf("%s; bar: min..max over this folder's maps", K->dir_name);
    for (int i = 0; i < n && !rc; i++) {
        NpyArray a = {0};
        if (npy_read(np[i], &a)) {
            rc = -1;
            break;
        }
        AD_ASSERT(a.dtype == NPY_F32 && a.count == (size_t)W[i] * H[i]);  // written just above
        char *pp = ad_sprintf("%s/%s.png", pdir, P->stem[i]);
        const char *base = strrchr(C->test[i].path, '/');
        char *title = ad_sprintf("score %.4g  %s", score[i], base ? base + 1 : C->test[i].path);
        rc = overlay_write_for(pp, C->test[i].path, a.data, NULL, W[i], H[i], V->eval.crop_resize, lo, hi, title, note);
        if (!rc) {
            char sc[32];
            snprintf(sc, sizeof sc, "%.9g", score[i]);
            const char *cells[4] = {C->test[i].path, K->dir_name, variant, sc};
            table_add_row(&P->table, cells);
        }
        npy_free(&a);
        free(pp), free(title);
    }
    for (int i = 0; i < n; i++) free(np[i]);
    free(np), free(variant), free(note), free(W), free(H), free(score), free(mdir), free(pdir);
    return rc;
}

static int predict(const char *config, const char *images, const char *reference, const char *out, const char *method,
                   const char *const *sets, int n_sets, int quiet) {
    Config cfg;
    if (config_load(&cfg, config, sets, n_sets, NULL)) return -1;
    int rc = -1;
    Category C = {0};
    Predict P = {0};
    P.cfg = &cfg, P.C = &C, P.out = out;
    const char *cols[] = {"path", "method", "variant", "score"};
    table_init(&P.table, cols, 4);
    if (cfg.n_variants != 1) {
        ad_error("%s: predict scores with one setting, but the config expands to %d grid points. Fix: pin each grid "
                 "with --set KEY=VALUE (the keys are listed by adbench run %s --dry-run)",
                 config, cfg.n_variants, config);
        goto done;
    }
    const Variant *V = &cfg.variants[0];
    int n_sel = 0;
    for (int m = 0; m < V->n_methods; m++) n_sel += !method || !strcmp(V->methods[m].name, method);
    if (!n_sel) {
        char list[512] = "";
        for (int m = 0; m < V->n_methods; m++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", m ? ", " : "", V->methods[m].name);
        ad_error("--method %s: %s has no such method; its methods: %s. Fix: pick one of them or add it to the config",
                 method, config, list);
        goto done;
    }
    C.dataset = ad_strdup("predict");
    const char *base = strrchr(images, '/');
    C.name = ad_strdup(base && base[1] ? base + 1 : images);
    if (list_images(images, "--images", &C.test, &C.n_test)) goto done;
    if (reference && list_images(reference, "--reference", &C.train, &C.n_train)) goto done;
    P.stem = ad_malloc((size_t)C.n_test * sizeof *P.stem);
    for (int i = 0; i < C.n_test; i++) P.stem[i] = overlay_stem(C.test[i].path);
    for (int i = 0; i < C.n_test; i++)  // outputs are named by stem
        for (int j = 0; j < i; j++)
            if (!strcmp(P.stem[i], P.stem[j])) {
                ad_error("--images %s: %s and %s have the same name stem, so their outputs would overwrite each other. "
                         "Fix: rename one of them",
                         images, C.test[j].path, C.test[i].path);
                goto done;
            }
    for (int m = 0; m < V->n_methods; m++) {
        const MethodConfig *mc = &V->methods[m];
        if (method && strcmp(mc->name, method)) continue;
        if (mc->m->needs_train && !reference) {
            ad_error("method %s is few-shot: it compares the images with a memory bank of normal images, and none was "
                     "given. Fix: add --reference DIR (a folder of normal images)%s",
                     mc->name, V->n_methods > 1 ? ", or choose a zero-shot method of the config with --method" : "");
            goto done;
        }
        if (!mc->m->needs_train && C.n_test < MUSC_MIN_IMAGES) {
            ad_error("--images %s: method %s is zero-shot: it scores the images against each other and needs at least %d "
                     "of them, found %d. Fix: add images to the folder, or use a few-shot method (patchcore, "
                     "anomalydino) with --reference DIR",
                     images, mc->name, MUSC_MIN_IMAGES, C.n_test);
            goto done;
        }
    }
    // Every file decodes before any work (a damaged one is named here, not mid-run).
    if (category_validate(&C, 1, NULL, NULL, NULL, NULL)) goto done;
    if (!quiet)
        fprintf(stderr, "adbench predict %s: %d image%s from %s%s%s, %d method%s -> %s\n", config, C.n_test,
                C.n_test == 1 ? "" : "s", images, reference ? ", references from " : "", reference ? reference : "",
                n_sel, n_sel == 1 ? "" : "s", out);
    if (runner_predict(&cfg, &C, method, quiet, keep_output, &P)) goto done;
    if (fs_mkdirs(out)) goto done;
    for (int k = 0; k < P.n_kept; k++)
        if (write_method(&P, k)) goto done;
    char *csv = ad_sprintf("%s/scores.csv", out);
    int wrc = table_write_csv(&P.table, csv);
    if (!wrc) fprintf(stderr, "scores: %s (%d rows)\n", csv, P.table.n_rows);
    free(csv);
    if (wrc) goto done;
    rc = 0;
done:
    for (int k = 0; k < P.n_kept; k++) free(P.kept[k].dir_name), method_output_free(&P.kept[k].mo);
    free(P.kept);
    for (int i = 0; P.stem && i < C.n_test; i++) free(P.stem[i]);
    free(P.stem);
    table_free(&P.table);
    category_free(&C);
    config_free(&cfg);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    const char *images = NULL, *reference = NULL, *out = "predictions", *method = NULL, *quiet_s = NULL;
    const char **sets = ad_calloc((size_t)argc, sizeof *sets);
    int n_sets = 0;
    if (opts_wants_help(argc, argv, 2)) {
        usage(stdout);
        free(sets);
        return 0;
    }
    const Opt opts[] = {
        {"images", 1, &images, ""}, {"reference", 1, &reference, ""}, {"out", 1, &out, ""},
        {"method", 1, &method, ""}, {"set", OPT_LIST, sets, ""},      {"quiet", 0, &quiet_s, ""},
    };
    const char *pos[1] = {NULL};
    if (opts_parse("predict", argc, argv, 2, opts, (int)(sizeof opts / sizeof *opts), pos, 1) < 0) {
        free(sets);
        ad_die_user();
    }
    while (sets[n_sets]) n_sets++;
    const char *config = pos[0];
    int quiet = quiet_s != NULL;
    if (!config || !images) {
        if (config && !images) fprintf(stderr, "adbench: error: adbench predict: --images DIR is required\n");
        usage(stderr);
        free(sets);
        return 1;
    }
    int rc = predict(config, images, reference, out, method, sets, n_sets, quiet);
    free(sets);
    if (rc) ad_die_user();
    return 0;
}
