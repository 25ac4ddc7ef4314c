// Image and mask IO (implemented in src/cv.cpp over OpenCV 4) and the resamplers the
// reference pipelines use (src/resize.c: Pillow-exact; src/interp.c: PyTorch/scipy-exact).
#pragma once
#include <stdint.h>

typedef struct { int w, h, c; uint8_t *data; } ImageU8;  // row-major, channels interleaved
typedef struct { int w, h, c; float *data; } ImageF;     // row-major, channels interleaved

// --- decoding (src/cv.cpp) -------------------------------------------------------------
// 8-bit RGB (c = 3). Gray is replicated to 3 channels, RGBA drops alpha, 16-bit is scaled
// to 8 bits as PIL's convert("RGB") does. EXIF orientation is ignored (as the Python loaders).
int image_read_rgb8(const char *path, ImageU8 *out);
// Float RGB in [0,1] (c = 3), full precision for 16-bit files.
int image_read_rgbf(const char *path, ImageF *out);
// Width and height from the file (decodes if the format needs it).
int image_size(const char *path, int *w, int *h);
// Raw single-channel 8-bit mask values (c = 1): gray as is; colour/palette masks give
// 255 where any channel is nonzero, so "nonzero = anomalous" holds for every layout.
int mask_read(const char *path, ImageU8 *out);
// 1 when Pillow's Image.open(path) gives a mode "1" or "P" image, for which Image.resize
// silently uses NEAREST whatever filter is asked (MuSc resizes masks opened without convert);
// 0 otherwise; -1 + ad_error for unreadable files. Header-only (PNG, BMP, TIFF; JPEG is never).
int image_pil_forces_nearest(const char *path);
// PNG writers (c = 1 or 3).
int image_write_png(const char *path, const ImageU8 *img);
// Heatmap overlay: map (mh x mw floats) resized to the image, normalised by [lo, hi],
// jet colour map blended 50% over img; written as PNG.
int image_write_overlay_png(const char *path, const ImageU8 *img, const float *map, int mw, int mh,
                            float lo, float hi);
// Rotate about the image centre by deg degrees (counter-clockwise, as cv2.getRotationMatrix2D),
// same canvas size, bilinear, border reflect-101 (AnomalyDINO's reference augmentation).
// out->data is allocated here (free with image_u8_free).
void image_rotate_u8(ImageU8 *out, const ImageU8 *in, double deg);
// cv2.resize(map, (ow, oh), interpolation=cv2.INTER_LINEAR) of one float32 map (AnomalyDINO's
// dists2map). Same grid as interp_bilinear(align_corners=0), but OpenCV rounds the source
// coordinate to float first, so the two differ by up to ulp(coordinate)/2 x the pixel step.
void image_resize_linear_cv(float *out, int oh, int ow, const float *in, int ih, int iw);
void image_u8_free(ImageU8 *im);
void image_f_free(ImageF *im);

// --- Pillow-exact resampling (src/resize.c) ----------------------------------------------
typedef enum { RESAMPLE_NEAREST = 0, RESAMPLE_BILINEAR = 2, RESAMPLE_BICUBIC = 3 } Resample;
// Pillow's Image.resize((out_w, out_h), filter) on 8-bit images (antialiasing support,
// fixed-point rounding through the uint8 intermediate), any channel count.
// out->data is allocated here (free with image_u8_free). RGBA alpha premultiplication and
// Pillow's forced NEAREST for mode "1"/"P" images are the caller's business.
void pil_resize_u8(ImageU8 *out, const ImageU8 *in, int out_w, int out_h, Resample filter);
// Naive per-pixel reference of pil_resize_u8 (tests compare the two).
void pil_resize_u8_naive(ImageU8 *out, const ImageU8 *in, int out_w, int out_h, Resample filter);

// --- PyTorch / scipy resampling of float maps (src/interp.c) -------------------------------
// F.interpolate(mode="bilinear", align_corners=ac) of one (ih x iw) map to (oh x ow).
void interp_bilinear(float *out, int oh, int ow, const float *in, int ih, int iw, int align_corners);
// F.interpolate(mode="bicubic", align_corners=False, antialias=False) on C channels stored
// channel-last (ih*iw x C -> oh*ow x C). scale_h/scale_w > 0 are the scale_factor PyTorch was
// given (DINOv2's (g+0.1)/M), which changes the source-coordinate mapping; 0 means "size=".
void interp_bicubic_torch(float *out, int oh, int ow, const float *in, int ih, int iw, int C,
                          double scale_h, double scale_w);
// scipy.ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=4.0) on one map, in place.
void gaussian_filter2d(float *map, int h, int w, double sigma);
// Naive reference (column by column, then row by row), bit-identical to gaussian_filter2d.
void gaussian_filter2d_naive(float *map, int h, int w, double sigma);
