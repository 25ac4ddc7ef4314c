// The run report (report: true, and `adbench report OUTDIR`): from an output folder's
// results.csv and curves/ (curves.h) it renders
//   plots/<dataset>/<category>/{roc,pr,pixel_roc,pro}.png  one line per results row (method
//        and variant), the legend giving the row's area metric; a figure whose curve is
//        undefined for every row (no masks: pixel curves) is not drawn;
//   plots/bars_{image_auroc,pixel_auroc,au_pro}.png  grouped bars, category x row label,
//        with value labels (a metric that is NaN everywhere is not drawn);
//   report.html  static HTML (no JavaScript): the results table, each category's curve
//        figures, the bar charts and links to the pictures/ and maps/ folders that exist.
// Everything is written atomically; rerendering overwrites the previous figures.
#pragma once

// Renders the report of out_dir. On success *n_png (may be NULL) = figures written.
// 0, or -1 + ad_error (no results.csv, unreadable curve file, write failure).
int report_render(const char *out_dir, int *n_png);
