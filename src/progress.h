// Progress on stderr: a live bar (count, images/s, ETA) when stderr is a terminal, else
// (Slurm, nohup, pipes) plain lines: one when a stage ends, and while it runs one line at
// least every ADBENCH_PROGRESS_INTERVAL_S seconds (default 30) with done/total, rate and
// ETA — printed by a heartbeat thread, so a stage whose method reports no checkpoints still
// shows it is alive. Nothing with quiet. Plus a wall clock.
#pragma once

typedef struct {
    char stage[64];
    long total, done;
    double t0, last_draw;
    int mode;  // 0 quiet, 1 one line per stage (+ periodic lines), 2 live bar
} Progress;

double now_s(void);  // monotonic seconds
// mode from quiet and isatty(2).
void progress_begin(Progress *p, const char *stage, long total, int quiet);
void progress_step(Progress *p, long done);  // done so far (redraws at most 10x/s)
void progress_end(Progress *p);               // final line: "stage: N in T s (R/s)"
// Stops periodic lines of a stage left without progress_end (error paths); idempotent.
void progress_idle(void);
// Live bars only when stderr is a terminal and not quiet (exposed for tests).
int progress_mode(int quiet);
// Seconds between periodic lines without a terminal: ADBENCH_PROGRESS_INTERVAL_S (> 0) or 30.
double progress_interval_s(void);
// "m:ss" / "h:mm:ss", "--:--" when s < 0 (unknown).
void progress_fmt_eta(char *buf, unsigned long n, double s);
