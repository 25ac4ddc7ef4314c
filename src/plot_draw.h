// Text for the plots (src/plot.c), a thin C layer over OpenCV's putText (src/cv_plot.cpp).
// Canvases are 8-bit RGB (ImageU8, c = 3); coordinates are pixels, (0, 0) top left. Text is
// ASCII (Hershey fonts have no other glyphs: plot.c draws the em dash itself).
#pragma once
#include <stdint.h>

#include "image.h"

// Text with its baseline starting at (x, y), anti-aliased, blended in colour rgb. bold = 1
// uses the double-stroke Hershey font (titles). vertical = 1 turns it 90 degrees
// counter-clockwise (reading bottom to top, y-axis labels) centred on (x, y).
void plot_draw_text(ImageU8 *dst, int x, int y, const char *text, double scale, int bold, const uint8_t rgb[3],
                    int vertical);
// Width, height above the baseline and depth below it of text as plot_draw_text draws it.
void plot_draw_text_size(const char *text, double scale, int bold, int *w, int *h, int *below);
