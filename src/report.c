// Run report (report.h): results.csv + curves/ -> plots/*.png + report.html.
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curves.h"
#include "err.h"
#include "fsutil.h"
#include "image.h"
#include "overlay.h"
#include "plot.h"
#include "results.h"
#include "yaml_tree.h"  // Buf, buf_add

// One line of the figures: a job (its rows share method and variant).
typedef struct {
    const char *job, *method, *variant;
    char *label;  // legend text
} Series;

typedef struct {
    const char *dataset, *category;
} Cat;

typedef struct {
    const char *out_dir;
    Table t;
    Series *s;
    int n_s;
    Cat *c;
    int n_c;
    int multi_ds;  // more than one dataset: group labels say dataset/category
    int n_png;
} Rep;

static int is_dir(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

// A metric cell; NAN when empty, absent (table_get gives "") or not a number.
static double metric(const Rep *R, int r, const char *col) {
    double v;
    return cell_double(table_get(&R->t, r, col), &v) ? NAN : v;
}

static int series_of(const Rep *R, int r) {
    const char *job = table_get(&R->t, r, "job");
    for (int i = 0; i < R->n_s; i++)
        if (!strcmp(R->s[i].job, job)) return i;
    return -1;
}

static int cat_of(const Rep *R, int r) {
    for (int i = 0; i < R->n_c; i++)
        if (!strcmp(R->c[i].dataset, table_get(&R->t, r, "dataset")) &&
            !strcmp(R->c[i].category, table_get(&R->t, r, "category")))
            return i;
    return -1;
}

// Series in order of first appearance; labels "method" or "method @ variant", made unique
// by the shots column or, failing that, the job id.
static void collect(Rep *R) {
    R->s = ad_calloc((size_t)R->t.n_rows + 1, sizeof *R->s);
    R->c = ad_calloc((size_t)R->t.n_rows + 1, sizeof *R->c);
    for (int r = 0; r < R->t.n_rows; r++) {
        if (!strcmp(table_get(&R->t, r, "category"), "mean")) continue;
        if (series_of(R, r) < 0) {
            Series *s = &R->s[R->n_s++];
            s->job = table_get(&R->t, r, "job"), s->method = table_get(&R->t, r, "method");
            s->variant = table_get(&R->t, r, "variant");
            s->label = *s->variant ? ad_sprintf("%s @ %s", s->method, s->variant) : ad_strdup(s->method);
        }
        if (cat_of(R, r) < 0) {
            R->c[R->n_c].dataset = table_get(&R->t, r, "dataset");
            R->c[R->n_c++].category = table_get(&R->t, r, "category");
        }
        if (strcmp(R->c[0].dataset, table_get(&R->t, r, "dataset"))) R->multi_ds = 1;
    }
    int *dup = ad_calloc((size_t)R->n_s + 1, sizeof *dup);
    for (int i = 0; i < R->n_s; i++)
        for (int j = 0; j < R->n_s; j++)
            if (i != j && !strcmp(R->s[i].label, R->s[j].label)) dup[i] = 1;
    for (int i = 0; i < R->n_s; i++) {
        if (!dup[i]) continue;
        const char *shots = "";
        for (int r = 0; r < R->t.n_rows && !*shots; r++)
            if (!strcmp(table_get(&R->t, r, "job"), R->s[i].job)) shots = table_get(&R->t, r, "method.shots");
        int shots_unique = *shots != 0;
        for (int j = 0; j < R->n_s && shots_unique; j++) {
            if (j == i || strcmp(R->s[i].label, R->s[j].label)) continue;
            for (int r = 0; r < R->t.n_rows; r++)
                if (!strcmp(table_get(&R->t, r, "job"), R->s[j].job) && !strcmp(table_get(&R->t, r, "method.shots"), shots))
                    shots_unique = 0;
        }
        char *l = shots_unique ? ad_sprintf("%s, shots=%s", R->s[i].label, shots)
                               : ad_sprintf("%s (job %.6s)", R->s[i].label, R->s[i].job);
        free(R->s[i].label);
        R->s[i].label = l;
    }
    free(dup);
}

// The curve file of row r: with the job suffix when the run needed one (curves.h).
static char *curve_file(const Rep *R, int r) {
    const char *m = table_get(&R->t, r, "method"), *v = table_get(&R->t, r, "variant");
    const char *ds = table_get(&R->t, r, "dataset"), *cat = table_get(&R->t, r, "category");
    for (int pass = 0; pass < 2; pass++) {
        char *stem = curves_stem(m, v, pass ? NULL : table_get(&R->t, r, "job"));
        char *p = curves_path(R->out_dir, ds, cat, stem);
        free(stem);
        if (!access(p, F_OK)) return p;
        free(p);
    }
    return NULL;
}

static char *plots_dir(const Rep *R, const Cat *c) {
    char *d = curves_component(c->dataset), *k = curves_component(c->category);
    char *p = ad_sprintf("%s/plots/%s/%s", R->out_dir, d, k);
    free(d), free(k);
    return p;
}

static int write_png(Rep *R, const char *path, ImageU8 *img) {
    int rc = image_write_png(path, img);
    image_u8_free(img);
    if (!rc) R->n_png++;
    return rc;
}

enum { F_ROC, F_PR, F_PIXEL_ROC, F_PRO, N_FIG };  // the order of curves_get
static const char *const FIG_FILE[N_FIG] = {"roc", "pr", "pixel_roc", "pro"};
static const char *const FIG_NAME[N_FIG] = {"image ROC", "image PR", "pixel ROC", "PRO"};

// Figures of category c; done[k] says which were drawn (some curve defined).
static int render_category(Rep *R, const Cat *c, int done[N_FIG]) {
    int n = 0, rc = 0;
    int *row = ad_calloc((size_t)R->t.n_rows + 1, sizeof *row);
    EvalCurves *ec = ad_calloc((size_t)R->t.n_rows + 1, sizeof *ec);
    double limit = 0;
    for (int r = 0; r < R->t.n_rows && !rc; r++) {
        if (strcmp(table_get(&R->t, r, "dataset"), c->dataset) || strcmp(table_get(&R->t, r, "category"), c->category))
            continue;
        char *p = curve_file(R, r);
        if (!p) continue;  // a row without report: true
        rc = curves_read(p, &ec[n]);
        free(p);
        if (rc) break;
        for (int i = 0; i < ec[n].pro.n; i++) limit = fmax(limit, ec[n].pro.x[i]);  // a PRO curve ends at its limit
        row[n++] = r;
    }
    char *dir = rc ? NULL : plots_dir(R, c);
    if (dir && fs_mkdirs(dir)) rc = -1;
    static const char *const AREA[N_FIG] = {"image_auroc", "image_ap", "pixel_auroc", "pixel_aupro"};
    static const char *const AREA_NAME[N_FIG] = {"AUROC", "AP", "AUROC", "AU-PRO"};
    for (int k = 0; k < N_FIG && !rc; k++) {
        PlotSeries *ps = ad_calloc((size_t)n + 1, sizeof *ps);
        char **labels = ad_calloc((size_t)n + 1, sizeof *labels);
        int m = 0;
        for (int i = 0; i < n; i++) {
            const Curve *cv = curves_get(&ec[i], k);
            if (!cv->n) continue;
            int si = series_of(R, row[i]);
            double a = metric(R, row[i], AREA[k]);
            labels[m] = isnan(a) ? ad_sprintf("%s", R->s[si].label)
                                 : ad_sprintf("%s (%s %.1f)", R->s[si].label, AREA_NAME[k], 100 * a);
            ps[m] = (PlotSeries){labels[m], cv->x, cv->y, cv->n, si};
            m++;
        }
        done[k] = m > 0;
        if (m) {
            char *title = ad_sprintf("%s/%s \xe2\x80\x94 %s", c->dataset, c->category, FIG_NAME[k]);
            PlotSpec sp = {title, k == F_PR ? "recall" : "false positive rate",
                           k == F_PR ? "precision" : k == F_PRO ? "per-region overlap" : "true positive rate",
                           0, k == F_PRO && limit > 0 ? limit : 1, 0, 1, k != F_PR && k != F_PRO, k == F_PR};
            ImageU8 img;
            plot_lines(&img, 640, 480, &sp, ps, m);
            char *path = ad_sprintf("%s/%s.png", dir, FIG_FILE[k]);
            rc = write_png(R, path, &img);
            free(path), free(title);
        }
        for (int i = 0; i < m; i++) free(labels[i]);
        free(labels), free(ps);
    }
    for (int i = 0; i < n; i++) eval_curves_free(&ec[i]);
    free(ec), free(row), free(dir);
    return rc;
}

static const char *const BAR_COL[3] = {"image_auroc", "pixel_auroc", "pixel_aupro"};
static const char *const BAR_FILE[3] = {"image_auroc", "pixel_auroc", "au_pro"};
static const char *const BAR_NAME[3] = {"image AUROC", "pixel AUROC", "AU-PRO"};

// Groups of the bar charts: every category, then a dataset's mean when it has several.
typedef struct {
    char **label;
    const char **ds, **cat;
    int n;
} Groups;

static void bar_groups(const Rep *R, Groups *g) {
    g->label = ad_calloc((size_t)R->n_c * 2 + 1, sizeof *g->label);
    g->ds = ad_calloc((size_t)R->n_c * 2 + 1, sizeof *g->ds);
    g->cat = ad_calloc((size_t)R->n_c * 2 + 1, sizeof *g->cat);
    g->n = 0;
    for (int i = 0; i < R->n_c; i++) {
        g->ds[g->n] = R->c[i].dataset, g->cat[g->n] = R->c[i].category;
        g->label[g->n++] = R->multi_ds ? ad_sprintf("%s/%s", R->c[i].dataset, R->c[i].category) : ad_strdup(R->c[i].category);
        int last = 1, count = 0;
        for (int j = 0; j < R->n_c; j++)
            if (!strcmp(R->c[j].dataset, R->c[i].dataset)) {
                count++;
                if (j > i) last = 0;
            }
        int has_mean = 0;
        for (int r = 0; r < R->t.n_rows && !has_mean; r++)
            has_mean = !strcmp(table_get(&R->t, r, "dataset"), R->c[i].dataset) && !strcmp(table_get(&R->t, r, "category"), "mean");
        if (last && count > 1 && has_mean) {
            g->ds[g->n] = R->c[i].dataset, g->cat[g->n] = "mean";
            g->label[g->n++] = R->multi_ds ? ad_sprintf("%s mean", R->c[i].dataset) : ad_strdup("mean");
        }
    }
}

// done[k] = the width of bar chart k, 0 when not drawn.
static int render_bars(Rep *R, const Groups *g, int done[3]) {
    int rc = 0;
    const char **names = ad_calloc((size_t)R->n_s + 1, sizeof *names);
    int *col = ad_calloc((size_t)R->n_s + 1, sizeof *col);
    for (int s = 0; s < R->n_s; s++) names[s] = R->s[s].label, col[s] = s;
    double *v = ad_malloc(((size_t)g->n * R->n_s + 1) * sizeof *v);
    for (int k = 0; k < 3 && !rc; k++) {
        int any = 0;
        for (int i = 0; i < g->n * R->n_s; i++) v[i] = NAN;
        for (int r = 0; r < R->t.n_rows; r++) {
            int s = series_of(R, r), gi = -1;
            for (int q = 0; q < g->n; q++)
                if (!strcmp(g->ds[q], table_get(&R->t, r, "dataset")) && !strcmp(g->cat[q], table_get(&R->t, r, "category")))
                    gi = q;
            if (s < 0 || gi < 0) continue;
            double x = metric(R, r, BAR_COL[k]);
            v[(size_t)gi * R->n_s + s] = 100 * x;
            any |= !isnan(x);
        }
        done[k] = any;
        if (!any) continue;
        char *title = ad_sprintf("%s per category (%%)", BAR_NAME[k]), *yl = ad_sprintf("%s (%%)", BAR_NAME[k]);
        BarSpec b = {title, yl, 100, (const char *const *)g->label, g->n, names, col, R->n_s, v};
        ImageU8 img;
        plot_bars(&img, &b);
        done[k] = img.w;  // wide charts take a whole row of the page
        char *path = ad_sprintf("%s/plots/bars_%s.png", R->out_dir, BAR_FILE[k]);
        rc = write_png(R, path, &img);
        free(path), free(title), free(yl);
    }
    free(v), free(names), free(col);
    return rc;
}

// --- HTML ------------------------------------------------------------------------------------

static void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *t = NULL;
    if (vasprintf(&t, fmt, ap) < 0) AD_INTERNAL("out of memory");
    va_end(ap);
    buf_add(b, t);
    free(t);
}

