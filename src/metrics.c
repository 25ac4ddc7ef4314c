// Exact evaluation metrics (../shared/docs/datasets_metrics.md Part B).
//
// Every metric of one family comes from ONE descending walk over the score groups (a group =
// all samples with one score value, equality in the storage dtype; -0 == +0). Per group we
// know fp (negatives), tp (positives) and, at pixel level, the sum of 1/|region| of its
// positive pixels; from that stream we accumulate
//   AUROC  = exact Mann-Whitney U with ties counted 1/2 (integer arithmetic),
//   AP     = sum over groups of tp * precision / P (sklearn's step-wise AP),
//   F1-max = max of 2TP/(2TP+FP+FN) compared exactly in integers,
//   AU-PRO = official MVTec curve (one point per group, clip, (0,0)..(1,1), trapezoid to the
//            limit with linear interpolation, / limit),
//   MuSc-PRO = the 200-threshold variant (spec B5.3): thresholds recorded as the walk passes
//            them (pixel positive iff score > th).
//
// The pixel "sort" (float32 maps): scores map to order-preserving uint32 keys. Negative
// pixels (~97% of all) are scattered by their top 16 key bits into 65536 buckets, keeping
// only the low 16 bits (2 bytes a pixel), then each bucket is counting- or radix-sorted.
// Positive pixels (key, global region id) are sorted with a stable parallel LSD radix sort.
// The walk merges both streams. That is one sort of the pooled pixels, split by class.
// float64 maps use 64-bit keys and an LSD radix sort of all negatives (more memory).
// Determinism: sorted key arrays are unique, the positives' sort is stable over a fixed input
// order (image, raster), and the walk is sequential: identical results for any thread count.
#include "metrics.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"

typedef unsigned __int128 u128;

// Below this many items a parallel region costs more than it saves (and oversubscribed
// machines make OpenMP barriers slow).
#define PAR_MIN (1 << 16)

// Big work arrays: 2 MB aligned and marked for transparent huge pages, since page faults
// on first touch cost as much as the sort itself on virtual machines. Freed with free().
static void *big_alloc(size_t n) {
    const size_t HP = (size_t)2 << 20;
    if (n < 4 * HP) return ad_malloc(n);
    void *p = NULL;
    if (posix_memalign(&p, HP, (n + HP - 1) / HP * HP)) AD_INTERNAL("out of memory allocating %zu bytes", n);
    madvise(p, (n + HP - 1) / HP * HP, MADV_HUGEPAGE);
    return p;
}

// ---------------------------------------------------------------------------------------------
// Order-preserving keys (float equality <=> key equality; -0 is folded onto +0).

static inline uint32_t key_f32(float f) {
    uint32_t u;
    if (f == 0.0f) f = 0.0f;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
static inline double val_of_key32(uint32_t k) {
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float f;
    memcpy(&f, &u, 4);
    return (double)f;
}
static inline uint64_t key_f64(double d) {
    uint64_t u;
    if (d == 0.0) d = 0.0;
    memcpy(&u, &d, 8);
    return (u >> 63) ? ~u : (u | (1ull << 63));
}
static inline double val_of_key64(uint64_t k) {
    uint64_t u = (k >> 63) ? (k & ~(1ull << 63)) : ~k;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

// Neumaier compensated sum: long cumulative sums (PRO over 1e8 pixels) stay exact to ~1 ulp.
typedef struct { double s, c; } KSum;
static inline void ksum_add(KSum *k, double x) {
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x)) k->c += (k->s - t) + x;
    else k->c += (x - t) + k->s;
    k->s = t;
}
static inline double ksum_get(const KSum *k) { return k->s + k->c; }

// ---------------------------------------------------------------------------------------------
// Curve recorder (metrics.h): thinning keeps pixel curves small without losing their shape.

void curve_free(Curve *c) {
    free(c->x), free(c->y);
    memset(c, 0, sizeof *c);
}

void curve_append(Curve *c, double x, double y) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->x = ad_realloc(c->x, (size_t)c->cap * sizeof *c->x);
        c->y = ad_realloc(c->y, (size_t)c->cap * sizeof *c->y);
    }
    c->x[c->n] = x, c->y[c->n] = y, c->n++;
}

// The recording state of one curve; c = NULL: not recorded.
typedef struct {
    Curve *c;
    int thin, has_pending;
    double step, xscale;  // thinning: min. move of a kept point, x measured in units of xscale
    double px, py;        // the last point not kept (kept at the end if no point followed)
} CurveRec;

// c (NULL: nothing recorded) is already zeroed.
static void rec_start(CurveRec *r, Curve *c, int thin, double xscale) {
    *r = (CurveRec){.c = c, .thin = thin, .xscale = xscale, .step = 1.0 / CURVE_MAX_POINTS};
}

// (x, y) moved at least one step from (x0, y0) in x or y: worth keeping.
static int rec_far(const CurveRec *r, double x, double y, double x0, double y0) {
    return fabs(x - x0) / r->xscale >= r->step || fabs(y - y0) >= r->step;
}

static void rec_push(CurveRec *r, double x, double y) {
    Curve *c = r->c;
    // full: thin again with a doubled step (the same rule, so long steps and their corners
    // stay; the first and the latest point too)
    while (r->thin && c->n >= CURVE_MAX_POINTS) {
        r->step *= 2;
        int k = 1;
        for (int i = 1; i < c->n; i++)
            if (i == c->n - 1 || rec_far(r, c->x[i], c->y[i], c->x[k - 1], c->y[k - 1]))
                c->x[k] = c->x[i], c->y[k] = c->y[i], k++;
        c->n = k;
    }
    curve_append(c, x, y);
}

