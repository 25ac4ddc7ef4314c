// adbench datasets check --dataset NAME --root DIR [--category C]
// adbench datasets list
// `check` loads every category (or one) through its adapter, reads the header of every
// image (--decode: all pixels), reads every mask and requires it to have its image's size, then prints counts per
// category (train, test good, test defective per defect type) and totals. The first problem
// ends it with one message naming the path (exit 1).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "opts.h"

static void print_defects(const Category *c) {
    const char *prev = NULL;
    int cnt = 0, first = 1;
    for (int i = 0; i <= c->n_test; i++) {
        const Sample *s = i < c->n_test ? &c->test[i] : NULL;
        if (s && !s->label) continue;
        if (prev && (!s || strcmp(prev, s->defect))) {
            printf("%s%s=%d", first ? "" : " ", prev, cnt);
            first = 0;
            cnt = 0;
        }
        if (s) {
            prev = s->defect;
            cnt++;
        }
    }
    if (first) printf("-");
}

static int check(const char *dataset, const char *root, const char *only, int full) {
    const DatasetAdapter *a = dataset_find(dataset);
    if (!a) return -1;
    char **names = NULL;
    int n = 0;
    if (only) {
        names = ad_malloc(sizeof *names);
        names[0] = ad_strdup(only);
        n = 1;
    } else if (a->list_categories(root, &names, &n)) {
        return -1;
    }
    printf("dataset %s  root %s  mask_rule %s  rscin_k %d,%d,%d\n", a->name, root, a->mask_rule, a->rscin_k[0],
           a->rscin_k[1], a->rscin_k[2]);
    printf("%-20s %7s %9s %14s  %-13s %s\n", "category", "train", "test_good", "test_defective", "size(WxH)",
           "defect types");
    long t_train = 0, t_good = 0, t_def = 0;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        Category c;
        if (a->load(root, names[i], &c)) {
            rc = -1;
            break;
        }
        int w0, h0, w1, h1;
        if (category_validate(&c, full, &w0, &h0, &w1, &h1)) {
            category_free(&c);
            rc = -1;
            break;
        }
        int good = 0, def = 0;
        for (int k = 0; k < c.n_test; k++) c.test[k].label ? def++ : good++;
        char size[64];
        if (w0 == w1 && h0 == h1)
            snprintf(size, sizeof size, "%dx%d", w0, h0);
        else
            snprintf(size, sizeof size, "%d..%dx%d..%d", w0, w1, h0, h1);
        printf("%-20s %7d %9d %14d  %-13s ", c.name, c.n_train, good, def, size);
        print_defects(&c);
        if (!category_has_masks(&c)) printf("  (some anomalous images have no mask)");
        printf("\n");
        t_train += c.n_train;
        t_good += good;
        t_def += def;
        category_free(&c);
    }
    if (!rc) {
        printf("%-20s %7ld %9ld %14ld\n", "total", t_train, t_good, t_def);
        // Say what was checked: without --decode only the headers were read.
        printf("ok: %d categor%s, %ld images, %s, every mask paired and of its image's size\n", n, n == 1 ? "y" : "ies",
               t_train + t_good + t_def,
               full ? "every image decoded" : "every image header read (sizes only; --decode decodes every image)");
    }
    string_list_free(names, n);
    return rc;
}

static void list_adapters(void) {
    static const char *const NAMES[] = {"mvtec", "visa", "rad", "btad", "mpdd", "folder", "synth"};
    static const char *const WHAT[] = {
        "MVTec AD: <cat>/train/good, test/good, test/<defect>, ground_truth/<defect>/<stem>_mask.png",
        "VisA: raw archive read through split_csv/1cls.csv (or a prepared visa_pytorch tree)",
        "RAD: MVTec-like, masks ground_truth/<defect>/<same name>.png; \"x (1).png\" copies skipped",
        "BTAD: <01|02|03>/train/ok, test/ok, test/ko, ground_truth/ko/<stem>.<png|bmp>",
        "MPDD: MVTec-like, masks <stem>_mask.png or <stem>.png",
        "plain: <cat>/train/*, test/normal/*, test/<defect>/*, masks/<defect>/<stem>.<ext> (optional)",
        "adbench synth output (MVTec AD layout)",
    };
    printf("%-7s %-6s %-8s %s\n", "dataset", "masks", "rscin_k", "layout");
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        const DatasetAdapter *a = dataset_find(NAMES[i]);
        if (!a) continue;
        char k[32];
        snprintf(k, sizeof k, "%d,%d,%d", a->rscin_k[0], a->rscin_k[1], a->rscin_k[2]);
        printf("%-7s %-6s %-8s %s\n", a->name, a->mask_rule, k, WHAT[i]);
    }
}

int cmd_datasets(int argc, char **argv) {
    const char *dataset = NULL, *root = NULL, *category = NULL, *decode = NULL, *help = NULL;
    const Opt opts[] = {
        {"dataset", 1, &dataset, "adapter name (adbench datasets list)"},
        {"root", 1, &root, "dataset root folder (holds the category folders; VisA: holds split_csv/)"},
        {"category", 1, &category, "check only this category"},
        {"decode", 0, &decode, "decode every image fully (also catches truncated files; slower)"},
        {"help", 0, &help, "this help"},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int np = opts_parse("datasets", argc, argv, 2, opts, n_opts, pos, 1);
    if (np < 0) ad_die_user();
    if (help || np == 0) {
        opts_usage("datasets", "check --dataset NAME --root DIR [--category C] | list", opts, n_opts);
        return help ? 0 : 1;
    }
    if (!strcmp(pos[0], "list")) {
        list_adapters();
        return 0;
    }
    if (strcmp(pos[0], "check")) {
        ad_error("adbench datasets: unknown action '%s'. Fix: use 'check' or 'list'", pos[0]);
        ad_die_user();
    }
    if (!dataset || !root) {
        ad_error("adbench datasets check: --dataset and --root are required (datasets: %s)", dataset_names());
        ad_die_user();
    }
    if (check(dataset, root, category, decode != NULL)) ad_die_user();
    return 0;
}
