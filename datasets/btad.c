// BTAD (beanTech, Mishra et al.): <root>/<01|02|03>/train/ok/*, test/ok/*, test/ko/*,
// ground_truth/ko/<same stem>.<png|bmp> (no "_mask"). Images are .bmp (01, 03) or .png (02);
// masks .png (01, 02) or .bmp (03). Root = BTech_Dataset_transformed (anomalib: BTech).
#include <stddef.h>

#include "dataset.h"

static const MaskPattern BTAD_MASKS[] = {{"", "png"}, {"", "bmp"}, {NULL, NULL}};
static const MvtecLike BTAD = {"btad", "train/ok", 0, "ok", "ground_truth", BTAD_MASKS, 0, 0, NULL};

static int btad_list(const char *root, char ***names, int *n) { return ds_list_mvtec_like(&BTAD, root, names, n); }
static int btad_load(const char *root, const char *category, Category *out) {
    return ds_load_mvtec_like(&BTAD, root, category, out);
}

const DatasetAdapter btad_adapter = {"btad", "eq255", {1, 2, 3}, btad_list, btad_load};