static void rec_add(CurveRec *r, double x, double y) {
    if (!r->c) return;
    Curve *c = r->c;
    if (r->thin && c->n && !rec_far(r, x, y, c->x[c->n - 1], c->y[c->n - 1])) {
        r->px = x, r->py = y, r->has_pending = 1;  // too close to the last kept point: maybe the last one
        return;
    }
    r->has_pending = 0;
    rec_push(r, x, y);
}

static void rec_finish(CurveRec *r) {
    if (r->c && r->has_pending) rec_push(r, r->px, r->py);
    r->has_pending = 0;
}

// ---------------------------------------------------------------------------------------------
// The accumulator fed by the descending group walk.

typedef struct {
    uint64_t P, N, TP, FP;
    u128 u2;  // 2 * Mann-Whitney U
    KSum ap;  // sum of tp_g * precision_g
    uint64_t f1_num, f1_den;
    double f1_thr;
    // official AU-PRO
    int pro_on;
    double R, L, x0, y0;
    KSum pro_sum, area;
    int pro_done;
    // MuSc PRO: thresholds th[0..n_th) ascending; i_th = next one (from the top) to record
    int musc_on, n_th, i_th;
    double *th, *m_fpr, *m_pro;
    CurveRec roc, pr, pro;  // optional curve points
} Acc;

static void acc_init(Acc *a, uint64_t P, uint64_t N) {
    memset(a, 0, sizeof *a);
    a->P = P, a->N = N;
    a->f1_den = 1;
    a->f1_thr = NAN;
}

static void acc_pro_point(Acc *a, double x1, double y1) {
    if (a->pro_done) return;
    if (x1 <= a->L) {
        ksum_add(&a->area, 0.5 * (y1 + a->y0) * (x1 - a->x0));
        a->x0 = x1, a->y0 = y1;
        rec_add(&a->pro, x1, y1);
    } else {
        // first point past the limit: interpolate at L unless L itself was a curve point
        if (a->x0 < a->L) {
            double yl = a->y0 + ((y1 - a->y0) * (a->L - a->x0) / (x1 - a->x0));
            ksum_add(&a->area, 0.5 * (yl + a->y0) * (a->L - a->x0));
            rec_add(&a->pro, a->L, yl);
        }
        a->pro_done = 1;
    }
}

// MuSc thresholds th >= v see exactly the pixels walked so far (all of them have score > v).
static inline void acc_musc_before(Acc *a, double v) {
    while (a->i_th >= 0 && a->th[a->i_th] >= v) {
        a->m_fpr[a->i_th] = (double)a->FP / (double)a->N;
        a->m_pro[a->i_th] = ksum_get(&a->pro_sum) / a->R;
        a->i_th--;
    }
}

// One score group with value v: fp negatives, tp positives (pro_sum already updated).
static inline void acc_group(Acc *a, double v, uint64_t fp, uint64_t tp) {
    uint64_t tpb = a->TP;
    a->TP += tp, a->FP += fp;
    a->u2 += (u128)fp * (u128)(2 * tpb + tp);
    if (tp) ksum_add(&a->ap, (double)tp * ((double)a->TP / (double)(a->TP + a->FP)));
    uint64_t num = 2 * a->TP, den = a->TP + a->FP + a->P;  // 2TP / (2TP + FP + FN)
    if ((u128)num * a->f1_den >= (u128)a->f1_num * den) a->f1_num = num, a->f1_den = den, a->f1_thr = v;
    if (a->roc.c) rec_add(&a->roc, (double)a->FP / (double)a->N, (double)a->TP / (double)a->P);
    if (a->pr.c) rec_add(&a->pr, (double)a->TP / (double)a->P, (double)a->TP / (double)(a->TP + a->FP));
    if (a->pro_on && !a->pro_done) {
        double y = ksum_get(&a->pro_sum) / a->R;
        acc_pro_point(a, (double)a->FP / (double)a->N, y > 1.0 ? 1.0 : y);
    }
}

static void acc_binary(const Acc *a, double *auroc, double *ap, double *f1, double *thr) {
    *auroc = (a->P && a->N) ? (double)a->u2 / (2.0 * (double)a->P * (double)a->N) : NAN;
    *ap = a->P ? ksum_get(&a->ap) / (double)a->P : NAN;
    *f1 = a->P ? (double)a->f1_num / (double)a->f1_den : NAN;
    *thr = a->P ? a->f1_thr : NAN;
}

static double acc_aupro(Acc *a) {
    if (!a->pro_on) return NAN;
    acc_pro_point(a, 1.0, 1.0);
    return ksum_get(&a->area) / a->L;
}

// MuSc thresholds: numpy's np.arange(lo, hi, (hi-lo)/200) bit for bit (spec B5.3).
// Returns the count (0: undefined, the upstream code crashes there).
static int musc_thresholds(double *th, int cap, double lo, double hi) {
    double delta = (hi - lo) / 200;
    if (!(delta > 0) || !isfinite(delta)) return 0;
    double len = ceil((hi - lo) / delta);
    if (!(len >= 1) || len > cap) return 0;
    int n = (int)len;
    th[0] = lo;
    if (n > 1) th[1] = lo + delta;
    double d = (n > 1) ? th[1] - th[0] : 0;
    for (int i = 2; i < n; i++) th[i] = lo + i * d;
    return n;
}

