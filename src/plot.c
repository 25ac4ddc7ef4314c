// Raster figures for the run report (plot.h): axes, ticks, grid lines, anti-aliased
// polylines (coverage by distance to each segment, max over a polyline so joints do not
// darken), legends and grouped bars.
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "plot_draw.h"

static const uint8_t BG[3] = {255, 255, 255}, INK[3] = {34, 34, 34}, AXIS[3] = {90, 90, 90},
                     GRID[3] = {230, 230, 230}, MUTED[3] = {110, 110, 110}, FRAME[3] = {200, 200, 200};

void plot_colour(int i, uint8_t rgb[3]) {
    static const uint32_t TAB10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                       0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    uint32_t c = TAB10[((i % 10) + 10) % 10];
    rgb[0] = (uint8_t)(c >> 16), rgb[1] = (uint8_t)(c >> 8), rgb[2] = (uint8_t)c;
}

static void canvas(ImageU8 *img, int w, int h) {
    img->w = w, img->h = h, img->c = 3;
    img->data = ad_malloc((size_t)w * h * 3);
    memset(img->data, 255, (size_t)w * h * 3);
}

void plot_fill(ImageU8 *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > img->w ? img->w : x1, y1 = y1 > img->h ? img->h : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) memcpy(img->data + ((size_t)y * img->w + x) * 3, rgb, 3);
}

static void outline(ImageU8 *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    plot_fill(img, x0, y0, x1, y0 + 1, rgb), plot_fill(img, x0, y1 - 1, x1, y1, rgb);
    plot_fill(img, x0, y0, x0 + 1, y1, rgb), plot_fill(img, x1 - 1, y0, x1, y1, rgb);
}

// --- text: ASCII through OpenCV, the em dash (U+2014) drawn as a bar -------------------------

static const char EMDASH[] = "\xe2\x80\x94";

static int dash_width(double scale) {
    int w = 0;
    plot_draw_text_size("M", scale, 0, &w, NULL, NULL);
    return w + 8;  // an em plus a little space on each side
}

// Text in runs split at em dashes, drawn from (x, y) when img is not NULL; returns its width.
static int text_runs(ImageU8 *img, int x, int y, const char *text, double scale, int bold, const uint8_t rgb[3]) {
    int x0 = x;
    for (const char *p = text; *p;) {
        const char *d = strstr(p, EMDASH);
        size_t len = d ? (size_t)(d - p) : strlen(p);
        if (len) {
            char *part = ad_sprintf("%.*s", (int)len, p);
            int pw = 0;
            plot_draw_text_size(part, scale, bold, &pw, NULL, NULL);
            if (img) plot_draw_text(img, x, y, part, scale, bold, rgb, 0);
            free(part);
            x += pw;
        }
        if (!d) break;
        int dw = dash_width(scale);
        if (img) {
            int ph = 0, t = bold || scale >= 0.75 ? 2 : 1;
            plot_draw_text_size("x", scale, bold, NULL, &ph, NULL);
            plot_fill(img, x + 4, y - ph / 2 - t / 2, x + dw - 4, y - ph / 2 - t / 2 + t, rgb);
        }
        x += dw;
        p = d + 3;
    }
    return x - x0;
}

int plot_text_width(const char *text, double scale, int bold) { return text_runs(NULL, 0, 0, text, scale, bold, NULL); }

void plot_text(ImageU8 *img, int x, int y, const char *text, double scale, int bold, const uint8_t rgb[3], int align) {
    int w = plot_text_width(text, scale, bold);
    if (align == 1) x -= w / 2;
    else if (align == 2) x -= w;
    text_runs(img, x, y, text, scale, bold, rgb);
}

static int text_height(double scale) {
    int h = 0;
    plot_draw_text_size("0Ay", scale, 0, NULL, &h, NULL);
    return h;
}

// --- anti-aliased polylines ------------------------------------------------------------------

typedef struct {
    float *cov;  // coverage in [0, 1] of the clip rectangle
    int x0, y0, w, h;
} Cover;