// Text as HTML (element content and attribute values alike).
static void put_esc(Buf *b, const char *t) {
    for (const char *p = t; *p; p++) {
        switch (*p) {
        case '&': buf_add(b, "&amp;"); break;
        case '<': buf_add(b, "&lt;"); break;
        case '>': buf_add(b, "&gt;"); break;
        case '"': buf_add(b, "&quot;"); break;
        case '\'': buf_add(b, "&#39;"); break;
        default: {
            char c[2] = {*p, 0};
            buf_add(b, c);
        }
        }
    }
}

// A relative URL from path components: each percent-encoded (RFC 3986 unreserved kept).
static void put_url(Buf *b, const char *const *parts, int n) {
    for (int i = 0; i < n; i++) {
        if (i) buf_add(b, "/");
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            char c[4];
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
                snprintf(c, sizeof c, "%c", *p);
            else
                snprintf(c, sizeof c, "%%%02X", *p);
            buf_add(b, c);
        }
    }
}

static const char *const TABLE_METRIC[8] = {"I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "AU-PRO", "PRO-MuSc"};

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#222;background:#fff;"
    "margin:24px auto;max-width:1360px;padding:0 16px;line-height:1.4}"
    "h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}"
    "h3{margin:20px 0 8px}.meta{color:#666}"
    "table{border-collapse:collapse;font-size:0.9em}th,td{padding:4px 10px;border-bottom:1px solid #e4e4e4;text-align:left}"
    "th{background:#f4f4f4;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.mean td{font-weight:600;background:#fafafa}.na{color:#aaa}"
    ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}"
    ".figs img{width:100%;max-width:640px;border:1px solid #eee}.figs.bars img{width:auto;max-width:100%}"
    ".figs .wide{grid-column:1/-1}"
    ".links{font-size:0.9em}code{background:#f4f4f4;padding:0 4px}";