#define MUSC_CAP 1024

static void acc_musc_setup(Acc *a, double lo, double hi) {
    a->th = ad_malloc(3 * MUSC_CAP * sizeof(double));
    a->m_fpr = a->th + MUSC_CAP, a->m_pro = a->th + 2 * MUSC_CAP;
    a->n_th = a->pro_on ? musc_thresholds(a->th, MUSC_CAP, lo, hi) : 0;
    a->musc_on = a->n_th > 0;
    a->i_th = a->n_th - 1;
}

// sklearn.metrics.auc(fpr_rescaled, pro) over the points with FPR < limit (spec B5.3 step 4).
static double musc_area(const double *fpr, const double *pro, int n, double limit) {
    int first = -1, cnt = 0;  // FPR falls as th rises: the kept points are a suffix
    double fmin = INFINITY, fmax = -INFINITY;
    for (int i = 0; i < n; i++)
        if (fpr[i] < limit) {
            if (first < 0) first = i;
            cnt++;
            if (fpr[i] < fmin) fmin = fpr[i];
            if (fpr[i] > fmax) fmax = fpr[i];
        }
    if (cnt < 2 || !(fmax > fmin)) return NAN;
    double sum = 0, prev_x = 0, prev_y = 0;
    int k = 0, neg = 0;
    for (int i = first; i < n; i++) {
        if (!(fpr[i] < limit)) continue;
        double x = (fpr[i] - fmin) / (fmax - fmin), y = pro[i];
        if (k++) {
            double dx = x - prev_x;
            if (dx < 0) neg = 1;
            sum += dx * (y + prev_y) / 2.0;
        }
        prev_x = x, prev_y = y;
    }
    return neg ? -sum : sum;
}

static double acc_musc(Acc *a) {
    double r = NAN;
    if (a->musc_on) {
        acc_musc_before(a, -INFINITY);  // thresholds below every score: all pixels walked
        r = musc_area(a->m_fpr, a->m_pro, a->n_th, a->L);
    }
    free(a->th);
    a->th = NULL;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Image level: a comparison sort of (score, label) is plenty for thousands of images.

typedef struct { double s; uint8_t y; } ScoreLab;
static int cmp_desc(const void *pa, const void *pb) {
    double a = ((const ScoreLab *)pa)->s, b = ((const ScoreLab *)pb)->s;
    return (a < b) - (a > b);
}

int metrics_image(const uint8_t *labels, const double *scores, size_t n, BinaryMetrics *out) {
    return metrics_image_curves(labels, scores, n, out, NULL, NULL);
}

int metrics_image_curves(const uint8_t *labels, const double *scores, size_t n, BinaryMetrics *out, Curve *roc,
                         Curve *pr) {
    if (roc) memset(roc, 0, sizeof *roc);
    if (pr) memset(pr, 0, sizeof *pr);
    if (n == 0) return ad_error("no images: expected at least one score. Fix: pass a non-empty score array");
    uint64_t P = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(scores[i]))
            return ad_error("score at index %zu is %s; expected finite scores. Fix: remove or repair the non-finite score",
                            i, isnan(scores[i]) ? "NaN" : "Inf");
        P += labels[i] != 0;
    }
    ScoreLab *v = ad_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i].s = scores[i], v[i].y = labels[i] != 0;
    qsort(v, n, sizeof *v, cmp_desc);
    Acc a;
    acc_init(&a, P, n - P);
    // a curve needs both classes (ROC) or a positive (PR); otherwise it stays empty
    if (P && n - P) rec_start(&a.roc, roc, 0, 1), rec_add(&a.roc, 0, 0);
    if (P) rec_start(&a.pr, pr, 0, 1), rec_add(&a.pr, 0, 1);
    for (size_t i = 0; i < n;) {
        double s = v[i].s;
        uint64_t fp = 0, tp = 0;
        for (; i < n && v[i].s == s; i++) tp += v[i].y, fp += !v[i].y;
        acc_group(&a, s, fp, tp);
    }
    free(v);
    acc_binary(&a, &out->auroc, &out->ap, &out->f1max, &out->f1_threshold);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// 8-connected components: two-pass union-find. Parents always point to smaller labels, and a
// region's smallest provisional label is the one created at its first raster pixel, so
// numbering roots in label order numbers regions in raster order of their first pixel.

static inline int32_t uf_find(int32_t *par, int32_t x) {
    while (par[x] != x) par[x] = par[par[x]], x = par[x];
    return x;
}
static inline int32_t uf_union(int32_t *par, int32_t a, int32_t b) {
    a = uf_find(par, a), b = uf_find(par, b);
    if (a < b) { par[b] = a; return a; }
    par[a] = b;
    return b;
}
// Provisional labels: a new one needs its left neighbour empty, so at most ceil(w/2) a row.
static size_t label_par_size(int h, int w) { return (size_t)h * (size_t)((w + 1) / 2) + 2; }

