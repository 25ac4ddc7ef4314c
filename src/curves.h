// The curve files of report: true: curves/<dataset>/<category>/<stem>.csv, one per results row,
// long format "curve,x,y" with curve = image_roc (fpr, tpr), image_pr (recall, precision),
// pixel_roc (fpr, tpr) or pro (fpr, pro up to pro_limit); points in the order the metrics
// walk made them (evaluate.h EvalCurves). Written atomically (table_write_csv).
#pragma once
#include "evaluate.h"

// The file stem of a row, named as its pictures are (overlay.h): "<method>[~<job>][@<variant>]",
// the variant through overlay_sanitize; the job id only when the variant's methods: list holds
// the method twice (other settings, no grid between them).
char *curves_stem(const char *method, const char *variant, const char *job_or_null);
// A dataset or category name as one path component: '/' -> '_', "", "." and ".." -> "_".
char *curves_component(const char *name);
// <out_dir>/curves/<dataset>/<category>/<stem>.csv (malloc'd).
char *curves_path(const char *out_dir, const char *dataset, const char *category, const char *stem);
// Curve k of c in file order: 0 image_roc, 1 image_pr, 2 pixel_roc, 3 pro.
Curve *curves_get(EvalCurves *c, int k);
// Writes c to path (folders created). 0, or -1 + ad_error.
int curves_write(const char *path, const EvalCurves *c);
// Reads a curve file (every curve name known, every number finite). 0, or -1 + ad_error
// naming the file and line; c is zeroed first (free with eval_curves_free).
int curves_read(const char *path, EvalCurves *c);
