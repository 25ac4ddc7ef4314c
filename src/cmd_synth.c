// adbench synth --out DIR [options]: a seeded synthetic dataset in MVTec AD layout
// (datasets/synth.c), loadable as dataset "synth" (or "mvtec"). Options and defaults:
//   --seed N              RNG seed (0); same seed -> byte-identical files, any thread count
//   --size S              image side in pixels (224, the pixel backbone's default input size)
//   --kind K              texture (woven threads), object (machined disc) or mixed (alternating)
//   --categories C        a count (1) or comma-separated names; default names woven<i> / disc<i>
//   --n-train N           normal training images per category (16)
//   --n-good N            normal test images (24)
//   --consistent SPEC     consistent defect types "SHAPE:m,..." (shapes scratch, blob, hole,
//                         stain, patch): each type has one fixed appearance that recurs in m
//                         test images at random positions; overrides the next two options
//   --n-consistent-types K  number of consistent types (2), shapes patch, blob, scratch, ...
//   --m M                 images per consistent type (12)
//   --n-unique N          test images with a unique random defect each (12)
//   --defect-scale F      defect radius as a fraction of the image side (0.06)
//   --contrast F          blend weight of the defect colour over the surface, (0,1] (0.5)
//   --align A             defect centres on multiples of A pixels (8): a consistent defect then
//                         covers the same pixels of any patch grid whose stride divides A (the
//                         pixel backbone at --size, stride 8); 1 = anywhere
// MuSc's interval average covers the lowest 30% of the N-1 other test images; a consistent
// type defeats it once m - 1 >= 0.3 (N - 1) (N = n_good + sum m + n_unique).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "fsutil.h"
#include "opts.h"
#include "synth.h"

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || e == s || v < lo || v > hi)
        return ad_error("--%s: expected an integer in [%ld, %ld], found '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || *e || e == s) return ad_error("--%s: expected a number, found '%s'", opt, s);
    *out = v;
    return 0;
}