static int32_t label8(int32_t *lab, int32_t *par, const uint8_t *m, int h, int w) {
    int32_t next = 1;
    for (int y = 0; y < h; y++) {
        const uint8_t *mr = m + (size_t)y * w;
        int32_t *lr = lab + (size_t)y * w;
        const int32_t *up = y ? lr - w : NULL;
        for (int x = 0; x < w; x++) {
            if (!mr[x]) { lr[x] = 0; continue; }
            int32_t l = x ? lr[x - 1] : 0;
            if (up)
                for (int xx = x - 1; xx <= x + 1; xx++) {
                    if (xx < 0 || xx >= w || !up[xx]) continue;
                    l = l ? uf_union(par, l, up[xx]) : up[xx];
                }
            if (!l) par[next] = next, l = next++;
            lr[x] = l;
        }
    }
    if (next == 1) return 0;
    for (int32_t i = 1; i < next; i++) par[i] = par[par[i]];  // par[i] < i: roots already flat
    int32_t nreg = 0;
    for (int32_t i = 1; i < next; i++) par[i] = (par[i] == i) ? -(++nreg) : par[par[i]];
    for (size_t i = 0; i < (size_t)h * w; i++)
        if (lab[i]) lab[i] = -par[lab[i]];
    return nreg;
}

int metrics_label_regions(int32_t *labels, const uint8_t *mask, int h, int w) {
    int32_t *par = ad_malloc(label_par_size(h, w) * sizeof *par);
    int n = label8(labels, par, mask, h, w);
    free(par);
    return n;
}

int metrics_label_regions_naive(int32_t *labels, const uint8_t *mask, int h, int w) {
    size_t hw = (size_t)h * w;
    size_t *stack = ad_malloc((hw + 1) * sizeof *stack);
    for (size_t i = 0; i < hw; i++) labels[i] = 0;
    int n = 0;
    for (size_t s = 0; s < hw; s++) {
        if (!mask[s] || labels[s]) continue;
        labels[s] = ++n;
        size_t top = 0;
        stack[top++] = s;
        while (top) {
            size_t p = stack[--top];
            int py = (int)(p / w), px = (int)(p % w);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int y = py + dy, x = px + dx;
                    if (y < 0 || y >= h || x < 0 || x >= w) continue;
                    size_t q = (size_t)y * w + x;
                    if (mask[q] && !labels[q]) labels[q] = n, stack[top++] = q;
                }
        }
    }
    free(stack);
    return n;
}

// ---------------------------------------------------------------------------------------------
// Stable parallel LSD radix sort of 64-bit keys by their bits [0, bits), carrying an optional
// uint32 payload. Each thread histograms and scatters one contiguous chunk; chunk offsets are
// laid out in thread order, so the result is the unique stable order for any thread count.
// Digits on which every key agrees are skipped.

static void lsd_sort_u64(uint64_t *key, uint32_t *pay, size_t n, int bits) {
    if (n < 2) return;
    uint64_t *tk = big_alloc(n * sizeof *tk);
    uint32_t *tp = pay ? big_alloc(n * sizeof *tp) : NULL;
    int T = omp_get_max_threads();
    size_t(*hist)[256] = ad_malloc((size_t)T * sizeof *hist);
    uint64_t *src = key, *dst = tk;
    uint32_t *ps = pay, *pd = tp;
    for (int shift = 0; shift < bits; shift += 8) {
        int trivial = 0;
#pragma omp parallel num_threads(T) if (n >= PAR_MIN)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t lo = n / nt * t + (n % nt < (size_t)t ? n % nt : (size_t)t);
            size_t hi = lo + n / nt + ((size_t)t < n % nt);
            size_t *h = hist[t];
            memset(h, 0, sizeof hist[0]);
            for (size_t i = lo; i < hi; i++) h[(src[i] >> shift) & 255]++;
#pragma omp barrier
#pragma omp single
            {
                size_t run = 0;
                for (int d = 0; d < 256; d++) {
                    size_t tot = 0;
                    for (int u = 0; u < nt; u++) {
                        size_t c = hist[u][d];
                        hist[u][d] = run, run += c, tot += c;
                    }
                    if (tot == n) trivial = 1;
                }
            }
            if (!trivial) {
                for (size_t i = lo; i < hi; i++) {
                    size_t o = h[(src[i] >> shift) & 255]++;
                    dst[o] = src[i];
                    if (ps) pd[o] = ps[i];
                }
            }
        }
        if (!trivial) {
            uint64_t *t1 = src; src = dst, dst = t1;
            uint32_t *t2 = ps; ps = pd, pd = t2;
        }
    }
    if (src != key) {
        memcpy(key, src, n * sizeof *key);
        if (pay) memcpy(pay, ps, n * sizeof *pay);
    }
    free(hist), free(tk), free(tp);
}

// Sorts n uint16 values ascending: counting sort for big buckets, 2-pass LSD for mid-size,
// insertion for tiny. tmp holds >= 65536 values, cnt 65536 counters.
static void sort_u16(uint16_t *a, size_t n, uint16_t *tmp, uint32_t *cnt) {
    if (n < 2) return;
    if (n < 32) {
        for (size_t i = 1; i < n; i++) {
            uint16_t v = a[i];
            size_t j = i;
            for (; j && a[j - 1] > v; j--) a[j] = a[j - 1];
            a[j] = v;
        }
    } else if (n >= 65536) {
        memset(cnt, 0, 65536 * sizeof *cnt);
        for (size_t i = 0; i < n; i++) cnt[a[i]]++;
        size_t j = 0;
        for (uint32_t v = 0; v < 65536; v++)
            for (uint32_t c = cnt[v]; c; c--) a[j++] = (uint16_t)v;
    } else {
        uint32_t c0[257] = {0}, c1[257] = {0};
        for (size_t i = 0; i < n; i++) c0[(a[i] & 255) + 1]++, c1[(a[i] >> 8) + 1]++;
        for (int d = 0; d < 256; d++) c0[d + 1] += c0[d], c1[d + 1] += c1[d];
        for (size_t i = 0; i < n; i++) tmp[c0[a[i] & 255]++] = a[i];
        for (size_t i = 0; i < n; i++) a[c1[tmp[i] >> 8]++] = tmp[i];
    }
}

