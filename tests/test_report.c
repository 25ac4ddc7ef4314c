// report: true and `adbench report` (report.h): curve files whose areas are the results.csv
// metrics, figures that exist, have the expected size and are not blank, a report.html that
// references every figure and escapes user text, rerendering from an output folder, and the
// curve points of the metrics themselves (metrics.h Curve).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fsutil.h"
#include "image.h"
#include "metrics.h"
#include "plot.h"
#include "results.h"
#include "util_test.h"

static double trapezoid(const double *x, const double *y, int n) {
    double a = 0;
    for (int i = 1; i < n; i++) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return a;
}

// One curve of a curve CSV, parsed here (not with curves_read) so the format is checked too.
static int read_curve(const char *path, const char *name, double **x, double **y) {
    Table t;
    cr_assert_eq(table_read_csv(&t, path), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_cols, 3, "%s: columns curve,x,y", path);
    cr_assert_str_eq(t.cols[0], "curve");
    cr_assert_str_eq(t.cols[1], "x");
    cr_assert_str_eq(t.cols[2], "y");
    *x = malloc((size_t)(t.n_rows + 1) * sizeof **x), *y = malloc((size_t)(t.n_rows + 1) * sizeof **y);
    int n = 0;
    for (int r = 0; r < t.n_rows; r++) {
        const char *c = t.rows[r][0];
        cr_assert(!strcmp(c, "image_roc") || !strcmp(c, "image_pr") || !strcmp(c, "pixel_roc") || !strcmp(c, "pro"),
                  "%s: curve '%s'", path, c);
        if (strcmp(c, name)) continue;
        char *e1, *e2;
        (*x)[n] = strtod(t.rows[r][1], &e1), (*y)[n] = strtod(t.rows[r][2], &e2);
        cr_assert(!*e1 && !*e2, "%s:%d: numbers", path, r + 2);
        n++;
    }
    table_free(&t);
    return n;
}

static double num(const Table *t, int r, const char *col) {
    double v;
    cr_assert_eq(cell_double(table_get(t, r, col), &v), 0, "%s", col);
    return v;
}

// Not blank: enough non-background pixels, and the palette's first colours somewhere.
static void check_png(const char *path, int w, int h, int n_colours) {
    ImageU8 im;
    cr_assert_eq(image_read_rgb8(path, &im), 0, "%s", ad_last_error());
    if (w) cr_expect_eq(im.w, w, "%s: width %d", path, im.w);
    if (h) cr_expect_eq(im.h, h, "%s: height %d", path, im.h);
    long ink = 0;
    int found[4] = {0};
    for (long i = 0; i < (long)im.w * im.h; i++) {
        const uint8_t *p = im.data + 3 * i;
        ink += p[0] < 250 || p[1] < 250 || p[2] < 250;
        for (int k = 0; k < n_colours; k++) {
            uint8_t c[3];
            plot_colour(k, c);
            found[k] |= abs(p[0] - c[0]) < 4 && abs(p[1] - c[1]) < 4 && abs(p[2] - c[2]) < 4;
        }
    }
    cr_expect(ink > (long)im.w * im.h / 100, "%s: only %ld non-background pixels", path, ink);
    for (int k = 0; k < n_colours; k++) cr_expect(found[k], "%s: no pixel of series colour %d", path, k);
    image_u8_free(&im);
}

static const char *const CATS[2] = {"woven0", "a<&>b"};
static const char *const CATS_URL[2] = {"woven0", "a%3C%26%3Eb"};
static const char *const FIGS[4] = {"roc", "pr", "pixel_roc", "pro"};
static const char *const BARS[3] = {"image_auroc", "pixel_auroc", "au_pro"};

static void all_pngs_referenced(const char *out, const char *html) {
    for (int c = 0; c < 2; c++)
        for (int f = 0; f < 4; f++) {
            char *p = ad_sprintf("%s/plots/mvtec/%s/%s.png", out, CATS[c], FIGS[f]);
            check_png(p, 640, 480, 3);
            free(p);
            char *ref = ad_sprintf("src=\"plots/mvtec/%s/%s.png\"", CATS_URL[c], FIGS[f]);
            cr_expect(strstr(html, ref), "report.html lacks %s", ref);
            free(ref);
        }
    for (int b = 0; b < 3; b++) {
        char *p = ad_sprintf("%s/plots/bars_%s.png", out, BARS[b]);
        check_png(p, 640, 0, 3);
        free(p);
        char *ref = ad_sprintf("src=\"plots/bars_%s.png\"", BARS[b]);
        cr_expect(strstr(html, ref), "report.html lacks %s", ref);
        free(ref);
    }
}