// The set is written into a fresh temporary folder next to --out and moved into place only
// when complete (a full disk used to leave a partial set that the next synth refused to
// overwrite). A new --out is one rename; into an existing folder the categories are renamed
// in, the manifest last. On failure only the temporary folder (ours) is removed.
static int write_atomic(const SynthConfig *c, const char *out) {
    char *parent = ad_strdup(out);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/') parent[--len] = 0;
    struct stat st;
    int exists = !stat(parent, &st), rc = 0;
    char name[128];
    if (exists) {  // refuse before generating anything: a previous set, or one of its categories
        char *m = ad_sprintf("%s/synth_manifest.json", parent);
        if (!lstat(m, &st))
            rc = ad_error("%s: already exists; adbench synth does not overwrite a previous set. Fix: choose an empty "
                          "--out or delete the old set", m);
        free(m);
        for (int k = 0; k < c->n_categories && !rc; k++) {
            char *d = ad_sprintf("%s/%s", parent, synth_category_name(c, k, name, sizeof name));
            if (!lstat(d, &st))
                rc = ad_error("%s: already exists; adbench synth does not overwrite it. Fix: choose an empty --out or "
                              "delete the old category", d);
            free(d);
        }
    }
    if (!rc && !exists) {  // the folders above --out, as synth_write(out) made them
        char *up = ad_strdup(parent), *slash = strrchr(up, '/');
        if (slash && slash != up) {
            *slash = 0;
            rc = fs_mkdirs(up);
        }
        free(up);
    }
    char *tmp = rc ? NULL : fs_mkdtemp(parent);
    if (!tmp) {
        free(parent);
        return -1;
    }
    rc = synth_write(c, tmp);
    if (!rc && !exists) {
        if (rename(tmp, parent)) rc = ad_error("%s: cannot move the generated set into place (%s)", out, strerror(errno));
    } else if (!rc) {
        for (int k = 0; k <= c->n_categories && !rc; k++) {  // categories, then the manifest
            const char *nm = k < c->n_categories ? synth_category_name(c, k, name, sizeof name) : "synth_manifest.json";
            char *a = ad_sprintf("%s/%s", tmp, nm), *b = ad_sprintf("%s/%s", parent, nm);
            if (rename(a, b)) rc = ad_error("%s: cannot move %s into place (%s)", b, a, strerror(errno));
            free(a), free(b);
        }
    }
    if (!stat(tmp, &st)) {
        char keep[4096];
        snprintf(keep, sizeof keep, "%s", ad_last_error());
        fs_rm_tree(tmp);
        ad_error("%s", keep);
    }
    free(tmp);
    free(parent);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    const char *out = NULL, *seed = NULL, *size = NULL, *kind = NULL, *cats = NULL, *n_train = NULL, *n_good = NULL,
               *consistent = NULL, *n_types = NULL, *m = NULL, *n_unique = NULL, *scale = NULL, *contrast = NULL,
               *align = NULL, *help = NULL;
    const Opt opts[] = {
        {"out", 1, &out, "output folder (required); refuses to overwrite an existing set"},
        {"seed", 1, &seed, "RNG seed (0): same seed -> byte-identical files, any thread count"},
        {"size", 1, &size, "image side in pixels (224 = the pixel backbone's default input)"},
        {"kind", 1, &kind, "texture | object | mixed (texture): woven threads, machined disc, alternating"},
        {"categories", 1, &cats, "count (1) or comma-separated names (default names woven<i> / disc<i>)"},
        {"n-train", 1, &n_train, "normal training images per category (16)"},
        {"n-good", 1, &n_good, "normal test images per category (24)"},
        {"consistent", 1, &consistent,
         "consistent types 'SHAPE:m,...' (shapes scratch, blob, hole, stain, patch); one fixed appearance "
         "recurring in m test images; overrides --n-consistent-types/--m"},
        {"n-consistent-types", 1, &n_types, "number of consistent types (2), shapes patch, blob, scratch, stain, hole"},
        {"m", 1, &m, "test images per consistent type (12)"},
        {"n-unique", 1, &n_unique, "test images with a unique random defect each (12)"},
        {"defect-scale", 1, &scale, "defect radius / image side (0.06)"},
        {"contrast", 1, &contrast, "blend weight of the defect colour, in (0,1] (0.5)"},
        {"align", 1, &align,
         "defect centres on multiples of this many pixels (8), so consistent defects line up with a patch grid "
         "of stride 8 at --size; 1 = anywhere"},
        {"help", 0, &help, "this help"},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    if (opts_parse("synth", argc, argv, 2, opts, n_opts, NULL, 0) < 0) ad_die_user();
    if (help || !out) {
        opts_usage("synth", "--out DIR [options]", opts, n_opts);
        fprintf(help ? stdout : stderr,
                "\nWrites DIR/<category>/{train/good, test/good, test/consistent_<shape>, test/unique,\n"
                "ground_truth/<defect>/NNN_mask.png} (MVTec AD layout; masks 0/255 = the drawn defect) and\n"
                "DIR/synth_manifest.json (parameters; per test image its defect, shape, consistent flag, bbox).\n"
                "Load it with --dataset synth (or mvtec). MuSc's 30%% interval is defeated once\n"
                "m - 1 >= 0.3 (N - 1), N = n-good + sum of m + n-unique.\n");
        if (!out && !help) {
            ad_error("adbench synth: --out DIR is required");
            ad_die_user();
        }
        return 0;
    }
    SynthConfig c;
    synth_config_default(&c);
    long v;
    char **names = NULL;
    int rc = 0;
    if (!rc && seed) {
        char *e;
        errno = 0;
        unsigned long long s = strtoull(seed, &e, 10);
        if (errno || *e || e == seed || seed[0] == '-')
            rc = ad_error("--seed: expected a non-negative integer, found '%s'", seed);
        c.seed = s;
    }
    if (!rc && size && !(rc = parse_int("size", size, 32, 4096, &v))) c.size = (int)v;
    if (!rc && kind) {
        if (!strcmp(kind, "texture")) c.kind = SYNTH_TEXTURE;
        else if (!strcmp(kind, "object")) c.kind = SYNTH_OBJECT;
        else if (!strcmp(kind, "mixed")) c.kind = SYNTH_MIXED;
        else rc = ad_error("--kind: expected texture, object or mixed, found '%s'", kind);
    }
    if (!rc && cats) {
        if (cats[0] >= '0' && cats[0] <= '9' && strspn(cats, "0123456789") == strlen(cats)) {
            if (!(rc = parse_int("categories", cats, 1, 1000, &v))) c.n_categories = (int)v;
        } else {
            int n = 1;
            for (const char *p = cats; *p; p++) n += *p == ',';
            names = ad_calloc((size_t)n, sizeof *names);
            const char *p = cats;
            for (int i = 0; i < n; i++) {
                size_t len = strcspn(p, ",");
                names[i] = ad_malloc(len + 1);
                memcpy(names[i], p, len);
                names[i][len] = 0;
                p += len + (p[len] == ',');
            }
            c.n_categories = n;
            c.names = names;
        }
    }
    if (!rc && n_train && !(rc = parse_int("n-train", n_train, 0, 100000, &v))) c.n_train = (int)v;
    if (!rc && n_good && !(rc = parse_int("n-good", n_good, 0, 100000, &v))) c.n_good = (int)v;
    if (!rc && n_unique && !(rc = parse_int("n-unique", n_unique, 0, 100000, &v))) c.n_unique = (int)v;
    if (!rc && consistent) {
        if (n_types || m)
            rc = ad_error("--consistent cannot be combined with --n-consistent-types/--m. Fix: use one form");
        else
            rc = synth_parse_consistent(&c, consistent);
    } else if (!rc && (n_types || m)) {
        long k = c.n_consistent, mm = c.consistent[0].m;
        if (n_types) rc = parse_int("n-consistent-types", n_types, 0, SYNTH_MAX_TYPES, &k);
        if (!rc && m) rc = parse_int("m", m, 1, 100000, &mm);
        if (!rc) rc = synth_set_consistent(&c, (int)k, (int)mm);
    }
    if (!rc && scale) rc = parse_double("defect-scale", scale, &c.defect_scale);
    if (!rc && contrast) rc = parse_double("contrast", contrast, &c.contrast);
    if (!rc && align && !(rc = parse_int("align", align, 1, 4096, &v))) c.align = (int)v;
    if (!rc) rc = write_atomic(&c, out);
    if (!rc) {
        int n_test = c.n_good + c.n_unique;
        for (int t = 0; t < c.n_consistent; t++) n_test += c.consistent[t].m;
        printf("wrote %d categor%s to %s: %d train + %d test images each (%d good, %d unique", c.n_categories,
               c.n_categories == 1 ? "y" : "ies", out, c.n_train, n_test, c.n_good, c.n_unique);
        for (int t = 0; t < c.n_consistent; t++)
            printf(", %s x%d consistent", synth_shape_name(c.consistent[t].shape), c.consistent[t].m);
        printf("); manifest %s/synth_manifest.json\n", out);
    }
    if (names) {
        for (int i = 0; i < c.n_categories; i++) free(names[i]);
        free(names);
    }
    if (rc) ad_die_user();
    return 0;
}
