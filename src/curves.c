// Curve files (curves.h): EvalCurves <-> curves/<dataset>/<category>/<stem>.csv.
#include "curves.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsutil.h"
#include "overlay.h"  // overlay_sanitize: curve files are named as the pictures
#include "results.h"

static const char *const NAMES[4] = {"image_roc", "image_pr", "pixel_roc", "pro"};

Curve *curves_get(EvalCurves *c, int k) {
    Curve *all[4] = {&c->image_roc, &c->image_pr, &c->pixel_roc, &c->pro};
    return all[k];
}

char *curves_stem(const char *method, const char *variant, const char *job) {
    char *v = overlay_sanitize(variant ? variant : "");
    char *s = ad_sprintf("%s%s%s%s%s", method, job && *job ? "~" : "", job && *job ? job : "", *v ? "@" : "", v);
    free(v);
    return s;
}

char *curves_component(const char *name) {
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) return ad_strdup("_");
    char *s = ad_strdup(name);
    for (char *p = s; *p; p++)
        if (*p == '/') *p = '_';
    return s;
}

char *curves_path(const char *out_dir, const char *dataset, const char *category, const char *stem) {
    char *d = curves_component(dataset), *c = curves_component(category);
    char *p = ad_sprintf("%s/curves/%s/%s/%s.csv", out_dir, d, c, stem);
    free(d), free(c);
    return p;
}

int curves_write(const char *path, const EvalCurves *c) {
    char *dir = ad_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int rc = slash ? fs_mkdirs(dir) : 0;
    free(dir);
    if (rc) return -1;
    const char *cols[3] = {"curve", "x", "y"};
    Table t;
    table_init(&t, cols, 3);
    EvalCurves *cc = (EvalCurves *)c;  // read only
    for (int k = 0; k < 4; k++) {
        const Curve *cv = curves_get(cc, k);
        for (int i = 0; i < cv->n; i++) {
            char x[40], y[40];
            snprintf(x, sizeof x, "%.10g", cv->x[i]);
            snprintf(y, sizeof y, "%.10g", cv->y[i]);
            const char *row[3] = {NAMES[k], x, y};
            table_add_row(&t, row);
        }
    }
    rc = table_write_csv(&t, path);
    table_free(&t);
    return rc;
}

int curves_read(const char *path, EvalCurves *c) {
    memset(c, 0, sizeof *c);
    Table t;
    if (table_read_csv(&t, path)) return -1;
    int ci = table_col(&t, "curve"), xi = table_col(&t, "x"), yi = table_col(&t, "y");
    int rc = 0;
    if (ci < 0 || xi < 0 || yi < 0)
        rc = ad_error("%s: expected the columns curve,x,y of an adbench curve file. Fix: rerun with report: true, or "
                      "remove the file",
                      path);
    for (int r = 0; r < t.n_rows && !rc; r++) {
        int k = 0;
        while (k < 4 && strcmp(t.rows[r][ci], NAMES[k])) k++;
        double x, y;
        if (k == 4)
            rc = ad_error("%s:%d: unknown curve '%s'; expected image_roc, image_pr, pixel_roc or pro. Fix: rerun with "
                          "report: true, or remove the file",
                          path, r + 2, t.rows[r][ci]);
        else if (cell_double(t.rows[r][xi], &x) || cell_double(t.rows[r][yi], &y) || !isfinite(x) || !isfinite(y))
            rc = ad_error("%s:%d: expected two finite numbers x,y, found '%s','%s'. Fix: rerun with report: true, or "
                          "remove the file",
                          path, r + 2, t.rows[r][xi], t.rows[r][yi]);
        else
            curve_append(curves_get(c, k), x, y);
    }
    table_free(&t);
    if (rc) eval_curves_free(c);
    return rc;
}
