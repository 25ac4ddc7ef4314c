// RAD (Cheng, Cao et al., CASE 2024; hustCYQ/RAD-dataset): <root>/<bolt|ribbon|sponge|tape>/
// train/good/*.png, test/good/*.png, test/<defect>/*.png, ground_truth/<defect>/<SAME file
// name>.png (no "_mask"). Files named like "x (1).png" (stray duplicate copies, which
// third-party loaders skip) are NOT loaded: each is reported on stderr as
// "adbench: warning: <path>: skipped: looks like a stray duplicate copy" and the load goes on.
// The normal images are the same in every category: never pool categories without de-duplicating.
#include <stddef.h>

#include "dataset.h"

static const MaskPattern RAD_MASKS[] = {{"", "png"}, {NULL, NULL}};
static const MvtecLike RAD = {"rad", "train/good", 0, "good", "ground_truth", RAD_MASKS, 0, 1, NULL};

static int rad_list(const char *root, char ***names, int *n) { return ds_list_mvtec_like(&RAD, root, names, n); }
static int rad_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&RAD, root, category, out);
}

const DatasetAdapter rad_adapter = {"rad", "eq255", {1, 2, 3}, rad_list, rad_load};