Test(report, run_writes_curves_plots_and_html, .timeout = 300) {
    char *dir = make_tmpdir("report");
    char *root = synth_fixture(dir);
    char *from = ad_sprintf("%s/woven1", root), *to = ad_sprintf("%s/%s", root, CATS[1]);
    cr_assert_eq(rename(from, to), 0);  // a category name that HTML must escape
    char *cfg = ad_sprintf("%s/c.yaml", dir);
    char *text = ad_sprintf("name: rep\n"
                            "datasets: [{name: mvtec, root: %s, categories: [woven0, \"a<&>b\"]}]\n"
                            "backbone: {name: pixel, size: 32, patch: 8, stride: 8}\n"
                            "methods:\n  - {name: musc}\n  - {name: patchcore, shots: 2}\n  - {name: patchcore, shots: 1}\n"
                            "evaluation: {resolution: \"resized:32\"}\n"
                            "cache_dir: %s/cache\nreport: true\nsave_maps: true\n",
                            root, dir);
    write_text(cfg, text);
    char *args = ad_sprintf("run %s --out %s/out --quiet", cfg, dir), *o, *e;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_expect(strstr(e, "report: ") && strstr(e, "/report.html (11 figures"), "%s", e);
    free(o), free(e);
    char *out = ad_sprintf("%s/out", dir), *csv = ad_sprintf("%s/results.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    int rows = 0;
    for (int r = 0; r < t.n_rows; r++) {
        const char *cat = table_get(&t, r, "category");
        if (!strcmp(cat, "mean")) continue;
        rows++;
        // the two PatchCore entries share method and variant: their files carry the job id
        const char *m = table_get(&t, r, "method");
        char *p = strcmp(m, "patchcore") ? ad_sprintf("%s/curves/mvtec/%s/%s.csv", out, cat, m)
                                         : ad_sprintf("%s/curves/mvtec/%s/%s~%s.csv", out, cat, m, table_get(&t, r, "job"));
        double *x, *y;
        int n = read_curve(p, "image_roc", &x, &y);
        cr_assert(n >= 2, "%s: image_roc has %d points", p, n);
        cr_expect(x[0] == 0 && y[0] == 0 && x[n - 1] == 1 && y[n - 1] == 1, "%s: ROC from (0,0) to (1,1)", p);
        cr_expect(fabs(trapezoid(x, y, n) - num(&t, r, "image_auroc")) < 1e-6, "%s: ROC area %.9f vs image_auroc %.9f", p,
                  trapezoid(x, y, n), num(&t, r, "image_auroc"));
        free(x), free(y);
        n = read_curve(p, "pro", &x, &y);
        cr_assert(n >= 2 && n <= CURVE_MAX_POINTS, "%s: pro has %d points", p, n);
        cr_expect(fabs(x[n - 1] - 0.3) < 1e-12, "%s: PRO ends at the limit, found %g", p, x[n - 1]);
        cr_expect(fabs(trapezoid(x, y, n) / 0.3 - num(&t, r, "pixel_aupro")) < 2e-3, "%s: PRO area / 0.3 = %.6f vs %.6f",
                  p, trapezoid(x, y, n) / 0.3, num(&t, r, "pixel_aupro"));
        free(x), free(y);
        n = read_curve(p, "pixel_roc", &x, &y);
        cr_assert(n >= 2 && n <= CURVE_MAX_POINTS, "%s: pixel_roc has %d points", p, n);
        cr_expect(fabs(trapezoid(x, y, n) - num(&t, r, "pixel_auroc")) < 2e-3, "%s", p);
        free(x), free(y);
        n = read_curve(p, "image_pr", &x, &y);
        cr_expect(n >= 2 && x[0] == 0 && y[0] == 1, "%s: PR starts at (0,1)", p);
        free(x), free(y);
        free(p);
    }
    cr_expect_eq(rows, 6, "2 categories x 3 methods");
    table_free(&t);
    char *hp = ad_sprintf("%s/report.html", out);
    char *html = slurp(hp, NULL);
    cr_assert(html, "no %s", hp);
    all_pngs_referenced(out, html);
    cr_expect(strstr(html, "a&lt;&amp;&gt;b") && !strstr(html, "a<&>b"), "category name not escaped");
    cr_expect(!strstr(html, "<script"), "static HTML");
    cr_expect(strstr(html, "<td>patchcore</td>") && strstr(html, "<th>AU-PRO</th>"), "results table");
    cr_expect(strstr(html, "<td>2</td>"), "shots column");
    cr_expect(strstr(html, "<a href=\"pictures/mvtec/a%3C%26%3Eb/musc/\">musc</a>"), "link to the pictures of a row");

    // adbench report rerenders the same files from results.csv + curves/.
    char *cmd = ad_sprintf("rm -rf '%s/plots' '%s'", out, hp);
    cr_assert_eq(run_capture(cmd, NULL, NULL), 0);
    free(cmd);
    cmd = ad_sprintf("report %s", out);
    cr_assert_eq(run_adbench(cmd, &o, &e), 0, "%s", e);
    cr_expect(strstr(o, "(11 figures"), "%s", o);
    free(o), free(e), free(cmd);
    char *html2 = slurp(hp, NULL);
    cr_assert(html2, "adbench report wrote no report.html");
    cr_expect_str_eq(html2, html, "rerendered report.html differs");
    all_pngs_referenced(out, html2);
    free(html), free(html2), free(hp);

    // A rerun (resume) with report: true keeps everything and rerenders.
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_expect(strstr(e, "(0 new rows)") && strstr(e, "report: "), "%s", e);
    free(o), free(e);
    free(args), free(csv), free(out), free(cfg), free(text), free(from), free(to), free(root);
    rm_rf(dir);
    free(dir);
}

Test(report, clear_errors) {
    char *dir = make_tmpdir("report-err"), *cmd = ad_sprintf("report %s", dir), *o, *e;
    cr_assert_eq(run_adbench(cmd, &o, &e), 1);
    cr_expect(strstr(e, "adbench: error: ") && strstr(e, "no results.csv") && strstr(e, "Fix:"), "%s", e);
    free(o), free(e), free(cmd);
    cr_assert_eq(run_adbench("report", &o, &e), 1);
    cr_expect(strstr(e, "usage: adbench report OUTDIR"), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("report --help", &o, &e), 0);
    cr_expect(strstr(o, "usage: adbench report OUTDIR"), "%s", o);
    free(o), free(e);
    // a damaged curve file is named with its line
    char *p = ad_sprintf("%s/results.csv", dir);
    write_text(p, "job,dataset,category,method,variant,image_auroc\nj1,d,c,m,,0.5\n");
    free(p);
    p = ad_sprintf("%s/curves/d/c", dir);
    cr_assert_eq(fs_mkdirs(p), 0, "%s", ad_last_error());
    free(p);
    p = ad_sprintf("%s/curves/d/c/m.csv", dir);
    write_text(p, "curve,x,y\nimage_roc,0,0\nimage_roc,zz,1\n");
    cmd = ad_sprintf("report %s", dir);
    cr_assert_eq(run_adbench(cmd, &o, &e), 1);
    cr_expect(strstr(e, "m.csv:3: expected two finite numbers"), "%s", e);
    free(o), free(e), free(cmd), free(p);
    rm_rf(dir);
    free(dir);
}

Test(report, config_key_is_validated_and_listed) {
    Config c;
    const char *base = "datasets: [{name: mvtec, root: x}]\nbackbone: {name: pixel}\nmethods: [{name: musc}]\n";
    char *ok = ad_sprintf("%sreport: true\n", base), *bad = ad_sprintf("%sreport: maybe\n", base);
    cr_assert_eq(config_load_string(&c, "t.yaml", ok, NULL, 0, NULL), 0, "%s", ad_last_error());
    cr_expect_eq(c.variants[0].report, 1);
    config_free(&c);
    cr_assert_eq(config_load_string(&c, "t.yaml", bad, NULL, 0, NULL), -1);
    cr_expect(strstr(ad_last_error(), "t.yaml:4: report: expected true or false, found 'maybe'"), "%s", ad_last_error());
    free(ok), free(bad);
    char *o, *e;
    cr_assert_eq(run_adbench("params", &o, &e), 0, "%s", e);
    cr_expect(strstr(o, "\n  report  (true|false, default false)"), "%s", o);
    free(o), free(e);
}

// The metrics' curves: image ROC area = AUROC exactly (ties too), PRO area / limit = AU-PRO
// and pixel ROC area = AUROC within the thinning's error, pixel curves thinned to the cap.
Test(report, metric_curves_match_the_metrics) {
    enum { N = 40 };
    uint8_t lab[N];
    double sc[N];
    for (int i = 0; i < N; i++) lab[i] = i % 3 == 0, sc[i] = (double)((i * 7) % 11) / 10 + lab[i] * 0.25;  // ties
    BinaryMetrics bm;
    Curve roc, pr;
    cr_assert_eq(metrics_image_curves(lab, sc, N, &bm, &roc, &pr), 0);
    cr_expect(fabs(trapezoid(roc.x, roc.y, roc.n) - bm.auroc) < 1e-12, "%.12f vs %.12f", trapezoid(roc.x, roc.y, roc.n),
              bm.auroc);
    double ap = 0;  // step-wise AP from the PR points
    for (int i = 1; i < pr.n; i++) ap += (pr.x[i] - pr.x[i - 1]) * pr.y[i];
    cr_expect(fabs(ap - bm.ap) < 1e-12, "AP %.12f vs %.12f", ap, bm.ap);
    curve_free(&roc), curve_free(&pr);

    enum { K = 8, S = 96 };
    uint8_t *mk[K];
    float *mp[K];
    int h[K], w[K];
    unsigned seed = 7;
    for (int k = 0; k < K; k++) {
        h[k] = w[k] = S;
        mk[k] = calloc(S * S, 1), mp[k] = malloc(S * S * sizeof(float));
        for (int p = 0; p < S * S; p++) {
            int y = p / S, x = p % S;
            mk[k][p] = k % 2 && abs(y - 20 - 5 * k) < 6 && abs(x - 30) < 8 + k;
            seed = seed * 1103515245u + 12345u;
            mp[k][p] = (float)((seed >> 8) & 0xffff) / 65536.0f + 0.6f * mk[k][p];
        }
    }
    PixelMetrics pm;
    Curve proc, pro;
    cr_assert_eq(metrics_pixel_curves((const uint8_t *const *)mk, (const float *const *)mp, h, w, K, 0.3, &pm, &proc, &pro), 0);
    cr_expect(proc.n > 100 && proc.n <= CURVE_MAX_POINTS && pro.n > 100 && pro.n <= CURVE_MAX_POINTS, "%d %d", proc.n, pro.n);
    cr_expect(pro.x[0] == 0 && pro.y[0] == 0 && fabs(pro.x[pro.n - 1] - 0.3) < 1e-15);
    cr_expect(proc.x[proc.n - 1] == 1 && proc.y[proc.n - 1] == 1);
    cr_expect(fabs(trapezoid(pro.x, pro.y, pro.n) / 0.3 - pm.aupro) < 1e-3, "%.6f vs %.6f",
              trapezoid(pro.x, pro.y, pro.n) / 0.3, pm.aupro);
    cr_expect(fabs(trapezoid(proc.x, proc.y, proc.n) - pm.auroc) < 1e-3, "%.6f vs %.6f", trapezoid(proc.x, proc.y, proc.n),
              pm.auroc);
    PixelMetrics plain;  // the curves change nothing
    cr_assert_eq(metrics_pixel((const uint8_t *const *)mk, (const float *const *)mp, h, w, K, 0.3, &plain), 0);
    cr_expect(plain.auroc == pm.auroc && plain.aupro == pm.aupro && plain.ap == pm.ap);
    curve_free(&proc), curve_free(&pro);
    for (int k = 0; k < K; k++) free(mk[k]), free(mp[k]);
}

// Thinning never drops a corner: a tie group of positives straight after one of negatives
// (two long, perpendicular steps) keeps the pixel ROC area whatever index it lands on when the
// recorder coarsens (every other point dropped would cut that corner: area -0.045).
Test(report, pixel_curve_thinning_keeps_corners) {
    for (int shift = 0; shift < 2; shift++) {
        // descending scores: 400 (+shift) alternating pixels, 240 tied positives, 240 tied
        // negatives, then alternating pixels to 800 + 800
        enum { P = 800, NN = 800, T = 240 };
        int n = P + NN + shift, i = 0, pos = 0, neg = 0;
        uint8_t *mk = calloc((size_t)n, 1);
        float *mp = malloc((size_t)n * sizeof *mp);
        for (; i < 400 + shift; i++) {
            mk[i] = i % 2 == 0, mp[i] = (float)(n - i);
            pos += mk[i], neg += !mk[i];
        }
        float tie = (float)(n - i);
        for (int k = 0; k < T; k++, i++) mk[i] = 1, mp[i] = tie, pos++;
        for (int k = 0; k < T; k++, i++) mk[i] = 0, mp[i] = tie - 0.5f, neg++;
        for (; i < n; i++) {
            mk[i] = pos < P && (neg >= NN + shift || i % 2 == 0);
            mp[i] = (float)(n - i) - 0.75f;
            pos += mk[i], neg += !mk[i];
        }
        cr_assert_eq(pos, P);
        int h = 1, w = n;
        PixelMetrics pm;
        Curve roc, pro;
        cr_assert_eq(metrics_pixel_curves((const uint8_t *const *)&mk, (const float *const *)&mp, &h, &w, 1, 0.3, &pm,
                                          &roc, &pro), 0);
        cr_expect(roc.n > 100 && roc.n <= CURVE_MAX_POINTS, "shift %d: %d points", shift, roc.n);
        double a = trapezoid(roc.x, roc.y, roc.n);
        cr_expect(fabs(a - pm.auroc) < 2e-3, "shift %d: ROC area %.6f vs AUROC %.6f (%d points)", shift, a, pm.auroc, roc.n);
        curve_free(&roc), curve_free(&pro);
        free(mk), free(mp);
    }
}
