// Dataset registry and the helpers every adapter shares: directory listing, stem pairing
// of masks with images (never by sort order), the MVTec-like tree loader, validation.
#include "dataset.h"
#include "runlog.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "err.h"
#include "image.h"

extern const DatasetAdapter mvtec_adapter, visa_adapter, rad_adapter, btad_adapter, mpdd_adapter,
    folder_adapter, synth_adapter;

// Registry: adding a dataset = one adapter file + one line here.
static const DatasetAdapter *const ADAPTERS[] = {
    &mvtec_adapter, &visa_adapter, &rad_adapter, &btad_adapter, &mpdd_adapter, &folder_adapter, &synth_adapter,
};
#define N_ADAPTERS ((int)(sizeof ADAPTERS / sizeof ADAPTERS[0]))

const char *dataset_names(void) {
    static char buf[256];
    if (!buf[0])
        for (int i = 0; i < N_ADAPTERS; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", ADAPTERS[i]->name);
    return buf;
}

const DatasetAdapter *dataset_find(const char *name) {
    for (int i = 0; i < N_ADAPTERS; i++)
        if (name && !strcmp(ADAPTERS[i]->name, name)) return ADAPTERS[i];
    ad_error("unknown dataset '%s'; known datasets: %s. Fix: set dataset to one of them", name ? name : "(null)",
             dataset_names());
    return NULL;
}

static void samples_free(Sample *s, int n) {
    for (int i = 0; i < n; i++) {
        free(s[i].path);
        free(s[i].mask_path);
        free(s[i].defect);
    }
    free(s);
}

void category_free(Category *c) {
    if (!c) return;
    free(c->dataset);
    free(c->name);
    samples_free(c->train, c->n_train);
    samples_free(c->test, c->n_test);
    memset(c, 0, sizeof *c);
}

void string_list_free(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

int category_has_masks(const Category *c) {
    for (int i = 0; i < c->n_test; i++)
        if (c->test[i].label && !c->test[i].mask_path) return 0;
    return 1;
}

// ---- small helpers ---------------------------------------------------------------------

char *ds_join(const char *a, const char *b) {
    size_t la = strlen(a);
    return (la && a[la - 1] == '/') ? ad_sprintf("%s%s", a, b) : ad_sprintf("%s/%s", a, b);
}

int ds_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ds_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ds_list(const char *dir, int want_dirs, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ad_error("%s: cannot read the folder (missing or not a folder). Fix: check the path", dir);
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = ds_join(dir, e->d_name);
        int ok = want_dirs ? ds_is_dir(p) : ds_is_file(p);
        if (!ok) {
            // Not silently: a dangling symlink, a symlink loop, a FIFO/socket/device is named.
            struct stat st, lst;
            if (stat(p, &st)) {
                int err = errno;
                if (!lstat(p, &lst) && S_ISLNK(lst.st_mode))
                    ds_warn("%s: skipped: %s. Fix: repair or remove the link", p,
                            err == ELOOP ? "a symlink loop" : "a dangling symlink (its target does not exist)");
                else
                    ds_warn("%s: skipped: cannot stat it (%s)", p, strerror(err));
            } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
                ds_warn("%s: skipped: not a regular file (%s). Fix: replace it by the image file", p,
                        S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
            }
        }
        free(p);
        if (!ok) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *names = ad_realloc(*names, (size_t)cap * sizeof **names);
        }
        (*names)[(*n)++] = ad_strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return 0;
}

static const char *ext_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : "";
}

int ds_is_image_name(const char *name) {
    static const char *const EXTS[] = {"png", "jpg", "jpeg", "bmp", "tif", "tiff"};
    const char *e = ext_of(name);
    for (size_t i = 0; i < sizeof EXTS / sizeof EXTS[0]; i++)
        if (!strcasecmp(e, EXTS[i])) return 1;
    return 0;
}

