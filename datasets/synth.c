// Synthetic categories in MVTec AD layout (see synth.h for the model, cmd_synth.c for the CLI).
//
// Output of synth_write(cfg, DIR):
//   DIR/<category>/train/good/NNN.png                normal training images
//   DIR/<category>/test/good/NNN.png                 normal test images
//   DIR/<category>/test/consistent_<shape>/NNN.png   consistent defect type (m images each)
//   DIR/<category>/test/unique/NNN.png               one unique random defect per image
//   DIR/<category>/ground_truth/<defect>/NNN_mask.png   0/255, exactly the drawn region
//   DIR/synth_manifest.json   parameters and, per test image, defect folder, shape, whether
//                             it is consistent, mask bbox and pixel count (for reports only;
//                             methods never read it)
// Randomness: every image draws from its own splitmix64 stream keyed by (seed, category,
// folder, index), and per-pixel noise is a hash of (image key, pixel): output does not depend
// on the thread count or on the order of generation.
#include "synth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "err.h"
#include "fsutil.h"

static const char *const SHAPE_NAMES[SHAPE_COUNT] = {"scratch", "blob", "hole", "stain", "patch"};
static const SynthShape DEFAULT_CYCLE[5] = {SHAPE_PATCH, SHAPE_BLOB, SHAPE_SCRATCH, SHAPE_STAIN, SHAPE_HOLE};

const char *synth_shape_name(SynthShape s) { return (unsigned)s < SHAPE_COUNT ? SHAPE_NAMES[s] : "?"; }

void synth_config_default(SynthConfig *c) {
    memset(c, 0, sizeof *c);
    c->seed = 0;
    c->size = 224;
    c->kind = SYNTH_TEXTURE;
    c->n_categories = 1;
    c->n_train = 16;
    c->n_good = 24;
    c->n_unique = 12;
    c->defect_scale = 0.06;
    c->contrast = 0.5;
    c->align = 8;
    synth_set_consistent(c, 2, 12);
}

int synth_set_consistent(SynthConfig *c, int k, int m) {
    if (k < 0 || k > SYNTH_MAX_TYPES)
        return ad_error("--n-consistent-types: expected 0..%d, found %d", SYNTH_MAX_TYPES, k);
    if (m < 1 && k > 0) return ad_error("--m: expected at least 1 image per consistent type, found %d", m);
    c->n_consistent = k;
    for (int t = 0; t < k; t++) c->consistent[t] = (SynthConsistent){DEFAULT_CYCLE[t % 5], m};
    return 0;
}

int synth_parse_consistent(SynthConfig *c, const char *spec) {
    int k = 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item)
            return ad_error("--consistent '%s': expected SHAPE:m[,SHAPE:m...] (e.g. patch:12,scratch:8)", spec);
        memcpy(item, p, len);
        item[len] = 0;
        char *colon = strchr(item, ':');
        if (!colon)
            return ad_error("--consistent '%s': item '%s' has no ':m'. Fix: write SHAPE:m, e.g. patch:12", spec, item);
        *colon = 0;
        int s = -1;
        for (int i = 0; i < SHAPE_COUNT; i++)
            if (!strcmp(item, SHAPE_NAMES[i])) s = i;
        if (s < 0)
            return ad_error("--consistent '%s': unknown shape '%s'; known shapes: scratch, blob, hole, stain, patch",
                            spec, item);
        char *e;
        errno = 0;
        long m = strtol(colon + 1, &e, 10);
        if (errno || *e || e == colon + 1 || m < 1 || m > 100000)
            return ad_error("--consistent '%s': expected a positive image count after '%s:', found '%s'", spec,
                            item, colon + 1);
        if (k == SYNTH_MAX_TYPES)
            return ad_error("--consistent '%s': at most %d consistent types", spec, SYNTH_MAX_TYPES);
        c->consistent[k++] = (SynthConsistent){(SynthShape)s, (int)m};
        p = end ? end + 1 : p + len;
        if (end && !*p) return ad_error("--consistent '%s': trailing ','", spec);
    }
    c->n_consistent = k;
    return 0;
}

