// MVTec AD (Bergmann et al.): <root>/<category>/train/good/*.png, test/good/*.png,
// test/<defect>/*.png, ground_truth/<defect>/<stem>_mask.png (0/255 masks). The synthetic
// sets written by `adbench synth` use the same layout and are loaded as dataset "synth".
#include <stddef.h>

#include "dataset.h"

static const MaskPattern MVTEC_MASKS[] = {{"_mask", "png"}, {NULL, NULL}};
static const MvtecLike MVTEC = {"mvtec", "train/good", 0, "good", "ground_truth", MVTEC_MASKS, 0, 0, NULL};
static const MvtecLike SYNTH = {"synth", "train/good", 0, "good", "ground_truth", MVTEC_MASKS, 0, 0, NULL};

static int mvtec_list(const char *root, char ***names, int *n) { return ds_list_mvtec_like(&MVTEC, root, names, n); }
static int mvtec_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&MVTEC, root, category, out);
}
static int synth_list(const char *root, char ***names, int *n) { return ds_list_mvtec_like(&SYNTH, root, names, n); }
static int synth_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&SYNTH, root, category, out);
}

const DatasetAdapter mvtec_adapter = {"mvtec", "eq255", {1, 2, 3}, mvtec_list, mvtec_load};
const DatasetAdapter synth_adapter = {"synth", "eq255", {1, 2, 3}, synth_list, synth_load};