// ---------------------------------------------------------------------------------------------
// Pixel level.

typedef struct {
    const uint8_t *const *masks;
    const void *const *maps;
    int is64;
    const int *h, *w;
    int n;
} PixIn;

static inline double pix_val(const PixIn *in, int k, size_t i) {
    return in->is64 ? ((const double *)in->maps[k])[i] : (double)((const float *)in->maps[k])[i];
}

static int check_args(const PixIn *in, double pro_limit) {
    if (in->n <= 0) return ad_error("no anomaly maps: expected at least one. Fix: pass a non-empty set of maps");
    if (!(pro_limit > 0 && pro_limit <= 1))
        return ad_error("PRO integration limit %g is outside (0, 1]. Fix: use e.g. 0.3", pro_limit);
    for (int k = 0; k < in->n; k++) {
        if (in->h[k] < 0 || in->w[k] < 0)
            return ad_error("map %d has a negative size %d x %d", k, in->h[k], in->w[k]);
        if ((int64_t)in->h[k] * in->w[k] >= (int64_t)1 << 31)  // region labels are int32
            return ad_error("map %d is %d x %d, more than 2^31 pixels; expected smaller maps. Fix: evaluate at a "
                            "lower resolution", k, in->h[k], in->w[k]);
        AD_ASSERT(in->masks[k] && in->maps[k]);
    }
    return 0;
}

typedef struct {
    size_t bad_i;
    int bad_k;  // first non-finite pixel, -1 if none
    double lo, hi;
} ThreadScan;

// Phase 1 of both paths: per image counts of positive pixels, finiteness, min/max; for the
// float32 path also the histogram of negatives' top 16 key bits, one per chunk. Work is split
// into C fixed chunks of consecutive images (not by thread id), so the scatter offsets that
// collect_pixels derives from these histograms hold whatever threads run the chunks.
static inline void chunk_range(int n, int C, int c, int *kb, int *ke) {
    *kb = (int)((int64_t)n * c / C), *ke = (int)((int64_t)n * (c + 1) / C);
}

static int scan_pixels(const PixIn *in, uint64_t *npos_img, size_t (*hist)[65536], int C,
                       double *lo, double *hi) {
    ThreadScan *ts = ad_malloc((size_t)C * sizeof *ts);
#pragma omp parallel for schedule(static, 1) num_threads(C)
    for (int c = 0; c < C; c++) {
        int kb, ke;
        chunk_range(in->n, C, c, &kb, &ke);
        ThreadScan s = {.bad_k = -1, .lo = INFINITY, .hi = -INFINITY};
        size_t *hs = hist ? hist[c] : NULL;
        if (hs) memset(hs, 0, sizeof hist[0]);
        for (int k = kb; k < ke && s.bad_k < 0; k++) {
            size_t hw = (size_t)in->h[k] * in->w[k];
            const uint8_t *m = in->masks[k];
            uint64_t np = 0;
            for (size_t i = 0; i < hw; i++) {
                double v = pix_val(in, k, i);
                if (!isfinite(v)) { s.bad_k = k, s.bad_i = i; break; }
                if (v < s.lo) s.lo = v;
                if (v > s.hi) s.hi = v;
                if (m[i]) np++;
                else if (hs) hs[key_f32((float)v) >> 16]++;
            }
            npos_img[k] = np;
        }
        ts[c] = s;
    }
    // report the first bad pixel in (image, raster) order: chunks hold ascending image ranges
    *lo = INFINITY, *hi = -INFINITY;
    for (int c = 0; c < C; c++) {
        if (ts[c].bad_k >= 0) {
            int k = ts[c].bad_k;
            size_t i = ts[c].bad_i;
            double v = pix_val(in, k, i);
            free(ts);
            return ad_error("anomaly map %d has a non-finite value (%s) at pixel (y=%zu, x=%zu), flat index %zu; "
                            "expected finite scores. Fix: repair the map (replace NaN/Inf before saving)",
                            k, isnan(v) ? "NaN" : "Inf", i / (size_t)in->w[k], i % (size_t)in->w[k], i);
        }
        if (ts[c].lo < *lo) *lo = ts[c].lo;
        if (ts[c].hi > *hi) *hi = ts[c].hi;
    }
    free(ts);
    return 0;
}

typedef struct {
    uint64_t *pkey;   // positive pixels: score key
    uint32_t *preg;   // ... and global region id (0-based)
    double *inv;      // 1 / |region|
    uint64_t P, R;
} Positives;