static int valid_name(const char *s) {
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

int synth_check_config(const SynthConfig *c) {
    if (c->size < 32 || c->size > 4096) return ad_error("--size: expected 32..4096 pixels, found %d", c->size);
    if (c->n_categories < 1 || c->n_categories > 1000)
        return ad_error("--categories: expected 1..1000 categories, found %d", c->n_categories);
    if (c->n_train < 0 || c->n_good < 0 || c->n_unique < 0)
        return ad_error("--n-train/--n-good/--n-unique: expected counts >= 0, found %d/%d/%d", c->n_train, c->n_good,
                        c->n_unique);
    long n = (long)c->n_good + c->n_unique;
    for (int t = 0; t < c->n_consistent; t++) n += c->consistent[t].m;
    if (n < 1) return ad_error("no test images requested (--n-good, --n-unique and consistent types are all 0)");
    if (n > 1000000 || c->n_train > 1000000) return ad_error("too many images requested (%ld test)", n);
    if (!(c->defect_scale > 0 && c->defect_scale <= 0.25))
        return ad_error("--defect-scale: expected a fraction of the image side in (0, 0.25], found %g", c->defect_scale);
    if (!(c->contrast > 0 && c->contrast <= 1))
        return ad_error("--contrast: expected a blend weight in (0, 1], found %g", c->contrast);
    if (c->align < 1 || c->align > c->size / 4)
        return ad_error("--align: expected 1..%d pixels (a quarter of --size), found %d", c->size / 4, c->align);
    if (c->kind < SYNTH_TEXTURE || c->kind > SYNTH_MIXED) return ad_error("--kind: expected texture, object or mixed");
    if (c->names)
        for (int i = 0; i < c->n_categories; i++) {
            if (!valid_name(c->names[i]))
                return ad_error("--categories: '%s' is not a valid category name (letters, digits, '_' and '-')",
                                c->names[i]);
            for (int j = 0; j < i; j++)
                if (!strcmp(c->names[i], c->names[j]))
                    return ad_error("--categories: '%s' is listed twice", c->names[i]);
        }
    return 0;
}

SynthKind synth_category_kind(const SynthConfig *c, int cat) {
    return c->kind == SYNTH_MIXED ? (cat % 2 ? SYNTH_OBJECT : SYNTH_TEXTURE) : c->kind;
}

const char *synth_category_name(const SynthConfig *c, int cat, char *buf, size_t cap) {
    if (c->names)
        snprintf(buf, cap, "%s", c->names[cat]);
    else
        snprintf(buf, cap, "%s%d", synth_category_kind(c, cat) == SYNTH_OBJECT ? "disc" : "woven", cat);
    return buf;
}

// ---- random numbers ---------------------------------------------------------------------

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t key(uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ a);
    h = mix64(h ^ (b + 0x632be59bd9b4e019ULL));
    h = mix64(h ^ (c + 0x85157af5ULL));
    return mix64(h ^ (d + 0x2545f4914f6cdd1dULL));
}
typedef struct {
    uint64_t s;
} Rng;
static double rnd(Rng *r) {  // [0, 1)
    r->s += 0x9e3779b97f4a7c15ULL;
    return (double)(mix64(r->s) >> 11) * 0x1.0p-53;
}
static double uni(Rng *r, double lo, double hi) { return lo + (hi - lo) * rnd(r); }
static double pix_noise(uint64_t k, long i) {  // [-1, 1), a pure function of (k, i)
    return (double)(mix64(k ^ ((uint64_t)i * 0xd1b54a32d192ed03ULL)) >> 11) * 0x1.0p-52 - 1.0;
}

// ---- plan --------------------------------------------------------------------------------

enum { FOLDER_GOOD = 0, FOLDER_UNIQUE = 1000 };  // consistent type t has folder id 1 + t

void synth_plan(const SynthConfig *c, int cat, SynthItem **items, int *n) {
    (void)cat;
    int total = c->n_train + c->n_good + c->n_unique;
    for (int t = 0; t < c->n_consistent; t++) total += c->consistent[t].m;
    SynthItem *v = ad_calloc((size_t)(total ? total : 1), sizeof *v);
    int k = 0;
    for (int i = 0; i < c->n_train; i++) v[k++] = (SynthItem){.train = 1, .type = -1, .folder = "good", .index = i};
    for (int i = 0; i < c->n_good; i++) v[k++] = (SynthItem){.type = -1, .folder = "good", .index = i};
    for (int t = 0; t < c->n_consistent; t++) {
        SynthShape s = c->consistent[t].shape;
        int dup = 0;  // earlier types with the same shape get distinct folder names
        for (int u = 0; u < t; u++) dup += c->consistent[u].shape == s;
        for (int i = 0; i < c->consistent[t].m; i++) {
            SynthItem it = {.label = 1, .type = t, .shape = s, .index = i};
            if (dup)
                snprintf(it.folder, sizeof it.folder, "consistent_%s_%c", SHAPE_NAMES[s], 'a' + dup);
            else
                snprintf(it.folder, sizeof it.folder, "consistent_%s", SHAPE_NAMES[s]);
            v[k++] = it;
        }
    }
    for (int i = 0; i < c->n_unique; i++) v[k++] = (SynthItem){.label = 1, .type = -1, .folder = "unique", .index = i};
    *items = v;
    *n = k;
}

