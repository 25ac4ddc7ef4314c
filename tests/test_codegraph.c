// CoDeGraph (methods/codegraph.c): MuSc's keys and output when community detection is off,
// the filter plan on a hand-built case, and an end-to-end consistent-anomaly category.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codegraph.h"
#include "err.h"
#include "method.h"
#include "musc.h"
#include "util_test.h"

extern const Method method_musc, method_codegraph;

static uint64_t rng_state;
static uint64_t splitmix(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unif(void) { return ((splitmix() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static float gauss(void) { return (float)(sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif())); }

typedef struct {
    FeatureBatch b;
    float **feat, **embed;
} Batch;

static Batch random_batch(int n, int L, int gh, int gw, int D, int E, uint64_t seed) {
    rng_state = seed;
    Batch t;
    t.feat = malloc(n * sizeof *t.feat);
    t.embed = malloc(n * sizeof *t.embed);
    for (int i = 0; i < n; i++) {
        t.feat[i] = malloc((size_t)L * gh * gw * D * sizeof(float));
        for (int q = 0; q < L * gh * gw * D; q++) t.feat[i][q] = gauss();
        t.embed[i] = malloc(E * sizeof(float));
        for (int q = 0; q < E; q++) t.embed[i][q] = gauss();
    }
    t.b = (FeatureBatch){.n = n, .n_layers = L, .gh = gh, .gw = gw, .dim = D, .feat = (const float *const *)t.feat,
                         .embed_dim = E, .embed = (const float *const *)t.embed};
    return t;
}

static void batch_free(Batch *t) {
    for (int i = 0; i < t->b.n; i++) free(t->feat[i]), free(t->embed[i]);
    free(t->feat), free(t->embed);
}

static const int RSCIN_K[3] = {1, 2, 3};

static MethodOutput run_method(const Method *m, const Params *p, const FeatureBatch *b, const MethodContext *ctx) {
    MethodOutput o = {0};
    cr_assert_eq(m->run(p, b, NULL, ctx, &o), 0, "%s: %s", m->name, ad_last_error());
    return o;
}

static void assert_same_output(const MethodOutput *a, const MethodOutput *b, const FeatureBatch *fb) {
    size_t P = (size_t)fb->gh * fb->gw;
    cr_assert(!memcmp(a->image_score, b->image_score, fb->n * sizeof(float)), "image scores differ");
    cr_assert(!memcmp(a->maps, b->maps, fb->n * P * sizeof(float)), "maps differ");
}

Test(codegraph, carries_every_musc_key_with_its_default) {
    const ParamSpec *cg = method_codegraph.params;
    for (const ParamSpec *m = method_musc.params; m->key; m++) {
        const ParamSpec *c = params_find(cg, m->key);
        cr_assert_not_null(c, "MuSc key '%s' missing from codegraph", m->key);
        cr_assert_eq(c->type, m->type, "%s", m->key);
        cr_assert_str_eq(c->def, m->def, "%s", m->key);
        cr_assert(c->min == m->min && c->max == m->max, "%s", m->key);
    }
    const char *own[] = {"fa", "rho_min", "eps", "burnout_window", "graph_sets", "links_min", "gamma", "beta",
                         "n_iterations", "leiden_seed", "min_size", "max_share", "dilate", "filter", "stages"};
    for (size_t t = 0; t < sizeof own / sizeof *own; t++) {
        const ParamSpec *c = params_find(cg, own[t]);
        cr_assert_not_null(c, "%s", own[t]);
        cr_assert(strstr(c->doc, "reconstruction default"), "%s: doc must say 'reconstruction default'", own[t]);
    }
    cr_assert_not_null(params_find(cg, "community"));
}

// community: false runs MuSc's stages in MuSc's order: the same bits, with and without subsets.
Test(codegraph, community_off_is_musc_bit_for_bit) {
    Batch t = random_batch(9, 2, 5, 6, 12, 8, 42);
    MethodContext ctx = {.category = "rand", .rscin_k = RSCIN_K, .score_size = 23, .quiet = 1};
    for (int divide = 1; divide <= 2; divide++) {
        Params pm = {.spec = method_musc.params}, pc = {.spec = method_codegraph.params};
        char dv[16];
        snprintf(dv, sizeof dv, "%d", divide);
        cr_assert_eq(params_set(&pm, "divide_num", dv), 0);
        cr_assert_eq(params_set(&pc, "divide_num", dv), 0);
        if (divide == 2) {  // 9 images in 2 subsets would leave one with 4: use 10
            batch_free(&t);
            t = random_batch(10, 2, 5, 6, 12, 8, 43);
        }
        cr_assert_eq(params_set(&pc, "community", "false"), 0);
        MethodOutput a = run_method(&method_musc, &pm, &t.b, &ctx);
        MethodOutput b = run_method(&method_codegraph, &pc, &t.b, &ctx);
        assert_same_output(&a, &b, &t.b);
        method_output_free(&b);
        // Community detection on, but a jump no curve can show: nothing flagged, same bits.
        cr_assert_eq(params_set(&pc, "community", "true"), 0);
        cr_assert_eq(params_set(&pc, "rho_min", "1e6"), 0);
        b = run_method(&method_codegraph, &pc, &t.b, &ctx);
        assert_same_output(&a, &b, &t.b);
        method_output_free(&a);
        method_output_free(&b);
        params_free(&pm);
        params_free(&pc);
    }
    batch_free(&t);
}

Test(codegraph, bad_keys_are_named) {
    Batch t = random_batch(6, 1, 3, 3, 4, 0, 1);
    MethodContext ctx = {.category = "rand", .score_size = 8, .quiet = 1};
    Params p = {.spec = method_codegraph.params};
    MethodOutput o = {0};
    cr_assert_eq(params_set(&p, "filter", "pixel"), 0);
    cr_assert_eq(method_codegraph.run(&p, &t.b, NULL, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'filter'") && strstr(ad_last_error(), "patch or image"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "filter", "image"), 0);
    cr_assert_eq(params_set(&p, "graph_sets", "[0, 3]"), 0);  // 1 layer x 3 degrees: 0..2
    cr_assert_eq(method_codegraph.run(&p, &t.b, NULL, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'graph_sets'") && strstr(ad_last_error(), "0..2"), "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), "rand"), "names the category: %s", ad_last_error());
    cr_assert_neq(params_set(&p, "gamma", "1.5"), 0);
    cr_assert(strstr(ad_last_error(), "'gamma'"));
    params_free(&p);
    batch_free(&t);
}

Test(codegraph, dilation_by_hand) {
    uint8_t in[20] = {0}, out[20];
    in[0] = 1;           // corner (0,0) of a 4 x 5 grid
    in[2 * 5 + 3] = 1;   // (2,3)
    codegraph_dilate(out, in, 4, 5, 1);
    const char *want = "11000"
                       "11111"
                       "00111"
                       "00111";
    for (int q = 0; q < 20; q++) cr_assert_eq(out[q], want[q] - '0', "cell %d", q);
    codegraph_dilate(out, in, 4, 5, 0);
    cr_assert(!memcmp(out, in, 20));
}

// The incremental recompute equals the full one (musc_recompute_pair) up to float rounding,
// also when masks grow over stages; rows whose best match stays are not touched at all.
Test(codegraph, incremental_recompute_matches_full) {
    Batch t = random_batch(6, 2, 5, 6, 16, 0, 77);
    Params p = {.spec = method_codegraph.params};
    params_set(&p, "degrees", "[1,3]");
    MuscState a, b;
    cr_assert_eq(musc_prepare(&a, &p, &t.b), 0, "%s", ad_last_error());
    cr_assert_eq(musc_prepare(&b, &p, &t.b), 0);
    int P = a.P, n = a.n;
    size_t nd = (size_t)n * n * P;
    float *before = malloc(nd * sizeof(float));
    memcpy(before, a.dist[0], nd * sizeof(float));
    uint8_t rem[30] = {0}, valid[30];
    rng_state = 5;
    for (int step = 0; step < 2; step++) {  // stage 1 mask, then a larger one
        for (int q = 0; q < P; q++) rem[q] |= unif() < 0.15;
        for (int q = 0; q < P; q++) valid[q] = !rem[q];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                if (i == j || (i + j) % 3) continue;
                musc_recompute_pair(&a, i, j, valid);
                codegraph_recompute_pair(&b, i, j, rem);
            }
        int changed = 0, same = 0;
        for (int k = 0; k < a.n_sets; k++)
            for (size_t e = 0; e < nd; e++) {
                cr_assert(fabsf(a.dist[k][e] - b.dist[k][e]) <= 2e-6f, "set %d entry %zu: %g vs %g", k, e, a.dist[k][e],
                          b.dist[k][e]);
                if (k == 0) changed += b.dist[0][e] != before[e], same += b.dist[0][e] == before[e];
            }
        cr_assert(changed > 0 && same > changed, "changed %d, kept %d", changed, same);
    }
    free(before);
    musc_state_free(&a);
    musc_state_free(&b);
    params_free(&p);
    batch_free(&t);
}

static Community comm(int *members, int size, int accepted) {
    return (Community){.size = size, .members = members, .accepted = accepted};
}

// The masks handed to musc_recompute_pair: exactly the other members' flagged patches, dilated.
Test(codegraph, filter_plan_removes_exactly_the_flagged_dilated_patches) {
    int n = 8, gh = 5, gw = 5, P = 25;
    uint8_t *flag = calloc(n * P, 1);
    flag[1 * P + 2 * 5 + 2] = 1;                     // image 1: centre
    flag[3 * P + 0] = 1, flag[3 * P + 24] = 1;       // image 3: two corners
    flag[0 * P + 12] = 1, flag[2 * P + 12] = 1;      // images 0, 2: in a rejected community
    int A[3] = {1, 3, 4}, B[2] = {0, 2};
    Community cs[2] = {comm(B, 2, 0), comm(A, 3, 1)};
    uint8_t **removed = calloc(n * n, sizeof *removed), *exclude = NULL, *dirty = calloc(n * n, 1);
    CodegraphStats st = {0};
    codegraph_plan_filter(removed, &exclude, dirty, flag, n, gh, gw, cs, 2, 1, 0, &st);
    cr_assert_null(exclude);
    const char *centre = "00000"
                         "01110"
                         "01110"
                         "01110"
                         "00000";
    const char *corners = "11000"
                          "11000"
                          "00000"
                          "00011"
                          "00011";
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int in_plan = (i == 3 || i == 4) && j == 1 ? 1 : (i == 1 || i == 4) && j == 3 ? 2 : 0;
            cr_assert_eq(dirty[i * n + j] != 0, in_plan != 0, "pair (%d,%d)", i, j);
            if (!in_plan) {
                cr_assert_null(removed[i * n + j], "pair (%d,%d) must keep all of j's patches", i, j);
                continue;
            }
            const char *want = in_plan == 1 ? centre : corners;
            for (int q = 0; q < P; q++) cr_assert_eq(removed[i * n + j][q], want[q] - '0', "(%d,%d) patch %d", i, j, q);
        }
    cr_assert_eq(st.excluded, 0);
    // A second stage adds to the masks (union), never replaces them.
    memset(dirty, 0, n * n);
    memset(flag, 0, n * P);
    flag[1 * P + 0] = 1;
    codegraph_plan_filter(removed, &exclude, dirty, flag, n, gh, gw, cs, 2, 0, 0, &st);
    cr_assert(removed[3 * n + 1][0] && removed[3 * n + 1][12] && !removed[3 * n + 1][1]);
    cr_assert(dirty[3 * n + 1] && !dirty[1 * n + 3]);
    for (int t = 0; t < n * n; t++) free(removed[t]);
    memset(removed, 0, n * n * sizeof *removed);

    // filter: image drops the other members from each member's references instead.
    memset(dirty, 0, n * n);
    st = (CodegraphStats){0};
    codegraph_plan_filter(removed, &exclude, dirty, flag, n, gh, gw, cs, 2, 1, 1, &st);
    cr_assert_not_null(exclude);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int want = i != j && (i == 1 || i == 3 || i == 4) && (j == 1 || j == 3 || j == 4);
            cr_assert_eq(exclude[i * n + j], want, "(%d,%d)", i, j);
            cr_assert_null(removed[i * n + j]);
        }
    cr_assert_eq(st.excluded, 6);
    // ... but never below 4 references: a 6-member community in 8 images keeps two of them.
    free(exclude), exclude = NULL;
    int Cbig[6] = {0, 1, 2, 3, 4, 5};
    Community big = comm(Cbig, 6, 1);
    codegraph_plan_filter(removed, &exclude, dirty, flag, n, gh, gw, &big, 1, 1, 1, &st);
    for (int i = 0; i < 6; i++) {
        int refs = 0;
        for (int j = 0; j < n; j++) refs += j != i && !exclude[i * n + j];
        cr_assert_eq(refs, 4, "image %d keeps %d references", i, refs);
    }
    free(exclude);
    free(removed);
    free(dirty);
    free(flag);
}

// A category of N images whose normal patches come from a few prototypes; m of them share one
// defect (a 2 x 2 patch block of one shared vector), one has a unique defect.
#define E2E_N 30
#define E2E_M 7
static const int DEFECT_IMG[E2E_M] = {2, 7, 11, 16, 20, 25, 27};
static Batch consistent_category(void) {
    int n = E2E_N, gh = 8, gw = 8, P = 64, D = 32, NP = 6;
    rng_state = 2024;
    float proto[6][32], defect[32], unique[32];
    for (int k = 0; k < NP; k++)
        for (int c = 0; c < D; c++) proto[k][c] = gauss();
    for (int c = 0; c < D; c++) defect[c] = gauss(), unique[c] = gauss();
    Batch t;
    t.feat = malloc(n * sizeof *t.feat);
    t.embed = malloc(n * sizeof *t.embed);
    for (int i = 0; i < n; i++) {
        t.feat[i] = malloc((size_t)P * D * sizeof(float));
        int has = 0;
        for (int k = 0; k < E2E_M; k++) has |= DEFECT_IMG[k] == i;
        for (int q = 0; q < P; q++) {
            int y = q / gw, x = q % gw;
            int in_block = y >= 3 && y <= 4 && x >= 4 && x <= 5;
            const float *base = proto[(int)(splitmix() % NP)];
            float sd = 0.3f;
            if (has && in_block) base = defect, sd = 0.1f;
            if (i == E2E_N - 1 && in_block) base = unique;
            for (int c = 0; c < D; c++) t.feat[i][q * D + c] = base[c] + sd * gauss();
        }
        t.embed[i] = malloc(4 * sizeof(float));
        for (int c = 0; c < 4; c++) t.embed[i][c] = gauss();
    }
    t.b = (FeatureBatch){.n = n, .n_layers = 1, .gh = gh, .gw = gw, .dim = D, .feat = (const float *const *)t.feat,
                         .embed_dim = 4, .embed = (const float *const *)t.embed};
    return t;
}

static double block_mean(const float *map) {
    return 0.25 * (map[3 * 8 + 4] + map[3 * 8 + 5] + map[4 * 8 + 4] + map[4 * 8 + 5]);
}

static double normal_max(const float *maps, int n) {
    double m = 0;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < 64; q++) {
            int y = q / 8, x = q % 8;
            if (y >= 2 && y <= 5 && x >= 3 && x <= 6) continue;  // the defect block and its border
            if (maps[i * 64 + q] > m) m = maps[i * 64 + q];
        }
    return m;
}

