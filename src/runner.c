// `adbench run`: units (variant, dataset, category) -> features -> methods -> metrics -> CSV.
// The contract (protocols, timing definitions, resume, shards) is in runner.h.
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cli.h"
#include "curves.h"
#include "err.h"
#include "evaluate.h"
#include "fsutil.h"
#include "image.h"
#include "metrics.h"
#include "overlay.h"
#include "per_image.h"
#include "preprocess.h"  // resize_center_crop_u8
#include "progress.h"
#include "provenance.h"
#include "report.h"
#include "results.h"
#include "runlog.h"
#include "sha256.h"
#include "synth_dataset.h"
#include "run_state.h"
#include "variant.h"

void openblas_set_num_threads(int n);  // OpenBLAS extension (cblas.h)

static char *hex16(uint64_t h) { return ad_sprintf("%016llx", (unsigned long long)h); }

// ---------------------------------------------------------------------------------------
// Units and jobs

static int list_units(Run *R) {
    const Config *cfg = R->cfg;
    for (int v = 0; v < cfg->n_variants; v++) {
        const Variant *V = &cfg->variants[v];
        for (int d = 0; d < V->n_datasets; d++) {
            const DatasetConfig *D = &V->datasets[d];
            const DatasetAdapter *ad = registry_dataset(R->o->reg, D->name);
            if (!ad) return -1;
            char *root;
            if (D->root) {
                root = ad_strdup(D->root);
            } else {
                // synth without root: under the cache (or output) folder, named by its options.
                uint64_t h = FNV1A64_INIT;
                for (int i = 0; i < D->n_synth; i++) {
                    h = fnv1a64(h, D->synth_keys[i], strlen(D->synth_keys[i]) + 1);
                    h = fnv1a64(h, D->synth_vals[i], strlen(D->synth_vals[i]) + 1);
                }
                root = ad_sprintf("%s/synth-%016llx", V->cache_dir ? V->cache_dir : R->out_dir, (unsigned long long)h);
            }
            char **cats = NULL;
            int n = 0;
            if (R->o->dry_run) {
                if (D->n_categories) {
                    cats = ad_malloc((size_t)D->n_categories * sizeof *cats);
                    for (int i = 0; i < D->n_categories; i++) cats[i] = ad_strdup(D->categories[i]);
                    n = D->n_categories;
                } else {
                    cats = ad_calloc(1, sizeof *cats);  // one "all" unit
                    n = 1;
                }
            } else {
                if (!strcmp(D->name, "synth") && D->n_synth && synth_dataset_ensure(D, root)) {
                    free(root);
                    return ad_error_prefix("%s:%d: datasets[%d] (synth)", cfg->path, D->line, d);
                }
                if (!ds_is_dir(root)) {
                    if (D->optional) {
                        if (!R->o->quiet)
                            fprintf(runlog_stream(), "note: %s: dataset root %s not found; skipped (optional: true)\n", D->name, root);
                        free(root);
                        continue;
                    }
                    int rc = ad_error("%s:%d: datasets[%d] (%s): root '%s' is not a folder. Fix: download the dataset "
                                      "(scripts/fetch_datasets.sh) or set root (or optional: true)",
                                      cfg->path, D->line, d, D->name, root);
                    free(root);
                    return rc;
                }
                if (D->n_categories) {
                    cats = ad_malloc((size_t)D->n_categories * sizeof *cats);
                    for (int i = 0; i < D->n_categories; i++) cats[i] = ad_strdup(D->categories[i]);
                    n = D->n_categories;
                } else if (ad->list_categories(root, &cats, &n)) {
                    ad_error_prefix("%s (%s)", D->name, root);
                    free(root);
                    return -1;
                } else if (!n) {
                    ad_error("%s: no categories found under %s. Fix: check root", D->name, root);
                    free(root);
                    free(cats);
                    return -1;
                }
            }
            for (int i = 0; i < n; i++) {
                if (!R->n_units || !(R->n_units & (R->n_units - 1)))  // doubling (capacity: next power of two)
                    R->units = ad_realloc(R->units, (R->n_units ? 2 * (size_t)R->n_units : 1) * sizeof *R->units);
                R->units[R->n_units++] = (Unit){v, d, cats[i], ad, D->name, ad_strdup(root)};
            }
            free(cats);
            free(root);
        }
    }
    return 0;
}

static void make_jobs(Run *R) {
    const Config *cfg = R->cfg;
    R->max_m = 0;
    for (int v = 0; v < cfg->n_variants; v++)
        if (cfg->variants[v].n_methods > R->max_m) R->max_m = cfg->variants[v].n_methods;
    R->job_of = ad_malloc((size_t)(cfg->n_variants * R->max_m + 1) * sizeof *R->job_of);
    // De-duplication through an open-addressing set of job-id hashes (was O(n^2): 65,536
    // variants took minutes).
    size_t total = 0, cap = 16, n_alloc = 0;
    for (int v = 0; v < cfg->n_variants; v++) total += (size_t)cfg->variants[v].n_methods;
    while (cap < 2 * total) cap *= 2;
    uint64_t *seen = ad_calloc(cap, sizeof *seen);  // 0 = empty slot (48-bit ids are stored + 1)
    for (int v = 0; v < cfg->n_variants; v++)
        for (int m = 0; m < cfg->variants[v].n_methods; m++) {
            Job J = {v, m, NULL, {0}, 0};
            job_flatten(&cfg->variants[v], m, &J.kv);
            uint64_t h = FNV1A64_INIT;
            // The run seed only picks k-shot references (train[seed*k, (seed+1)*k)): zero-shot and
            // full-shot jobs of a seed grid are one job (MuSc's split seed and PatchCore's
            // coreset seed are method keys).
            const MethodConfig *mc = &cfg->variants[v].methods[m];
            int seed_unused = !mc->m->needs_train || mc->shots == 0;
            for (int i = 0; i < J.kv.n; i++) {
                if (seed_unused && !strcmp(J.kv.keys[i], "seed")) continue;
                h = fnv1a64(h, J.kv.keys[i], strlen(J.kv.keys[i]));
                h = fnv1a64(h, "=", 1);
                h = fnv1a64(h, J.kv.vals[i], strlen(J.kv.vals[i]));
                h = fnv1a64(h, "\n", 1);
            }
            J.id = ad_sprintf("%012llx", (unsigned long long)(h >> 16));  // 48 bits: short in tables
            uint64_t key = (h >> 16) + 1;  // the id is these 48 bits
            for (size_t i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (cap - 1);; i = (i + 1) & (cap - 1)) {
                if (!seen[i]) {
                    seen[i] = key;
                    break;
                }
                if (seen[i] == key) {
                    J.dup = 1;
                    break;
                }
            }
            if ((size_t)R->n_jobs == n_alloc) {
                n_alloc = n_alloc ? 2 * n_alloc : 64;
                R->jobs = ad_realloc(R->jobs, n_alloc * sizeof *R->jobs);
            }
            R->job_of[v * R->max_m + m] = R->n_jobs;
            R->jobs[R->n_jobs++] = J;
        }
    free(seen);
}