// ---- appearance --------------------------------------------------------------------------

typedef struct {  // per category
    double col[3];    // texture thread colour / object colour
    double bg[3];     // object background
    double period;    // texture thread period (px)
    double obj_r;     // object radius (px)
    double mean_lum;  // rough mean luminance of the surface defects land on
} Look;

typedef struct {  // per defect type (consistent) or per defect (unique)
    SynthShape shape;
    double r, aspect, angle, bend;
    double wob_a[3], wob_p[3];
    double col[3], col2[3];
    uint64_t tex;
} Defect;

static double lum(const double c[3]) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]; }

static void cat_look(const SynthConfig *c, int cat, Look *L) {
    Rng r = {key(c->seed, (uint64_t)cat, 0xCA7, 0, 0)};
    double sc = c->size / 256.0;
    double hue[3];
    for (int k = 0; k < 3; k++) hue[k] = uni(&r, 0.55, 1.0);
    double base = uni(&r, 150, 200);
    for (int k = 0; k < 3; k++) L->col[k] = base * hue[k];
    double bgl = uni(&r, 45, 75);
    for (int k = 0; k < 3; k++) L->bg[k] = bgl * uni(&r, 0.85, 1.1);
    L->period = sc * uni(&r, 9, 14);
    L->obj_r = c->size * uni(&r, 0.30, 0.34);
    L->mean_lum = lum(L->col) * (synth_category_kind(c, cat) == SYNTH_OBJECT ? 0.85 : 0.78);
}

// A colour whose luminance is at least 90 away from the surface's.
static void far_colour(Rng *r, double lum0, double out[3]) {
    int dark = lum0 > 200 ? 1 : lum0 < 55 ? 0 : rnd(r) < 0.5;
    double target = dark ? uni(r, 5, fmax(6, lum0 - 95)) : uni(r, fmin(250, lum0 + 95), 255);
    double t[3];
    for (int k = 0; k < 3; k++) t[k] = uni(r, 0.6, 1.4);
    double l = lum(t);
    for (int k = 0; k < 3; k++) out[k] = fmin(255, fmax(0, t[k] / l * target));
}

static void random_defect(Rng *r, const SynthConfig *c, const Look *L, SynthShape s, Defect *d) {
    memset(d, 0, sizeof *d);
    d->shape = s;
    d->r = c->defect_scale * c->size * uni(r, 0.75, 1.3);
    d->aspect = uni(r, 0.6, 1.0);
    d->angle = uni(r, 0, M_PI);
    d->bend = uni(r, -0.25, 0.25);
    for (int k = 0; k < 3; k++) {
        d->wob_a[k] = uni(r, 0.0, 0.12);
        d->wob_p[k] = uni(r, 0, 2 * M_PI);
    }
    far_colour(r, L->mean_lum, d->col);
    far_colour(r, L->mean_lum, d->col2);
    d->tex = mix64(r->s ^ 0x7E57);
    if (s == SHAPE_HOLE) {  // dark pit with a bright rim
        for (int k = 0; k < 3; k++) d->col[k] = d->col[k] * 0.1 + 8;
        for (int k = 0; k < 3; k++) d->col2[k] = fmin(255, L->mean_lum + 90);
        d->aspect = uni(r, 0.85, 1.0);
    }
    if (s == SHAPE_STAIN) d->r *= 1.3;
    if (s == SHAPE_SCRATCH) d->r *= 1.2;
}

// Radius that bounds the drawn region around the defect centre.
static double extent(const Defect *d) {
    double w = 1 + d->wob_a[0] + d->wob_a[1] + d->wob_a[2];
    switch (d->shape) {
    case SHAPE_SCRATCH: return 2.0 * d->r + 3;  // half length 2r, width and bend inside
    case SHAPE_PATCH: return d->r * sqrt(1 + d->aspect * d->aspect) + 2;
    default: return d->r * w + 2;
    }
}

