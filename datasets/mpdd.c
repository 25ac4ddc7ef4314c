// MPDD (Jezek et al.): MVTec AD layout, <root>/<category>/{train/good, test/good,
// test/<defect>, ground_truth/<defect>}. The mask of test/<d>/<stem>.png is
// ground_truth/<d>/<stem>_mask.png or, as anomalib also accepts, ground_truth/<d>/<stem>.png
// (both present = an error: ambiguous).
#include <stddef.h>

#include "dataset.h"

static const MaskPattern MPDD_MASKS[] = {{"_mask", "png"}, {"", "png"}, {NULL, NULL}};
static const MvtecLike MPDD = {"mpdd", "train/good", 0, "good", "ground_truth", MPDD_MASKS, 0, 0, NULL};

static int mpdd_list(const char *root, char ***names, int *n) { return ds_list_mvtec_like(&MPDD, root, names, n); }
static int mpdd_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&MPDD, root, category, out);
}

const DatasetAdapter mpdd_adapter = {"mpdd", "eq255", {1, 2, 3}, mpdd_list, mpdd_load};
