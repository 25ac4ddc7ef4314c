// The jet colour map of the pictures (src/overlay.h draws them).
#pragma once

// Jet colour of t in [0, 1] (blue -> cyan -> yellow -> red) into rgb[3].
void map_png_jet(float t, unsigned char *rgb);