// Coverage of pixel offset (dx, dy) from the centre: weight in (0, 1] inside, 0 outside;
// colour written to col. The mask is exactly the set of weight > 0.
static double defect_at(const Defect *d, double dx, double dy, double col[3]) {
    double ca = cos(d->angle), sa = sin(d->angle);
    double u = ca * dx + sa * dy, v = -sa * dx + ca * dy;
    memcpy(col, d->col, sizeof d->col);
    switch (d->shape) {
    case SHAPE_SCRATCH: {
        double half = 2.0 * d->r, width = fmax(1.5, 0.16 * d->r);
        double t = u / half;
        double vv = v - d->bend * half * t * t;
        if (fabs(t) > 1 || fabs(vv) > width / 2) return 0;
        return 1.0;
    }
    case SHAPE_PATCH: {
        double hu = d->r, hv = d->r * d->aspect;
        if (fabs(u) > hu || fabs(v) > hv) return 0;
        // Checker-like foreign texture on 3 px cells of the patch frame.
        long cu = (long)floor((u + hu) / 3), cv = (long)floor((v + hv) / 3);
        uint64_t h = mix64(d->tex ^ (uint64_t)(cu * 7919 + cv * 104729));
        if (h & 1) memcpy(col, d->col2, sizeof d->col2);
        return 1.0;
    }
    default: {
        double uu = u / d->aspect, rho = sqrt(uu * uu + v * v), phi = atan2(v, uu);
        double rb = d->r * (1 + d->wob_a[0] * sin(2 * phi + d->wob_p[0]) + d->wob_a[1] * sin(3 * phi + d->wob_p[1]) +
                            d->wob_a[2] * sin(5 * phi + d->wob_p[2]));
        if (rho > rb) return 0;
        double q = rho / rb;
        if (d->shape == SHAPE_HOLE) {
            if (q > 0.72) memcpy(col, d->col2, sizeof d->col2);
            return 1.0;
        }
        if (d->shape == SHAPE_STAIN) return 0.55 + 0.45 * (1 - q);
        return 0.85 + 0.15 * (1 - q);  // blob
    }
    }
}

// ---- normal images -------------------------------------------------------------------------

static void render_texture(const SynthConfig *c, const Look *L, uint64_t k, float *rgb) {
    Rng r = {k};
    int S = c->size;
    double p = L->period;
    double phx = uni(&r, 0, p), phy = uni(&r, 0, p);
    double amp = uni(&r, 0.4, 1.0) * S / 256.0, lam = uni(&r, 40, 90) * S / 256.0;
    double ps1 = uni(&r, 0, 2 * M_PI), ps2 = uni(&r, 0, 2 * M_PI);
    double gain = uni(&r, 0.93, 1.07);
    double gx = uni(&r, -0.04, 0.04), gy = uni(&r, -0.04, 0.04);  // illumination gradient
    uint64_t nk = mix64(k ^ 0x401CE);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double u = x + phx + amp * sin(2 * M_PI * y / lam + ps1);
            double v = y + phy + amp * sin(2 * M_PI * x / lam + ps2);
            double fu = u / p, fv = v / p;
            long cu = (long)floor(fu), cv = (long)floor(fv);
            fu -= cu;
            fv -= cv;
            double prof = ((cu + cv) & 1) ? sin(M_PI * fu) + 0.08 * sin(6 * M_PI * fv)
                                          : sin(M_PI * fv) + 0.08 * sin(6 * M_PI * fu);
            double shade = gain * (1 + gx * (2.0 * x / S - 1) + gy * (2.0 * y / S - 1)) * (0.5 + 0.45 * prof);
            long i = (long)y * S + x;
            double nz = 7 * pix_noise(nk, i);
            for (int ch = 0; ch < 3; ch++) rgb[3 * i + ch] = (float)(L->col[ch] * shade + nz);
        }
}

typedef struct {
    double cx, cy, R, rot, gain, lx, ly;
} Pose;