char *ds_stem(const char *name) {
    const char *dot = strrchr(name, '.');
    size_t n = (dot && dot != name) ? (size_t)(dot - name) : strlen(name);
    char *s = ad_malloc(n + 1);
    memcpy(s, name, n);
    s[n] = 0;
    return s;
}

int ds_is_stray_copy(const char *name) {
    char *s = ds_stem(name);
    size_t n = strlen(s);
    int ok = 0;
    if (n >= 4 && s[n - 1] == ')') {
        size_t i = n - 2;
        while (i > 0 && s[i] >= '0' && s[i] <= '9') i--;
        ok = i < n - 2 && s[i] == '(' && i > 0 && s[i - 1] == ' ';
    }
    free(s);
    return ok;
}

void ds_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(runlog_stream(), "adbench: warning: ");
    vfprintf(runlog_stream(), fmt, ap);
    fprintf(runlog_stream(), "\n");
    va_end(ap);
}

static int cmp_sample(const void *a, const void *b) {
    const Sample *x = a, *y = b;
    int c = strcmp(x->defect, y->defect);
    return c ? c : strcmp(x->path, y->path);
}

void ds_sort_test(Category *c) {
    if (c->n_test > 1) qsort(c->test, (size_t)c->n_test, sizeof *c->test, cmp_sample);
}

int ds_unknown_category(const char *dataset, const char *root, const char *category) {
    const DatasetAdapter *a = dataset_find(dataset);
    if (!a) return -1;
    char **names;
    int n;
    if (a->list_categories(root, &names, &n)) return -1;
    char list[2048] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    string_list_free(names, n);
    return ad_error("%s: no category '%s' in this %s dataset; known categories: %s. Fix: use one of them "
                    "(or point --root at the right folder)",
                    root, category, dataset, list);
}

// Growable sample array.
typedef struct {
    Sample *v;
    int n, cap;
} SampleVec;

static void vec_add(SampleVec *s, char *path, char *mask, int label, const char *defect) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = ad_realloc(s->v, (size_t)s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (Sample){path, mask, label, ad_strdup(defect)};
}

// ---- MVTec-like trees --------------------------------------------------------------------

int ds_list_mvtec_like(const MvtecLike *spec, const char *root, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    if (!ds_is_dir(root))
        return ad_error("%s: %s dataset root folder not found. Fix: point --root (dataset root) at the folder "
                        "that holds the category folders",
                        root, spec->dataset);
    char **dirs;
    int nd;
    if (ds_list(root, 1, &dirs, &nd)) return -1;
    for (int i = 0; i < nd; i++) {
        char *cat = ds_join(root, dirs[i]);
        char *t = ds_join(cat, "test");
        if (ds_is_dir(t)) {
            *names = ad_realloc(*names, (size_t)(*n + 1) * sizeof **names);
            (*names)[(*n)++] = ad_strdup(dirs[i]);
        }
        free(t);
        free(cat);
    }
    string_list_free(dirs, nd);
    if (!*n)
        return ad_error("%s: no %s category folders found (a category folder holds test/ and %s/). Fix: point "
                        "--root at the folder that holds the categories",
                        root, spec->dataset, spec->train_dir);
    return 0;
}

// Image files of dir (sorted), with RAD-style stray copies removed (and reported).
int ds_list_images(const char *dir, int skip_copies, char ***names, int *n) {
    char **all;
    int na;
    if (ds_list(dir, 0, &all, &na)) return -1;
    *names = ad_malloc((size_t)(na ? na : 1) * sizeof **names);
    *n = 0;
    for (int i = 0; i < na; i++) {
        if (!ds_is_image_name(all[i])) {
            free(all[i]);
            continue;
        }
        if (skip_copies && ds_is_stray_copy(all[i])) {
            ds_warn("%s/%s: skipped: looks like a stray duplicate copy (name ends in \" (N)\"); it is not "
                    "loaded. Fix: delete it if it is a copy",
                    dir, all[i]);
            free(all[i]);
            continue;
        }
        (*names)[(*n)++] = all[i];
    }
    free(all);
    return 0;
}

