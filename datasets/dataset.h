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