// Labels every mask once (parallel over images), writes the positive pixels in (image, raster)
// order with global region ids, and, for the float32 path, scatters the negatives' low key bits
// into their buckets (neg16 + per-thread offsets in hist) or, for float64, their keys (neg64).
static void collect_pixels(const PixIn *in, const uint64_t *pos_off, int C, size_t (*hist)[65536],
                           uint16_t *neg16, uint64_t *neg64, const uint64_t *neg_off, Positives *pos) {
    int maxh = 0, maxw = 0;
    for (int k = 0; k < in->n; k++) {
        if (in->h[k] > maxh) maxh = in->h[k];
        if (in->w[k] > maxw) maxw = in->w[k];
    }
    uint32_t *nreg = ad_calloc((size_t)in->n, sizeof *nreg);
#pragma omp parallel num_threads(C)
    {
        int32_t *lab = ad_malloc(((size_t)maxh * maxw + 1) * sizeof *lab);
        int32_t *par = ad_malloc(label_par_size(maxh, maxw) * sizeof *par);
#pragma omp for schedule(static, 1)
        for (int c = 0; c < C; c++) {
        int kb, ke;
        chunk_range(in->n, C, c, &kb, &ke);
        size_t *off = hist ? hist[c] : NULL;
        for (int k = kb; k < ke; k++) {
            int h = in->h[k], w = in->w[k];
            size_t hw = (size_t)h * w;
            const uint8_t *m = in->masks[k];
            nreg[k] = (uint32_t)label8(lab, par, m, h, w);
            uint64_t p = pos_off[k];
            if (!in->is64) {
                const float *a = in->maps[k];
                for (size_t i = 0; i < hw; i++) {
                    uint32_t key = key_f32(a[i]);
                    if (m[i]) pos->pkey[p] = key, pos->preg[p++] = (uint32_t)lab[i];
                    else neg16[off[key >> 16]++] = (uint16_t)key;
                }
            } else {
                const double *a = in->maps[k];
                uint64_t q = neg_off[k];
                for (size_t i = 0; i < hw; i++) {
                    uint64_t key = key_f64(a[i]);
                    if (m[i]) pos->pkey[p] = key, pos->preg[p++] = (uint32_t)lab[i];
                    else neg64[q++] = key;
                }
            }
        }
        }
        free(lab), free(par);
    }
    // global region ids (image order), then sizes from the positives (regions are disjoint
    // between images, so each image's pixels can be counted by its own thread)
    uint64_t *reg_off = ad_malloc(((size_t)in->n + 1) * sizeof *reg_off);
    reg_off[0] = 0;
    for (int k = 0; k < in->n; k++) reg_off[k + 1] = reg_off[k] + nreg[k];
    pos->R = reg_off[in->n];
    AD_ASSERT(pos->R < UINT32_MAX);
    uint64_t *size = ad_calloc(pos->R + 1, sizeof *size);
#pragma omp parallel for num_threads(C) schedule(static)
    for (int k = 0; k < in->n; k++)
        for (uint64_t p = pos_off[k]; p < pos_off[k + 1]; p++) {
            pos->preg[p] = (uint32_t)(reg_off[k] + pos->preg[p] - 1);
            size[pos->preg[p]]++;
        }
    pos->inv = ad_malloc((pos->R + 1) * sizeof *pos->inv);
    for (uint64_t r = 0; r < pos->R; r++) pos->inv[r] = 1.0 / (double)size[r];
    free(size), free(reg_off), free(nreg);
}

// Merge walk for float32 keys: negatives = bucket b (top 16 bits) + sorted low 16 bits.
static void walk32(Acc *a, const uint16_t *neg, const size_t *bstart, size_t nneg, const Positives *pos) {
    size_t j = nneg;  // negatives [0, j) not yet walked
    int64_t pi = (int64_t)pos->P - 1;
    int b = 65535;
    while (j > 0 || pi >= 0) {
        uint32_t kn = 0, kp = 0, k;
        int hn = j > 0, hp = pi >= 0;
        if (hn) {
            while (bstart[b] >= j) b--;
            kn = (uint32_t)b << 16 | neg[j - 1];
        }
        if (hp) kp = (uint32_t)pos->pkey[pi];
        k = (!hp || (hn && kn > kp)) ? kn : kp;
        double v = val_of_key32(k);
        if (a->musc_on) acc_musc_before(a, v);
        uint64_t fp = 0, tp = 0;
        if (hn && kn == k) {
            uint16_t low = (uint16_t)k;
            size_t j0 = j, lb = bstart[b];
            while (j > lb && neg[j - 1] == low) j--;
            fp = j0 - j;
        }
        if (a->pro_on)
            for (; pi >= 0 && (uint32_t)pos->pkey[pi] == k; pi--, tp++) ksum_add(&a->pro_sum, pos->inv[pos->preg[pi]]);
        else
            for (; pi >= 0 && (uint32_t)pos->pkey[pi] == k; pi--) tp++;
        acc_group(a, v, fp, tp);
    }
}

static void walk64(Acc *a, const uint64_t *neg, size_t nneg, const Positives *pos) {
    size_t j = nneg;
    int64_t pi = (int64_t)pos->P - 1;
    while (j > 0 || pi >= 0) {
        int hn = j > 0, hp = pi >= 0;
        uint64_t kn = hn ? neg[j - 1] : 0, kp = hp ? pos->pkey[pi] : 0;
        uint64_t k = (!hp || (hn && kn > kp)) ? kn : kp;
        double v = val_of_key64(k);
        if (a->musc_on) acc_musc_before(a, v);
        uint64_t fp = 0, tp = 0;
        for (; j > 0 && neg[j - 1] == k; j--) fp++;
        for (; pi >= 0 && pos->pkey[pi] == k; pi--, tp++)
            if (a->pro_on) ksum_add(&a->pro_sum, pos->inv[pos->preg[pi]]);
        acc_group(a, v, fp, tp);
    }
}