// ---------------------------------------------------------------------------------------
// Features

// Automatic backbone values (act: auto, ...) of the open backbone, for config.resolved.yaml.
static void note_backbone(Run *R) {
    if (!R->bb || !R->drv->resolved) return;
    const Variant *V = &R->cfg->variants[R->bb_v];
    R->n_opens++;
    for (const ParamSpec *s = R->drv->params; s && s->key; s++) {
        const char *v = R->drv->resolved(R->bb, s->key);
        if (!v) continue;
        KeyVals *kv = &R->resolved;
        kv->keys = ad_realloc(kv->keys, (size_t)(kv->n + 1) * sizeof *kv->keys);
        kv->vals = ad_realloc(kv->vals, (size_t)(kv->n + 1) * sizeof *kv->vals);
        kv->keys[kv->n] = ad_sprintf("backbone.%s", s->key);
        kv->vals[kv->n++] = ad_sprintf("%s\t%s", v, *V->grid_point ? V->grid_point : "");
    }
}

static void close_backbone(Run *R) {
    note_backbone(R);
    if (R->cache) cache_close(R->cache);
    if (R->bb && R->drv->close) R->drv->close(R->bb);
    free(R->bb_key);
    R->cache = NULL, R->bb = NULL, R->bb_key = NULL, R->drv = NULL;
}

static int ensure_backbone(Run *R, const Variant *V) {
    KeyVals kv;
    job_flatten(V, 0, &kv);
    char *key = ad_sprintf("%s|%s|%d", V->cache_dir ? V->cache_dir : "", V->backbone.name, V->cache_f16);
    for (int i = 0; i < kv.n; i++)
        if (!strncmp(kv.keys[i], "backbone", 8)) {
            char *k2 = ad_sprintf("%s|%s=%s", key, kv.keys[i], kv.vals[i]);
            free(key);
            key = k2;
        }
    keyvals_free(&kv);
    if (R->bb_key && !strcmp(R->bb_key, key)) {
        free(key);
        return 0;
    }
    close_backbone(R);
    sha256_cache_configure(V->cache_dir, R->o->quiet);  // the driver hashes its weights through it
    R->drv = V->backbone.drv;
    if (!R->drv->open) {
        free(key);
        return ad_error("backbone '%s' cannot be opened in this build", R->drv->name);
    }
    R->bb = R->drv->open(&V->backbone.params);
    R->bb_v = (int)(V - R->cfg->variants);
    if (!R->bb) {
        free(key);
        return ad_error_prefix("backbone '%s'", R->drv->name);
    }
    R->cache = cache_open_dtype(V->cache_dir, R->drv, R->bb, V->cache_f16 ? CACHE_FLOAT16 : CACHE_FLOAT32);
    if (!R->cache) {
        free(key);
        close_backbone(R);
        return -1;
    }
    R->bb_key = key;
    return 0;
}

typedef struct {
    double total_s, steady_s;  // all images; mean of images 2..n times n
    int hits;
} ExtractStats;

// Features for n images (deg[i] != 0: rotated first). On error everything is released.
static int extract_all(Run *R, const char *const *paths, const double *deg, int n, Features *out, const char *stage,
                       ExtractStats *st) {
    Progress pg;
    progress_begin(&pg, stage, n, R->o->quiet);
    memset(st, 0, sizeof *st);
    double rest = 0;
    for (int i = 0; i < n; i++) {
        double t = now_s();
        int hit = 0;
        int rc = deg && deg[i] != 0 ? cache_get_rotated(R->cache, paths[i], deg[i], &out[i], &hit)
                                    : cache_get(R->cache, paths[i], &out[i], &hit);
        if (rc) {
            for (int k = 0; k < i; k++) cache_release(R->cache, &out[k]);
            if (pg.mode == 2) fprintf(runlog_stream(), "\n");
            // the image path once: decode errors already name it
            return strstr(ad_last_error(), paths[i]) ? -1 : ad_error_prefix("%s", paths[i]);
        }
        t = now_s() - t;
        st->total_s += t;
        if (i) rest += t;
        st->hits += hit;
        if (i && (out[i].n_layers != out[0].n_layers || !layers_equal(out[i].layer, out[0].layer, out[0].n_layers) ||
                  out[i].embed_dim != out[0].embed_dim)) {
            int rc2 = ad_error("%s: features of %d layers (layer 0 %dx%dx%d) differ from the first image's %d layers "
                               "(layer 0 %dx%dx%d, %s). Fix: the backbone must give every image the same grid (use a "
                               "fixed input size)",
                               paths[i], out[i].n_layers, out[i].layer[0].gh, out[i].layer[0].gw, out[i].layer[0].dim,
                               out[0].n_layers, out[0].layer[0].gh, out[0].layer[0].gw, out[0].layer[0].dim, paths[0]);
            for (int k = 0; k <= i; k++) cache_release(R->cache, &out[k]);
            return rc2;
        }
        progress_step(&pg, i + 1);
    }
    progress_end(&pg);
    st->steady_s = n > 1 ? rest / (n - 1) * n : st->total_s;
    R->t_extract += st->total_s;
    R->n_images += n;
    R->n_hits += st->hits;
    return 0;
}