Test(codegraph, consistent_anomalies_recovered_end_to_end, .timeout = 60) {
    Batch t = consistent_category();
    char *dir = make_tmpdir("codegraph");
    const char *defect[E2E_N];
    for (int i = 0; i < E2E_N; i++) defect[i] = "good";
    for (int k = 0; k < E2E_M; k++) defect[DEFECT_IMG[k]] = "scratch";
    defect[E2E_N - 1] = "hole";
    MethodContext ctx = {.category = "synthetic", .rscin_k = RSCIN_K, .score_size = 32, .quiet = 1, .out_dir = dir,
                         .defect = defect};
    Params pm = {.spec = method_musc.params}, pc = {.spec = method_codegraph.params};
    params_set(&pm, "degrees", "[1]");
    params_set(&pc, "degrees", "[1]");
    MethodOutput a = run_method(&method_musc, &pm, &t.b, &ctx);
    MethodOutput b = run_method(&method_codegraph, &pc, &t.b, &ctx);
    double nm_musc = normal_max(a.maps, E2E_N), nm_cg = normal_max(b.maps, E2E_N);
    for (int k = 0; k < E2E_M; k++) {
        int i = DEFECT_IMG[k];
        double sa = block_mean(a.maps + i * 64), sb = block_mean(b.maps + i * 64);
        // MuSc: the shared defect hides among the normal patches' scores; CoDeGraph: above all of them.
        cr_assert(sa < nm_musc, "image %d: MuSc defect score %g vs normal max %g", i, sa, nm_musc);
        cr_assert(sb > nm_cg, "image %d: CoDeGraph defect score %g vs normal max %g", i, sb, nm_cg);
        cr_assert(sb > 1.5 * sa, "image %d: %g -> %g", i, sa, sb);
    }
    // Images outside the community keep MuSc's maps exactly (their distances are untouched).
    for (int i = 0; i < E2E_N; i++) {
        int in = 0;
        for (int k = 0; k < E2E_M; k++) in |= DEFECT_IMG[k] == i;
        if (!in) cr_assert(!memcmp(a.maps + i * 64, b.maps + i * 64, 64 * sizeof(float)), "image %d changed", i);
    }
    // The unique defect stays detected by both.
    cr_assert(block_mean(b.maps + (E2E_N - 1) * 64) > nm_cg);
    // Diagnostics: one accepted community, exactly the defect images, purity 1.
    char *path = ad_sprintf("%s/codegraph_synthetic_communities.csv", dir);
    char *csv = slurp(path, NULL);
    cr_assert_not_null(csv, "%s missing", path);
    cr_assert(strstr(csv, ",1,1,scratch,2;7;11;16;20;25;27\n"), "%s", csv);
    int accepted = 0;
    for (char *l = strchr(csv, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        char *f = l + 1;
        for (int c = 0; c < 6; c++) f = strchr(f, ',') + 1;
        accepted += *f == '1';
    }
    cr_assert_eq(accepted, 1, "%s", csv);
    free(csv), free(path);
    const char *names[] = {"stages", "flags", "patches", "edges", "curves"};
    for (int k = 0; k < 5; k++) {
        path = ad_sprintf("%s/codegraph_synthetic_%s.csv", dir, names[k]);
        csv = slurp(path, NULL);
        cr_assert_not_null(csv, "%s missing", path);
        free(csv), free(path);
    }
    // Same bits for any thread count.
    int t0 = omp_get_max_threads();
    omp_set_num_threads(1);
    MethodOutput c1 = run_method(&method_codegraph, &pc, &t.b, &ctx);
    omp_set_num_threads(2);
    MethodOutput c2 = run_method(&method_codegraph, &pc, &t.b, &ctx);
    omp_set_num_threads(t0);
    assert_same_output(&c1, &b, &t.b);
    assert_same_output(&c2, &b, &t.b);
    method_output_free(&c1), method_output_free(&c2);
    // Full recompute (musc_recompute_pair): the same maps up to float rounding.
    Params pf = {.spec = method_codegraph.params};
    params_set(&pf, "degrees", "[1]");
    params_set(&pf, "recompute", "full");
    params_set(&pf, "diagnostics", "false");
    MethodOutput f1 = run_method(&method_codegraph, &pf, &t.b, &ctx);
    for (int q = 0; q < E2E_N * 64; q++) cr_assert_float_eq(f1.maps[q], b.maps[q], 1e-5, "map entry %d", q);
    method_output_free(&f1);
    params_free(&pf);
    // The graph driven by one (layer, degree) set of two: the r = 1 set alone still finds it.
    Params pg = {.spec = method_codegraph.params};
    params_set(&pg, "degrees", "[1,3]");
    params_set(&pg, "graph_sets", "[0]");
    params_set(&pg, "diagnostics", "false");
    MethodOutput g1 = run_method(&method_codegraph, &pg, &t.b, &ctx);
    double nm_g = normal_max(g1.maps, E2E_N);
    for (int k = 0; k < E2E_M; k++)
        cr_assert(block_mean(g1.maps + DEFECT_IMG[k] * 64) > nm_g, "graph_sets [0]: image %d", DEFECT_IMG[k]);
    method_output_free(&g1);
    params_free(&pg);
    method_output_free(&a), method_output_free(&b);
    params_free(&pm), params_free(&pc);
    rm_rf(dir);
    free(dir);
    batch_free(&t);
}

// CoDeGraph's run drops Z (musc_prepare_ex keep_z = 0) and refills only the images of filtered
// pairs (musc_fill_z): the refilled rows and everything stages 2-5 compute from them equal the
// kept-Z path bit for bit, for both recompute modes.
Test(codegraph, stages_without_kept_z_equal_kept_z_bit_for_bit, .timeout = 60) {
    Batch t = consistent_category();
    for (int full = 0; full <= 1; full++) {
        Params p = {.spec = method_codegraph.params};
        params_set(&p, "degrees", "[1,3]");
        params_set(&p, "diagnostics", "false");
        if (full) params_set(&p, "recompute", "full");
        CodegraphConfig c;
        cr_assert_eq(codegraph_config(&c, &p), 0, "%s", ad_last_error());
        MuscState a, b;
        cr_assert_eq(musc_prepare(&a, &p, &t.b), 0, "%s", ad_last_error());
        cr_assert_eq(musc_prepare_ex(&b, &p, &t.b, 0), 0, "%s", ad_last_error());
        int n = a.n, P = a.P, D = a.D;
        for (int k = 0; k < b.n_sets; k++) cr_assert_null(b.Z[k]);
        // Direct: a few images refilled, the others absent.
        uint8_t *need = calloc((size_t)n, 1);
        need[1] = need[4] = 1;
        musc_fill_z(&b, need);
        for (int k = 0; k < b.n_sets; k++) {
            cr_assert(!memcmp(musc_z(&b, k, 1), a.Z[k] + (size_t)1 * P * D, (size_t)P * D * sizeof(float)));
            cr_assert(!memcmp(musc_z(&b, k, 4), a.Z[k] + (size_t)4 * P * D, (size_t)P * D * sizeof(float)));
            cr_assert_null(b.zimg[(size_t)k * n + 0]);
        }
        musc_free_z(&b);
        cr_assert_null(b.zimg);
        free(need);
        uint8_t *ea = NULL, *eb = NULL;
        CodegraphStats sa = {0}, sb = {0};
        cr_assert_eq(codegraph_stages(&a, &ea, &c, NULL, NULL, 0, &sa), 0, "%s", ad_last_error());
        cr_assert_eq(codegraph_stages(&b, &eb, &c, NULL, NULL, 0, &sb), 0, "%s", ad_last_error());
        cr_assert(sa.accepted > 0 && sa.recomputed > 0, "accepted %d, recomputed %d", sa.accepted, sa.recomputed);
        cr_assert_eq(sa.recomputed, sb.recomputed);
        cr_assert_null(b.zimg);  // freed after the recompute
        cr_assert_eq(ea == NULL, eb == NULL);
        if (ea) cr_assert(!memcmp(ea, eb, (size_t)n * n));
        for (int k = 0; k < a.n_sets; k++)
            cr_assert(!memcmp(a.dist[k], b.dist[k], (size_t)n * n * P * sizeof(float)), "full %d set %d", full, k);
        free(ea), free(eb);
        musc_state_free(&a);
        musc_state_free(&b);
        params_free(&p);
    }
    batch_free(&t);
}
