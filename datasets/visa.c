// VisA (Zou et al., ECCV 2022; amazon-science/spot-diff).
//
// Raw archive (preferred): <root>/split_csv/1cls.csv with header object,split,label,image,mask;
// split in {train, test}, label in {normal, anomaly}; image and mask relative to <root>
// (e.g. candle/Data/Images/Anomaly/000.JPG, candle/Data/Masks/Anomaly/000.png); mask empty
// for normal rows. Masks hold defect class ids 1..K (not 255): nonzero = anomalous ("gt0").
// Anomalous samples get defect "anomaly" (1cls.csv carries no defect type).
//
// Prepared trees are accepted too when split_csv/1cls.csv is absent: spot-diff's
// VisA_pytorch/1cls (pass VisA_pytorch or VisA_pytorch/1cls as root) and anomalib's
// visa_pytorch: <object>/{train/good, test/good, test/bad, ground_truth/bad/<same stem>.png}.
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "err.h"

static const MaskPattern VISA_MASKS[] = {{"", "png"}, {NULL, NULL}};
static const MvtecLike VISA_PREP = {"visa", "train/good", 0, "good", "ground_truth", VISA_MASKS, 0, 0, NULL};

// ---- split CSV ---------------------------------------------------------------------------

typedef struct {
    Sample *v;
    int n, cap;
} Vec;

typedef struct {
    char *name;
    Vec train, test;
} Obj;

typedef struct {
    const char *csv, *root;
    char *f[8];  // fields of the current row (only the first 8 kept)
    int nf;
    long line;   // 1-based line of the current record
    int rc;
    Obj *objs;
    int n_objs;
} Parse;

static void vec_push(Vec *v, Sample s) {
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 256;
        v->v = ad_realloc(v->v, (size_t)v->cap * sizeof *v->v);
    }
    v->v[v->n++] = s;
}

static void on_field(void *s, size_t len, void *data) {
    Parse *p = data;
    if (p->rc) return;
    if (p->nf < 8) {
        char *t = ad_malloc(len + 1);
        memcpy(t, s, len);
        t[len] = 0;
        p->f[p->nf] = t;
    }
    p->nf++;
}

static char *rel(const Parse *p, const char *path) { return p->root ? ds_join(p->root, path) : ad_strdup(path); }

static void on_row(int c, void *data) {
    (void)c;
    Parse *p = data;
    int nf = p->nf < 8 ? p->nf : 8;
    p->line++;
    if (p->rc) goto clear;
    if (p->nf == 0 || (p->nf == 1 && !p->f[0][0])) goto clear;  // blank line
    if (p->line == 1) {
        // Tolerate a UTF-8 byte-order mark before the header.
        const char *h0 = p->f[0];
        if (!strncmp(h0, "\xEF\xBB\xBF", 3)) h0 += 3;
        static const char *const H[5] = {"object", "split", "label", "image", "mask"};
        int ok = p->nf == 5 && !strcmp(h0, H[0]);
        for (int i = 1; i < 5 && ok; i++) ok = !strcmp(p->f[i], H[i]);
        if (!ok)
            p->rc = ad_error("%s:1: expected the header object,split,label,image,mask, found '%s%s%s...' (%d "
                             "fields). Fix: use VisA's split_csv/1cls.csv",
                             p->csv, p->f[0], p->nf > 1 ? "," : "", p->nf > 1 ? p->f[1] : "", p->nf);
        goto clear;
    }
    if (p->nf != 5) {
        p->rc = ad_error("%s:%ld: expected 5 fields (object,split,label,image,mask), found %d. Fix: repair the "
                         "row or re-download split_csv/1cls.csv",
                         p->csv, p->line, p->nf);
        goto clear;
    }
    const char *obj = p->f[0], *split = p->f[1], *label = p->f[2], *img = p->f[3], *mask = p->f[4];
    int train = !strcmp(split, "train"), anomaly = !strcmp(label, "anomaly");
    if (!obj[0] || !img[0])
        p->rc = ad_error("%s:%ld: empty object or image field. Fix: repair the row", p->csv, p->line);
    else if (!train && strcmp(split, "test"))
        p->rc = ad_error("%s:%ld: split must be 'train' or 'test', found '%s'. Fix: repair the row", p->csv, p->line,
                         split);
    else if (!anomaly && strcmp(label, "normal"))
        p->rc = ad_error("%s:%ld: label must be 'normal' or 'anomaly', found '%s'. Fix: repair the row", p->csv,
                         p->line, label);
    else if (anomaly && !mask[0])
        p->rc = ad_error("%s:%ld: anomalous image %s has an empty mask field. Fix: give its mask path", p->csv,
                         p->line, img);
    else if (!anomaly && mask[0])
        p->rc = ad_error("%s:%ld: normal image %s has a mask (%s); normal rows leave mask empty. Fix: repair the "
                         "row",
                         p->csv, p->line, img, mask);
    else if (train && anomaly)
        p->rc = ad_error("%s:%ld: anomalous image %s in the train split; the 1-class protocol trains on normal "
                         "images only. Fix: use split_csv/1cls.csv (the 2cls files are not supported)",
                         p->csv, p->line, img);
    if (p->rc) goto clear;
    int k = 0;
    while (k < p->n_objs && strcmp(p->objs[k].name, obj)) k++;
    if (k == p->n_objs) {
        p->objs = ad_realloc(p->objs, (size_t)(k + 1) * sizeof *p->objs);
        p->objs[k] = (Obj){ad_strdup(obj), {0}, {0}};
        p->n_objs++;
    }
    Sample s = {rel(p, img), anomaly ? rel(p, mask) : NULL, anomaly, ad_strdup(anomaly ? "anomaly" : "good")};
    vec_push(train ? &p->objs[k].train : &p->objs[k].test, s);
clear:
    for (int i = 0; i < nf; i++) free(p->f[i]);
    p->nf = 0;
}

