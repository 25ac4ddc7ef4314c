// One interface over every dataset layout (MVTec AD, VisA, RAD, BTAD, MPDD, plain folder).
// An adapter lists categories and loads one category's samples; it never decodes pixels
// except to validate (datasets check). Masks are paired by file stem, never by sort order.
#pragma once

typedef struct {
    char *path;       // image file
    char *mask_path;  // ground-truth mask; NULL for normal samples (all-zero mask of image size)
    int label;        // 0 normal, 1 anomalous
    char *defect;     // "good" for normal samples, else the defect type (folder or CSV label)
} Sample;

typedef struct {
    char *dataset;  // adapter name
    char *name;     // category name
    Sample *train;  // normal training images (few/full-shot memory banks)
    int n_train;
    Sample *test;   // sorted by (defect, path) so runs are reproducible
    int n_test;
} Category;

typedef struct {
    const char *name;       // "mvtec", "visa", "rad", "btad", "mpdd", "folder"
    const char *mask_rule;  // MuSc-compat binarisation after resizing: "eq255" or "gt0"
    int rscin_k[3];         // MuSc's RsCIN windows for this dataset
    // All categories under root, sorted. Returns 0 or -1 + ad_error.
    int (*list_categories)(const char *root, char ***names, int *n);
    // Load one category. Returns 0 or -1 + ad_error naming the offending path.
    int (*load)(const char *root, const char *category, Category *out);
} DatasetAdapter;

const DatasetAdapter *dataset_find(const char *name);  // NULL (and ad_error) if unknown
const char *dataset_names(void);                       // "mvtec, visa, ..." for messages
void category_free(Category *c);
void string_list_free(char **names, int n);

// ---- Added by the dataset adapters (compatible additions) ---------------------------------

// 1 if every anomalous test sample has a mask, so pixel metrics are defined (the folder
// layout allows defect folders without masks; every other adapter requires them).
int category_has_masks(const Category *c);
// Read the header of every image of c (full_decode = 1: decode all pixels, which also
// catches truncated files), decode every mask (mask_read) and require each mask to have its
// image's size. Fills the size range when the pointers are non-NULL. Parallel over files;
// the first bad file in (train, test) order is reported: 0, or -1 + ad_error naming it.
int category_validate(const Category *c, int full_decode, int *min_w, int *min_h, int *max_w, int *max_h);
// VisA split file (split_csv/1cls.csv: object,split,label,image,mask) parsed into one
// Category per object, sorted by object name; paths are joined to root (root may be NULL:
// paths stay as in the file). No file is opened besides the CSV. Returns 0 or -1 + ad_error
// naming the CSV and its line. Free each with category_free, then free(*cats).
int visa_read_split(const char *csv_path, const char *root, Category **cats, int *n);

// ---- Helpers shared by the adapter files (datasets/*.c) ----------------------------------
char *ds_join(const char *a, const char *b);  // "a/b", malloc'd
int ds_is_dir(const char *path);
int ds_is_file(const char *path);
// Sorted names (strcmp order) of the sub-folders (want_dirs = 1) or regular files
// (want_dirs = 0) of dir; hidden entries (leading '.') are skipped. -1 + ad_error if dir
// cannot be read.
int ds_list(const char *dir, int want_dirs, char ***names, int *n);
// The image files of dir (ds_is_image_name), sorted; skip_copies = 1 also drops, with a warning,
// stray copies such as "x (1).png". 0 or -1 with ad_error.
int ds_list_images(const char *dir, int skip_copies, char ***names, int *n);
// Image file by extension: png, jpg, jpeg, bmp, tif, tiff (any case).
int ds_is_image_name(const char *name);
char *ds_stem(const char *name);  // file name without its last extension, malloc'd
// "x (1).png"-style stray duplicate copy (stem ends in " (N)")?
int ds_is_stray_copy(const char *name);
void ds_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  // stderr
// Sort c->test by (defect, path).
void ds_sort_test(Category *c);
// "<root>: no category 'x'; known categories: a, b. Fix: ..." (always returns -1).
int ds_unknown_category(const char *dataset, const char *root, const char *category);

// MVTec-like trees: <cat>/<train_dir>/*, <cat>/test/<normal>/*, <cat>/test/<defect>/*,
// <cat>/<gt_dir>/<defect>/<stem><suffix>.<ext>. Masks pair with images by stem.
// A category whose test set has no normal image loads, with a warning on stderr (image
// AUROC and both PRO values are then NaN, AP = F1 = 1: see docs/protocols.md).
typedef struct {
    const char *suffix;  // appended to the image stem: "_mask" or ""
    const char *ext;     // mask extension (case-insensitive), NULL = any image extension
} MaskPattern;
typedef struct {
    const char *dataset;          // adapter name, for messages
    const char *train_dir;        // "train/good", "train/ok", "train"
    int train_optional;           // missing train folder = no training images
    const char *normal;           // normal test folder: "good", "ok", "normal"
    const char *gt_dir;           // "ground_truth", "masks"
    const MaskPattern *masks;     // accepted mask names, terminated by {NULL, NULL}
    int masks_optional;           // defect folder without a mask folder = masks unknown
    int skip_copies;              // RAD: skip "x (1).png" stray copies with a warning
    const char *normal_alt;       // a second normal test folder name, or NULL (folder: "good")
} MvtecLike;
int ds_list_mvtec_like(const MvtecLike *spec, const char *root, char ***names, int *n);
int ds_load_mvtec_like(const MvtecLike *spec, const char *root, const char *category, Category *out);