static void object_pose(const SynthConfig *c, const Look *L, uint64_t k, Pose *P) {
    Rng r = {k};
    int S = c->size;
    P->cx = S / 2.0 + uni(&r, -0.03, 0.03) * S;
    P->cy = S / 2.0 + uni(&r, -0.03, 0.03) * S;
    P->R = L->obj_r * uni(&r, 0.96, 1.04);
    P->rot = uni(&r, -15, 15) * M_PI / 180;
    P->gain = uni(&r, 0.94, 1.06);
    double la = uni(&r, -0.4, 0.4) - 2.3;  // light from the upper left, jittered
    P->lx = cos(la);
    P->ly = sin(la);
}

static void render_object(const SynthConfig *c, const Look *L, uint64_t k, const Pose *P, float *rgb) {
    int S = c->size;
    uint64_t nk = mix64(k ^ 0x0B1EC7);
    double cr = cos(P->rot), sr = sin(P->rot);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double dx = x + 0.5 - P->cx, dy = y + 0.5 - P->cy, rho = sqrt(dx * dx + dy * dy);
            double bgs = 1 - 0.12 * (rho / S);  // vignetting
            double cov = fmin(1, fmax(0, P->R - rho + 0.5));
            double q = rho / P->R;
            // Dome shading, a groove ring and a slot that shows the rotation.
            double shade = 0.78 + 0.22 * (-(dx * P->lx + dy * P->ly) / P->R);
            if (fabs(q - 0.62) < 0.035) shade *= 0.72;
            double u = cr * dx + sr * dy, v = -sr * dx + cr * dy;
            if (fabs(u) < 0.45 * P->R && fabs(v) < 0.07 * P->R) shade *= 0.45;
            long i = (long)y * S + x;
            double nz = 4 * pix_noise(nk, i);
            for (int ch = 0; ch < 3; ch++) {
                double ob = L->col[ch] * shade * P->gain, bg = L->bg[ch] * bgs * P->gain;
                rgb[3 * i + ch] = (float)(cov * ob + (1 - cov) * bg + nz);
            }
        }
}

static uint8_t q8(double v) { return (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)floor(v + 0.5)); }

void synth_render(const SynthConfig *c, int cat, SynthItem *it, ImageU8 *img, ImageU8 *mask, ImageU8 *clean) {
    int S = c->size;
    Look L;
    cat_look(c, cat, &L);
    int folder = it->label ? (it->type >= 0 ? 1 + it->type : FOLDER_UNIQUE) : FOLDER_GOOD;
    uint64_t k = key(c->seed, (uint64_t)cat, it->train ? 1 : 2, (uint64_t)folder, (uint64_t)it->index);
    float *rgb = ad_malloc((size_t)S * S * 3 * sizeof *rgb);
    SynthKind kind = synth_category_kind(c, cat);
    Pose P = {0};
    if (kind == SYNTH_OBJECT) {
        object_pose(c, &L, k, &P);
        render_object(c, &L, k, &P, rgb);
    } else {
        render_texture(c, &L, k, rgb);
    }
    img->w = img->h = S;
    img->c = 3;
    img->data = ad_malloc((size_t)S * S * 3);
    if (clean) {
        *clean = (ImageU8){S, S, 3, ad_malloc((size_t)S * S * 3)};
        for (long i = 0; i < (long)S * S * 3; i++) clean->data[i] = q8(rgb[i]);
    }
    uint8_t *m = ad_calloc((size_t)S * S, 1);
    it->bbox[0] = it->bbox[1] = it->bbox[2] = it->bbox[3] = -1;
    it->mask_pixels = 0;
    if (it->label) {
        Defect d;
        if (it->type >= 0) {  // consistent: one appearance per (category, type)
            Rng dr = {key(c->seed, (uint64_t)cat, 3, (uint64_t)it->type, 0)};
            random_defect(&dr, c, &L, it->shape, &d);
        } else {
            Rng dr = {mix64(k ^ 0xDEFEC7)};
            it->shape = (SynthShape)(int)(rnd(&dr) * SHAPE_COUNT);
            random_defect(&dr, c, &L, it->shape, &d);
        }
        // Integer centre: a consistent defect has identical pixels wherever it lands.
        Rng pr = {mix64(k ^ 0x905)};
        double ext = extent(&d);
        int cx, cy, al = c->align;
        if (kind == SYNTH_OBJECT) {
            double a = uni(&pr, 0, 2 * M_PI), rr = P.R * 0.65 * sqrt(rnd(&pr));
            cx = al * (int)floor((P.cx + rr * cos(a)) / al + 0.5);
            cy = al * (int)floor((P.cy + rr * sin(a)) / al + 0.5);
        } else {  // centres on the multiples of al that keep the defect inside the image
            int lo = (int)ceil(ext), hi = S - 1 - (int)ceil(ext);
            int klo = (lo + al - 1) / al, khi = hi / al;
            if (khi < klo) klo = khi = (S / 2) / al;
            cx = al * (klo + (int)(rnd(&pr) * (khi - klo + 1)));
            cy = al * (klo + (int)(rnd(&pr) * (khi - klo + 1)));
        }
        int x0 = (int)floor(cx - ext), x1 = (int)ceil(cx + ext), y0 = (int)floor(cy - ext), y1 = (int)ceil(cy + ext);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > S - 1) x1 = S - 1;
        if (y1 > S - 1) y1 = S - 1;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                double col[3];
                double w = defect_at(&d, x - cx, y - cy, col);
                if (w <= 0) continue;
                long i = (long)y * S + x;
                m[i] = 255;
                it->mask_pixels++;
                if (it->bbox[0] < 0 || x < it->bbox[0]) it->bbox[0] = x;
                if (it->bbox[1] < 0 || y < it->bbox[1]) it->bbox[1] = y;
                if (x > it->bbox[2]) it->bbox[2] = x;
                if (y > it->bbox[3]) it->bbox[3] = y;
                double a = c->contrast * w;
                for (int ch = 0; ch < 3; ch++) rgb[3 * i + ch] += (float)(a * (col[ch] - rgb[3 * i + ch]));
            }
    }
    for (long i = 0; i < (long)S * S * 3; i++) img->data[i] = q8(rgb[i]);
    free(rgb);
    if (mask)
        *mask = (ImageU8){S, S, 1, m};
    else
        free(m);
}

