// A small raster plotting module for the run report (report.h): line figures (curves with
// axes, ticks, grid, legend) and grouped bar charts, drawn on an RGB canvas (light
// background, matplotlib's tab10 colours). Lines are anti-aliased here; text goes through
// OpenCV (plot_draw.h). Written as PNG with image_write_png.
#pragma once
#include <stdint.h>

#include "image.h"

// Colour i of the palette (tab10, cycling).
void plot_colour(int i, uint8_t rgb[3]);

typedef struct {
    const char *label;    // legend text (ASCII; the em dash U+2014 is drawn too)
    const double *x, *y;  // n points, drawn as a polyline
    int n;
    int colour;           // palette index
} PlotSeries;

typedef struct {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax;
    int diagonal;     // dashed y = x (chance level of a ROC curve)
    int legend_left;  // legend at the bottom left (PR curves fall to the right); else bottom right
} PlotSpec;

// A w x h line figure into out (out->data allocated here, free with image_u8_free).
void plot_lines(ImageU8 *out, int w, int h, const PlotSpec *spec, const PlotSeries *s, int n);

typedef struct {
    const char *title, *ylabel;
    double ymax;                  // the axis runs 0..ymax
    const char *const *groups;    // n_groups labels along the x axis
    int n_groups;
    const char *const *series;    // n_series legend labels, one bar each per group
    const int *colour;            // palette index of each series
    int n_series;
    const double *values;         // values[g * n_series + s]; NaN: no bar ("n/a")
} BarSpec;

// Grouped bar chart with value labels; the width grows with the number of bars.
void plot_bars(ImageU8 *out, const BarSpec *b);

// Drawing primitives (exposed for the tests).
void plot_fill(ImageU8 *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]);  // [x0,x1) x [y0,y1)
// Text with its baseline at y; align 0 = x is the left end, 1 = the centre, 2 = the right end.
void plot_text(ImageU8 *img, int x, int y, const char *text, double scale, int bold, const uint8_t rgb[3], int align);
int plot_text_width(const char *text, double scale, int bold);