static void html_table(const Rep *R, Buf *b) {
    buf_add(b, "<table>\n<tr><th>dataset</th><th>category</th><th>method</th><th>variant</th><th>shots</th>");
    for (int k = 0; k < 8; k++) putf(b, "<th>%s</th>", TABLE_METRIC[k]);
    buf_add(b, "</tr>\n");
    for (int r = 0; r < R->t.n_rows; r++) {
        const char *cat = table_get(&R->t, r, "category");
        buf_add(b, strcmp(cat, "mean") ? "<tr>" : "<tr class=\"mean\">");
        const char *cells[5] = {table_get(&R->t, r, "dataset"), cat, table_get(&R->t, r, "method"),
                                table_get(&R->t, r, "variant"), table_get(&R->t, r, "method.shots")};
        for (int k = 0; k < 5; k++) {
            buf_add(b, "<td>");
            put_esc(b, cells[k]);
            buf_add(b, "</td>");
        }
        for (int k = 0; k < 8; k++) {
            double v = metric(R, r, RESULT_METRICS[k]);
            if (isnan(v)) buf_add(b, "<td class=\"num na\">&ndash;</td>");
            else putf(b, "<td class=\"num\">%.1f</td>", 100 * v);
        }
        buf_add(b, "</tr>\n");
    }
    buf_add(b, "</table>\n");
}

