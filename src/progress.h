// Progress on stderr: a live bar (count, images/s, ETA) when stderr is a terminal, else
// one line per stage when it ends; nothing with quiet. Plus a wall clock.
#pragma once

typedef struct {
    char stage[64];
    long total, done;
    double t0, last_draw;
    int mode;  // 0 quiet, 1 one line per stage, 2 live bar
} Progress;

double now_s(void);  // monotonic seconds
// mode from quiet and isatty(2).
void progress_begin(Progress *p, const char *stage, long total, int quiet);
void progress_step(Progress *p, long done);  // done so far (redraws at most 10x/s)
void progress_end(Progress *p);               // final line: "stage: N in T s (R/s)"
// Live bars only when stderr is a terminal and not quiet (exposed for tests).
int progress_mode(int quiet);
