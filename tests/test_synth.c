// adbench synth: plan, option parsing, files loadable by the MVTec adapter with exact counts,
// masks equal to the drawn defect, byte-identical output for any thread count, consistent
// defects that really look the same, and the CLI contract.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dataset.h"
#include "err.h"
#include "image.h"
#include "synth.h"
#include "util_test.h"

static SynthConfig small_config(void) {
    SynthConfig c;
    synth_config_default(&c);
    c.size = 64;
    c.n_train = 3;
    c.n_good = 4;
    c.n_unique = 3;
    c.kind = SYNTH_MIXED;
    c.n_categories = 2;
    cr_assert_eq(synth_parse_consistent(&c, "patch:3,scratch:2"), 0, "%s", ad_last_error());
    return c;
}

static int count_defect(const Category *c, const char *d) {
    int n = 0;
    for (int i = 0; i < c->n_test; i++) n += !strcmp(c->test[i].defect, d);
    return n;
}

Test(synth, plan_and_defaults) {
    SynthConfig c;
    synth_config_default(&c);
    cr_assert_eq(c.size, 224);
    cr_assert_eq(c.align, 8);
    cr_assert_eq(c.n_train, 16);
    cr_assert_eq(c.n_good, 24);
    cr_assert_eq(c.n_unique, 12);
    cr_assert_eq(c.n_consistent, 2);
    cr_assert_eq(c.consistent[0].shape, SHAPE_PATCH);
    cr_assert_eq(c.consistent[1].shape, SHAPE_BLOB);
    cr_assert_eq(c.consistent[1].m, 12);
    SynthItem *it;
    int n;
    synth_plan(&c, 0, &it, &n);
    cr_assert_eq(n, 16 + 24 + 12 + 12 + 12);
    cr_assert(it[0].train && !strcmp(it[0].folder, "good"));
    cr_assert(!it[16].train && !it[16].label);
    cr_assert_str_eq(it[40].folder, "consistent_patch");
    cr_assert_eq(it[40].type, 0);
    cr_assert_str_eq(it[52].folder, "consistent_blob");
    cr_assert_str_eq(it[64].folder, "unique");
    cr_assert_eq(it[64].type, -1);
    cr_assert_eq(it[75].index, 11);
    free(it);
    // Two types of one shape get distinct folders.
    cr_assert_eq(synth_parse_consistent(&c, "patch:2,patch:3,hole:1"), 0);
    synth_plan(&c, 0, &it, &n);
    cr_assert_str_eq(it[40].folder, "consistent_patch");
    cr_assert_str_eq(it[42].folder, "consistent_patch_b");
    cr_assert_str_eq(it[45].folder, "consistent_hole");
    free(it);
    cr_assert_eq(synth_set_consistent(&c, 6, 4), 0);
    cr_assert_eq(c.consistent[5].shape, SHAPE_PATCH);  // the cycle wraps
    cr_assert_eq(c.consistent[2].shape, SHAPE_SCRATCH);
    char buf[64];
    c.kind = SYNTH_MIXED;
    cr_assert_str_eq(synth_category_name(&c, 0, buf, sizeof buf), "woven0");
    cr_assert_str_eq(synth_category_name(&c, 1, buf, sizeof buf), "disc1");
}

Test(synth, option_errors) {
    SynthConfig c;
    synth_config_default(&c);
    cr_assert_eq(synth_parse_consistent(&c, "dent:3"), -1);
    cr_assert(strstr(ad_last_error(), "unknown shape 'dent'") && strstr(ad_last_error(), "scratch, blob, hole"));
    cr_assert_eq(synth_parse_consistent(&c, "patch"), -1);
    cr_assert(strstr(ad_last_error(), "no ':m'"));
    cr_assert_eq(synth_parse_consistent(&c, "patch:0"), -1);
    cr_assert_eq(synth_parse_consistent(&c, "patch:3,"), -1);
    cr_assert_eq(synth_parse_consistent(&c, "patch:x"), -1);
    synth_config_default(&c);
    c.contrast = 1.5;
    cr_assert_eq(synth_check_config(&c), -1);
    cr_assert(strstr(ad_last_error(), "--contrast"));
    synth_config_default(&c);
    c.defect_scale = 0;
    cr_assert_eq(synth_check_config(&c), -1);
    cr_assert(strstr(ad_last_error(), "--defect-scale"));
    synth_config_default(&c);
    c.n_good = c.n_unique = c.n_consistent = 0;
    cr_assert_eq(synth_check_config(&c), -1);
    char *bad[2] = {"ok", "a/b"};
    synth_config_default(&c);
    c.names = bad;
    c.n_categories = 2;
    cr_assert_eq(synth_check_config(&c), -1);
    cr_assert(strstr(ad_last_error(), "'a/b'"));
}

