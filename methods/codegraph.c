// CoDeGraph (../shared/docs/codegraph.md): MuSc's mutual scoring, plus the detection of
// consistent anomalies (neighbor burnout -> suspicious links -> image graph -> Leiden/CPM
// communities) and targeted patch filtering before re-scoring. The paper's code could not be
// read here: every constant below is a config key whose default is this project's
// "reconstruction default" (codegraph.md, Reconstruction steps 1-7).
//
// With `community: false` the run is MuSc's, bit for bit (the same stages in the same order).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "burnout.h"
#include "runlog.h"
#include "codegraph.h"
#include "err.h"
#include "fsutil.h"
#include "graph.h"
#include "knn.h"
#include "method.h"
#include "musc.h"

static const ParamSpec SPEC[] = {
    MUSC_PARAM_ENTRIES,
    {"community", PT_BOOL, "true", 1, 0,
     "detect consistent anomalies and filter them (false: plain MuSc, bit for bit)"},
    {"fa", PT_DOUBLE, "1e-3", 1e-12, 0.5,
     "per-patch false-alarm rate of the burnout test; eta = ln(K / fa) (reconstruction default)"},
    {"rho_min", PT_DOUBLE, "1.1", 1, 1e6,
     "minimum distance jump d_(m+1)/d_(m) at the burnout rank (reconstruction default)"},
    {"eps", PT_DOUBLE, "1e-3", 1e-12, 1,
     "distance floor in tau_k (float32 round-off of unit-vector distances is ~3e-4) (reconstruction default)"},
    // codegraph.md's draft searches MuSc's window (0 = topmin_max); on the synthetic sweep
    // (scripts/codegraph_sweep.sh) 0.5 recovers defects shared by up to ~half the images and
    // loses nothing on unique defects, so that is the default.
    {"burnout_window", PT_DOUBLE, "0.5", 0, 1e9,
     "ranks searched for a burnout: fraction of the N-1 references (<1) or a count; 0 = topmin_max (reconstruction default, tuned on synthetic data)"},
    {"graph_sets", PT_STRING, "all", 1, 0,
     "(layer, degree) sets whose mean distance drives the graph: all, or indices [k, ...] with k = layer * n_degrees + degree index (reconstruction default)"},
    {"links_min", PT_INT, "2", 1, 1e9,
     "smallest edge weight (links i->j plus j->i) kept in the image graph (reconstruction default)"},
    {"gamma", PT_DOUBLE, "0.3", 0, 1,
     "CPM resolution of Leiden and the minimum internal density of an accepted community (reconstruction default)"},
    {"beta", PT_DOUBLE, "0.01", 1e-9, 100, "Leiden randomness (igraph's default) (reconstruction default)"},
    {"n_iterations", PT_INT, "10", -1, 1e6, "Leiden iterations; -1 = until stable (reconstruction default)"},
    {"leiden_seed", PT_INT, "0", 0, 2147483647, "seed of igraph's RNG for Leiden (reconstruction default)"},
    {"min_size", PT_INT, "2", 2, 1e9, "smallest accepted community (reconstruction default)"},
    // MuSc's premise is that normal patches are the majority: a "community" of more than half
    // the images is normal variation (multi-modal poses on the synthetic discs flag 6 % of all
    // patches and link every image), not a consistent defect, so it is left alone.
    {"max_share", PT_DOUBLE, "0.5", 1e-9, 1,
     "largest accepted community as a fraction of the (sub)set's images (reconstruction default, tuned on synthetic data)"},
    {"dilate", PT_INT, "1", 0, 64,
     "flagged patches are dilated by this many grid cells (square) before filtering (reconstruction default)"},
    {"filter", PT_STRING, "patch", 1, 0,
     "patch: drop the flagged (dilated) patches of the other community members from an image's references; image: drop those images (reconstruction default)"},
    {"stages", PT_INT, "1", 1, 100, "rounds of burnout -> graph -> filtering (reconstruction default)"},
    {"recompute", PT_STRING, "incremental", 1, 0,
     "incremental: only rows whose nearest neighbour was removed are recomputed (same result up to float rounding); full: musc_recompute_pair"},
    {"diagnostics", PT_BOOL, "true", 1, 0,
     "write codegraph_<category>_*.csv into the run's output folder (never used for scoring)"},
    PARAM_END};

