// Config parsing: schema, grids (nested), --set overrides, and every error message with
// its file:line. Methods and backbones are test doubles (stable ParamSpec tables); dataset
// names go through the real registry.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "util_test.h"

static const ParamSpec BB_SPEC[] = {
    {"weights", PT_STRING, "", 1, 0, "weights"},
    {"size", PT_INT, "224", 8, 4096, "input size"},
    {"layers", PT_INT_LIST, "[6,12,18,24]", 1, 64, "layers"},
    {"act", PT_STRING, "auto", 1, 0, "activation"},
    PARAM_END};
static const ParamSpec MUSC_SPEC[] = {
    {"topmin_max", PT_DOUBLE, "0.3", 0, 1e9, "interval end"},
    {"degrees", PT_INT_LIST, "[1,3,5]", 1, 15, "r"},
    {"rscin", PT_BOOL, "true", 1, 0, "rscin"},
    PARAM_END};
static const ParamSpec PC_SPEC[] = {{"num_nn", PT_INT, "1", 1, 1000, "k"}, PARAM_END};

static const BackboneDriver FAKE_BB = {"vit", BB_SPEC, NULL, NULL, NULL, NULL, NULL};
static const Method FAKE_MUSC = {"musc", 0, MUSC_SPEC, NULL, NULL, 0};
static const Method FAKE_PC = {"patchcore", 1, PC_SPEC, NULL, NULL, 1};

static const BackboneDriver *bb_find(const char *n) {
    if (!strcmp(n, "vit")) return &FAKE_BB;
    ad_error("unknown backbone '%s'; expected one of: vit, pixel", n);
    return NULL;
}
static const Method *m_find(const char *n) {
    if (!strcmp(n, "musc")) return &FAKE_MUSC;
    if (!strcmp(n, "patchcore")) return &FAKE_PC;
    ad_error("unknown method '%s'; expected one of: musc, patchcore", n);
    return NULL;
}
static const Registry REG = {NULL, bb_find, m_find};

// Line numbers below are relied on by the message tests.
static const char *BASE =
    "name: t\n"                                    // 1
    "datasets:\n"                                  // 2
    "  - name: mvtec\n"                            // 3
    "    root: /data/mvtec\n"                      // 4
    "    categories: [screw, bottle]\n"            // 5
    "backbone:\n"                                  // 6
    "  name: vit\n"                                // 7
    "  size: 518\n"                                // 8
    "methods:\n"                                   // 9
    "  - name: musc\n"                             // 10
    "    topmin_max: 0.3\n"                        // 11
    "  - name: patchcore\n"                        // 12
    "    shots: 4\n"                               // 13
    "evaluation:\n"                                // 14
    "  resolution: resized:256\n"                  // 15
    "  image_score: max\n"                         // 16
    "seed: 3\n"                                    // 17
    "cache_dir: none\n";                           // 18

static char *with_line(const char *base, int line, const char *text) {
    // Replace line `line` (1-based) of base with text.
    char *out = ad_malloc(strlen(base) + strlen(text) + 2);
    out[0] = 0;
    const char *p = base;
    for (int l = 1; *p; l++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        if (l == line) {
            strcat(out, text);
            strcat(out, "\n");
        } else {
            strncat(out, p, len);
        }
        p += len;
    }
    return out;
}

static void expect_error(const char *text, const char *const *sets, int n_sets, const char *needle) {
    Config c;
    int rc = config_load_string(&c, "configs/x.yaml", text, sets, n_sets, &REG);
    cr_assert_eq(rc, -1, "expected an error containing \"%s\"", needle);
    cr_assert(strstr(ad_last_error(), needle), "message \"%s\" lacks \"%s\"", ad_last_error(), needle);
}