static int mask_matches(const MaskPattern *p, const char *mask_name, const char *mask_stem, const char *img_stem) {
    size_t ls = strlen(img_stem), lx = strlen(p->suffix);
    if (strlen(mask_stem) != ls + lx || strncmp(mask_stem, img_stem, ls) || strcmp(mask_stem + ls, p->suffix))
        return 0;
    return p->ext ? !strcasecmp(ext_of(mask_name), p->ext) : ds_is_image_name(mask_name);
}

// Pair the images of test/<defect> with the masks of <gt>/<defect> by stem.
static int pair_defect(const MvtecLike *spec, const char *tdir, const char *gdir, char **imgs, int ni,
                       const char *defect, SampleVec *out) {
    char **masks;
    int nm;
    if (ds_list_images(gdir, spec->skip_copies, &masks, &nm)) return -1;
    char **mstem = ad_malloc((size_t)(nm ? nm : 1) * sizeof *mstem);
    int *used = ad_calloc((size_t)(nm ? nm : 1), sizeof *used);  // 1 + index of the image paired with it
    for (int j = 0; j < nm; j++) mstem[j] = ds_stem(masks[j]);
    int rc = 0;
    for (int i = 0; i < ni && !rc; i++) {
        char *s = ds_stem(imgs[i]);
        int hit = -1;
        for (int k = 0; spec->masks[k].suffix && !rc; k++)
            for (int j = 0; j < nm && !rc; j++) {
                if (!mask_matches(&spec->masks[k], masks[j], mstem[j], s)) continue;
                if (hit >= 0 && hit != j)
                    rc = ad_error("%s: two masks match test image %s/%s: %s and %s. Fix: keep only one", gdir, tdir,
                                  imgs[i], masks[hit], masks[j]);
                hit = j;
            }
        if (!rc && hit < 0) {
            const MaskPattern *p = &spec->masks[0];
            rc = ad_error("%s/%s: anomalous test image has no mask; expected %s/%s%s.%s. Fix: add the mask (same "
                          "file stem) or remove the image",
                          tdir, imgs[i], gdir, s, p->suffix, p->ext ? p->ext : "png");
        }
        if (!rc && used[hit])  // 000.png and 000.jpg: both would be scored against one mask
            rc = ad_error("%s: test images %s/%s and %s/%s both match the mask %s/%s (same file stem): ambiguous. Fix: "
                          "keep only one of the two images",
                          tdir, tdir, imgs[used[hit] - 1], tdir, imgs[i], gdir, masks[hit]);
        if (!rc) {
            used[hit] = i + 1;
            vec_add(out, ds_join(tdir, imgs[i]), ds_join(gdir, masks[hit]), 1, defect);
        }
        free(s);
    }
    for (int j = 0; j < nm && !rc; j++)
        if (!used[j]) {
            const MaskPattern *p = &spec->masks[0];
            size_t ls = strlen(mstem[j]), lx = strlen(p->suffix);
            int cut = ls >= lx && !strcmp(mstem[j] + ls - lx, p->suffix);
            rc = ad_error("%s/%s: mask has no matching test image (expected %s/%.*s.<image extension>). Fix: "
                          "remove the mask or add the image",
                          gdir, masks[j], tdir, (int)(cut ? ls - lx : ls), mstem[j]);
        }
    string_list_free(masks, nm);
    string_list_free(mstem, nm);
    free(used);
    return rc;
}