// ---- writing -------------------------------------------------------------------------------

static int mkdirs(const char *path) {
    char *p = ad_strdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    int rc = 0;
    if (mkdir(p, 0777) && errno != EEXIST)
        rc = ad_error("%s: cannot create the folder (%s). Fix: choose a writable --out", p, strerror(errno));
    else if (!ds_is_dir(p))
        rc = ad_error("%s: exists and is not a folder. Fix: choose another --out", p);
    free(p);
    return rc;
}

static cJSON *config_json(const SynthConfig *c) {
    cJSON *o = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "size", c->size);
    cJSON_AddStringToObject(o, "kind", c->kind == SYNTH_OBJECT ? "object" : c->kind == SYNTH_MIXED ? "mixed" : "texture");
    cJSON_AddNumberToObject(o, "n_train", c->n_train);
    cJSON_AddNumberToObject(o, "n_good", c->n_good);
    cJSON_AddNumberToObject(o, "n_unique", c->n_unique);
    cJSON *ct = cJSON_AddArrayToObject(o, "consistent");
    for (int t = 0; t < c->n_consistent; t++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "shape", SHAPE_NAMES[c->consistent[t].shape]);
        cJSON_AddNumberToObject(e, "m", c->consistent[t].m);
        cJSON_AddItemToArray(ct, e);
    }
    cJSON_AddNumberToObject(o, "defect_scale", c->defect_scale);
    cJSON_AddNumberToObject(o, "contrast", c->contrast);
    cJSON_AddNumberToObject(o, "align", c->align);
    return o;
}