static void cover_segment(Cover *c, double ax, double ay, double bx, double by, double width) {
    double r = width / 2 + 1;
    int xa = (int)floor(fmin(ax, bx) - r), xb = (int)ceil(fmax(ax, bx) + r);
    int ya = (int)floor(fmin(ay, by) - r), yb = (int)ceil(fmax(ay, by) + r);
    if (xa < c->x0) xa = c->x0;
    if (ya < c->y0) ya = c->y0;
    if (xb >= c->x0 + c->w) xb = c->x0 + c->w - 1;
    if (yb >= c->y0 + c->h) yb = c->y0 + c->h - 1;
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    for (int y = ya; y <= yb; y++)
        for (int x = xa; x <= xb; x++) {
            double t = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = ax + t * dx - x, ey = ay + t * dy - y, d = sqrt(ex * ex + ey * ey);
            double a = width / 2 + 0.5 - d;
            if (a <= 0) continue;
            float *p = &c->cov[(size_t)(y - c->y0) * c->w + (x - c->x0)];
            if (a > 1) a = 1;
            if (a > *p) *p = (float)a;
        }
}

static void cover_blend(ImageU8 *img, Cover *c, const uint8_t rgb[3]) {
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            float a = c->cov[(size_t)y * c->w + x];
            if (a <= 0) continue;
            uint8_t *o = img->data + ((size_t)(y + c->y0) * img->w + (x + c->x0)) * 3;
            for (int k = 0; k < 3; k++) o[k] = (uint8_t)lround(o[k] * (1 - a) + rgb[k] * a);
        }
    memset(c->cov, 0, (size_t)c->w * c->h * sizeof *c->cov);
}

// --- axes ------------------------------------------------------------------------------------

static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static int step_decimals(double step) {
    int d = 0;
    while (d < 6 && fabs(step * pow(10, d) - lround(step * pow(10, d))) > 1e-6) d++;
    return d;
}

typedef struct {
    int x0, y0, x1, y1;  // plot area [x0, x1) x [y0, y1) in pixels
    double xmin, xmax, ymin, ymax;
    int pad;  // pixels between the data range and the frame, so lines at 0 and 1 stay whole
} Frame;

static double px_x(const Frame *f, double x) {
    return f->x0 + f->pad + (x - f->xmin) / (f->xmax - f->xmin) * (f->x1 - 1 - f->x0 - 2 * f->pad);
}
static double px_y(const Frame *f, double y) {
    return f->y1 - 1 - f->pad - (y - f->ymin) / (f->ymax - f->ymin) * (f->y1 - 1 - f->y0 - 2 * f->pad);
}

// Grid lines, ticks with labels and the frame; xticks = 0 draws no x ticks (bar charts).
static void draw_axes(ImageU8 *img, const Frame *f, int xticks, double ts) {
    int th = text_height(ts);
    double ys = nice_step(f->ymax - f->ymin, 5);
    int yd = step_decimals(ys);
    for (double v = ceil(f->ymin / ys - 1e-9) * ys; v <= f->ymax + ys * 1e-6; v += ys) {
        int y = (int)lround(px_y(f, v));
        plot_fill(img, f->x0, y, f->x1, y + 1, GRID);
        plot_fill(img, f->x0 - 5, y, f->x0, y + 1, AXIS);
        char lab[32];
        snprintf(lab, sizeof lab, "%.*f", yd, fabs(v) < ys * 1e-6 ? 0.0 : v);
        plot_text(img, f->x0 - 8, y + th / 2, lab, ts, 0, INK, 2);
    }
    if (xticks) {
        double xs = nice_step(f->xmax - f->xmin, 5);
        int xd = step_decimals(xs);
        for (double v = ceil(f->xmin / xs - 1e-9) * xs; v <= f->xmax + xs * 1e-6; v += xs) {
            int x = (int)lround(px_x(f, v));
            plot_fill(img, x, f->y0, x + 1, f->y1, GRID);
            plot_fill(img, x, f->y1, x + 1, f->y1 + 5, AXIS);
            char lab[32];
            snprintf(lab, sizeof lab, "%.*f", xd, fabs(v) < xs * 1e-6 ? 0.0 : v);
            plot_text(img, x, f->y1 + 8 + th, lab, ts, 0, INK, 1);
        }
    }
    outline(img, f->x0 - 1, f->y0 - 1, f->x1 + 1, f->y1 + 1, AXIS);
}

// --- line figures ----------------------------------------------------------------------------