int ds_load_mvtec_like(const MvtecLike *spec, const char *root, const char *category, Category *out) {
    memset(out, 0, sizeof *out);
    if (!ds_is_dir(root))
        return ad_error("%s: %s dataset root folder not found. Fix: point --root (dataset root) at the folder "
                        "that holds the category folders",
                        root, spec->dataset);
    char *cat = ds_join(root, category);
    if (!ds_is_dir(cat)) {
        free(cat);
        return ds_unknown_category(spec->dataset, root, category);
    }
    char *test = ds_join(cat, "test"), *train = ds_join(cat, spec->train_dir), *gt = ds_join(cat, spec->gt_dir);
    SampleVec tr = {0}, te = {0};
    char **names = NULL, **dirs = NULL, **gdirs = NULL;
    int nn = 0, nd = 0, ng = 0, rc = 0;
    if (!ds_is_dir(test)) {
        rc = ad_error("%s: test folder not found (expected test/%s/ and test/<defect>/). Fix: check that --root "
                      "is the %s root and the category is complete",
                      test, spec->normal, spec->dataset);
        goto done;
    }
    if (ds_is_dir(train)) {
        if ((rc = ds_list_images(train, spec->skip_copies, &names, &nn))) goto done;
        for (int i = 0; i < nn; i++) vec_add(&tr, ds_join(train, names[i]), NULL, 0, "good");
        string_list_free(names, nn);
        names = NULL;
    } else if (!spec->train_optional) {
        rc = ad_error("%s: training folder not found (expected the normal training images there). Fix: check "
                      "that --root is the %s root and the category is complete",
                      train, spec->dataset);
        goto done;
    }
    if ((rc = ds_list(test, 1, &dirs, &nd))) goto done;
    for (int d = 0; d < nd && !rc; d++) {
        char *tdir = ds_join(test, dirs[d]);
        if (!(rc = ds_list_images(tdir, spec->skip_copies, &names, &nn))) {
            if (!strcmp(dirs[d], spec->normal) || (spec->normal_alt && !strcmp(dirs[d], spec->normal_alt))) {
                for (int i = 0; i < nn; i++) vec_add(&te, ds_join(tdir, names[i]), NULL, 0, "good");
            } else if (nn) {
                char *gdir = ds_join(gt, dirs[d]);
                if (ds_is_dir(gdir))
                    rc = pair_defect(spec, tdir, gdir, names, nn, dirs[d], &te);
                else if (spec->masks_optional)
                    for (int i = 0; i < nn; i++) vec_add(&te, ds_join(tdir, names[i]), NULL, 1, dirs[d]);
                else {
                    char *s = ds_stem(names[0]);
                    rc = ad_error("%s/%s: anomalous test image has no mask; expected %s/%s%s.%s (folder %s is "
                                  "missing). Fix: add the masks or remove the defect folder",
                                  tdir, names[0], gdir, s, spec->masks[0].suffix,
                                  spec->masks[0].ext ? spec->masks[0].ext : "png", gdir);
                    free(s);
                }
                free(gdir);
            }
            string_list_free(names, nn);
            names = NULL;
        }
        free(tdir);
    }
    if (rc) goto done;
    // Masks of a defect that has no test folder at all.
    if (ds_is_dir(gt)) {
        if ((rc = ds_list(gt, 1, &gdirs, &ng))) goto done;
        for (int g = 0; g < ng && !rc; g++) {
            char *tdir = ds_join(test, gdirs[g]);
            if (!ds_is_dir(tdir)) {
                char *gdir = ds_join(gt, gdirs[g]);
                if (!(rc = ds_list_images(gdir, spec->skip_copies, &names, &nn)) && nn)
                    rc = ad_error("%s/%s: mask has no matching test image (folder %s does not exist). Fix: "
                                  "remove the mask folder or add the images",
                                  gdir, names[0], tdir);
                string_list_free(names, nn);
                names = NULL;
                free(gdir);
            }
            free(tdir);
        }
    }
    if (rc) goto done;
    if (!te.n) {
        rc = ad_error("%s: empty category: no test images (expected image files in test/%s/ and "
                      "test/<defect>/). Fix: check the dataset copy",
                      test, spec->normal);
        goto done;
    }
    int n_normal = 0;
    for (int i = 0; i < te.n; i++) n_normal += !te.v[i].label;
    if (!n_normal) {
        if (spec->normal_alt)
            ds_warn("%s: no normal test image (test/%s/ and test/%s/ are missing or empty): every test image is "
                    "anomalous, so AUROC and AU-PRO are NaN and AP = F1-max = 1. Fix: put normal test images in "
                    "test/%s/ (every other folder under test/ is a defect class)",
                    test, spec->normal, spec->normal_alt, spec->normal);
        else
            ds_warn("%s: no normal test image (test/%s/ is missing or empty): every test image is anomalous, so "
                    "AUROC and AU-PRO are NaN and AP = F1-max = 1. Fix: put normal test images in test/%s/",
                    test, spec->normal, spec->normal);
    }
    out->dataset = ad_strdup(spec->dataset);
    out->name = ad_strdup(category);
    out->train = tr.v;
    out->n_train = tr.n;
    out->test = te.v;
    out->n_test = te.n;
    ds_sort_test(out);
    tr = te = (SampleVec){0};
done:
    samples_free(tr.v, tr.n);
    samples_free(te.v, te.n);
    string_list_free(dirs, nd);
    string_list_free(gdirs, ng);
    free(test);
    free(train);
    free(gt);
    free(cat);
    return rc;
}