// ----------------------------------------------------------------------------------------------
// Configuration

static int parse_sets(int *use, int n_sets, const char *v) {
    for (int k = 0; k < n_sets; k++) use[k] = 0;
    while (*v == ' ') v++;
    if (!strcmp(v, "all")) {
        for (int k = 0; k < n_sets; k++) use[k] = 1;
        return 0;
    }
    const char *s = v;
    if (*s == '[') s++;
    int any = 0;
    while (*s && *s != ']') {
        while (*s == ' ' || *s == ',') s++;
        if (!*s || *s == ']') break;
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s || k < 0 || k >= n_sets)
            return ad_error("codegraph: parameter 'graph_sets': expected 'all' or a list of set indices in 0..%d "
                            "(k = layer * n_degrees + degree index), found '%s'. Fix: e.g. graph_sets: [0, %d]",
                            n_sets - 1, v, n_sets - 1);
        use[k] = 1, any = 1;
        s = end;
    }
    if (!any)
        return ad_error("codegraph: parameter 'graph_sets': expected 'all' or a non-empty list of set indices, "
                        "found '%s'", v);
    return 0;
}

int codegraph_config(CodegraphConfig *c, const Params *p) {
    memset(c, 0, sizeof *c);
    c->community = params_bool(p, "community");
    c->burnout.fa = params_double(p, "fa");
    c->burnout.rho_min = params_double(p, "rho_min");
    c->burnout.eps = params_double(p, "eps");
    double w = params_double(p, "burnout_window");
    c->burnout.window = w > 0 ? w : params_double(p, "topmin_max");
    c->graph.gamma = params_double(p, "gamma");
    c->graph.beta = params_double(p, "beta");
    c->graph.n_iterations = params_int(p, "n_iterations");
    c->graph.seed = (unsigned long)params_int(p, "leiden_seed");
    c->graph.min_size = params_int(p, "min_size");
    c->max_share = params_double(p, "max_share");
    c->links_min = params_int(p, "links_min");
    c->dilate = params_int(p, "dilate");
    c->stages = params_int(p, "stages");
    c->diagnostics = params_bool(p, "diagnostics");
    c->graph_sets = params_str(p, "graph_sets");
    const char *rc = params_str(p, "recompute");
    if (!strcmp(rc, "incremental")) c->full_recompute = 0;
    else if (!strcmp(rc, "full")) c->full_recompute = 1;
    else return ad_error("codegraph: parameter 'recompute': expected incremental or full, found '%s'", rc);
    const char *f = params_str(p, "filter");
    if (!strcmp(f, "patch")) c->filter_image = 0;
    else if (!strcmp(f, "image")) c->filter_image = 1;
    else return ad_error("codegraph: parameter 'filter': expected patch or image, found '%s'", f);
    if (c->graph.n_iterations == 0)
        return ad_error("codegraph: parameter 'n_iterations': expected a positive count or -1, found 0");
    return 0;
}

// ----------------------------------------------------------------------------------------------
// Stage helpers

void codegraph_dilate(uint8_t *out, const uint8_t *in, int gh, int gw, int r) {
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++) {
            uint8_t v = 0;
            for (int dy = -r; dy <= r && !v; dy++)
                for (int dx = -r; dx <= r && !v; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < gh && xx >= 0 && xx < gw) v = in[yy * gw + xx];
                }
            out[y * gw + x] = v;
        }
}

// d[i][j][p] = mean over the chosen sets of dist[k][i][j][p] (fixed order: k ascending).
static float *fused_curves(const MuscState *s, const int *use, int *owned) {
    int count = 0, last = -1;
    for (int k = 0; k < s->n_sets; k++)
        if (use[k]) count++, last = k;
    if (count == 1) {
        *owned = 0;
        return s->dist[last];
    }
    size_t N = (size_t)s->n * s->n * s->P;
    float *d = ad_calloc(N, sizeof *d);
    for (int k = 0; k < s->n_sets; k++)
        if (use[k])
            for (size_t t = 0; t < N; t++) d[t] += s->dist[k][t];
    float inv = 1.0f / (float)count;
    for (size_t t = 0; t < N; t++) d[t] *= inv;
    *owned = 1;
    return d;
}

