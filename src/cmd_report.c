// adbench report OUTDIR: rerenders plots/ and report.html of a finished run from its
// results.csv and curves/ (report.h), without rerunning anything.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "report.h"

int cmd_report(int argc, char **argv) {
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        printf("usage: adbench report OUTDIR\n"
               "  rerenders OUTDIR/plots/ (ROC, PR, pixel ROC and PRO figures per category, bar charts per metric)\n"
               "  and OUTDIR/report.html from OUTDIR/results.csv and the curve files OUTDIR/curves/ that a run\n"
               "  with report: true wrote. Nothing is recomputed; existing figures are overwritten.\n");
        return 0;
    }
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "adbench: error: usage: adbench report OUTDIR (the output folder of adbench run). Fix: pass "
                        "one folder, e.g. adbench report results/runs/demo\n");
        return 1;
    }
    int n = 0;
    if (report_render(argv[2], &n)) ad_die_user();
    printf("report: %s/report.html (%d figure%s in %s/plots)\n", argv[2], n, n == 1 ? "" : "s", argv[2]);
    return 0;
}