static int cmp_obj(const void *a, const void *b) { return strcmp(((const Obj *)a)->name, ((const Obj *)b)->name); }

int visa_read_split(const char *csv_path, const char *root, Category **cats, int *n) {
    *cats = NULL;
    *n = 0;
    FILE *f = fopen(csv_path, "rb");
    if (!f)
        return ad_error("%s: cannot open the VisA split file. Fix: point --root at the VisA folder that holds "
                        "split_csv/1cls.csv",
                        csv_path);
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI)) AD_INTERNAL("csv_init failed");
    Parse p = {.csv = csv_path, .root = root};
    char buf[65536];
    size_t got;
    while (!p.rc && (got = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&cp, buf, got, on_field, on_row, &p) != got && !p.rc)
            p.rc = ad_error("%s: malformed CSV near line %ld (%s). Fix: repair the file or re-download it", csv_path,
                            p.line + 1, csv_strerror(csv_error(&cp)));
    if (!p.rc && csv_fini(&cp, on_field, on_row, &p) && !p.rc)
        p.rc = ad_error("%s: malformed CSV at the end of the file (%s). Fix: repair the file or re-download it",
                        csv_path, csv_strerror(csv_error(&cp)));
    for (int i = 0; i < (p.nf < 8 ? p.nf : 8); i++) free(p.f[i]);
    csv_free(&cp);
    fclose(f);
    if (!p.rc && p.line == 0) p.rc = ad_error("%s: empty file; expected VisA's split CSV. Fix: re-download it", csv_path);
    if (!p.rc && !p.n_objs) p.rc = ad_error("%s: no data rows after the header. Fix: re-download it", csv_path);
    if (p.n_objs > 1) qsort(p.objs, (size_t)p.n_objs, sizeof *p.objs, cmp_obj);
    if (!p.rc) {
        *cats = ad_calloc((size_t)p.n_objs, sizeof **cats);
        *n = p.n_objs;
    }
    for (int k = 0; k < p.n_objs; k++) {
        Obj *o = &p.objs[k];
        if (!p.rc) {
            Category *c = &(*cats)[k];
            c->dataset = ad_strdup("visa");
            c->name = o->name;
            c->train = o->train.v;
            c->n_train = o->train.n;
            c->test = o->test.v;
            c->n_test = o->test.n;
            ds_sort_test(c);
        } else {
            Category c = {NULL, o->name, o->train.v, o->train.n, o->test.v, o->test.n};
            category_free(&c);
        }
    }
    free(p.objs);
    return p.rc;
}

