// Progress bars and stage lines on stderr.
//
// Without a terminal (mode 1) the current stage is mirrored into a copy owned by this file
// (so a stage abandoned on an error path never leaves a dangling pointer), and one heartbeat
// thread prints "stage: done/total (P%) R/s ETA" when no line was printed for the interval.
#include "progress.h"
#include "runlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int progress_mode(int quiet) { return quiet ? 0 : isatty(2) ? 2 : 1; }

double progress_interval_s(void) {
    const char *e = getenv("ADBENCH_PROGRESS_INTERVAL_S");
    if (e && *e) {
        char *end;
        double v = strtod(e, &end);
        if (!*end && v > 0 && v < 1e6) return v;
    }
    return 30.0;
}

void progress_fmt_eta(char *buf, unsigned long n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

// --- heartbeat (mode 1) ------------------------------------------------------------------

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_thread_started, g_active;
static Progress g_cur;       // copy of the running stage
static double g_last_line;   // when a line of this stage was last printed

static void print_line_locked(double t) {
    double el = t - g_cur.t0, rate = g_cur.done > 0 && el > 0 ? g_cur.done / el : 0;
    char eta[32];
    progress_fmt_eta(eta, sizeof eta, rate > 0 ? (g_cur.total - g_cur.done) / rate : -1);
    int pct = g_cur.total > 0 ? (int)(100 * g_cur.done / g_cur.total) : 0;
    FILE *f = runlog_stream();
    fprintf(f, "  %-26.26s %ld/%ld (%d%%)  %.2f/s  ETA %s  (%.0f s)\n", g_cur.stage, g_cur.done, g_cur.total, pct, rate, eta,
            el);
    fflush(f);
    g_last_line = t;
}

static void *heartbeat(void *arg) {
    (void)arg;
    for (;;) {
        double iv = progress_interval_s();
        double tick = iv / 4 < 0.5 ? iv / 4 : 0.5;
        struct timespec ts = {(time_t)tick, (long)((tick - (double)(time_t)tick) * 1e9)};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g_mu);
        double t = now_s();
        if (g_active && t - g_last_line >= iv) print_line_locked(t);
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

// fork() (tests, `adbench` children) copies only the calling thread: the child restarts
// its heartbeat on demand and must not inherit a locked mutex.
static void at_prepare(void) { pthread_mutex_lock(&g_mu); }
static void at_parent(void) { pthread_mutex_unlock(&g_mu); }
static void at_child(void) {
    pthread_mutex_unlock(&g_mu);
    g_thread_started = 0;
    g_active = 0;
}

static void start_heartbeat_locked(void) {
    static int atfork_done;
    if (g_thread_started) return;
    if (!atfork_done) {
        atfork_done = 1;
        pthread_atfork(at_prepare, at_parent, at_child);
    }
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (!pthread_create(&th, &at, heartbeat, NULL)) g_thread_started = 1;
    pthread_attr_destroy(&at);
}

void progress_idle(void) {
    pthread_mutex_lock(&g_mu);
    g_active = 0;
    pthread_mutex_unlock(&g_mu);
}

// --- public ------------------------------------------------------------------------------

void progress_begin(Progress *p, const char *stage, long total, int quiet) {
    memset(p, 0, sizeof *p);
    snprintf(p->stage, sizeof p->stage, "%s", stage);
    p->total = total;
    p->t0 = now_s();
    p->mode = progress_mode(quiet);
    if (p->mode == 1) {
        pthread_mutex_lock(&g_mu);
        g_cur = *p;
        g_active = 1;
        g_last_line = p->t0;
        start_heartbeat_locked();
        pthread_mutex_unlock(&g_mu);
    }
    if (p->mode == 2) progress_step(p, 0);
}

void progress_step(Progress *p, long done) {
    p->done = done;
    if (p->mode == 1) {
        pthread_mutex_lock(&g_mu);
        if (g_active && g_cur.t0 == p->t0 && !strcmp(g_cur.stage, p->stage)) {
            g_cur.done = done;
            double t = now_s();
            if (t - g_last_line >= progress_interval_s()) print_line_locked(t);
        }
        pthread_mutex_unlock(&g_mu);
        return;
    }
    if (p->mode != 2) return;
    double t = now_s();
    if (done && done < p->total && t - p->last_draw < 0.1) return;
    p->last_draw = t;
    double el = t - p->t0, rate = done > 0 && el > 0 ? done / el : 0;
    char eta[32];
    progress_fmt_eta(eta, sizeof eta, rate > 0 ? (p->total - done) / rate : -1);
    int width = 24, fill = p->total > 0 ? (int)(width * done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    FILE *f = runlog_stream();
    fprintf(f, "\r  %-26.26s [%s] %ld/%ld  %6.2f img/s  ETA %s ", p->stage, bar, done, p->total, rate, eta);
    fflush(f);
}

void progress_end(Progress *p) {
    double el = now_s() - p->t0;
    if (p->mode == 0) return;
    if (p->mode == 1) {
        pthread_mutex_lock(&g_mu);
        if (g_cur.t0 == p->t0 && !strcmp(g_cur.stage, p->stage)) g_active = 0;
        pthread_mutex_unlock(&g_mu);
    }
    FILE *f = runlog_stream();
    if (p->mode == 2) fprintf(f, "\r\033[K");
    double rate = el > 0 ? p->done / el : 0;
    fprintf(f, "  %-26.26s %ld in %.2f s (%.2f/s)\n", p->stage, p->done, el, rate);
}
