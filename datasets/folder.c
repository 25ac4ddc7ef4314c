// "folder": a plain layout for your own data.
//
//   <root>/<category>/
//     train/*.<img>                  normal training images (folder optional: zero-shot only)
//     test/normal/*.<img>            normal test images; test/good/ is read as normal too
//                                    (the MVTec AD / anomalib / MuSc name); both may exist
//     test/<defect>/*.<img>          anomalous test images, one folder per defect type
//     masks/<defect>/<stem>.<img>    optional ground truth: same file stem as the image,
//                                    nonzero = anomalous (0/255 recommended)
//
// <img> = png, jpg, jpeg, bmp, tif or tiff (any case). If masks/<defect>/ exists, every image
// of test/<defect>/ needs its mask and every mask its image (stem pairing); without it the
// defect's images have no mask (category_has_masks() = 0: image metrics only). A test set
// with no normal image loads with a warning (AUROC undefined).
#include <stddef.h>

#include "dataset.h"

static const MaskPattern FOLDER_MASKS[] = {{"", NULL}, {NULL, NULL}};
static const MvtecLike FOLDER = {"folder", "train", 1, "normal", "masks", FOLDER_MASKS, 1, 0, "good"};

static int folder_list(const char *root, char ***names, int *n) {
    return ds_list_mvtec_like(&FOLDER, root, names, n);
}
static int folder_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&FOLDER, root, category, out);
}

const DatasetAdapter folder_adapter = {"folder", "eq255", {1, 2, 3}, folder_list, folder_load};