Test(config, parses_schema) {
    Config c;
    cr_assert_eq(config_load_string(&c, "configs/x.yaml", BASE, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(c.n_variants, 1);
    cr_assert_str_eq(c.name, "t");
    cr_assert_eq(strlen(c.hash), 16);
    const Variant *v = &c.variants[0];
    cr_assert_eq(v->n_datasets, 1);
    cr_assert_str_eq(v->datasets[0].name, "mvtec");
    cr_assert_str_eq(v->datasets[0].root, "/data/mvtec");
    cr_assert_eq(v->datasets[0].n_categories, 2);
    cr_assert_str_eq(v->datasets[0].categories[1], "bottle");
    cr_assert_eq(v->backbone.drv, &FAKE_BB);
    cr_assert_eq(params_int(&v->backbone.params, "size"), 518);
    cr_assert_eq(v->n_methods, 2);
    cr_assert_eq(v->methods[0].m, &FAKE_MUSC);
    cr_assert_float_eq(params_double(&v->methods[0].params, "topmin_max"), 0.3, 1e-15);
    cr_assert_eq(v->methods[1].shots, 4);
    cr_assert_eq(v->eval.resized, 1);
    cr_assert_eq(v->eval.size, 256);
    cr_assert_eq(v->eval.image_score_max, 1);
    cr_assert_str_eq(v->eval.mask_rule, "auto");
    cr_assert_float_eq(v->eval.pro_limit, 0.3, 1e-15);
    cr_assert_eq(v->seed, 3);
    cr_assert_null(v->cache_dir);
    cr_assert_str_eq(v->out_dir, "results/runs/t");
    cr_assert_str_eq(v->grid_point, "");
    config_free(&c);
}

Test(config, grids_expand_to_cartesian_product) {
    char *t1 = with_line(BASE, 8, "  size: {grid: [224, 518]}");
    char *t2 = with_line(t1, 11, "    topmin_max:\n      grid: [0.1, 0.3]");  // block style
    Config c;
    cr_assert_eq(config_load_string(&c, "g.yaml", t2, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(c.n_variants, 4);
    int sizes[4] = {224, 224, 518, 518};
    double tm[4] = {0.1, 0.3, 0.1, 0.3};  // the last grid varies fastest
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(params_int(&c.variants[i].backbone.params, "size"), sizes[i]);
        cr_assert_float_eq(params_double(&c.variants[i].methods[0].params, "topmin_max"), tm[i], 1e-15);
    }
    cr_assert_str_eq(c.variants[1].grid_point, "backbone.size=224 methods.0.topmin_max=0.3");
    config_free(&c);
    free(t1);
    free(t2);
}

Test(config, nested_grids_and_grids_inside_lists) {
    // A grid element of a list, and a grid whose options hold grids themselves.
    const char *text =
        "datasets: [{name: mvtec, root: /d}]\n"
        "backbone: {name: vit, layers: [6, {grid: [12, 18]}]}\n"
        "methods: {grid: [[{name: musc, topmin_max: {grid: [0.1, 0.2]}}], [{name: patchcore}]]}\n";
    Config c;
    cr_assert_eq(config_load_string(&c, "n.yaml", text, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(c.n_variants, 6);  // 2 layer choices x (2 musc + 1 patchcore)
    int l[4];
    cr_assert_eq(params_int_list(&c.variants[0].backbone.params, "layers", l, 4), 2);
    cr_assert_eq(l[1], 12);
    cr_assert_eq(params_int_list(&c.variants[5].backbone.params, "layers", l, 4), 2);
    cr_assert_eq(l[1], 18);
    cr_assert_str_eq(c.variants[0].methods[0].name, "musc");
    cr_assert_float_eq(params_double(&c.variants[1].methods[0].params, "topmin_max"), 0.2, 1e-15);
    cr_assert_str_eq(c.variants[2].methods[0].name, "patchcore");
    cr_assert(strstr(c.variants[1].grid_point, "methods=[{name: musc, topmin_max: {grid: [0.1, 0.2]}}]"),
              "%s", c.variants[1].grid_point);
    cr_assert(strstr(c.variants[1].grid_point, "methods.0.topmin_max=0.2"), "%s", c.variants[1].grid_point);
    config_free(&c);
}

Test(config, set_overrides) {
    const char *sets[] = {"methods.0.topmin_max=0.2", "backbone.size=336", "evaluation.resolution=resized:518",
                          "methods.0.degrees=[1, 3]", "datasets.0.categories=[screw]", "threads=2"};
    Config c;
    cr_assert_eq(config_load_string(&c, "s.yaml", BASE, sets, 6, &REG), 0, "%s", ad_last_error());
    const Variant *v = &c.variants[0];
    cr_assert_float_eq(params_double(&v->methods[0].params, "topmin_max"), 0.2, 1e-15);
    cr_assert_eq(params_int(&v->backbone.params, "size"), 336);
    cr_assert_eq(v->eval.size, 518);
    int d[4];
    cr_assert_eq(params_int_list(&v->methods[0].params, "degrees", d, 4), 2);
    cr_assert_eq(v->datasets[0].n_categories, 1);
    cr_assert_eq(v->threads, 2);
    Config c0;
    cr_assert_eq(config_load_string(&c0, "s.yaml", BASE, NULL, 0, &REG), 0);
    cr_assert_str_neq(c.hash, c0.hash, "overrides must change the config hash");
    config_free(&c0);
    config_free(&c);
    // A grid given on the command line.
    const char *g[] = {"backbone.size={grid: [224, 336]}"};
    cr_assert_eq(config_load_string(&c, "s.yaml", BASE, g, 1, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(c.n_variants, 2);
    config_free(&c);
}

Test(config, set_errors) {
    const char *a[] = {"methods.5.topmin_max=0.2"};
    expect_error(BASE, a, 1, "--set methods.5.topmin_max=0.2: 'methods' has 2 entries; expected an index 0..1, found '5'");
    const char *b[] = {"backbone.size"};
    expect_error(BASE, b, 1, "--set backbone.size: expected key=value");
    const char *c[] = {"methods.0.topmin_mx=0.2"};
    expect_error(BASE, c, 1, "--set: unknown key 'topmin_mx' in methods[0] (musc); did you mean 'topmin_max'?");
    const char *d[] = {"backbone.size=abc"};
    expect_error(BASE, d, 1, "--set:1: in backbone (vit): parameter 'size': expected an integer, found 'abc'");
    const char *e[] = {"seed.x=1"};
    expect_error(BASE, e, 1, "'seed' is a value, not a map or list");
}

Test(config, unknown_keys_name_file_line_and_nearest) {
    char *t = with_line(BASE, 11, "    topmin_mx: 0.3");
    expect_error(t, NULL, 0, "configs/x.yaml:11: unknown key 'topmin_mx' in methods[0] (musc); did you mean 'topmin_max'?");
    free(t);
    t = with_line(BASE, 8, "  sise: 518");
    expect_error(t, NULL, 0, "configs/x.yaml:8: unknown key 'sise' in backbone (vit); did you mean 'size'?");
    free(t);
    t = with_line(BASE, 17, "sed: 3");
    expect_error(t, NULL, 0, "configs/x.yaml:17: unknown key 'sed' in the top level; did you mean 'seed'?");
    free(t);
    t = with_line(BASE, 16, "  image_scor: max");
    expect_error(t, NULL, 0, "configs/x.yaml:16: unknown key 'image_scor' in evaluation; did you mean 'image_score'?");
    free(t);
    t = with_line(BASE, 5, "    categorie: [screw]");
    expect_error(t, NULL, 0, "configs/x.yaml:5: unknown key 'categorie' in datasets[0]; did you mean 'categories'?");
    free(t);
}

Test(config, bad_values_name_file_line) {
    char *t = with_line(BASE, 11, "    topmin_max: -1");
    expect_error(t, NULL, 0, "configs/x.yaml:11: in methods[0] (musc): parameter 'topmin_max': value -1 is out of range");
    free(t);
    t = with_line(BASE, 8, "  size: big");
    expect_error(t, NULL, 0, "configs/x.yaml:8: in backbone (vit): parameter 'size': expected an integer, found 'big'");
    free(t);
    t = with_line(BASE, 15, "  resolution: resized:abc");
    expect_error(t, NULL, 0, "configs/x.yaml:15: evaluation.resolution: expected resized:S with S in 16..4096");
    free(t);
    t = with_line(BASE, 15, "  resolution: full");
    expect_error(t, NULL, 0, "configs/x.yaml:15: evaluation.resolution: expected 'native', 'resized:S' (e.g. resized:518) or 'center_crop:R:S'");
    free(t);
    t = with_line(BASE, 15, "  resolution: center_crop:200:224");  // the crop must fit
    expect_error(t, NULL, 0, "configs/x.yaml:15: evaluation.resolution: expected center_crop:R:S with 16 <= S <= R");
    free(t);
    t = with_line(BASE, 15, "  resolution: center_crop:256");
    expect_error(t, NULL, 0, "expected center_crop:R:S");
    free(t);
    t = with_line(BASE, 16, "  image_score: mean");
    expect_error(t, NULL, 0, "configs/x.yaml:16: evaluation.image_score: expected 'method' or 'max', found 'mean'");
    free(t);
    t = with_line(BASE, 16, "  mask_rule: gt1");
    expect_error(t, NULL, 0, "configs/x.yaml:16: evaluation.mask_rule: expected auto, eq255 or gt0, found 'gt1'");
    free(t);
    t = with_line(BASE, 17, "seed: -2");
    expect_error(t, NULL, 0, "configs/x.yaml:17: seed: value -2 is out of range");
    free(t);
    t = with_line(BASE, 13, "    shots: many");
    expect_error(t, NULL, 0, "configs/x.yaml:13: methods[1] (patchcore).shots: expected an integer, found 'many'");
    free(t);
    t = with_line(BASE, 11, "    shots: 2");
    expect_error(t, NULL, 0, "configs/x.yaml:11: methods[0] (musc).shots: method 'musc' is zero-shot");
    free(t);
    t = with_line(BASE, 11, "    degrees: [1, x]");
    expect_error(t, NULL, 0, "configs/x.yaml:11: in methods[0] (musc): parameter 'degrees': list element 'x' is not an integer");
    free(t);
}

Test(config, unknown_names) {
    char *t = with_line(BASE, 10, "  - name: musk");
    expect_error(t, NULL, 0, "configs/x.yaml:10: methods[0]: unknown method 'musk'; expected one of: musc, patchcore");
    free(t);
    t = with_line(BASE, 7, "  name: vitt");
    expect_error(t, NULL, 0, "configs/x.yaml:7: backbone: unknown backbone 'vitt'");
    free(t);
    t = with_line(BASE, 3, "  - name: mvtecc");
    expect_error(t, NULL, 0, "configs/x.yaml:3: datasets[0]: unknown dataset 'mvtecc'");
    free(t);
}

Test(config, structural_errors) {
    expect_error("datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit}\n", NULL, 0,
                 "configs/x.yaml: missing required key 'methods'");
    expect_error("backbone: {name: vit}\nmethods: [{name: musc}]\n", NULL, 0, "missing required key 'datasets'");
    expect_error("datasets: [{name: mvtec}]\nbackbone: {name: vit}\nmethods: [{name: musc}]\n", NULL, 0,
                 "configs/x.yaml:1: datasets[0] (mvtec): missing required key 'root'");
    expect_error("datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit, size: {grid: []}}\nmethods: [{name: musc}]\n",
                 NULL, 0, "configs/x.yaml:2: 'backbone.size': grid needs a non-empty list");
    expect_error("datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit, size: {grid: [1], x: 2}}\nmethods: [{name: musc}]\n",
                 NULL, 0, "a grid is written {grid: [v1, v2, ...]} with no other keys; found key 'x' beside it");
    expect_error("datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit}\nmethods: [{name: musc}]\nseed: 1\nseed: 2\n",
                 NULL, 0, "configs/x.yaml:5: duplicate key 'seed'");
    expect_error("- a\n- b\n", NULL, 0, "configs/x.yaml:1: expected a map of top-level keys");
    expect_error("", NULL, 0, "found an empty file");
    // A grid point that is invalid names itself.
    expect_error("datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit, size: {grid: [224, 2]}}\nmethods: [{name: musc}]\n",
                 NULL, 0, "grid point 2 of 2 (backbone.size=2): configs/x.yaml:2: in backbone (vit): parameter 'size': value 2 is out of range");
}

Test(config, malformed_yaml_names_line) {
    expect_error("datasets:\n  - name: mvtec\n   root: x\n", NULL, 0, "configs/x.yaml:3: malformed YAML");
    expect_error("backbone: {name: vit\nmethods: []\n", NULL, 0, "malformed YAML");
    expect_error("a: &x 1\nb: *x\n", NULL, 0, "configs/x.yaml:2: YAML anchors/aliases (*name) are not supported");
}

Test(config, missing_file) {
    Config c;
    cr_assert_eq(config_load(&c, "/nonexistent/c.yaml", NULL, 0, &REG), -1);
    cr_assert(strstr(ad_last_error(), "/nonexistent/c.yaml: cannot open the config"), "%s", ad_last_error());
}

Test(config, job_identity_is_canonical) {
    // Explicit values equal to the defaults, spelled differently, give the same flattened job.
    const char *a = "datasets: [{name: mvtec, root: /d}]\nbackbone: {name: vit}\nmethods: [{name: musc}]\n";
    const char *b = "datasets: [{name: mvtec, root: /e}]\nbackbone: {name: vit, size: 224.0}\n"
                    "methods: [{name: musc, topmin_max: 0.30, degrees: [1, 3, 5], rscin: 1}]\n";
    Config ca, cb;
    cr_assert_eq(config_load_string(&ca, "a.yaml", a, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(config_load_string(&cb, "b.yaml", b, NULL, 0, &REG), 0, "%s", ad_last_error());
    KeyVals ka, kb;
    job_flatten(&ca.variants[0], 0, &ka);
    job_flatten(&cb.variants[0], 0, &kb);
    cr_assert_eq(ka.n, kb.n);
    for (int i = 0; i < ka.n; i++) {
        cr_assert_str_eq(ka.keys[i], kb.keys[i]);
        cr_assert_str_eq(ka.vals[i], kb.vals[i], "%s: %s vs %s", ka.keys[i], ka.vals[i], kb.vals[i]);
    }
    cr_assert_str_eq(keyvals_get(&ka, "method.degrees"), "[1,3,5]");
    cr_assert_str_eq(keyvals_get(&ka, "evaluation.resolution"), "native");
    cr_assert_null(keyvals_get(&ka, "method.shots"));  // zero-shot: no shots column
    keyvals_free(&ka);
    keyvals_free(&kb);
    config_free(&ca);
    config_free(&cb);
}

Test(config, fnv1a64_reference_values) {
    // Published FNV-1a 64 test vectors.
    cr_assert_eq(fnv1a64(FNV1A64_INIT, "", 0), 0xcbf29ce484222325ULL);
    cr_assert_eq(fnv1a64(FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
    cr_assert_eq(fnv1a64(FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ULL);
}

// Issue 12 item 2: 40,000 nested '[' overflowed the stack of the recursive parser, in a file
// or in one --set value. A depth limit, with file and line.
Test(config, deep_nesting_is_an_error_not_a_stack_overflow) {
    size_t n = 40000;
    char *deep = ad_malloc(2 * n + 16);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    char *text = ad_sprintf("%sextra: %s\n", BASE, deep);
    expect_error(text, NULL, 0, "configs/x.yaml:19: lists/maps nested more than");
    char *set = ad_sprintf("extra=%s", deep);
    const char *sets[] = {set};
    expect_error(BASE, sets, 1, "--set:1: lists/maps nested more than");
    // block style, 70 levels of maps
    char *blk = ad_strdup(BASE);
    for (int i = 0; i < 70; i++) {
        char *line = ad_sprintf("%*sk%d:\n", 2 * i, "", i);
        char *t = ad_sprintf("%s%s", blk, line);
        free(blk), free(line);
        blk = t;
    }
    expect_error(blk, NULL, 0, "nested more than 64 levels");
    free(blk), free(set), free(text), free(deep);
}

// Issue 12 item 21: `--set .=1` (and 'a..b', 'a.') was ignored silently.
Test(config, set_with_empty_key_part_is_an_error) {
    const char *s1[] = {".=1"}, *s2[] = {"seed..x=1"}, *s3[] = {"seed.=1"};
    expect_error(BASE, s1, 1, "--set .=1: the key has an empty part");
    expect_error(BASE, s2, 1, "empty part");
    expect_error(BASE, s3, 1, "empty part");
}

// Issue 12 item 8: "4e1" / "0x20" were validated (and recorded) as 40 / 32 by strtod but the
// backbone read 4 / 0 with strtol. One parser for validation and use; ints recorded as used.
Test(config, numbers_are_read_as_validated) {
    Params p = {BB_SPEC, 0, NULL, NULL};
    cr_assert_eq(params_set(&p, "size", "4e1"), 0, "%s", ad_last_error());
    cr_expect_eq(params_int(&p, "size"), 40);
    cr_assert_eq(params_set(&p, "size", "0x20"), 0, "%s", ad_last_error());
    cr_expect_eq(params_int(&p, "size"), 32);
    cr_expect_str_eq(p.values[0], "32");
    cr_assert_eq(params_set(&p, "layers", "[6e0, 0xC]"), 0, "%s", ad_last_error());
    int l[4];
    cr_assert_eq(params_int_list(&p, "layers", l, 4), 2);
    cr_expect(l[0] == 6 && l[1] == 12, "%d %d", l[0], l[1]);
    params_free(&p);
    Params q = {MUSC_SPEC, 0, NULL, NULL};
    cr_assert_eq(params_set(&q, "topmin_max", "0x1p-2"), 0, "%s", ad_last_error());
    cr_expect_float_eq(params_double(&q, "topmin_max"), 0.25, 1e-15);
    params_free(&q);
    char *t = with_line(BASE, 8, "  size: 4e1");
    Config c;
    cr_assert_eq(config_load_string(&c, "x.yaml", t, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_expect_eq(params_int(&c.variants[0].backbone.params, "size"), 40);
    config_free(&c);
    free(t);
}

// Issue 12 item 14: the duplicate-key check scanned the map for every key: a 100,000-key map
// took 43 s. Hashed now; duplicates are still found with their line.
Test(config, map_of_100000_keys_parses_fast) {
    size_t cap = 100000 * 24 + 64;
    char *text = ad_malloc(cap);
    size_t m = (size_t)snprintf(text, cap, "name: t\nbig:\n");
    for (int i = 0; i < 100000; i++) m += (size_t)snprintf(text + m, cap - m, "  k%d: %d\n", i, i);
    clock_t t0 = clock();  // CPU time: the machine may be shared
    expect_error(text, NULL, 0, "unknown key 'big'");
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_expect(s < 10, "100,000 keys took %.1f s of CPU", s);
    snprintf(text + m, cap - m, "  k77777: 1\n");
    expect_error(text, NULL, 0, "configs/x.yaml:100003: duplicate key 'k77777'");
    free(text);
}

// Issue 12 item 16: threads >= 64 under an address-space limit hung inside OpenBLAS. The value
// is capped at the CPU count (with a warning); out-of-range values are still errors.
Test(config, threads_capped_at_the_cpu_count) {
    char *t = ad_sprintf("%sthreads: 4096\n", BASE);
    Config c;
    cr_assert_eq(config_load_string(&c, "x.yaml", t, NULL, 0, &REG), 0, "%s", ad_last_error());
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_eq(c.variants[0].threads, (int)(ncpu < 4096 ? ncpu : 4096));
    config_free(&c);
    char *u = ad_sprintf("%sthreads: 5000\n", BASE);
    expect_error(u, NULL, 0, "threads");
    free(t), free(u);
}
