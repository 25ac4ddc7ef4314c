// Overlay pictures (save_maps: true in `adbench run`, and `adbench predict`): the heat map
// blended (jet, alpha 0.5) over the image at the map's resolution, a colour bar on the right
// labelled with its range, a header with the image score and label, and the ground-truth
// mask's outline (white) when there is one. docs/outputs.md shows the layout.
//
// Pictures whose image is narrower than OVERLAY_MIN_SIDE px are enlarged by an integer factor
// (nearest neighbour: every map pixel stays one block) so the text stays readable (less when
// that would make the picture taller than 2048 px).
#pragma once
#include "dataset.h"
#include "image.h"

#define OVERLAY_MIN_SIDE 256
#define OVERLAY_ALPHA 0.5

typedef struct {
    const ImageU8 *img;         // RGB (c = 3), W x H: the image at the map's resolution
    const float *map;           // W x H
    const unsigned char *mask;  // W x H, nonzero = anomalous; NULL: no outline
    float lo, hi;               // colour range of the map and the bar (lo at the bottom)
    const char *title;          // first header line: "score 0.734  defect: scratch_neck"
    const char *scale_note;     // second header line: what the bar's range is
} OverlaySpec;

// Where things landed on the canvas (for tests and callers that add to the picture).
typedef struct {
    int img_x, img_y, k;         // image at (img_x, img_y), each pixel a k x k block
    int bar_x, bar_y, bar_w, bar_h;
    int n_contours;              // outlines drawn (0: no mask or an empty one)
} OverlayLayout;

// Render into out (allocated here, RGB; free with image_u8_free). lay may be NULL.
void overlay_render(ImageU8 *out, const OverlaySpec *s, OverlayLayout *lay);
// Render and write a PNG atomically. 0, or -1 + ad_error.
int overlay_write_png(const char *path, const OverlaySpec *s);

// The image of a picture: s_path decoded and brought to W x H the way its mask was
// (crop_resize > 0: Resize + CenterCrop as patchcore-inspection; otherwise a bilinear Pillow
// resize when its size differs). 0, or -1 + ad_error.
int overlay_load_image(ImageU8 *out, const char *path, int W, int H, int crop_resize);

// The picture of image_path (overlay_load_image to W x H) with map, mask (may be NULL), the bar
// over [lo, hi], title and scale_note, written to png_path. 0, or -1 + ad_error.
int overlay_write_for(const char *png_path, const char *image_path, const float *map, const unsigned char *mask, int W,
                      int H, int crop_resize, float lo, float hi, const char *title, const char *scale_note);

// A variant label ("methods.0.gamma=0.5,seed=1") as one file-name component: letters, digits
// and . _ - = + kept, ',' -> '+', anything else -> '-'; over 100 characters it is cut to 80
// plus '~' and a 16-hex hash of the whole label. malloc'd; "" for "".
char *overlay_sanitize(const char *label);
// <out_dir>/pictures/<dataset>/<category>/<method>[@<sanitized variant>]. malloc'd.
char *overlay_dir(const char *out_dir, const char *dataset, const char *category, const char *method,
                  const char *variant);
// <stem of path> without folders and extension. malloc'd.
char *overlay_stem(const char *path);

// One test image of a run: dir/<defect>_<stem>.png with title "score S  defect: D" (or
// "score S  good"), the outline of mask (W x H, 0/1) and the bar over [lo, hi] (the category's
// map range). 0, or -1 + ad_error.
int overlay_write_sample(const char *dir, const Sample *s, const float *map, const unsigned char *mask, int W, int H,
                         int crop_resize, float lo, float hi, double score);

// Jet colour of t in [0, 1] (blue -> cyan -> yellow -> red) into rgb[3]: the heat map and its bar.
void overlay_jet(float t, unsigned char *rgb);
