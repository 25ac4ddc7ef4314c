// Synthetic anomaly-detection categories in MVTec AD layout (`adbench synth`), the
// controllable benchmark for consistent anomalies (CoDeGraph vs MuSc, docs/codegraph.md).
//
// Every image is a pure function of (seed, category, folder, index): same seed gives
// byte-identical files for any thread count. Normal images vary naturally (texture: woven
// threads with random phase, warp, brightness; object: a machined disc with small pose,
// scale and lighting changes). Defective test images carry either a UNIQUE defect (own random
// shape, size, colour, position) or a CONSISTENT one: a defect type whose appearance (shape,
// size, angle, colour, texture patch) is fixed and recurs in m test images at random positions.
// Masks are exactly the drawn defect region (0/255).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "image.h"

typedef enum { SYNTH_TEXTURE = 0, SYNTH_OBJECT = 1, SYNTH_MIXED = 2 } SynthKind;
typedef enum { SHAPE_SCRATCH = 0, SHAPE_BLOB, SHAPE_HOLE, SHAPE_STAIN, SHAPE_PATCH, SHAPE_COUNT } SynthShape;

#define SYNTH_MAX_TYPES 16

typedef struct {
    SynthShape shape;
    int m;  // number of test images that carry this defect
} SynthConsistent;

typedef struct {
    uint64_t seed;         // --seed (0)
    int size;              // --size: image side in pixels (224 = the pixel backbone's default input)
    SynthKind kind;        // --kind texture|object|mixed (texture); mixed alternates by category
    int n_categories;      // --categories N or a list of names (1)
    char **names;          // category names (NULL = defaults "woven<i>" / "disc<i>")
    int n_train;           // --n-train (16)
    int n_good;            // --n-good: normal test images (24)
    int n_unique;          // --n-unique: test images with a unique defect (12)
    int n_consistent;      // consistent defect types (2; --consistent or --n-consistent-types)
    SynthConsistent consistent[SYNTH_MAX_TYPES];  // default patch:12, blob:12 (--m 12)
    double defect_scale;   // --defect-scale: defect radius / image side (0.06)
    double contrast;       // --contrast: blend weight of the defect colour, (0,1] (0.5)
    int align;             // --align: defect centres on multiples of this many pixels (8), so a
                           // consistent defect covers the same pixels of a patch grid whose
                           // stride divides it (pixel backbone at the same size); 1 = anywhere
} SynthConfig;

// One image of a category, in generation order: train/good, then test/good, the consistent
// types in order, then test/unique.
typedef struct {
    int train;         // 1: train/good
    int label;         // 0 normal, 1 defective
    int type;          // consistent type index, -1 for normal and unique images
    SynthShape shape;  // defect shape (label 1)
    char folder[48];   // "good", "consistent_<shape>[_b...]", "unique"
    int index;         // file number inside its folder: NNN.png
    // Filled by synth_render for label 1: mask bounding box (inclusive) and pixel count.
    int bbox[4];       // x0, y0, x1, y1
    long mask_pixels;
} SynthItem;

void synth_config_default(SynthConfig *c);
// "SHAPE:m,SHAPE:m" (shapes: scratch, blob, hole, stain, patch) -> c->consistent. 0 or -1.
int synth_parse_consistent(SynthConfig *c, const char *spec);
// --n-consistent-types K --m M: shapes patch, blob, scratch, stain, hole, patch, ... 0 or -1.
int synth_set_consistent(SynthConfig *c, int k, int m);
int synth_check_config(const SynthConfig *c);  // 0 or -1 + ad_error naming the option
const char *synth_shape_name(SynthShape s);
SynthKind synth_category_kind(const SynthConfig *c, int cat);
// Category name into buf (names[cat] or the default).
const char *synth_category_name(const SynthConfig *c, int cat, char *buf, size_t cap);
// Items of category cat (malloc'd array).
void synth_plan(const SynthConfig *c, int cat, SynthItem **items, int *n);
// Render one item: img (RGB), mask (c = 1, 0/255; may be NULL) and the same image without
// its defect (may be NULL). Buffers are malloc'd; free their data with free().
void synth_render(const SynthConfig *c, int cat, SynthItem *it, ImageU8 *img, ImageU8 *mask, ImageU8 *clean);
// Write every category under out_dir (MVTec AD layout) plus out_dir/synth_manifest.json.
// Refuses to overwrite an existing category folder or manifest. 0 or -1 + ad_error.
int synth_write(const SynthConfig *c, const char *out_dir);
