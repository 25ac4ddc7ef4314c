// Progress bars and stage lines on stderr.
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int progress_mode(int quiet) { return quiet ? 0 : isatty(2) ? 2 : 1; }

void progress_begin(Progress *p, const char *stage, long total, int quiet) {
    memset(p, 0, sizeof *p);
    snprintf(p->stage, sizeof p->stage, "%s", stage);
    p->total = total;
    p->t0 = now_s();
    p->mode = progress_mode(quiet);
    if (p->mode == 2) progress_step(p, 0);
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void progress_step(Progress *p, long done) {
    p->done = done;
    if (p->mode != 2) return;
    double t = now_s();
    if (done && done < p->total && t - p->last_draw < 0.1) return;
    p->last_draw = t;
    double el = t - p->t0, rate = done > 0 && el > 0 ? done / el : 0;
    char eta[32];
    fmt_eta(eta, sizeof eta, rate > 0 ? (p->total - done) / rate : -1);
    int width = 24, fill = p->total > 0 ? (int)(width * done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r  %-26.26s [%s] %ld/%ld  %6.2f img/s  ETA %s ", p->stage, bar, done, p->total, rate, eta);
    fflush(stderr);
}

void progress_end(Progress *p) {
    double el = now_s() - p->t0;
    if (p->mode == 0) return;
    if (p->mode == 2) fprintf(stderr, "\r\033[K");
    double rate = el > 0 ? p->done / el : 0;
    fprintf(stderr, "  %-26.26s %ld in %.2f s (%.2f/s)\n", p->stage, p->done, el, rate);
}