// ---- validation (datasets check) ---------------------------------------------------------

// One sample: header (or full decode), mask decode and size check. Returns a malloc'd message
// or NULL; the error text is thread-local, so it is copied out here.
static char *validate_one(const Sample *s, int full, int *w, int *h) {
    int rc;
    if (full) {
        ImageU8 im = {0};
        rc = image_read_rgb8(s->path, &im);
        *w = im.w;
        *h = im.h;
        image_u8_free(&im);
    } else {
        rc = image_size(s->path, w, h);
    }
    if (rc) return ad_strdup(ad_last_error());
    if (!s->mask_path) return NULL;
    ImageU8 m = {0};
    if (mask_read(s->mask_path, &m)) return ad_strdup(ad_last_error());
    int mw = m.w, mh = m.h;
    image_u8_free(&m);
    if (mw != *w || mh != *h)
        return ad_sprintf("%s: mask is %dx%d but its image %s is %dx%d. Fix: a mask must have its image's size",
                          s->mask_path, mw, mh, s->path, *w, *h);
    return NULL;
}

int category_validate(const Category *c, int full_decode, int *min_w, int *min_h, int *max_w, int *max_h) {
    int n = c->n_train + c->n_test;
    int *wh = ad_calloc((size_t)(2 * n + 1), sizeof *wh);
    char **err = ad_calloc((size_t)(n + 1), sizeof *err);
    // Independent per file; the first error in (train, test) order is reported, whatever the threads.
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < n; i++) {
        const Sample *s = i < c->n_train ? &c->train[i] : &c->test[i - c->n_train];
        err[i] = validate_one(s, full_decode, &wh[2 * i], &wh[2 * i + 1]);
    }
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (err[i] && !rc) rc = ad_error("%s", err[i]);
    int lo_w = 0, lo_h = 0, hi_w = 0, hi_h = 0;
    for (int i = 0; i < n && !rc; i++) {
        int w = wh[2 * i], h = wh[2 * i + 1];
        if (!i || w < lo_w) lo_w = w;
        if (!i || h < lo_h) lo_h = h;
        if (!i || w > hi_w) hi_w = w;
        if (!i || h > hi_h) hi_h = h;
    }
    for (int i = 0; i < n; i++) free(err[i]);
    free(err);
    free(wh);
    if (min_w) *min_w = lo_w;
    if (min_h) *min_h = lo_h;
    if (max_w) *max_w = hi_w;
    if (max_h) *max_h = hi_h;
    return rc;
}