// ---- adapter -----------------------------------------------------------------------------

static char *split_csv(const char *root) { return ds_join(root, "split_csv/1cls.csv"); }

// Prepared trees: root itself, or root/1cls (spot-diff's VisA_pytorch).
static char *prepared_root(const char *root) {
    char *r = ds_join(root, "1cls");
    if (ds_is_dir(r)) return r;
    free(r);
    return ad_strdup(root);
}

static int not_visa(const char *root) {
    return ad_error("%s: not a VisA root: expected split_csv/1cls.csv (the raw VisA archive) or a prepared "
                    "visa_pytorch tree (<object>/train/good, test/good, test/bad, ground_truth/bad). Fix: point "
                    "--root at the folder that holds split_csv/",
                    root);
}

static int visa_list(const char *root, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    if (!ds_is_dir(root))
        return ad_error("%s: visa dataset root folder not found. Fix: point --root at the VisA folder (the one "
                        "that holds split_csv/)",
                        root);
    char *csv = split_csv(root);
    if (ds_is_file(csv)) {
        Category *cats;
        int nc;
        int rc = visa_read_split(csv, root, &cats, &nc);
        free(csv);
        if (rc) return -1;
        *names = ad_malloc((size_t)nc * sizeof **names);
        for (int i = 0; i < nc; i++) {
            (*names)[i] = ad_strdup(cats[i].name);
            category_free(&cats[i]);
        }
        free(cats);
        *n = nc;
        return 0;
    }
    free(csv);
    char *pr = prepared_root(root);
    int rc = ds_list_mvtec_like(&VISA_PREP, pr, names, n);
    free(pr);
    return rc ? not_visa(root) : 0;
}

static int visa_load(const char *root, const char *category, Category *out) {
    memset(out, 0, sizeof *out);
    if (!ds_is_dir(root))
        return ad_error("%s: visa dataset root folder not found. Fix: point --root at the VisA folder (the one "
                        "that holds split_csv/)",
                        root);
    char *csv = split_csv(root);
    if (!ds_is_file(csv)) {
        free(csv);
        char *pr = prepared_root(root);
        char **names;
        int n;
        if (ds_list_mvtec_like(&VISA_PREP, pr, &names, &n)) {
            free(pr);
            return not_visa(root);
        }
        string_list_free(names, n);
        int rc = ds_load_mvtec_like(&VISA_PREP, pr, category, out);
        free(pr);
        return rc;
    }
    Category *cats;
    int nc;
    int rc = visa_read_split(csv, root, &cats, &nc);
    if (rc) {
        free(csv);
        return -1;
    }
    int k = 0;
    while (k < nc && strcmp(cats[k].name, category)) k++;
    if (k == nc) {
        char list[1024] = "";
        for (int i = 0; i < nc; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", cats[i].name);
        rc = ad_error("%s: no object '%s' in the split file; known categories: %s. Fix: use one of them", csv,
                      category, list);
    } else {
        Category *c = &cats[k];
        // Every row must point at existing files (a partial copy is the usual cause).
        for (int pass = 0; pass < 2 && !rc; pass++) {
            const Sample *s = pass ? c->test : c->train;
            int ns = pass ? c->n_test : c->n_train;
            for (int i = 0; i < ns && !rc; i++) {
                const char *miss = !ds_is_file(s[i].path) ? s[i].path
                                   : (s[i].mask_path && !ds_is_file(s[i].mask_path)) ? s[i].mask_path
                                                                                      : NULL;
                if (miss)
                    rc = ad_error("%s: file listed in %s (object %s) does not exist. Fix: restore the VisA copy "
                                  "or fix the split file",
                                  miss, csv, category);
            }
        }
        if (!rc && !c->n_test)
            rc = ad_error("%s: empty category: object '%s' has no test rows. Fix: use split_csv/1cls.csv", csv,
                          category);
        if (!rc) {
            *out = *c;
            memset(c, 0, sizeof *c);
        }
    }
    for (int i = 0; i < nc; i++) category_free(&cats[i]);
    free(cats);
    free(csv);
    return rc;
}

const DatasetAdapter visa_adapter = {"visa", "gt0", {1, 8, 9}, visa_list, visa_load};
