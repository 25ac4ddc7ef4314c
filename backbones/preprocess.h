// Image -> normalised float tensor (3, H, W), as each reference pipeline does it
// (algorithms.md §1.1). Decoding: image_read_rgb8 (OpenCV; equals PIL's convert("RGB") and
// AnomalyDINO's cv2.imread + BGR2RGB for 8-bit files). Resizing: pil_resize_u8 (Pillow-exact).
//   PREP_MUSC, CLIP:   PIL bicubic to S x S (aspect not kept; CenterCrop(S) is then a no-op),
//                      ToTensor, CLIP mean/std (open_clip image_transform, MuSc).
//   PREP_MUSC, DINOv2: PIL bilinear (torchvision's default) to S x S, ImageNet mean/std.
//   PREP_ANOMALYDINO:  torchvision Resize(S, BICUBIC, antialias=True) on the PIL image: the
//                      shorter side to S, the longer to int(S * long / short); ToTensor,
//                      ImageNet mean/std; then the bottom/right cropped to a multiple of the patch.
// ToTensor / Normalize arithmetic is float32, in torchvision's order: (u8 / 255 - mean) / std.
#pragma once
#include "image.h"

typedef enum { PREP_MUSC, PREP_ANOMALYDINO } PrepKind;

// img: decoded RGB8. clip: 1 for CLIP statistics / bicubic in the MuSc pipeline. Writes a
// malloc'd (3, *H, *W) tensor to *out.
void vit_preprocess_u8(float **out, int *H, int *W, const ImageU8 *img, PrepKind kind, int clip, int size, int patch);
// Same from a file; 0 or -1 + ad_error naming the file.
int vit_preprocess_file(float **out, int *H, int *W, const char *path, PrepKind kind, int clip, int size, int patch);

// torchvision Resize(resize) (shorter side to resize, the longer to int(resize * long / short);
// resize 0 = none) with Pillow's filter f, then CenterCrop(crop) (top/left offsets
// int(round((h - crop) / 2.0)), Python rounding; crop 0 = none). The crop must fit: AD_ASSERT.
// patchcore-inspection's MVTecDataset applies Resize(256) + CenterCrop(224) to images
// (bilinear) and to masks (bilinear, before its astype(int) binarisation).
void resize_center_crop_u8(ImageU8 *out, const ImageU8 *in, int resize, int crop, Resample f);
// CNN input pipeline (torchvision's ImageNet transform): resize_center_crop_u8 with bilinear,
// ToTensor, ImageNet mean/std; (3, *H, *W) float32 malloc'd to *out.
void cnn_preprocess_u8(float **out, int *H, int *W, const ImageU8 *img, int resize, int crop);