static FeatureBatch make_batch(const Features *f, int n, const float ***feat, const float ***emb) {
    *feat = ad_malloc((size_t)(n ? n : 1) * sizeof **feat);
    *emb = NULL;
    for (int i = 0; i < n; i++) (*feat)[i] = f[i].patch;
    if (n && f[0].embed_dim) {
        *emb = ad_malloc((size_t)n * sizeof **emb);
        for (int i = 0; i < n; i++) (*emb)[i] = f[i].embed;
    }
    FeatureBatch b = {n, n ? f[0].n_layers : 0, n ? f[0].gh : 0, n ? f[0].gw : 0, n ? f[0].dim : 0,
                      *feat, n ? f[0].embed_dim : 0, *emb, {{0}}};
    if (n) memcpy(b.layer, f[0].layer, sizeof b.layer);
    return b;
}

// ---------------------------------------------------------------------------------------
// One (unit, method)

typedef struct {
    int n;
    char **k, **v;
} Cells;

static void cset(Cells *c, const char *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cset(Cells *c, const char *k, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->k = ad_realloc(c->k, (size_t)(c->n + 1) * sizeof *c->k);
    c->v = ad_realloc(c->v, (size_t)(c->n + 1) * sizeof *c->v);
    c->k[c->n] = ad_strdup(k);
    c->v[c->n] = ad_strdup(buf);
    c->n++;
}
static void cnum(Cells *c, const char *k, double x) {
    if (isnan(x)) cset(c, k, "nan");
    else cset(c, k, "%.12g", x);
}
static void cfree(Cells *c) {
    for (int i = 0; i < c->n; i++) free(c->k[i]), free(c->v[i]);
    free(c->k), free(c->v);
}

// Methods report a fraction per checkpoint (MuSc: per feature set); subsets or later stages
// may restart it, so the bar only moves forward, and never to 100 % before the method returns.
static void score_progress(void *user, double fraction) {
    Progress *pg = user;
    long done = (long)(fraction * (double)pg->total);
    if (done >= pg->total) done = pg->total - 1;
    if (done > pg->done) progress_step(pg, done);
}

// References of a few/full-shot method: train[first, first + k), each rotated rot times.
static int ref_range(const Unit *U, const Category *C, const Variant *V, const MethodConfig *mc, int *first_out,
                     int *k_out, int *rot_out) {
    int k = mc->shots, first = 0;
    if (k > 0) {
        // 64-bit: seed * shots overflowed an int (seed 1610612736, shots 4 read past train[]).
        int64_t first64 = (int64_t)V->seed * k;
        if (first64 + k > C->n_train)
            return ad_error("%s/%s: %s with shots %d and seed %d needs train images %lld..%lld, but the category has %d. "
                            "Fix: lower shots or seed",
                            U->dsname, U->category, mc->name, k, V->seed, (long long)first64,
                            (long long)(first64 + k - 1), C->n_train);
        first = (int)first64;
    } else {
        k = C->n_train;
    }
    if (k == 0) return ad_error("%s/%s: %s needs normal training images, found none", U->dsname, U->category, mc->name);
    int rot = mc->m->reference_rotations ? mc->m->reference_rotations(&mc->params, U->category) : 1;
    if (rot < 1) return ad_error_prefix("%s (reference_rotations)", mc->name);
    *first_out = first, *k_out = k, *rot_out = rot;
    return 0;
}

// Before any extraction of a unit: the cache's size line and budget check over the test images
// and the references of every pending method (cache_preflight).
static int cache_check_unit(Run *R, const Unit *U, const Category *C, const Variant *V, const int *pend, int np) {
    if (!V->cache_dir) return 0;
    int n = C->n_test, cap = n;
    for (int k = 0; k < np; k++) {
        const MethodConfig *mc = &V->methods[pend[k]];
        int first, kk, rot;
        if (mc->m->needs_train && !ref_range(U, C, V, mc, &first, &kk, &rot)) cap += kk * rot;
    }
    const char **paths = ad_malloc((size_t)cap * sizeof *paths);
    double *deg = ad_calloc((size_t)cap, sizeof *deg);
    for (int i = 0; i < C->n_test; i++) paths[i] = C->test[i].path;
    for (int k = 0; k < np; k++) {
        const MethodConfig *mc = &V->methods[pend[k]];
        int first, kk, rot;
        if (!mc->m->needs_train || ref_range(U, C, V, mc, &first, &kk, &rot)) continue;  // run_method reports it
        for (int i = 0; i < kk; i++)
            for (int r = 0; r < rot; r++) paths[n] = C->train[first + i].path, deg[n++] = r * 360.0 / rot;
    }
    char *what = ad_sprintf("%s/%s", U->dsname, U->category);
    CacheBudget b;
    int rc = cache_preflight(R->cache, V->cache_dir, paths, deg, n, V->cache_max_gb, what, R->o->quiet ? NULL : runlog_stream(), &b);
    free(what), free(paths), free(deg);
    return rc;
}

// What scoring one job produced besides its MethodOutput.
typedef struct {
    int n_refs, n_train_used;  // reference entries (rotations included); train images used
    int gh, gw;                // the maps' grid
    ExtractStats rst;          // reference extraction
    double score_s;            // Method.run
} Scored;

// References (few/full-shot), Method.run on the test features tf, and the output checks: the
// part of a job that `adbench predict` shares. diag: diagnostics folder (NULL: none). On
// success mo holds C->n_test scores and maps of sc->gh x sc->gw; on error it is freed.
static int score_job(Run *R, const Unit *U, const Variant *V, const MethodConfig *mc, const Category *C, Features *tf,
                     const char *diag, MethodOutput *mo, Scored *sc) {
    const Method *M = mc->m;
    int n = C->n_test, rc = -1;
    memset(sc, 0, sizeof *sc);
    memset(mo, 0, sizeof *mo);
    Features *rf = NULL;
    int n_refs = 0;
    if (M->needs_train) {
        int k, first, rot;
        if (ref_range(U, C, V, mc, &first, &k, &rot)) return -1;
        sc->n_train_used = k;
        n_refs = k * rot;
        const char **paths = ad_malloc((size_t)n_refs * sizeof *paths);
        double *deg = ad_malloc((size_t)n_refs * sizeof *deg);
        for (int i = 0; i < k; i++)
            for (int r = 0; r < rot; r++) {
                paths[i * rot + r] = C->train[first + i].path;
                deg[i * rot + r] = r * 360.0 / rot;
            }
        rf = ad_calloc((size_t)n_refs, sizeof *rf);
        char stage[96];
        snprintf(stage, sizeof stage, "extract %s refs", U->category);
        int erc = extract_all(R, paths, deg, n_refs, rf, stage, &sc->rst);
        free(paths);
        free(deg);
        if (erc) {
            free(rf);
            return -1;
        }
    }
    sc->n_refs = n_refs;
    const float **tfeat, **temb, **rfeat = NULL, **remb = NULL;
    FeatureBatch tb = make_batch(tf, n, &tfeat, &temb), rb = {0};
    if (rf) rb = make_batch(rf, n_refs, &rfeat, &remb);
    if (rf && (rb.n_layers != tb.n_layers || !layers_equal(rb.layer, tb.layer, tb.n_layers))) {
        ad_error("%s/%s: reference features (%d layers, layer 0 %dx%dx%d) differ from the test features (%d, "
                 "%dx%dx%d). Fix: use a fixed backbone input size",
                 U->dsname, U->category, rb.n_layers, rb.layer[0].gh, rb.layer[0].gw, rb.layer[0].dim, tb.n_layers,
                 tb.layer[0].gh, tb.layer[0].gw, tb.layer[0].dim);
        goto out;
    }
    // CNN layers of different grids / widths: single-grid methods get them aligned.
    FeatureBatch ta = tb, ra = rb;
    if (!M->multiscale) {
        const char *mode = params_find(mc->params.spec, "layer_align") ? params_str(&mc->params, "layer_align") : "concat";
        if (feature_batch_align(&ta, &tb, mode) || (rf && feature_batch_align(&ra, &rb, mode))) {
            feature_batch_align_free(&ta, &tb);
            ad_error_prefix("%s/%s: method %s", U->dsname, U->category, mc->name);
            goto out;
        }
    }
    const char **defects = ad_malloc((size_t)n * sizeof *defects);
    for (int i = 0; i < n; i++) defects[i] = C->test[i].defect;
    int score_size = V->eval.resized ? V->eval.size : 0;
    if (!score_size) {
        const ParamSpec *s = params_find(V->backbone.params.spec, "size");
        score_size = s && s->type == PT_INT ? params_int(&V->backbone.params, "size") : 0;
        if (score_size <= 0) score_size = 518;  // native evaluation, backbone at its default size
    }
    MethodContext ctx = {diag, U->category, U->ad->rscin_k, score_size, defects, R->mode != 2};
    char stage[96];
    snprintf(stage, sizeof stage, "score %s", mc->name);
    Progress pg;
    progress_begin(&pg, stage, n, R->o->quiet);
    double t = now_s();
    method_set_progress(score_progress, &pg);
    int mrc = M->run(&mc->params, &ta, rf ? &ra : NULL, &ctx, mo);
    feature_batch_align_free(&ta, &tb);
    if (rf) feature_batch_align_free(&ra, &rb);
    method_set_progress(NULL, NULL);
    sc->score_s = now_s() - t;
    if (!mrc) {
        progress_step(&pg, n);
        progress_end(&pg);
    } else if (pg.mode == 2) {
        fprintf(runlog_stream(), "\n");
    }
    free(defects);
    R->t_score += sc->score_s;
    if (mrc) {
        method_output_free(mo);
        ad_error_prefix("%s/%s: method %s", U->dsname, U->category, mc->name);
        goto out;
    }
    if (!mo->maps || !mo->image_score) {
        method_output_free(mo);
        ad_error("%s/%s: method %s returned no maps or scores (internal error in the method)", U->dsname, U->category,
                 mc->name);
        goto out;
    }
    int mgh = mo->gh ? mo->gh : tb.gh, mgw = mo->gw ? mo->gw : tb.gw;  // the maps' grid
    for (int i = 0; i < n; i++) {
        int bad = !isfinite(mo->image_score[i]);
        for (int p = 0; p < mgh * mgw && !bad; p++) bad = !isfinite(mo->maps[(size_t)i * mgh * mgw + p]);
        if (bad) {
            ad_error("%s/%s: method %s returned a non-finite (NaN/Inf) %s for test image %d (%s). Fix: a method bug or "
                     "degenerate features; no row was written for this category",
                     U->dsname, U->category, mc->name, isfinite(mo->image_score[i]) ? "map value" : "score", i,
                     C->test[i].path);
            method_output_free(mo);
            goto out;
        }
    }
    sc->gh = mgh, sc->gw = mgw;
    rc = 0;
out:
    free(tfeat), free(temb), free(rfeat), free(remb);
    if (rf) {
        for (int i = 0; i < n_refs; i++) cache_release(R->cache, &rf[i]);
        free(rf);
    }
    return rc;
}

static int run_method(Run *R, const Unit *U, const Category *C, const Job *J, Features *tf, const ExtractStats *tst,
                      const char *split_hash) {
    const Variant *V = &R->cfg->variants[U->v];
    const MethodConfig *mc = &V->methods[J->m];
    int n = C->n_test;
    char *diag = ad_sprintf("%s/diagnostics/%s/%s", R->out_dir, J->id, U->dsname);
    if (fs_mkdirs(diag)) {
        free(diag);
        return -1;
    }
    MethodOutput mo;
    Scored sc;
    int src = score_job(R, U, V, mc, C, tf, diag, &mo, &sc);
    free(diag);
    if (src) return -1;
    int n_refs = sc.n_refs, n_train_used = sc.n_train_used, mgh = sc.gh, mgw = sc.gw;
    const ExtractStats rst = sc.rst;
    double score_s = sc.score_s, t;
    Progress pg;
    // Per-image scores and raw maps (per_image.h), before the row: resume redoes both.
    char *variant = variant_label(V, J->m, ',');
    PerImageKey pik = {J->id, U->dsname, U->category, mc->name, variant};
    int prc = per_image_save(R->out_dir, R->per_image_csv, &pik, C, &mo, mgh, mgw);
    free(variant);
    if (prc) {
        method_output_free(&mo);
        return -1;
    }
    // Metrics.
    BinaryMetrics bm;
    PixelMetrics pm;
    progress_begin(&pg, "metrics", n, R->o->quiet);
    t = now_s();
    char *pic_dir = NULL;  // save_maps: pictures/<dataset>/<category>/<method>[@variant] (overlay.h)
    if (V->save_maps) {
        char *vl = variant_label(V, J->m, ',');
        int same = 0;  // two entries of one method (other settings, no grid): the job id tells them apart
        for (int m = 0; m < V->n_methods; m++) same += !strcmp(V->methods[m].name, mc->name);
        char *name = same > 1 ? ad_sprintf("%s~%s", mc->name, J->id) : ad_strdup(mc->name);
        pic_dir = overlay_dir(R->out_dir, U->dsname, U->category, name, vl);
        free(vl), free(name);
    }
    EvalCurves ec;
    int erc = evaluate_maps(&V->eval, U->ad->mask_rule, C, &mo, mgh, mgw, pic_dir, &bm, &pm, V->report ? &ec : NULL);
    free(pic_dir);
    if (!erc && V->report) {  // the row's curves, before the row (resume redoes both)
        int same = 0;  // named as the pictures are: two entries of one method add the job id
        for (int m = 0; m < V->n_methods; m++) same += !strcmp(V->methods[m].name, mc->name);
        char *vl = variant_label(V, J->m, ','), *stem = curves_stem(mc->name, vl, same > 1 ? J->id : NULL);
        char *path = curves_path(R->out_dir, U->dsname, U->category, stem);
        erc = curves_write(path, &ec);
        free(vl), free(stem), free(path);
    }
    if (V->report) eval_curves_free(&ec);
    method_output_free(&mo);
    double metrics_s = now_s() - t;
    R->t_metrics += metrics_s;
    if (!erc) {
        progress_step(&pg, n);
        progress_end(&pg);
    } else if (pg.mode == 2) {
        fprintf(runlog_stream(), "\n");
    }
    if (erc) {
        ad_error_prefix("%s/%s: method %s: evaluation", U->dsname, U->category, mc->name);
        return -1;
    }
    // Row.
    Cells c = {0};
    cset(&c, "job", "%s", J->id);
    cset(&c, "dataset", "%s", U->dsname);
    cset(&c, "category", "%s", U->category);
    cset(&c, "n_categories", "1");
    for (int i = 0; i < J->kv.n; i++) cset(&c, J->kv.keys[i], "%s", J->kv.vals[i]);
    double mv[8] = {bm.auroc, bm.ap, bm.f1max, pm.auroc, pm.ap, pm.f1max, pm.aupro, pm.aupro_musc};
    for (int k = 0; k < N_RESULT_METRICS; k++) cnum(&c, RESULT_METRICS[k], mv[k]);
    cset(&c, "n_test", "%d", n);
    cset(&c, "n_train", "%d", n_train_used);
    cset(&c, "n_refs", "%d", n_refs);
    cnum(&c, "extract_s", tst->total_s + rst.total_s);
    cnum(&c, "score_s", score_s);
    cnum(&c, "metrics_s", metrics_s);
    double denom = tst->steady_s + score_s;
    cnum(&c, "images_per_s", denom > 0 ? n / denom : NAN);
    cset(&c, "cache_hits", "%d", tst->hits + rst.hits);
    char *gl = variant_label(V, J->m, ' '), *vl = variant_label(V, J->m, ',');
    cset(&c, "grid", "%s", gl);  // only the grid values that concern this job (variant.h)
    cset(&c, "variant", "%s", vl);
    free(gl), free(vl);
    const ParamSpec *ss = params_find(V->backbone.params.spec, "size");
    if (ss && ss->type == PT_INT) cset(&c, "image_size", "%d", params_int(&V->backbone.params, "size"));
    cset(&c, "feature_grid", "%dx%d", mgh, mgw);
    cset(&c, "git_commit", "%s", R->prov.git_commit);
    cset(&c, "adbench_version", "%s", R->prov.version);
    cset(&c, "cpu_model", "%s", R->prov.cpu_model);
    cset(&c, "threads", "%d", omp_get_max_threads());
    cset(&c, "blas_config", "%s", R->prov.blas_config);
    cset(&c, "config_hash", "%s", R->cfg->hash);
    cset(&c, "split_hash", "%s", split_hash);
    cset(&c, "weights_sha256", "%s", R->wsha[J->v]);
    // Cache size of this category's entries: header + float payload per image.
    if (R->cache && V->cache_dir) {
        double per = (double)cache_entry_bytes(tf[0].layer, tf[0].n_layers, tf[0].embed_dim, cache_dtype(R->cache));
        cnum(&c, "cache_mb", per * (n + n_refs) / 1e6);
    }
    const char **cells = ad_calloc((size_t)R->table.n_cols, sizeof *cells);
    for (int i = 0; i < c.n; i++) {
        int col = table_col(&R->table, c.k[i]);
        if (col >= 0) cells[col] = c.v[i];
    }
    table_add_row(&R->table, cells);
    free(cells);
    cfree(&c);
    R->rows_new++;
    if (run_write_results(R)) return -1;
    int r = run_find_row(R, J->id, U->dsname, U->category);
    run_print_row(R, r);
    int rm = run_find_row(R, J->id, U->dsname, "mean");
    if (rm >= 0 && run_group_complete(J->id, U->dsname, atoi(table_get(&R->table, rm, "n_categories")), R)) {
        // Print the mean once: right after the group's last category.
        int last = 1;
        for (int u = 0; u < R->n_units; u++)
            if (R->units[u].v == U->v && !strcmp(R->units[u].dsname, U->dsname) && R->units[u].category &&
                run_find_row(R, J->id, U->dsname, R->units[u].category) < 0)
                last = 0;
        if (last) run_print_row(R, rm);
    }
    return 0;
}

static char *split_hash_of(const Category *C, const char *root) {
    size_t rl = strlen(root);
    uint64_t h = FNV1A64_INIT;
    for (int part = 0; part < 2; part++) {
        const Sample *s = part ? C->test : C->train;
        int n = part ? C->n_test : C->n_train;
        h = fnv1a64(h, part ? "test\n" : "train\n", part ? 5 : 6);
        for (int i = 0; i < n; i++) {
            const char *p = s[i].path, *m = s[i].mask_path ? s[i].mask_path : "";
            if (!strncmp(p, root, rl)) p += rl;
            if (*m && !strncmp(m, root, rl)) m += rl;
            char lab[8];
            snprintf(lab, sizeof lab, "%d", s[i].label);
            const char *parts[4] = {p, m, lab, s[i].defect ? s[i].defect : ""};
            for (int k = 0; k < 4; k++) h = fnv1a64(h, parts[k], strlen(parts[k]) + 1);
        }
    }
    return hex16(h);
}

// The backbone of V, the cache's size check, then the test images' features (*tf: C->n_test of
// them, released with cache_release), shared by runs and predict. 0, or -1 with *tf NULL.
static int extract_test(Run *R, const Unit *U, const Category *C, const Variant *V, const int *pend, int np,
                        const char *stage, Features **tf, ExtractStats *st) {
    *tf = NULL;
    if (ensure_backbone(R, V) || cache_check_unit(R, U, C, V, pend, np)) return -1;
    Features *f = ad_calloc((size_t)C->n_test, sizeof *f);
    const char **paths = ad_malloc((size_t)C->n_test * sizeof *paths);
    for (int i = 0; i < C->n_test; i++) paths[i] = C->test[i].path;
    int rc = extract_all(R, paths, NULL, C->n_test, f, stage, st);
    free(paths);
    if (rc) free(f);
    else *tf = f;
    return rc;
}

static int run_unit(Run *R, int ui) {
    const Unit *U = &R->units[ui];
    const Variant *V = &R->cfg->variants[U->v];
    int *pend = ad_malloc((size_t)V->n_methods * sizeof *pend), np = 0;
    for (int m = 0; m < V->n_methods; m++) {
        const Job *J = job_at(R, U->v, m);
        if (J->dup) continue;
        pend[np++] = m;
    }
    if (!np) {
        free(pend);
        return 0;
    }
    if (V->threads > 0) {
        omp_set_num_threads(V->threads);
        openblas_set_num_threads(V->threads);
    }
    Category C;
    memset(&C, 0, sizeof C);
    if (U->ad->load(U->root, U->category, &C)) {
        free(pend);
        return ad_error_prefix("%s/%s", U->dsname, U->category);
    }
    int rc = -1;
    Features *tf = NULL;
    char *split = NULL;
    if (C.n_test < 1) {
        ad_error("%s/%s: no test images under %s. Fix: check the dataset tree", U->dsname, U->category, U->root);
        goto done;
    }
    split = split_hash_of(&C, U->root);
    // Resume: a row is kept only when it was computed on the same split (the sample list);
    // after the data or the dataset root changed it is stale and recomputed.
    {
        int kept = 0;
        for (int k = 0; k < np; k++) {
            const Job *J = job_at(R, U->v, pend[k]);
            int r = run_find_row(R, J->id, U->dsname, U->category);
            if (r >= 0 && !strcmp(table_get(&R->table, r, "split_hash"), split)) continue;
            if (r >= 0) {
                fprintf(runlog_stream(), "adbench: warning: %s: row %s %s/%s was computed on another split (split_hash %s, now %s): "
                        "recomputing it\n", R->csv_path, J->id, U->dsname, U->category,
                        table_get(&R->table, r, "split_hash"), split);
                table_remove_row(&R->table, r);
            }
            pend[kept++] = pend[k];
        }
        np = kept;
        if (!np) {
            rc = 0;
            goto done;
        }
    }
    char stage[96];
    snprintf(stage, sizeof stage, "extract %s/%s", U->dsname, U->category);
    ExtractStats tst;
    if (extract_test(R, U, &C, V, pend, np, stage, &tf, &tst)) goto done;
    if (R->mode && V->cache_dir && R->cache) {
        const Features *f = &tf[0];
        double mb = C.n_test * (double)cache_entry_bytes(f->layer, f->n_layers, f->embed_dim, cache_dtype(R->cache)) / 1e6;
        fprintf(runlog_stream(), "  cache %s/%s: %.1f MB for %d test images (%d from cache) in %s\n", U->dsname, U->category, mb,
                C.n_test, tst.hits, V->cache_dir);
    }
    for (int k = 0; k < np; k++) {
        if (!R->o->quiet) {
            char *what = ad_sprintf("%s/%s %s (job %s)", U->dsname, U->category, V->methods[pend[k]].name, job_at(R, U->v, pend[k])->id);
            char *vl = variant_label(V, pend[k], ',');
            job_counter_next(&R->jc, runlog_stream(), what, vl);
            free(what), free(vl);
        }
        if (run_method(R, U, &C, job_at(R, U->v, pend[k]), tf, &tst, split)) goto done;
    }
    rc = 0;
done:
    if (tf) {
        for (int i = 0; i < C.n_test; i++) cache_release(R->cache, &tf[i]);
        free(tf);
    }
    free(split);
    free(pend);
    category_free(&C);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Dry run

static void print_params(FILE *f, const Params *p) {
    fprintf(f, "{");
    for (int i = 0; i < p->n; i++) fprintf(f, "%s%s: %s", i ? ", " : "", p->keys[i], p->values[i]);
    fprintf(f, "}");
}

static int dry_run(Run *R) {
    const Config *cfg = R->cfg;
    FILE *f = R->con;
    int n_jobs = 0;
    for (int j = 0; j < R->n_jobs; j++) n_jobs += !R->jobs[j].dup;
    fprintf(f, "config %s (hash %s): %d variant%s, %d job%s; results: %s\n", cfg->path, cfg->hash, cfg->n_variants,
            cfg->n_variants == 1 ? "" : "s", n_jobs, n_jobs == 1 ? "" : "s", R->csv_path);
    for (int v = 0; v < cfg->n_variants; v++) {
        const Variant *V = &cfg->variants[v];
        fprintf(f, "variant %d/%d%s%s\n", v + 1, cfg->n_variants, *V->grid_point ? ": " : "", V->grid_point);
        fprintf(f, "  backbone %s ", V->backbone.name);
        print_params(f, &V->backbone.params);
        fprintf(f, "\n");
        for (int m = 0; m < V->n_methods; m++) {
            const Job *J = job_at(R, v, m);
            fprintf(f, "  job %s %s ", J->id, V->methods[m].name);
            print_params(f, &V->methods[m].params);
            if (V->methods[m].m->needs_train) fprintf(f, " shots=%d", V->methods[m].shots);
            char *vl = variant_label(V, m, ',');  // the job's own grid values (variant.h)
            fprintf(f, "%s%s%s%s\n", *vl ? " [" : "", vl, *vl ? "]" : "", J->dup ? " (same as an earlier job: runs once)" : "");
            free(vl);
        }
        fprintf(f, "  evaluation %s mask_rule=%s pro_limit=%g image_score=%s seed=%d\n",
                V->eval.resized ? "resized" : "native", V->eval.mask_rule, V->eval.pro_limit,
                V->eval.image_score_max ? "max" : "method", V->seed);
        if (V->eval.resized) fprintf(f, "  evaluation size %d\n", V->eval.size);
        for (int d = 0; d < V->n_datasets; d++) {
            const DatasetConfig *D = &V->datasets[d];
            fprintf(f, "  dataset %s root=%s categories=", D->name, D->root ? D->root : "(generated)");
            if (!D->n_categories) fprintf(f, "all");
            for (int i = 0; i < D->n_categories; i++) fprintf(f, "%s%s", i ? "," : "", D->categories[i]);
            fprintf(f, "%s\n", D->optional ? " (optional)" : "");
        }
    }
    if (R->o->shard_n > 1) {
        fprintf(f, "shard %d/%d:", R->o->shard_i, R->o->shard_n);
        int any_all = 0;
        for (int u = 0; u < R->n_units; u++) any_all |= !R->units[u].category;
        if (any_all) {
            fprintf(f, " units are assigned once 'categories: all' is listed from the dataset\n");
        } else {
            for (int u = 0; u < R->n_units; u++)
                if (u % R->o->shard_n == R->o->shard_i && (!R->keep || R->keep[u]))
                    fprintf(f, " %s/%s[v%d]", R->units[u].dsname, R->units[u].category, R->units[u].v + 1);
            fprintf(f, "\n");
        }
    }
    if (R->keep) {  // --only
        fprintf(f, "only:");
        for (int u = 0; u < R->n_units; u++)
            if (R->keep[u]) fprintf(f, " %s/%s[v%d]", R->units[u].dsname, R->units[u].category ? R->units[u].category : "*", R->units[u].v + 1);
        fprintf(f, "\n");
    }
    fprintf(f, "dry run: no weights or datasets were opened\n");
    return 0;
}

// ---------------------------------------------------------------------------------------

int runner_run(const Config *cfg, const RunOptions *o) {
    Run R;
    memset(&R, 0, sizeof R);
    R.cfg = cfg;
    R.o = o;
    R.con = o->out ? o->out : stdout;
    R.mode = progress_mode(o->quiet);
    R.t0 = now_s();
    int rc = -1, lock_fd = -1;
    if (o->shard_n > 1 && (o->shard_i < 0 || o->shard_i >= o->shard_n))
        return ad_error("--shard %d/%d: expected i/n with 0 <= i < n", o->shard_i, o->shard_n);
    // Output folder: one for the whole config.
    const char *od = o->out_dir;
    if (!od) {
        od = cfg->variants[0].out_dir;
        for (int v = 1; v < cfg->n_variants; v++)
            if (strcmp(cfg->variants[v].out_dir, od))
                return ad_error("%s: out_dir differs between grid points ('%s' vs '%s'); it must be one folder. Fix: do "
                                "not grid out_dir",
                                cfg->path, od, cfg->variants[v].out_dir);
    }
    R.out_dir = ad_strdup(od);
    R.csv_path = o->shard_n > 1 ? ad_sprintf("%s/results.shard-%d-of-%d.csv", od, o->shard_i, o->shard_n)
                                : ad_sprintf("%s/results.csv", od);
    make_jobs(&R);
    // run.log: opened here when the folder exists (a resumed run's errors in listing the
    // data are logged too), else once it is made below.
    int log_open = 0;
    if (!o->dry_run) {
        provenance_collect(&R.prov);  // before resume: stale rows are those of another commit
        if (ds_is_dir(R.out_dir)) {
            if (runlog_open(R.out_dir, R.prov.git_commit, R.prov.version)) goto done;
            log_open = 1;
        }
    }
    if (list_units(&R)) goto done;
    if (o->n_only) {  // --only DATASET/CATEGORY (variant.h)
        const char **ds = ad_malloc((size_t)(R.n_units + 1) * sizeof *ds), **ca = ad_malloc((size_t)(R.n_units + 1) * sizeof *ca);
        for (int u = 0; u < R.n_units; u++) ds[u] = R.units[u].dsname, ca[u] = R.units[u].category;
        R.keep = ad_malloc((size_t)(R.n_units + 1) * sizeof *R.keep);
        int orc = only_select(o->only, o->n_only, R.n_units, ds, ca, R.keep);
        free(ds), free(ca);
        if (orc) goto done;
    }
    if (o->dry_run) {
        rc = dry_run(&R);
        goto done;
    }
    if (fs_mkdirs(R.out_dir)) goto done;
    // One writer per results file: two runs into one out_dir each read the CSV, added their
    // rows and renamed, losing the other's. Shards write their own files and may run together.
    if ((lock_fd = run_lock_results(R.csv_path)) < 0) goto done;
    char **cols;
    int ncols;
    run_build_columns(&R, &cols, &ncols);
    table_init(&R.table, (const char *const *)cols, ncols);
    for (int i = 0; i < ncols; i++) free(cols[i]);
    free(cols);
    if (!log_open && runlog_open(R.out_dir, R.prov.git_commit, R.prov.version)) goto done;  // runlog.h
    run_weights_digests(&R);  // resume: rows of other weights are stale too
    if (run_load_existing(&R)) goto done;
    // after resume was accepted (a refused resume must not replace the folder's resolved config);
    // written again at the end, with the automatic values resolved
    if (run_write_resolved(&R)) goto done;
    R.per_image_csv = per_image_csv_path(R.csv_path);
    int n_mine = 0;
    for (int u = 0; u < R.n_units; u++) n_mine += o->shard_n <= 1 || u % o->shard_n == o->shard_i;
    if (!o->quiet)
        fprintf(runlog_stream(), "adbench run %s: %d unit%s (dataset x category x variant)%s, results -> %s\n", cfg->path, n_mine,
                n_mine == 1 ? "" : "s", o->shard_n > 1 ? " in this shard" : "", R.csv_path);
    int n_pending = 0;  // (unit, method) rows still to compute: the job counter's N
    for (int u = 0; u < R.n_units; u++)
        for (int m = 0; (o->shard_n <= 1 || u % o->shard_n == o->shard_i) && (!R.keep || R.keep[u]) &&
                        m < cfg->variants[R.units[u].v].n_methods; m++)
            n_pending += !job_at(&R, R.units[u].v, m)->dup &&
                         run_find_row(&R, job_at(&R, R.units[u].v, m)->id, R.units[u].dsname, R.units[u].category) < 0;
    job_counter_init(&R.jc, n_pending);
    for (int u = 0; u < R.n_units; u++) {
        if (o->shard_n > 1 && u % o->shard_n != o->shard_i) continue;
        if (R.keep && !R.keep[u]) continue;  // --only
        if (run_unit(&R, u)) goto done;
    }
    // Rewrite once more so mean rows exist even when every row was resumed.
    if (run_write_results(&R)) goto done;
    close_backbone(&R);
    if (run_write_resolved(&R)) goto done;
    int want_report = 0;
    for (int v = 0; v < cfg->n_variants; v++) want_report |= cfg->variants[v].report;
    if (want_report && o->shard_n > 1) {
        if (!o->quiet)
            fprintf(runlog_stream(), "report: not drawn for one shard; after adbench merge %s/results.csv ..., run adbench report %s\n",
                    R.out_dir, R.out_dir);
    } else if (want_report) {
        int n_png = 0;
        if (report_render(R.out_dir, &n_png)) goto done;
        fprintf(runlog_stream(), "report: %s/report.html (%d figure%s in %s/plots)\n", R.out_dir, n_png, n_png == 1 ? "" : "s",
                R.out_dir);
    }
    if (!o->quiet) {
        double total = now_s() - R.t0;
        fprintf(runlog_stream(),
                "timings: extract %.2f s (%ld images, %ld from cache), score %.2f s, metrics %.2f s, total %.2f s\n",
                R.t_extract, R.n_images, R.n_hits, R.t_score, R.t_metrics, total);
    }
    fprintf(runlog_stream(), "results: %s (%d new row%s)\n", R.csv_path, R.rows_new, R.rows_new == 1 ? "" : "s");
    rc = 0;
done:
    progress_idle();
    if (rc && !o->dry_run) runlog_error(ad_last_error());
    runlog_close();
    free(R.keep);
    free(R.per_image_csv);
    for (int v = 0; R.wsha && v < cfg->n_variants; v++) free(R.wsha[v]);
    free(R.wsha);
    keyvals_free(&R.resolved);
    if (lock_fd >= 0) close(lock_fd);  // releases the flock
    close_backbone(&R);
    for (int u = 0; u < R.n_units; u++) free(R.units[u].category), free(R.units[u].root);
    free(R.units);
    for (int j = 0; j < R.n_jobs; j++) free(R.jobs[j].id), keyvals_free(&R.jobs[j].kv);
    free(R.jobs);
    free(R.job_of);
    table_free(&R.table);
    free(R.out_dir);
    free(R.csv_path);
    return rc;
}

// ---------------------------------------------------------------------------------------
// adbench predict: the same extraction and scoring on an in-memory category

int runner_predict(const Config *cfg, const Category *C, const char *method, int quiet, PredictFn cb, void *user) {
    const Variant *V = &cfg->variants[0];
    RunOptions o = {0};
    o.quiet = quiet, o.shard_n = 1;
    Run R;
    memset(&R, 0, sizeof R);
    R.cfg = cfg, R.o = &o, R.mode = progress_mode(quiet);  // no table printing, no run timings
    // Messages read "predict/<folder>: ..."; RsCIN windows: the plain folder layout's.
    Unit U = {0, 0, C->name, dataset_find("folder"), "predict", NULL};
    int *pend = ad_malloc((size_t)V->n_methods * sizeof *pend), np = 0;
    for (int m = 0; m < V->n_methods; m++)
        if (!method || !strcmp(V->methods[m].name, method)) pend[np++] = m;
    int rc = -1;
    Features *tf = NULL;
    if (!U.ad) goto done;
    if (V->threads > 0) {
        omp_set_num_threads(V->threads);
        openblas_set_num_threads(V->threads);
    }
    ExtractStats tst;
    if (extract_test(&R, &U, C, V, pend, np, "extract images", &tf, &tst)) goto done;
    for (int k = 0; k < np; k++) {
        const MethodConfig *mc = &V->methods[pend[k]];
        MethodOutput mo;
        Scored sc;
        if (score_job(&R, &U, V, mc, C, tf, NULL, &mo, &sc)) goto done;
        int crc = cb(user, pend[k], &mo, sc.gh, sc.gw);
        method_output_free(&mo);
        if (crc) goto done;
    }
    rc = 0;
done:
    progress_idle();
    if (tf) {
        for (int i = 0; i < C->n_test; i++) cache_release(R.cache, &tf[i]);
        free(tf);
    }
    close_backbone(&R);
    free(pend);
    return rc;
}