static int metrics_pixel_any(const PixIn *in, double pro_limit, PixelMetrics *out, Curve *roc, Curve *pro) {
    if (roc) memset(roc, 0, sizeof *roc);
    if (pro) memset(pro, 0, sizeof *pro);
    if (check_args(in, pro_limit)) return -1;
    int n = in->n;
    size_t total = 0;
    for (int k = 0; k < n; k++) total += (size_t)in->h[k] * in->w[k];
    int T = total >= PAR_MIN ? omp_get_max_threads() : 1;  // T = number of image chunks
    uint64_t *npos = ad_calloc((size_t)n, sizeof *npos);
    size_t(*hist)[65536] = in->is64 ? NULL : ad_malloc((size_t)T * sizeof *hist);
    double lo, hi;
    if (scan_pixels(in, npos, hist, T, &lo, &hi)) {
        free(npos), free(hist);
        return -1;
    }
    uint64_t *pos_off = ad_malloc(((size_t)n + 1) * sizeof *pos_off);
    uint64_t *neg_off = ad_malloc(((size_t)n + 1) * sizeof *neg_off);
    pos_off[0] = neg_off[0] = 0;
    for (int k = 0; k < n; k++) {
        pos_off[k + 1] = pos_off[k] + npos[k];
        neg_off[k + 1] = neg_off[k] + (uint64_t)in->h[k] * in->w[k] - npos[k];
    }
    uint64_t P = pos_off[n], N = neg_off[n];
    if (P + N == 0) {
        free(npos), free(hist), free(pos_off), free(neg_off);
        return ad_error("the anomaly maps have no pixels (all sizes are 0). Fix: pass non-empty maps");
    }
    Positives pos = {.pkey = big_alloc(P * sizeof(uint64_t)), .preg = big_alloc(P * sizeof(uint32_t)), .P = P};
    uint16_t *neg16 = NULL;
    uint64_t *neg64 = NULL;
    size_t *bstart = NULL;
    if (!in->is64) {
        // bucket starts, then each thread's scatter offset inside every bucket
        bstart = ad_malloc(65537 * sizeof *bstart);
        size_t run = 0;
        for (int b = 0; b < 65536; b++) {
            bstart[b] = run;
            for (int t = 0; t < T; t++) {
                size_t c = hist[t][b];
                hist[t][b] = run, run += c;
            }
        }
        bstart[65536] = run;
        AD_ASSERT(run == N);
        neg16 = big_alloc(N * sizeof *neg16);
    } else {
        neg64 = big_alloc(N * sizeof *neg64);
    }
    collect_pixels(in, pos_off, T, hist, neg16, neg64, neg_off, &pos);
    free(hist), free(npos), free(pos_off), free(neg_off);

    lsd_sort_u64(pos.pkey, pos.preg, P, in->is64 ? 64 : 32);
    if (!in->is64) {
#pragma omp parallel num_threads(T) if (N >= PAR_MIN)
        {
            uint16_t *tmp = ad_malloc(65536 * sizeof *tmp);
            uint32_t *cnt = ad_malloc(65536 * sizeof *cnt);
#pragma omp for schedule(dynamic, 64)
            for (int b = 0; b < 65536; b++) sort_u16(neg16 + bstart[b], bstart[b + 1] - bstart[b], tmp, cnt);
            free(tmp), free(cnt);
        }
    } else {
        lsd_sort_u64(neg64, NULL, N, 64);
    }

    Acc a;
    acc_init(&a, P, N);
    a.L = pro_limit;
    a.R = (double)pos.R;
    a.pro_on = pos.R > 0 && N > 0;
    acc_musc_setup(&a, lo, hi);
    if (P && N) rec_start(&a.roc, roc, 1, 1), rec_add(&a.roc, 0, 0);
    if (a.pro_on) rec_start(&a.pro, pro, 1, pro_limit), rec_add(&a.pro, 0, 0);
    if (!in->is64) walk32(&a, neg16, bstart, N, &pos);
    else walk64(&a, neg64, N, &pos);
    acc_binary(&a, &out->auroc, &out->ap, &out->f1max, &out->f1_threshold);
    out->aupro = acc_aupro(&a);
    out->aupro_musc = acc_musc(&a);
    rec_finish(&a.roc), rec_finish(&a.pro);
    free(neg16), free(neg64), free(bstart), free(pos.pkey), free(pos.preg), free(pos.inv);
    return 0;
}

int metrics_pixel(const uint8_t *const *masks, const float *const *maps, const int *h, const int *w,
                  int n, double pro_limit, PixelMetrics *out) {
    PixIn in = {masks, (const void *const *)maps, 0, h, w, n};
    return metrics_pixel_any(&in, pro_limit, out, NULL, NULL);
}

int metrics_pixel_curves(const uint8_t *const *masks, const float *const *maps, const int *h, const int *w, int n,
                         double pro_limit, PixelMetrics *out, Curve *roc, Curve *pro) {
    PixIn in = {masks, (const void *const *)maps, 0, h, w, n};
    return metrics_pixel_any(&in, pro_limit, out, roc, pro);
}

int metrics_pixel_f64(const uint8_t *const *masks, const double *const *maps, const int *h,
                      const int *w, int n, double pro_limit, PixelMetrics *out) {
    PixIn in = {masks, (const void *const *)maps, 1, h, w, n};
    return metrics_pixel_any(&in, pro_limit, out, NULL, NULL);
}

// ---------------------------------------------------------------------------------------------
// Naive reference: every pixel as (score, region id) sorted with qsort; curves built as
// arrays exactly as the Python code does; MuSc thresholds by a full scan each.

typedef struct { double s; int64_t r; } Px;  // r: -1 negative, else global region id
static int cmp_px_desc(const void *pa, const void *pb) {
    double a = ((const Px *)pa)->s, b = ((const Px *)pb)->s;
    return (a < b) - (a > b);
}

