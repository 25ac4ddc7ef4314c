// The jet colour map of the overlay pictures (src/overlay.c).
#include "map_png.h"

#include <math.h>

void map_png_jet(float t, unsigned char *rgb) {
    // Matplotlib-like jet: blue -> cyan -> yellow -> red.
    float r = 1.5f - fabsf(4 * t - 3), g = 1.5f - fabsf(4 * t - 2), b = 1.5f - fabsf(4 * t - 1);
    float c[3] = {r, g, b};
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(255 * (c[k] < 0 ? 0 : c[k] > 1 ? 1 : c[k]) + 0.5f);
}