void plot_lines(ImageU8 *out, int w, int h, const PlotSpec *sp, const PlotSeries *s, int n) {
    canvas(out, w, h);
    const double TS = 0.45, LS = 0.5, TITLE = 0.6, LEG = 0.42;
    int th = text_height(TS);
    Frame f = {78, 52, w - 24, h - 62, sp->xmin, sp->xmax, sp->ymin, sp->ymax, 8};
    plot_text(out, (f.x0 + f.x1) / 2, 32, sp->title, TITLE, 1, INK, 1);
    draw_axes(out, &f, 1, TS);
    plot_text(out, (f.x0 + f.x1) / 2, f.y1 + 16 + 2 * th + 12, sp->xlabel, LS, 0, INK, 1);
    plot_draw_text(out, 22, (f.y0 + f.y1) / 2, sp->ylabel, LS, 0, INK, 1);
    Cover c = {ad_calloc((size_t)(f.x1 - f.x0) * (f.y1 - f.y0), sizeof(float)), f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0};
    if (sp->diagonal) {  // dashed chance line
        double lo = fmax(sp->xmin, sp->ymin), hi = fmin(sp->xmax, sp->ymax);
        const int K = 40;
        for (int k = 0; k < K; k += 2) {
            double a = lo + (hi - lo) * k / K, b = lo + (hi - lo) * (k + 1) / K;
            cover_segment(&c, px_x(&f, a), px_y(&f, a), px_x(&f, b), px_y(&f, b), 1.2);
        }
        cover_blend(out, &c, (const uint8_t[3]){170, 170, 170});
    }
    for (int i = 0; i < n; i++) {
        uint8_t rgb[3];
        plot_colour(s[i].colour, rgb);
        // earlier series a little wider: a curve equal to a later one still shows as its rim
        double lw = 2.0 + 0.6 * (n - 1 - i);
        if (lw > 4) lw = 4;
        for (int k = 0; k + 1 < s[i].n; k++)
            cover_segment(&c, px_x(&f, s[i].x[k]), px_y(&f, s[i].y[k]), px_x(&f, s[i].x[k + 1]), px_y(&f, s[i].y[k + 1]),
                          lw);
        if (s[i].n == 1) cover_segment(&c, px_x(&f, s[i].x[0]), px_y(&f, s[i].y[0]), px_x(&f, s[i].x[0]), px_y(&f, s[i].y[0]), 4);
        cover_blend(out, &c, rgb);
    }
    free(c.cov);
    if (n == 0) {
        plot_text(out, (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2, "no curve (undefined for this category)", LS, 0, MUTED, 1);
        return;
    }
    // legend: a white box with a line sample and the label of each series
    int lh = text_height(LEG), row = lh + 10, lw = 0;
    for (int i = 0; i < n; i++) {
        int tw = plot_text_width(s[i].label, LEG, 0);
        lw = tw > lw ? tw : lw;
    }
    int bw = 12 + 26 + 8 + lw + 12, bh = 8 + n * row + 4;
    int bx = sp->legend_left ? f.x0 + 10 : f.x1 - 10 - bw, by = f.y1 - 10 - bh;
    if (bx < f.x0 + 2) bx = f.x0 + 2;
    if (by < f.y0 + 2) by = f.y0 + 2;
    plot_fill(out, bx, by, bx + bw, by + bh, BG);
    outline(out, bx, by, bx + bw, by + bh, FRAME);
    // line samples: coverage of the legend box only (clipped: long labels may run off the figure)
    int cw = bx + bw > w ? w - bx : bw, ch = by + bh > h ? h - by : bh;
    Cover lc = {ad_calloc((size_t)cw * ch, sizeof(float)), bx, by, cw, ch};
    for (int i = 0; i < n; i++) {
        uint8_t rgb[3];
        plot_colour(s[i].colour, rgb);
        int y = by + 8 + i * row + lh;
        cover_segment(&lc, bx + 12, y - lh / 2.0, bx + 38, y - lh / 2.0, 2.6);
        cover_blend(out, &lc, rgb);
        plot_text(out, bx + 46, y, s[i].label, LEG, 0, INK, 0);
    }
    free(lc.cov);
}

// --- grouped bars ----------------------------------------------------------------------------

void plot_bars(ImageU8 *out, const BarSpec *b) {
    const double TS = 0.45, LS = 0.5, TITLE = 0.6, LEG = 0.42, VS = 0.36;
    int G = b->n_groups, S = b->n_series > 0 ? b->n_series : 1;
    // at least 18 px a bar; few bars spread over a 640 px figure (at most 64 px each)
    int gap = 26, minw = 90 + G * (S * 18 + gap) + 30, w = minw < 640 ? 640 : minw;
    int plotw = w - 120, groupw = plotw / (G ? G : 1), bar = (groupw - gap) / S;
    if (bar > 64) bar = 64;
    if (bar < 18) bar = 18;
    // value labels: upright when they fit above a bar, else turned
    int vw = plot_text_width("100.0", VS, 0), vertical_vals = vw > bar + 4;
    int glw = 0;
    for (int g = 0; g < G; g++) {
        int tw = plot_text_width(b->groups[g], TS, 0);
        glw = tw > glw ? tw : glw;
    }
    int vertical_groups = glw > groupw - 6;
    int th = text_height(TS), lh = text_height(LEG);
    // legend rows under the title
    int ex = 0, rows = 1, legw = plotw;
    for (int s = 0; s < b->n_series; s++) {
        int ew = 16 + 6 + plot_text_width(b->series[s], LEG, 0) + 20;
        if (ex + ew > legw && ex > 0) rows++, ex = 0;
        ex += ew;
    }
    int top = 46 + rows * (lh + 10) + 16;
    int bottom = 24 + (vertical_groups ? glw : th) + 40;
    int h = top + 340 + bottom;
    canvas(out, w, h);
    // headroom above ymax for the value label of a full bar (ticks end at ymax)
    int need = (vertical_vals ? vw : th) + 10, ph = h - bottom - top;
    Frame f = {90, top, 90 + plotw, h - bottom, 0, 0, 0, b->ymax * ph / (ph - need), 0};
    plot_text(out, w / 2, 30, b->title, TITLE, 1, INK, 1);
    ex = 0;
    int ey = 46 + lh, lx0 = 90;
    for (int s = 0; s < b->n_series; s++) {
        int ew = 16 + 6 + plot_text_width(b->series[s], LEG, 0) + 20;
        if (ex + ew > legw && ex > 0) ey += lh + 10, ex = 0;
        uint8_t rgb[3];
        plot_colour(b->colour[s], rgb);
        plot_fill(out, lx0 + ex, ey - lh, lx0 + ex + 16, ey + 1, rgb);
        plot_text(out, lx0 + ex + 22, ey, b->series[s], LEG, 0, INK, 0);
        ex += ew;
    }
    f.xmin = 0, f.xmax = 1;
    draw_axes(out, &f, 0, TS);
    plot_draw_text(out, 24, (f.y0 + f.y1) / 2, b->ylabel, LS, 0, INK, 1);
    for (int g = 0; g < G; g++) {
        int gx = f.x0 + g * groupw + (groupw - S * bar) / 2;
        for (int s = 0; s < b->n_series; s++) {
            double v = b->values[(size_t)g * b->n_series + s];
            int bx = gx + s * bar;
            char lab[32];
            if (isnan(v)) snprintf(lab, sizeof lab, "n/a");
            else snprintf(lab, sizeof lab, "%.1f", v);
            int ytop = f.y1;
            if (!isnan(v)) {
                double vv = v < 0 ? 0 : v > b->ymax ? b->ymax : v;
                ytop = (int)lround(px_y(&f, vv));
                uint8_t rgb[3];
                plot_colour(b->colour[s], rgb);
                plot_fill(out, bx + 1, ytop, bx + bar - 1, f.y1, rgb);
            }
            int tw = plot_text_width(lab, VS, 0);
            if (vertical_vals) plot_draw_text(out, bx + bar / 2, ytop - 4 - tw / 2, lab, VS, 0, isnan(v) ? MUTED : INK, 1);
            else plot_text(out, bx + bar / 2, ytop - 5, lab, VS, 0, isnan(v) ? MUTED : INK, 1);
        }
        int cx = gx + S * bar / 2;
        plot_fill(out, cx, f.y1, cx + 1, f.y1 + 5, AXIS);
        if (vertical_groups) {
            int tw = plot_text_width(b->groups[g], TS, 0);
            plot_draw_text(out, cx, f.y1 + 10 + tw / 2, b->groups[g], TS, 0, INK, 1);
        } else {
            plot_text(out, cx, f.y1 + 10 + th, b->groups[g], TS, 0, INK, 1);
        }
    }
}
