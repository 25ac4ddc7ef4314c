// Map pictures (save_maps: true): one PNG per test image at the evaluation resolution.
#pragma once
#include "dataset.h"

// Jet colour of t in [0, 1] (blue -> cyan -> yellow -> red) into rgb[3].
void map_png_jet(float t, unsigned char *rgb);

// dir/<defect>_<stem>.png: image | heat map | ground truth, W x H each. The image is brought to
// the evaluation grid the way its mask was (crop_resize > 0: Resize + CenterCrop; otherwise a
// bilinear resize when its size differs); the map is coloured linearly over [lo, hi].
int map_png_write(const char *dir, const Sample *s, const float *map, const unsigned char *mask, int W, int H,
                  int crop_resize, float lo, float hi);