// References left to image i under an exclusion matrix.
static int n_refs(const uint8_t *exclude, int n, int i) {
    int c = 0;
    for (int j = 0; j < n; j++) c += j != i && !(exclude && exclude[(size_t)i * n + j]);
    return c;
}

// ----------------------------------------------------------------------------------------------
// Diagnostics: plain CSV beside the results; written to a temp name and renamed.

enum { D_STAGES, D_FLAGS, D_PATCHES, D_EDGES, D_COMM, D_CURVES, D_N };
static const char *const DIAG_NAME[D_N] = {"stages", "flags", "patches", "edges", "communities", "curves"};
static const char *const DIAG_HEAD[D_N] = {
    "subset,stage,n_images,K,median_ktau,alpha,eta,flagged,edges,communities,accepted,recomputed_pairs,excluded_pairs",
    "subset,stage,image,defect,flagged",
    "subset,stage,image,patch,row,col,E,m,ratio,neighbours",
    "subset,stage,i,j,weight",
    "subset,stage,community,size,internal_edges,density,accepted,purity,dominant_defect,members",
    "subset,stage,image,patch,E,m,rank,ref_image,distance",
};

struct CodegraphDiag {
    const char *const *defect;
    FILE *f[D_N];
    char *path[D_N];
    char *tmp[D_N];  // path.tmp.<pid>.<random>: concurrent runs never share a temporary file
};

static char *safe_name(const char *s) {
    char *o = ad_strdup(s && *s ? s : "category");
    for (char *c = o; *c; c++)
        if (*c == '/' || *c == ' ' || *c == '\\') *c = '_';
    return o;
}

CodegraphDiag *codegraph_diag_open(const char *dir, const char *category, const char *const *defect) {
    CodegraphDiag *g = ad_calloc(1, sizeof *g);
    g->defect = defect;
    char *cat = safe_name(category);
    for (int t = 0; t < D_N; t++) {
        g->path[t] = ad_sprintf("%s/codegraph_%s_%s.csv", dir, cat, DIAG_NAME[t]);
        char *tmp = g->tmp[t] = fs_tmp_name(g->path[t]);
        g->f[t] = fopen(tmp, "w");
        if (!g->f[t]) {
            ad_error("%s: cannot write the CoDeGraph diagnostics. Fix: make the output folder writable "
                     "(or set diagnostics: false)", tmp);
            free(cat);
            codegraph_diag_close(g, 0);
            return NULL;
        }
        fprintf(g->f[t], "%s\n", DIAG_HEAD[t]);
    }
    free(cat);
    return g;
}

int codegraph_diag_close(CodegraphDiag *g, int ok) {
    if (!g) return 0;
    int rc = 0;
    for (int t = 0; t < D_N; t++) {
        if (!g->path[t]) continue;
        char *tmp = g->tmp[t];
        if (g->f[t] && fclose(g->f[t]) && ok && !rc)
            rc = ad_error("%s: write failed. Fix: check free disk space", tmp);
        if (g->f[t] && ok && !rc && rename(tmp, g->path[t]))
            rc = ad_error("%s: cannot rename to %s. Fix: check the output folder", tmp, g->path[t]);
        if (g->f[t] && (!ok || rc)) remove(tmp);
        free(tmp);
        free(g->path[t]);
    }
    free(g);
    return rc;
}

static const char *defect_of(const CodegraphDiag *g, const int *global, int i) {
    return g->defect && g->defect[global[i]] ? g->defect[global[i]] : "";
}

// Purity: share of the most common defect type among the members.
static double purity(const CodegraphDiag *g, const int *global, const Community *C, const char **dominant) {
    int best = 0;
    *dominant = "";
    for (int a = 0; a < C->size; a++) {
        int c = 0;
        for (int b = 0; b < C->size; b++)
            c += !strcmp(defect_of(g, global, C->members[a]), defect_of(g, global, C->members[b]));
        if (c > best) best = c, *dominant = defect_of(g, global, C->members[a]);
    }
    return C->size ? (double)best / C->size : 0;
}