// Files on disk = the in-memory render; masks = exactly the drawn region; loadable as MVTec.
Test(synth, written_set_loads_with_exact_counts_and_masks) {
    char *dir = make_tmpdir("synth");
    SynthConfig c = small_config();
    cr_assert_eq(synth_write(&c, dir), 0, "%s", ad_last_error());
    char *mpath = ad_sprintf("%s/synth_manifest.json", dir);
    char *mtxt = slurp(mpath, NULL);
    cr_assert(mtxt);
    cJSON *man = cJSON_Parse(mtxt);
    cr_assert(man);
    cJSON *jcats = cJSON_GetObjectItem(man, "categories");
    cr_assert_eq(cJSON_GetArraySize(jcats), 2);
    for (int cat = 0; cat < 2; cat++) {
        char name[64];
        synth_category_name(&c, cat, name, sizeof name);
        for (int a = 0; a < 2; a++) {
            Category L;
            const DatasetAdapter *ad = dataset_find(a ? "synth" : "mvtec");
            cr_assert_eq(ad->load(dir, name, &L), 0, "%s", ad_last_error());
            cr_assert_eq(L.n_train, 3);
            cr_assert_eq(L.n_test, 12);
            cr_assert_eq(count_defect(&L, "good"), 4);
            cr_assert_eq(count_defect(&L, "consistent_patch"), 3);
            cr_assert_eq(count_defect(&L, "consistent_scratch"), 2);
            cr_assert_eq(count_defect(&L, "unique"), 3);
            cr_assert(category_has_masks(&L));
            cr_assert_eq(category_validate(&L, 1, NULL, NULL, NULL, NULL), 0, "%s", ad_last_error());
            category_free(&L);
        }
        cJSON *jc = cJSON_GetArrayItem(jcats, cat);
        cr_assert_str_eq(cJSON_GetObjectItem(jc, "name")->valuestring, name);
        cr_assert_str_eq(cJSON_GetObjectItem(jc, "kind")->valuestring, cat ? "object" : "texture");
        cr_assert_eq(cJSON_GetObjectItem(jc, "n_test")->valueint, 12);
        cJSON *jt = cJSON_GetObjectItem(jc, "test");
        cr_assert_eq(cJSON_GetArraySize(jt), 12);
        SynthItem *it;
        int n;
        synth_plan(&c, cat, &it, &n);
        int t = 0;
        for (int i = 0; i < n; i++) {
            ImageU8 img, mask, clean, disk, dmask;
            synth_render(&c, cat, &it[i], &img, &mask, &clean);
            char *p = ad_sprintf("%s/%s/%s/%s/%03d.png", dir, name, it[i].train ? "train" : "test", it[i].folder,
                                 it[i].index);
            cr_assert_eq(image_read_rgb8(p, &disk), 0, "%s", ad_last_error());
            cr_assert(disk.w == 64 && disk.h == 64);
            cr_assert(!memcmp(disk.data, img.data, 64 * 64 * 3), "%s differs from its render", p);
            image_u8_free(&disk);
            if (it[i].label) {
                char *mp = ad_sprintf("%s/%s/ground_truth/%s/%03d_mask.png", dir, name, it[i].folder, it[i].index);
                cr_assert_eq(mask_read(mp, &dmask), 0, "%s", ad_last_error());
                cr_assert(dmask.w == 64 && dmask.h == 64 && dmask.c == 1);
                cr_assert(!memcmp(dmask.data, mask.data, 64 * 64), "%s", mp);
                long on = 0, changed = 0, outside = 0;
                int bx0 = 64, by0 = 64, bx1 = -1, by1 = -1;
                for (int y = 0; y < 64; y++)
                    for (int x = 0; x < 64; x++) {
                        int k = y * 64 + x;
                        int diff = memcmp(img.data + 3 * k, clean.data + 3 * k, 3) != 0;
                        cr_assert(mask.data[k] == 0 || mask.data[k] == 255);
                        if (mask.data[k]) {
                            on++;
                            changed += diff;
                            if (x < bx0) bx0 = x;
                            if (y < by0) by0 = y;
                            if (x > bx1) bx1 = x;
                            if (y > by1) by1 = y;
                        } else {
                            outside += diff;
                        }
                    }
                cr_assert_eq(outside, 0, "%s: pixels changed outside the mask", p);
                cr_assert(on > 0, "%s: empty mask", mp);
                cr_assert(changed >= 0.9 * on, "%s: only %ld of %ld mask pixels changed", p, changed, on);
                cr_assert_eq(on, it[i].mask_pixels);
                cr_assert(bx0 == it[i].bbox[0] && by0 == it[i].bbox[1] && bx1 == it[i].bbox[2] && by1 == it[i].bbox[3]);
                image_u8_free(&dmask);
                free(mp);
            } else {
                cr_assert(!memcmp(img.data, clean.data, 64 * 64 * 3));
                for (int k = 0; k < 64 * 64; k++) cr_assert_eq(mask.data[k], 0);
            }
            if (!it[i].train) {  // manifest entry, same order as the plan
                cJSON *e = cJSON_GetArrayItem(jt, t++);
                char *rel = ad_sprintf("test/%s/%03d.png", it[i].folder, it[i].index);
                cr_assert_str_eq(cJSON_GetObjectItem(e, "path")->valuestring, rel);
                free(rel);
                cr_assert_eq(cJSON_GetObjectItem(e, "label")->valueint, it[i].label);
                cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(e, "consistent")), it[i].type >= 0);
                if (it[i].label) {
                    cr_assert_eq((long)cJSON_GetObjectItem(e, "mask_pixels")->valuedouble, it[i].mask_pixels);
                    cr_assert_str_eq(cJSON_GetObjectItem(e, "shape")->valuestring, synth_shape_name(it[i].shape));
                    cJSON *bb = cJSON_GetObjectItem(e, "bbox");
                    for (int k = 0; k < 4; k++) cr_assert_eq(cJSON_GetArrayItem(bb, k)->valueint, it[i].bbox[k]);
                }
            }
            free(p);
            free(img.data);
            free(mask.data);
            free(clean.data);
        }
        free(it);
    }
    cJSON_Delete(man);
    free(mtxt);
    // Never overwrites a previous set.
    cr_assert_eq(synth_write(&c, dir), -1);
    cr_assert(strstr(ad_last_error(), mpath), "%s", ad_last_error());
    free(mpath);
    rm_rf(dir);
    free(dir);
}