// generic_util.trapezoid of the official code (x ascending; bisect_right at x_max)
static double trapezoid_ref(const double *x, const double *y, size_t n, double x_max) {
    double corr = 0;
    int in_x = 0;
    for (size_t i = 0; i < n; i++) in_x |= x[i] == x_max;
    if (!in_x) {
        size_t ins = 0;
        while (ins < n && x[ins] <= x_max) ins++;
        AD_ASSERT(ins > 0 && ins < n);
        double yi = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]));
        corr = 0.5 * (yi + y[ins - 1]) * (x_max - x[ins - 1]);
    }
    double s = 0;
    for (size_t i = 1; i < n && x[i] <= x_max; i++) s += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]);
    return s + corr;
}

int metrics_pixel_naive(const uint8_t *const *masks, const double *const *maps, const int *h,
                        const int *w, int n, double pro_limit, PixelMetrics *out) {
    PixIn in = {masks, (const void *const *)maps, 1, h, w, n};
    if (check_args(&in, pro_limit)) return -1;
    size_t tot = 0;
    for (int k = 0; k < n; k++) tot += (size_t)h[k] * w[k];
    if (!tot) return ad_error("the anomaly maps have no pixels");
    Px *px = ad_malloc(tot * sizeof *px);
    int64_t R = 0;
    size_t q = 0, P = 0, N = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < n; k++) {
        size_t hw = (size_t)h[k] * w[k];
        int32_t *lab = ad_malloc((hw + 1) * sizeof *lab);
        int nr = metrics_label_regions_naive(lab, masks[k], h[k], w[k]);
        for (size_t i = 0; i < hw; i++, q++) {
            double v = maps[k][i];
            if (!isfinite(v)) { free(lab), free(px); return ad_error("map %d pixel %zu is not finite", k, i); }
            px[q].s = v, px[q].r = lab[i] ? R + lab[i] - 1 : -1;
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
            if (lab[i]) P++;
            else N++;
        }
        R += nr;
        free(lab);
    }
    double *rsize = ad_calloc((size_t)R + 1, sizeof *rsize);
    for (size_t i = 0; i < tot; i++)
        if (px[i].r >= 0) rsize[px[i].r] += 1;

    // MuSc variant first, by full scans (independent of the sort)
    out->aupro_musc = NAN;
    double th[MUSC_CAP];
    int nth = (R > 0 && N > 0) ? musc_thresholds(th, MUSC_CAP, lo, hi) : 0;
    if (nth > 0) {
        double fpr[MUSC_CAP], pro[MUSC_CAP];
        double *hit = ad_malloc(((size_t)R + 1) * sizeof *hit);
        for (int t = 0; t < nth; t++) {
            memset(hit, 0, ((size_t)R + 1) * sizeof *hit);
            size_t fp = 0;
            for (size_t i = 0; i < tot; i++)
                if (px[i].s > th[t]) {
                    if (px[i].r < 0) fp++;
                    else hit[px[i].r] += 1;
                }
            double s = 0;
            for (int64_t r = 0; r < R; r++) s += hit[r] / rsize[r];
            fpr[t] = (double)fp / (double)N, pro[t] = s / (double)R;
        }
        free(hit);
        out->aupro_musc = musc_area(fpr, pro, nth, pro_limit);
    }

    qsort(px, tot, sizeof *px, cmp_px_desc);
    // group ends: curves in double, as sklearn / the official code build them
    double *fx = ad_malloc((tot + 2) * sizeof *fx), *fy = ad_malloc((tot + 2) * sizeof *fy);
    double *tpr = ad_malloc((tot + 1) * sizeof *tpr), *prec = ad_malloc((tot + 1) * sizeof *prec);
    size_t ng = 0, TP = 0, FP = 0;
    double pro_cum = 0, best = -1, best_t = NAN;
    fx[0] = fy[0] = 0;
    for (size_t i = 0; i < tot;) {
        double s = px[i].s;
        for (; i < tot && px[i].s == s; i++) {
            if (px[i].r >= 0) TP++, pro_cum += 1.0 / rsize[px[i].r];
            else FP++;
        }
        ng++;
        fx[ng] = N ? (double)FP / (double)N : NAN;
        fy[ng] = R ? fmin(pro_cum / (double)R, 1.0) : NAN;
        tpr[ng - 1] = P ? (double)TP / (double)P : NAN;
        prec[ng - 1] = (double)TP / (double)(TP + FP);
        double f1 = P ? 2.0 * TP / (double)(2 * TP + FP + (P - TP)) : NAN;
        if (f1 >= best) best = f1, best_t = s;
    }
    // AUROC: trapezoid over (fpr, tpr) from (0,0)
    double auc = 0, ap = 0, px0 = 0, py0 = 0, rprev = 0;
    for (size_t g = 0; g < ng; g++) {
        auc += (fx[g + 1] - px0) * (tpr[g] + py0) / 2;
        px0 = fx[g + 1], py0 = tpr[g];
        ap += (tpr[g] - rprev) * prec[g];
        rprev = tpr[g];
    }
    out->auroc = (P && N) ? auc : NAN;
    out->ap = P ? ap : NAN;
    out->f1max = P ? best : NAN;
    out->f1_threshold = P ? best_t : NAN;
    fx[ng + 1] = fy[ng + 1] = 1;
    out->aupro = (R > 0 && N > 0) ? trapezoid_ref(fx, fy, ng + 2, pro_limit) / pro_limit : NAN;
    free(fx), free(fy), free(tpr), free(prec), free(rsize), free(px);
    return 0;
}