// Per image, the patch with the largest endurance ratio: its whole sorted curve.
static void write_curves(CodegraphDiag *g, const int *global, int subset, int stage, const Burnout *bo,
                         const float *d, int n, int P, const uint8_t *exclude) {
    int *nb = ad_malloc((size_t)n * sizeof *nb);
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int p = 1; p < P; p++)
            if (bo->E[(size_t)i * P + p] > bo->E[(size_t)i * P + best]) best = p;
        int c = burnout_neighbors(nb, n, d, n, P, exclude, i, best);
        size_t ip = (size_t)i * P + best;
        for (int t = 0; t < c; t++)
            fprintf(g->f[D_CURVES], "%d,%d,%d,%d,%.6g,%d,%d,%d,%.8g\n", subset, stage, global[i], best, bo->E[ip],
                    bo->m[ip], t + 1, global[nb[t]], d[((size_t)i * n + nb[t]) * P + best]);
    }
    free(nb);
}

static void write_stage(CodegraphDiag *g, const int *global, int subset, int stage, const Burnout *bo,
                        const CodegraphConfig *c, int n, int flagged, const GraphEdge *edges, int n_edges,
                        const Community *cs, int k, int acc, const CodegraphStats *delta) {
    fprintf(g->f[D_STAGES], "%d,%d,%d,%d,%.8g,%.8g,%.8g,%d,%d,%d,%d,%d,%d\n", subset, stage, n, bo->K, bo->median,
            bo->alpha, bo->K > 0 ? burnout_eta(bo->K, c->burnout.fa) : NAN, flagged, n_edges, k, acc,
            delta->recomputed, delta->excluded);
    for (int i = 0; i < n; i++)
        fprintf(g->f[D_FLAGS], "%d,%d,%d,%s,%d\n", subset, stage, global[i], defect_of(g, global, i), bo->n_flag[i]);
    for (int e = 0; e < n_edges; e++)
        fprintf(g->f[D_EDGES], "%d,%d,%d,%d,%d\n", subset, stage, global[edges[e].i], global[edges[e].j],
                edges[e].weight);
    for (int t = 0; t < k; t++) {
        if (cs[t].size < 2) continue;  // singletons carry no information
        const char *dom;
        double pur = purity(g, global, &cs[t], &dom);
        fprintf(g->f[D_COMM], "%d,%d,%d,%d,%d,%.6g,%d,", subset, stage, t, cs[t].size, cs[t].internal, cs[t].density,
                cs[t].accepted);
        if (g->defect) fprintf(g->f[D_COMM], "%.6g,%s,", pur, dom);
        else fprintf(g->f[D_COMM], ",,");
        for (int a = 0; a < cs[t].size; a++) fprintf(g->f[D_COMM], "%s%d", a ? ";" : "", global[cs[t].members[a]]);
        fputc('\n', g->f[D_COMM]);
    }
}

// ----------------------------------------------------------------------------------------------
// Stage 5 plan

void codegraph_plan_filter(uint8_t **removed, uint8_t **exclude_io, uint8_t *dirty, const uint8_t *flag, int n,
                           int gh, int gw, const Community *cs, int n_comm, int dilate, int filter_image,
                           CodegraphStats *st) {
    int P = gh * gw;
    uint8_t *fj = ad_malloc((size_t)P);
    uint8_t *exclude = *exclude_io;
    for (int t = 0; t < n_comm; t++) {
        const Community *C = &cs[t];
        if (!C->accepted) continue;
        for (int b = 0; b < C->size; b++) {
            int j = C->members[b];
            codegraph_dilate(fj, flag + (size_t)j * P, gh, gw, dilate);
            int nf = 0;
            for (int q = 0; q < P; q++) nf += fj[q];
            for (int a = 0; a < C->size; a++) {
                int i = C->members[a];
                if (i == j || (exclude && exclude[(size_t)i * n + j])) continue;
                if (!filter_image && !nf) continue;  // nothing of j to remove
                int all = 1;
                uint8_t *r = removed[(size_t)i * n + j];
                if (!filter_image)
                    for (int q = 0; q < P; q++) all &= (r && r[q]) || fj[q];
                if (filter_image || all) {
                    // Drop j from i's references, unless i would keep too few for MuSc's
                    // interval (then j stays, with whatever patch mask it already has).
                    if (n_refs(exclude, n, i) - 1 >= 4) {
                        if (!exclude) exclude = *exclude_io = ad_calloc((size_t)n * n, 1);
                        exclude[(size_t)i * n + j] = 1;
                        dirty[(size_t)i * n + j] = 0;
                        st->excluded++;
                    }
                    continue;
                }
                if (!r) r = removed[(size_t)i * n + j] = ad_calloc((size_t)P, 1);
                for (int q = 0; q < P; q++) r[q] |= fj[q];
                dirty[(size_t)i * n + j] = 1;
            }
        }
    }
    free(fj);
}