// Same seed: byte-identical files with 1 and 2 threads; another seed: different images.
Test(synth, deterministic_for_any_thread_count) {
    char *dir = make_tmpdir("synth-det");
    const char *opts = "--size 48 --n-train 2 --n-good 3 --consistent hole:2 --n-unique 3 --kind mixed --categories 2";
    char *cmd = ad_sprintf("OMP_NUM_THREADS=1 %s synth --out %s/a %s && OMP_NUM_THREADS=2 %s synth --out %s/b %s && "
                           "%s synth --out %s/c --seed 7 %s && diff -r %s/a %s/b",
                           adbench_bin(), dir, opts, adbench_bin(), dir, opts, adbench_bin(), dir, opts, dir, dir);
    char *out, *err;
    cr_assert_eq(run_capture(cmd, &out, &err), 0, "%s\n%s", out, err);
    cr_assert(strstr(out, "wrote 2 categories"), "%s", out);
    free(out);
    free(err);
    free(cmd);
    const char *files[] = {"woven0/test/good/000.png", "disc1/test/unique/002.png",
                           "woven0/ground_truth/consistent_hole/001_mask.png"};
    for (int i = 0; i < 3; i++) {
        char *pa = ad_sprintf("%s/a/%s", dir, files[i]), *pc = ad_sprintf("%s/c/%s", dir, files[i]);
        size_t la, lc;
        char *A = slurp(pa, &la), *C = slurp(pc, &lc);
        cr_assert(A && C, "%s", pa);
        cr_assert(la != lc || memcmp(A, C, la), "seed 7 gave the same %s", files[i]);
        free(A);
        free(C);
        free(pa);
        free(pc);
    }
    rm_rf(dir);
    free(dir);
}

// Crop of the mask (and, at contrast 1, of the pixels) around each defect.
static unsigned char *crop(const ImageU8 *im, const int bb[4], int *cw, int *ch) {
    *cw = bb[2] - bb[0] + 1;
    *ch = bb[3] - bb[1] + 1;
    unsigned char *o = malloc((size_t)*cw * *ch * im->c);
    for (int y = 0; y < *ch; y++)
        memcpy(o + (size_t)y * *cw * im->c, im->data + ((size_t)(bb[1] + y) * im->w + bb[0]) * im->c,
               (size_t)*cw * im->c);
    return o;
}