int synth_write(const SynthConfig *c, const char *out_dir) {
    if (synth_check_config(c)) return -1;
    if (mkdirs(out_dir)) return -1;
    char *manifest = ds_join(out_dir, "synth_manifest.json");
    int rc = 0;
    if (ds_is_file(manifest))
        rc = ad_error("%s: already exists; adbench synth does not overwrite a previous set. Fix: choose an empty "
                      "--out or delete the old set",
                      manifest);
    char name[128];
    for (int cat = 0; cat < c->n_categories && !rc; cat++) {
        char *d = ds_join(out_dir, synth_category_name(c, cat, name, sizeof name));
        if (ds_is_dir(d) || ds_is_file(d))
            rc = ad_error("%s: already exists; adbench synth does not overwrite it. Fix: choose an empty --out or "
                          "delete the old category",
                          d);
        free(d);
    }
    if (rc) {
        free(manifest);
        return rc;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "generator", "adbench synth");
    cJSON_AddStringToObject(root, "layout", "mvtec");
    cJSON_AddItemToObject(root, "config", config_json(c));
    cJSON *cats = cJSON_AddArrayToObject(root, "categories");
    for (int cat = 0; cat < c->n_categories && !rc; cat++) {
        synth_category_name(c, cat, name, sizeof name);
        char *cdir = ds_join(out_dir, name);
        SynthItem *it;
        int n;
        synth_plan(c, cat, &it, &n);
        for (int i = 0; i < n && !rc; i++) {  // folders first (serial), files in parallel
            char *d = ad_sprintf("%s/%s/%s", cdir, it[i].train ? "train" : "test", it[i].folder);
            rc = mkdirs(d);
            free(d);
            if (it[i].label && !rc) {
                d = ad_sprintf("%s/ground_truth/%s", cdir, it[i].folder);
                rc = mkdirs(d);
                free(d);
            }
        }
        char **err = ad_calloc((size_t)n + 1, sizeof *err);
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < n; i++) {
            if (rc) continue;
            ImageU8 img, mask;
            synth_render(c, cat, &it[i], &img, &mask, NULL);
            char *p = ad_sprintf("%s/%s/%s/%03d.png", cdir, it[i].train ? "train" : "test", it[i].folder, it[i].index);
            if (image_write_png(p, &img)) err[i] = ad_strdup(ad_last_error());
            free(p);
            if (it[i].label && !err[i]) {
                p = ad_sprintf("%s/ground_truth/%s/%03d_mask.png", cdir, it[i].folder, it[i].index);
                if (image_write_png(p, &mask)) err[i] = ad_strdup(ad_last_error());
                free(p);
            }
            free(img.data);
            free(mask.data);
        }
        for (int i = 0; i < n; i++) {
            if (err[i] && !rc) rc = ad_error("%s", err[i]);
            free(err[i]);
        }
        free(err);
        cJSON *jc = cJSON_CreateObject();
        cJSON_AddStringToObject(jc, "name", name);
        cJSON_AddStringToObject(jc, "kind", synth_category_kind(c, cat) == SYNTH_OBJECT ? "object" : "texture");
        int n_test = n - c->n_train;
        cJSON_AddNumberToObject(jc, "n_train", c->n_train);
        cJSON_AddNumberToObject(jc, "n_test", n_test);
        // MuSc averages the lowest 30% of the N-1 other images: a consistent type with m - 1 >=
        // this many look-alikes fills the whole window (docs/codegraph.md).
        cJSON_AddNumberToObject(jc, "musc_window_images", 0.3 * (n_test - 1));
        cJSON *jt = cJSON_AddArrayToObject(jc, "test");
        for (int i = 0; i < n; i++) {
            if (it[i].train) continue;
            cJSON *e = cJSON_CreateObject();
            char *p = ad_sprintf("test/%s/%03d.png", it[i].folder, it[i].index);
            cJSON_AddStringToObject(e, "path", p);
            free(p);
            cJSON_AddStringToObject(e, "defect", it[i].label ? it[i].folder : "good");
            cJSON_AddNumberToObject(e, "label", it[i].label);
            cJSON_AddBoolToObject(e, "consistent", it[i].type >= 0);
            if (it[i].label) {
                cJSON_AddStringToObject(e, "shape", SHAPE_NAMES[it[i].shape]);
                p = ad_sprintf("ground_truth/%s/%03d_mask.png", it[i].folder, it[i].index);
                cJSON_AddStringToObject(e, "mask", p);
                free(p);
                int bb[4] = {it[i].bbox[0], it[i].bbox[1], it[i].bbox[2], it[i].bbox[3]};
                cJSON_AddItemToObject(e, "bbox", cJSON_CreateIntArray(bb, 4));
                cJSON_AddNumberToObject(e, "mask_pixels", (double)it[i].mask_pixels);
            }
            cJSON_AddItemToArray(jt, e);
        }
        cJSON_AddItemToArray(cats, jc);
        free(it);
        free(cdir);
    }
    if (!rc) {
        char *txt = cJSON_Print(root);
        char *tmp = fs_tmp_name(manifest);
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(txt, f) < 0 || fputc('\n', f) < 0 || fclose(f) || rename(tmp, manifest))
            rc = ad_error("%s: cannot write the manifest (%s). Fix: check free space and permissions", manifest,
                          strerror(errno));
        free(tmp);
        free(txt);
    }
    cJSON_Delete(root);
    free(manifest);
    return rc;
}