// ----------------------------------------------------------------------------------------------
// Incremental pair recompute

// A row p keeps its distance when its best match among j's removed patches is clearly worse
// than its current best match (then the best is a kept patch). The current similarity is
// recovered from the distance (s = 1 - d^2 / 2); TOL covers that and the two GEMMs' rounding
// (|error| ~ sqrt(D) * 6e-8 for unit vectors), so a row is never wrongly kept.
#define RECOMPUTE_TOL 1e-3f

void codegraph_recompute_pair(MuscState *s, int i, int j, const uint8_t *removed) {
    int P = s->P, D = s->D;
    int *rem = ad_malloc((size_t)P * sizeof *rem), *rows = ad_malloc((size_t)P * sizeof *rows);
    uint8_t *valid = ad_malloc((size_t)P);
    int nr = 0;
    for (int q = 0; q < P; q++) {
        valid[q] = !removed[q];
        if (removed[q]) rem[nr++] = q;
    }
    if (nr) {
        float *R = ad_malloc((size_t)nr * D * sizeof *R), *A = ad_malloc((size_t)P * D * sizeof *A);
        float *smax = ad_malloc((size_t)P * sizeof *smax);
        for (int k = 0; k < s->n_sets; k++) {
            const float *Zi = musc_z(s, k, i), *Zj = musc_z(s, k, j);
            for (int t = 0; t < nr; t++) memcpy(R + (size_t)t * D, Zj + (size_t)rem[t] * D, (size_t)D * sizeof *R);
            knn_max_ip(smax, NULL, Zi, P, R, nr, D, NULL);  // best match among the removed patches
            float *d = s->dist[k] + ((size_t)i * s->n + j) * P;
            int na = 0;
            for (int p = 0; p < P; p++)
                if (smax[p] >= 1.f - 0.5f * d[p] * d[p] - RECOMPUTE_TOL) rows[na++] = p;
            if (!na) continue;
            for (int t = 0; t < na; t++) memcpy(A + (size_t)t * D, Zi + (size_t)rows[t] * D, (size_t)D * sizeof *A);
            knn_max_ip(smax, NULL, A, na, Zj, P, D, valid);
            for (int t = 0; t < na; t++) {
                float x = 2.f - 2.f * smax[t];  // as musc_recompute_pair
                d[rows[t]] = sqrtf(x > 0.f ? x : 0.f);
            }
        }
        free(R), free(A), free(smax);
    }
    free(rem), free(rows), free(valid);
}

// ----------------------------------------------------------------------------------------------
// Stages 2-5