static void html_img(Buf *b, const char *const *parts, int n, const char *alt) {
    buf_add(b, "<img src=\"");
    put_url(b, parts, n);
    buf_add(b, "\" alt=\"");
    put_esc(b, alt);
    buf_add(b, "\">\n");
}

static int render_html(Rep *R, int (*figs)[N_FIG], const int bars[3]) {
    Buf b = {0};
    const char *base = strrchr(R->out_dir, '/');
    base = base && base[1] ? base + 1 : R->out_dir;
    buf_add(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>adbench report: ");
    put_esc(&b, base);
    putf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>adbench report: ", CSS);
    put_esc(&b, base);
    buf_add(&b, "</h1>\n<p class=\"meta\">Folder <code>");
    put_esc(&b, R->out_dir);
    putf(&b, "</code>: %d results row%s, %d categor%s. Metrics in percent; curves from <code>curves/</code> (rerender "
             "with <code>adbench report</code>).</p>\n",
         R->t.n_rows, R->t.n_rows == 1 ? "" : "s", R->n_c, R->n_c == 1 ? "y" : "ies");
    char *pics = ad_sprintf("%s/pictures", R->out_dir);
    if (is_dir(pics)) buf_add(&b, "<p class=\"links\">Pictures: <a href=\"pictures/\">pictures/</a></p>\n");
    free(pics);
    buf_add(&b, "<h2>Results</h2>\n");
    html_table(R, &b);
    buf_add(&b, "<h2>Curves</h2>\n");
    for (int i = 0; i < R->n_c; i++) {
        const Cat *c = &R->c[i];
        char *d = curves_component(c->dataset), *k = curves_component(c->category);
        buf_add(&b, "<h3>");
        put_esc(&b, c->dataset);
        buf_add(&b, "/");
        put_esc(&b, c->category);
        buf_add(&b, "</h3>\n<div class=\"figs\">\n");
        int any = 0;
        for (int f = 0; f < N_FIG; f++) {
            if (!figs[i][f]) continue;
            char *file = ad_sprintf("%s.png", FIG_FILE[f]), *alt = ad_sprintf("%s/%s %s", c->dataset, c->category, FIG_NAME[f]);
            const char *parts[4] = {"plots", d, k, file};
            html_img(&b, parts, 4, alt);
            free(file), free(alt);
            any = 1;
        }
        buf_add(&b, "</div>\n");
        if (!any) buf_add(&b, "<p class=\"meta\">No curve files for this category (run with <code>report: true</code>).</p>\n");
        // picture folders (save_maps: true): pictures/<dataset>/<category>/ and each row's own one
        Buf l = {0};
        char *p = ad_sprintf("%s/pictures/%s/%s", R->out_dir, d, k);
        if (is_dir(p)) {
            const char *parts[3] = {"pictures", d, k};
            buf_add(&l, " <a href=\"");
            put_url(&l, parts, 3);
            buf_add(&l, "/\">all</a>");
        }
        free(p);
        for (int s = 0; s < R->n_s; s++)  // each row's own folder (overlay.h naming)
            for (int pass = 0; pass < 2; pass++) {
                char *name = pass ? ad_sprintf("%s~%s", R->s[s].method, R->s[s].job) : ad_strdup(R->s[s].method);
                p = overlay_dir(R->out_dir, c->dataset, c->category, name, R->s[s].variant);
                if (is_dir(p)) {
                    const char *leaf = strrchr(p, '/') + 1, *parts[4] = {"pictures", d, k, leaf};
                    buf_add(&l, " <a href=\"");
                    put_url(&l, parts, 4);
                    buf_add(&l, "/\">");
                    put_esc(&l, R->s[s].label);
                    buf_add(&l, "</a>");
                }
                free(p), free(name);
            }
        if (l.n) putf(&b, "<p class=\"links\">Pictures:%s</p>\n", l.s);
        free(l.s);
        free(d), free(k);
    }
    int anyb = bars[0] || bars[1] || bars[2];
    if (anyb) buf_add(&b, "<h2>Per-category bars</h2>\n<div class=\"figs bars\">\n");
    for (int k = 0; k < 3; k++) {
        if (!bars[k]) continue;
        char *file = ad_sprintf("bars_%s.png", BAR_FILE[k]);
        const char *parts[2] = {"plots", file};
        if (bars[k] > 900) buf_add(&b, "<div class=\"wide\">");
        html_img(&b, parts, 2, BAR_NAME[k]);
        if (bars[k] > 900) buf_add(&b, "</div>\n");
        free(file);
    }
    if (anyb) buf_add(&b, "</div>\n");
    buf_add(&b, "</body>\n</html>\n");
    char *path = ad_sprintf("%s/report.html", R->out_dir);
    int rc = fs_write_text_atomic(path, b.s);
    free(path), free(b.s);
    return rc;
}

int report_render(const char *out_dir, int *n_png) {
    Rep R = {.out_dir = out_dir};
    char *csv = ad_sprintf("%s/results.csv", out_dir);
    if (access(csv, F_OK)) {
        int rc = ad_error("%s: no results.csv there; expected the output folder of an adbench run (results.csv, curves/). "
                          "Fix: pass the folder a run wrote (its --out or out_dir); for a sharded run, first join the "
                          "shards with adbench merge %s/results.csv %s/results.shard-*.csv",
                          out_dir, out_dir, out_dir);
        free(csv);
        return rc;
    }
    int rc = table_read_csv(&R.t, csv);
    free(csv);
    if (rc) return -1;
    if (table_col(&R.t, "job") < 0 || table_col(&R.t, "dataset") < 0 || table_col(&R.t, "category") < 0 ||
        table_col(&R.t, "method") < 0) {
        table_free(&R.t);
        return ad_error("%s/results.csv: expected an adbench results CSV (columns job, dataset, category, method). Fix: "
                        "pass the output folder of adbench run",
                        out_dir);
    }
    collect(&R);
    int (*figs)[N_FIG] = ad_calloc((size_t)R.n_c + 1, sizeof *figs);
    int bars[3] = {0};
    for (int i = 0; i < R.n_c && !rc; i++) rc = render_category(&R, &R.c[i], figs[i]);
    Groups g = {0};
    bar_groups(&R, &g);
    if (!rc) {
        char *pd = ad_sprintf("%s/plots", out_dir);
        rc = fs_mkdirs(pd);
        free(pd);
    }
    if (!rc) rc = render_bars(&R, &g, bars);
    if (!rc) rc = render_html(&R, figs, bars);
    if (!rc && n_png) *n_png = R.n_png;
    for (int i = 0; i < g.n; i++) free(g.label[i]);
    free(g.label), free(g.ds), free(g.cat);
    for (int i = 0; i < R.n_s; i++) free(R.s[i].label);
    free(R.s), free(R.c), free(figs);
    table_free(&R.t);
    return rc;
}