Test(synth, consistent_defects_look_the_same_unique_do_not) {
    SynthConfig c;
    synth_config_default(&c);
    c.size = 128;
    c.n_train = 0;
    c.n_good = 0;
    c.n_unique = 6;
    c.contrast = 1.0;  // the defect replaces the surface: identical pixels expected
    cr_assert_eq(synth_parse_consistent(&c, "patch:4,scratch:3,hole:3"), 0);
    for (int kind = 0; kind < 2; kind++) {
        c.kind = (SynthKind)kind;
        SynthItem *it;
        int n;
        synth_plan(&c, 0, &it, &n);
        unsigned char *ref_m = NULL, *ref_p = NULL;
        int ref_w = 0, ref_h = 0, ref_type = -2, ref_x = -1, ref_y = -1, moved = 0;
        int uw[6], uh[6];
        long upix[6];
        int nu = 0;
        for (int i = 0; i < n; i++) {
            ImageU8 img, mask;
            synth_render(&c, 0, &it[i], &img, &mask, NULL);
            int cw, ch;
            unsigned char *cm = crop(&mask, it[i].bbox, &cw, &ch), *cp = crop(&img, it[i].bbox, &cw, &ch);
            if (it[i].type >= 0) {
                if (it[i].type != ref_type) {
                    free(ref_m);
                    free(ref_p);
                    ref_m = cm;
                    ref_p = cp;
                    ref_w = cw;
                    ref_h = ch;
                    ref_type = it[i].type;
                    ref_x = it[i].bbox[0];
                    ref_y = it[i].bbox[1];
                    cm = cp = NULL;
                } else {
                    cr_assert(cw == ref_w && ch == ref_h, "type %d: crop %dx%d vs %dx%d", it[i].type, cw, ch, ref_w,
                              ref_h);
                    cr_assert(!memcmp(cm, ref_m, (size_t)cw * ch), "type %d: mask shape differs", it[i].type);
                    for (int k = 0; k < cw * ch; k++)
                        if (cm[k]) cr_assert(!memcmp(cp + 3 * k, ref_p + 3 * k, 3), "type %d: colour differs", it[i].type);
                    moved += it[i].bbox[0] != ref_x || it[i].bbox[1] != ref_y;
                    // Centres on multiples of --align: the same offset to an 8-px patch grid.
                    cr_assert_eq((it[i].bbox[0] - ref_x) % 8, 0);
                    cr_assert_eq((it[i].bbox[1] - ref_y) % 8, 0);
                }
            } else {
                uw[nu] = cw;
                uh[nu] = ch;
                upix[nu++] = it[i].mask_pixels;
            }
            free(cm);
            free(cp);
            free(img.data);
            free(mask.data);
        }
        cr_assert(moved >= 5, "consistent defects should land at varying positions (%d moved)", moved);
        int same = 0;
        for (int a = 0; a < nu; a++)
            for (int b = a + 1; b < nu; b++) same += uw[a] == uw[b] && uh[a] == uh[b] && upix[a] == upix[b];
        cr_assert_eq(same, 0, "unique defects should all differ");
        free(ref_m);
        free(ref_p);
        free(it);
    }
}