int codegraph_stages(MuscState *s, uint8_t **exclude_io, const CodegraphConfig *c, CodegraphDiag *g,
                     const int *global_in, int subset, CodegraphStats *st) {
    int n = s->n, P = s->P;
    int *use = ad_malloc((size_t)s->n_sets * sizeof *use);
    if (parse_sets(use, s->n_sets, c->graph_sets)) {
        free(use);
        return -1;
    }
    int *global = ad_malloc((size_t)n * sizeof *global);
    for (int i = 0; i < n; i++) global[i] = global_in ? global_in[i] : i;
    uint8_t **removed = ad_calloc((size_t)n * n, sizeof *removed);  // [i*n+j]: j's patches dropped for i
    int *links = ad_malloc((size_t)n * n * sizeof *links);
    int *nb = ad_malloc((size_t)n * sizeof *nb);
    int *memb = ad_malloc((size_t)n * sizeof *memb);
    uint8_t *dirty = ad_malloc((size_t)n * n);
    int *pairs = ad_malloc((size_t)n * n * 2 * sizeof *pairs);
    int rc = 0;
    GraphConfig gc = c->graph;
    gc.max_size = (int)floor(c->max_share * n + 1e-9);
    for (int stage = 1; stage <= c->stages; stage++) {
        uint8_t *exclude = *exclude_io;
        int owned;
        float *d = fused_curves(s, use, &owned);
        Burnout bo;
        if (burnout_run(&bo, d, n, P, exclude, &c->burnout)) {
            if (owned) free(d);
            rc = -1;
            break;
        }
        // Stage 3: each flagged patch of i links i to its images at ranks 1..m.
        memset(links, 0, (size_t)n * n * sizeof *links);
        int flagged = 0;
        for (int i = 0; i < n; i++)
            for (int q = 0; q < P; q++) {
                size_t ip = (size_t)i * P + q;
                if (!bo.flag[ip]) continue;
                flagged++;
                int got = burnout_neighbors(nb, bo.m[ip], d, n, P, exclude, i, q);
                for (int t = 0; t < got; t++) links[(size_t)i * n + nb[t]]++;
                if (g) {
                    fprintf(g->f[D_PATCHES], "%d,%d,%d,%d,%d,%d,%.6g,%d,%.6g,", subset, stage, global[i], q,
                            q / s->gw, q % s->gw, bo.E[ip], bo.m[ip], bo.ratio[ip]);
                    for (int t = 0; t < got; t++) fprintf(g->f[D_PATCHES], "%s%d", t ? ";" : "", global[nb[t]]);
                    fputc('\n', g->f[D_PATCHES]);
                }
            }
        GraphEdge *edges;
        int n_edges = graph_edges(&edges, links, n, c->links_min);
        // Stage 4: Leiden/CPM communities.
        graph_leiden_cpm(memb, n, edges, n_edges, &gc);
        Community *cs;
        int k = graph_communities(&cs, memb, n, edges, n_edges, &gc);
        int acc = 0;
        for (int t = 0; t < k; t++) acc += cs[t].accepted;
        // The curves before filtering (d may alias s->dist, which stage 5 rewrites).
        if (g) write_curves(g, global, subset, stage, &bo, d, n, P, exclude);
        // Stage 5: targeted filtering inside every accepted community.
        CodegraphStats delta = {0};
        int n_pairs = 0;
        if (acc) {
            memset(dirty, 0, (size_t)n * n);
            codegraph_plan_filter(removed, exclude_io, dirty, bo.flag, n, s->gh, s->gw, cs, k, c->dilate,
                                  c->filter_image, &delta);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (dirty[(size_t)i * n + j]) pairs[2 * n_pairs] = i, pairs[2 * n_pairs + 1] = j, n_pairs++;
            delta.recomputed = n_pairs;
            // Z of only the images in filtered pairs (recomputed from the features when
            // musc_prepare_ex dropped it): memory follows the communities, not n.
            uint8_t *need = ad_calloc((size_t)n, 1);
            for (int t = 0; t < 2 * n_pairs; t++) need[pairs[t]] = 1;
            musc_fill_z(s, need);
            free(need);
            // Each pair writes only its own dist rows: any schedule gives the same result.
#pragma omp parallel
            {
                uint8_t *valid = ad_malloc((size_t)P);
#pragma omp for schedule(dynamic, 1)
                for (int t = 0; t < n_pairs; t++) {
                    int i = pairs[2 * t], j = pairs[2 * t + 1];
                    const uint8_t *r = removed[(size_t)i * n + j];
                    if (!c->full_recompute) {
                        codegraph_recompute_pair(s, i, j, r);
                        continue;
                    }
                    for (int q = 0; q < P; q++) valid[q] = !r[q];
                    musc_recompute_pair(s, i, j, valid);
                }
                free(valid);
            }
            musc_free_z(s);
        }
        if (g) write_stage(g, global, subset, stage, &bo, c, n, flagged, edges, n_edges, cs, k, acc, &delta);
        st->stages_run = stage;
        st->flagged += flagged;
        st->edges += n_edges;
        st->accepted += acc;
        st->recomputed += delta.recomputed;
        st->excluded += delta.excluded;
        graph_communities_free(cs, k);
        free(edges);
        burnout_free(&bo);
        if (owned) free(d);
        if (!acc) break;  // nothing changed: a further stage would repeat this one
    }
    for (size_t t = 0; t < (size_t)n * n; t++) free(removed[t]);
    free(removed);
    free(links);
    free(nb);
    free(memb);
    free(dirty);
    free(pairs);
    free(global);
    free(use);
    return rc;
}

