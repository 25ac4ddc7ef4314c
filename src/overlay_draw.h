// Drawing primitives for the overlay pictures (src/overlay.c), a thin C layer over OpenCV
// (src/cv_overlay.cpp). Every function draws in place on an 8-bit RGB canvas (ImageU8, c = 3);
// coordinates are pixels of that canvas, (0, 0) top left.
#pragma once
#include <stdint.h>

#include "image.h"

// dst[y0.., x0..] = (1 - alpha) * dst + alpha * top, over top's w x h (top: RGB, inside dst).
void draw_blend(ImageU8 *dst, int x0, int y0, const ImageU8 *top, double alpha);
// The outline of the nonzero pixels of mask (w x h, placed at (x0, y0) of dst, drawn k times
// larger when k > 1) in colour rgb, thickness px: cv::findContours + cv::drawContours.
// Returns the number of contours (0: empty mask, nothing drawn).
int draw_mask_contour(ImageU8 *dst, int x0, int y0, const uint8_t *mask, int w, int h, int k, const uint8_t rgb[3],
                      int thickness);
// Text (Hershey simplex, anti-aliased) with its baseline at (x, y). scale 1 is ~22 px tall.
void draw_text(ImageU8 *dst, int x, int y, const char *text, double scale, const uint8_t rgb[3], int thickness);
// Width and height above the baseline of text as draw_text would draw it.
void draw_text_size(const char *text, double scale, int thickness, int *w, int *h);
// Filled (filled = 1) or outlined rectangle [x0, x1] x [y0, y1], inclusive.
void draw_rect(ImageU8 *dst, int x0, int y0, int x1, int y1, const uint8_t rgb[3], int filled);