// Visible at pixel level but not trivial at the default contrast; generation is fast.
Test(synth, default_contrast_and_speed) {
    SynthConfig c;
    synth_config_default(&c);
    c.kind = SYNTH_MIXED;
    c.n_categories = 2;
    double lo = 1e9, hi = 0;
    for (int cat = 0; cat < 2; cat++) {
        SynthItem *it;
        int n;
        synth_plan(&c, cat, &it, &n);
        for (int i = 0; i < n; i++) {
            if (!it[i].label) continue;
            ImageU8 img, mask, clean;
            synth_render(&c, cat, &it[i], &img, &mask, &clean);
            double s = 0;
            for (int k = 0; k < c.size * c.size; k++)
                if (mask.data[k])
                    for (int ch = 0; ch < 3; ch++) s += abs((int)img.data[3 * k + ch] - (int)clean.data[3 * k + ch]);
            double mean = s / (3.0 * it[i].mask_pixels);
            if (mean < lo) lo = mean;
            if (mean > hi) hi = mean;
            free(img.data);
            free(mask.data);
            free(clean.data);
        }
        free(it);
    }
    cr_log_info("mean |defect - surface| per defect: %.1f .. %.1f grey levels", lo, hi);
    cr_assert(lo >= 15, "a defect is too faint: %.1f", lo);
    cr_assert(hi <= 130, "a defect is too strong: %.1f", hi);
    // 100 images of 256x256 written as PNG (images + masks).
    c.size = 256;
    char *dir = make_tmpdir("synth-speed");
    synth_config_default(&c);
    c.n_train = 20;
    c.n_good = 40;
    c.n_unique = 16;
    synth_set_consistent(&c, 2, 12);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(synth_write(&c, dir), 0, "%s", ad_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_log_info("synth: 100 images 256x256 in %.2f s", sec);
    cr_assert(sec < 30, "generation took %.1f s", sec);  // gross guard only: the machine is shared
    rm_rf(dir);
    free(dir);
}

Test(synth, cli_help_and_errors) {
    char *out, *err;
    cr_assert_eq(run_adbench("synth --help", &out, &err), 0);
    const char *opts[] = {"--out", "--seed", "--size", "--kind", "--categories", "--n-train", "--n-good",
                          "--consistent", "--n-consistent-types", "--m", "--n-unique", "--defect-scale", "--contrast",
                          "--align"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_assert(strstr(err, opts[i]) || strstr(out, opts[i]), "--help lacks %s", opts[i]);
    free(out);
    free(err);
    cr_assert_eq(run_adbench("synth", &out, &err), 1);
    cr_assert(strstr(err, "--out DIR is required"), "%s", err);
    free(out);
    free(err);
    char *dir = make_tmpdir("synth-cli");
    struct {
        const char *args, *needle;
    } B[] = {
        {"--kind fabric", "--kind: expected texture, object or mixed, found 'fabric'"},
        {"--consistent dent:2", "unknown shape 'dent'"},
        {"--consistent patch:2 --m 3", "cannot be combined"},
        {"--size 8", "--size: expected an integer in [32, 4096], found '8'"},
        {"--contrast 0", "--contrast"},
        {"--align 0", "--align: expected"},
        {"--n-good x", "--n-good: expected an integer"},
        {"--bogus 1", "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof B / sizeof B[0]; i++) {
        char *a = ad_sprintf("synth --out %s/x %s", dir, B[i].args);
        cr_assert_eq(run_adbench(a, &out, &err), 1, "%s", a);
        cr_assert(strstr(err, B[i].needle), "%s: %s", a, err);
        free(out);
        free(err);
        free(a);
    }
    // Names, a count of images per type, and the refusal to overwrite.
    char *a = ad_sprintf("synth --out %s/y --size 32 --categories carpet,nut --kind object --n-train 1 --n-good 2 "
                         "--n-consistent-types 1 --m 2 --n-unique 1",
                         dir);
    cr_assert_eq(run_adbench(a, &out, &err), 0, "%s", err);
    free(out);
    free(err);
    char *chk = ad_sprintf("datasets check --dataset synth --root %s/y", dir);
    cr_assert_eq(run_adbench(chk, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "carpet") && strstr(out, "nut") && strstr(out, "consistent_patch=2 unique=1"), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(run_adbench(a, &out, &err), 1);
    cr_assert(strstr(err, "synth_manifest.json: already exists"), "%s", err);
    free(out);
    free(err);
    free(a);
    free(chk);
    rm_rf(dir);
    free(dir);
}

// Issue 12 item 24: a full disk left a partial set in --out that the next synth refused to
// overwrite. The set is written into a temporary folder and moved into place when complete;
// a failure leaves nothing. The full disk is a file-size limit (ulimit -f, SIGXFSZ ignored).
Test(synth, failed_write_leaves_no_partial_set) {
    char *dir = make_tmpdir("synth"), *out = ad_sprintf("%s/set", dir);
    const char *opts = "--size 64 --n-train 4 --n-good 4 --n-unique 2 --m 2";
    char *cmd = ad_sprintf("trap '' XFSZ; ulimit -f 8; '%s' synth --out '%s' %s", adbench_bin(), out, opts);
    char *o, *e;
    int rc = run_capture(cmd, &o, &e);
    cr_assert_neq(rc, 0, "synth under a 4 KB file-size limit succeeded: %s", o);
    struct stat st;
    cr_expect_neq(stat(out, &st), 0, "a partial set was left in %s", out);
    char *lst = ad_sprintf("ls -a '%s'", dir), *ls;
    run_capture(lst, &ls, NULL);
    cr_expect(!strstr(ls, ".tmp"), "temporary folder left: %s", ls);
    free(o), free(e), free(ls);
    // the next synth writes the set
    char *args = ad_sprintf("synth --out '%s' %s", out, opts);
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    char *man = ad_sprintf("%s/synth_manifest.json", out);
    cr_expect_eq(stat(man, &st), 0);
    free(o), free(e);
    // a --out whose parent folders do not exist yet
    char *args2 = ad_sprintf("synth --out '%s/new/sub/set' %s", dir, opts);
    cr_assert_eq(run_adbench(args2, &o, &e), 0, "%s", e);
    free(o), free(e), free(args2);
    rm_rf(dir);
    free(dir), free(out), free(cmd), free(lst), free(args), free(man);
}