// ----------------------------------------------------------------------------------------------
// The method: MuSc's run (methods/musc.c) with stages 2-5 between the distances and the
// interval average.

static int score_subset(float *maps, const Params *p, const CodegraphConfig *c, const FeatureBatch *b,
                        CodegraphDiag *g, const int *global, int subset, CodegraphStats *st) {
    MuscState s;
    // Z is dropped per set; stage 5 recomputes the rows of the images it needs (musc_fill_z).
    if (musc_prepare_ex(&s, p, b, 0)) return -1;
    uint8_t *exclude = NULL;
    if (c->community && codegraph_stages(&s, &exclude, c, g, global, subset, st)) {
        musc_state_free(&s);
        return -1;
    }
    musc_score_maps(maps, &s, params_double(p, "topmin_min"), params_double(p, "topmin_max"), exclude);
    free(exclude);
    musc_state_free(&s);
    return 0;
}

static int run(const Params *p, const FeatureBatch *test, const FeatureBatch *train, const MethodContext *ctx,
               MethodOutput *out) {
    (void)train;
    const char *cat = ctx && ctx->category ? ctx->category : "?";
    CodegraphConfig c;
    if (codegraph_config(&c, p)) return ad_error_prefix("codegraph (category %s)", cat);
    int n = test->n, P = test->gh * test->gw;
    int S = params_int(p, "score_size");
    if (S == 0) S = ctx ? ctx->score_size : 0;
    if (S <= 0)
        return ad_error("codegraph (category %s): score_size is 0 and the run gives no evaluation size. Fix: set "
                        "score_size", cat);
    CodegraphDiag *g = NULL;
    if (c.community && c.diagnostics && ctx && ctx->out_dir) {
        g = codegraph_diag_open(ctx->out_dir, ctx->category, ctx->defect);
        if (!g) return -1;
    }
    CodegraphStats st = {0};
    int divide = params_int(p, "divide_num");
    float *maps = ad_malloc((size_t)(n ? n : 1) * P * sizeof(float));
    if (divide <= 1) {
        if (score_subset(maps, p, &c, test, g, NULL, 0, &st)) {
            free(maps);
            codegraph_diag_close(g, 0);
            return ad_error_prefix("codegraph (category %s)", cat);
        }
    } else {
        // The same split as MuSc (musc.c): by defect folder when the runner passes names.
        int *subset = ad_malloc((size_t)(n ? n : 1) * sizeof(int));
        musc_split(subset, NULL, n, divide, params_int(p, "seed"), ctx ? ctx->defect : NULL);
        for (int t = 0; t < divide; t++) {
            FeatureBatch sb;
            int *ids;
            int m = musc_subset_view(&sb, &ids, test, subset, t);
            float *sm = ad_malloc((size_t)(m ? m : 1) * P * sizeof(float));
            int rc = score_subset(sm, p, &c, &sb, g, ids, t, &st);
            for (int q = 0; q < m && !rc; q++)
                memcpy(maps + (size_t)ids[q] * P, sm + (size_t)q * P, (size_t)P * sizeof(float));
            free(sm);
            musc_subset_view_free(&sb, ids);
            if (rc) {
                free(subset), free(maps);
                codegraph_diag_close(g, 0);
                return ad_error_prefix("codegraph (category %s, subset %d of divide_num %d)", cat, t + 1, divide);
            }
        }
        free(subset);
    }
    if (codegraph_diag_close(g, 1)) {
        free(maps);
        return -1;
    }
    if (c.community && !(ctx && ctx->quiet))
        fprintf(runlog_stream(), "codegraph %s: %d flagged patches, %d edges, %d communities accepted, %d pairs filtered, %d excluded\n",
                cat, st.flagged, st.edges, st.accepted, st.recomputed, st.excluded);
    musc_finish(out, maps, p, test, ctx, S);
    return 0;
}

const Method method_codegraph = {"codegraph", 0, SPEC, run, NULL, 0};
