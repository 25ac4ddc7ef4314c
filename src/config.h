// Experiment configs: YAML (libyaml) -> validated, grid-expanded variants.
//
// ---------------------------------------------------------------------------------------
// Schema of `adbench run CONFIG.yaml` (every key optional unless marked required)
//
//   name: my-experiment          # label only (default: the file's stem)
//   description: "..."           # label only
//   datasets:                    # required, a non-empty list
//     - name: mvtec              # required: mvtec | visa | rad | btad | mpdd | folder | synth
//       root: data/mvtec_anomaly_detection   # required (synth: optional, see below)
//       categories: all          # `all` (default) or a list: [screw, bottle]
//       optional: false          # true: skip this entry with a note when root is missing
//       synth: {...}             # only for name: synth: options of the synthetic generator
//                                # (datasets/synth.h); the runner generates the category on
//                                # the fly under root (default <cache_dir>/synth-<hash>)
//   backbone:                    # required
//     name: vit                  # required: vit | pixel | resnet
//     ...                        # that driver's ParamSpec keys (weights, size, layers, act, ...)
//   methods:                     # required, a non-empty list
//     - name: musc               # required: musc | codegraph | patchcore | anomalydino
//       shots: 0                 # runner key, few/full-shot methods only: number of normal
//                                # reference images (0 = the whole train set); references are
//                                # train[seed*shots, (seed+1)*shots) of the sorted train list
//       ...                      # that method's ParamSpec keys (topmin_max, r_list, ...)
//   evaluation:
//     resolution: native         # native | resized:S (S in 16..4096) | center_crop:R:S
//                                # (masks: Resize(R) shorter side + CenterCrop(S), bilinear,
//                                # as patchcore-inspection evaluates; R >= S)
//     mask_rule: auto            # auto | eq255 | gt0   (auto: the dataset's MuSc rule when
//                                # resized, > 0 at native resolution)
//     pro_limit: 0.3             # FPR limit of AU-PRO, in (0, 1]
//     image_score: method        # method (the method's own score) | max (max of the map at
//                                # the evaluation resolution)
//   seed: 0                      # integer >= 0
//   threads: 0                   # OpenMP/OpenBLAS threads; 0 = library default
//   cache_dir: cache/features    # feature cache; `none` disables it
//   cache_dtype: float32         # float32 | float16: how the cache stores features (float16:
//                                # half the size, values rounded to half; part of the job id)
//   cache_max_gb: 0              # > 0: stop before the cache folder would grow past N GB
//   out_dir: results/runs/<name> # results.csv goes here (--out overrides)
//   save_maps: false             # true: overlay PNGs, <out_dir>/pictures/<dataset>/<category>/<method>[@variant]/
//   report: false                # true: <out_dir>/curves/, plots/ and report.html (report.h)
//
// Grids: any value (scalar, list element or a whole list/map) may be written
//   {grid: [v1, v2, ...]}   (block style: `key:` then an indented `grid: [...]`)
// and the config expands to the cartesian product of all grids (in document order; the
// last grid varies fastest). Each product point is one *variant*; each (variant, method)
// pair is one *job*.
//
// Overrides: `--set path=value`, path dotted through maps and list indices
//   (methods.0.topmin_max=0.2, backbone.size=224, evaluation.resolution=resized:256,
//   datasets.0.categories=[screw]); value is parsed as YAML (so `{grid: [1,2]}` works).
//   Overrides apply before grid expansion; setting a key that is not there adds it (and
//   is then validated like any other key).
//
// Validation (on every expanded variant, before anything runs): unknown keys are rejected
// with the nearest valid key suggested; values are type- and range-checked against the
// method/backbone ParamSpec tables; unknown dataset/backbone/method names list the valid
// ones. Messages name the file and line: "configs/x.yaml:12: unknown key 'topmin_mx' in
// methods[0] (musc); did you mean 'topmin_max'?". Keys set by --set report "--set".
// Relative paths (roots, weights, cache_dir, out_dir) are relative to the current directory.
// ---------------------------------------------------------------------------------------
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "backbone.h"
#include "dataset.h"
#include "method.h"
#include "params.h"

// Where the config layer looks names up. NULL fields (or a NULL Registry) use the built-in
// registries; tests plug in their own drivers here.
typedef struct {
    const DatasetAdapter *(*dataset)(const char *name);
    const BackboneDriver *(*backbone)(const char *name);
    const Method *(*method)(const char *name);
} Registry;

typedef struct {
    char *name;            // adapter name ("mvtec", ...) or "synth"
    char *root;
    char **categories;     // NULL = all
    int n_categories;
    int optional;
    char **synth_keys, **synth_vals;  // synth options (strings), n_synth of them
    int n_synth;
    int line;              // config line of the entry (for messages)
} DatasetConfig;

typedef struct {
    char *name;
    const BackboneDriver *drv;
    Params params;         // explicit settings; defaults from drv->params
} BackboneConfig;

typedef struct {
    char *name;
    const Method *m;
    Params params;
    int shots;             // few-shot references (0 = all train images)
} MethodConfig;

typedef struct {
    int resized;           // 0 = native, 1 = resized:size or center_crop:crop_resize:size
    int size;
    int crop_resize;       // > 0: center_crop:R:S (masks Resize(R) shorter side + CenterCrop(S))
    char mask_rule[8];     // "auto", "eq255", "gt0"
    double pro_limit;
    int image_score_max;   // 1: max of the map; 0: the method's own score
} EvalConfig;

typedef struct {
    DatasetConfig *datasets;
    int n_datasets;
    BackboneConfig backbone;
    MethodConfig *methods;
    int n_methods;
    EvalConfig eval;
    int seed, threads, save_maps;
    int report;            // curves, plots and report.html (report.h)
    char *cache_dir;       // NULL = no cache
    int cache_f16;         // cache_dtype: float16 (features rounded to IEEE half)
    double cache_max_gb;   // 0 = no limit
    char *out_dir;
    char *grid_point;      // "backbone.size=224 methods.0.topmin_max=0.2" ("" without grids)
} Variant;

typedef struct {
    char *path;            // the config file
    char *name;            // name: or the file stem
    char *hash;            // 16 hex digits: FNV-1a 64 of the canonical config after --set
    Variant *variants;
    int n_variants;
    char *text;            // the YAML text and the --set overrides it was loaded with
    char **sets;
    int n_sets;
    const Registry *reg;   // the registry it was validated against (NULL: the built-in ones)
} Config;

// Parse, apply overrides (sets[i] = "path=value"), expand grids and validate every variant.
// Returns 0, or -1 + ad_error ("FILE:LINE: ...").
int config_load(Config *out, const char *path, const char *const *sets, int n_sets, const Registry *reg);
// The same from a string (file = the name used in messages).
int config_load_string(Config *out, const char *file, const char *text, const char *const *sets, int n_sets,
                       const Registry *reg);
void config_free(Config *c);

// config.resolved.yaml (config_resolved.c): the config after --set as YAML with every
// default filled in (top-level keys, evaluation, each dataset's categories/optional, each
// backbone's and method's ParamSpec keys, shots of few-shot methods), grids kept as grids,
// name and out_dir written out (out_dir: the folder the run used). Values the run resolved
// (act: auto, threads: 0, ...) stay as written, so that the file gives the same job
// identities, and get a "# resolved: VALUE" comment from notes (path "backbone.act",
// "datasets.0.categories", ...). malloc'd text, or NULL + ad_error.
typedef struct {
    const char *path, *text;
} ConfigNote;
char *config_resolved_yaml(const Config *c, const char *out_dir, const ConfigNote *notes, int n_notes);

// Registry lookups honouring reg's overrides.
const DatasetAdapter *registry_dataset(const Registry *reg, const char *name);
const BackboneDriver *registry_backbone(const Registry *reg, const char *name);
const Method *registry_method(const Registry *reg, const char *name);

// The flattened configuration of job (variant v, method m) as sorted "key=value" pairs:
// backbone, backbone.<k> (every ParamSpec key, defaults filled in), method, method.<k>,
// method.shots, evaluation.*, seed. Identity of a job: job_id = FNV-1a 64 of these lines.
typedef struct {
    int n;
    char **keys, **vals;
} KeyVals;
void job_flatten(const Variant *v, int m, KeyVals *out);
void keyvals_free(KeyVals *kv);
const char *keyvals_get(const KeyVals *kv, const char *key);  // NULL if absent

// Keys every methods: entry takes besides its method's own (name, shots), and the keys of a
// datasets: entry; cmd_params.c prints them.
extern const ParamSpec CONFIG_METHOD_KEYS[], CONFIG_DATASET_KEYS[];
// The top-level keys of a config and of its evaluation: map (cmd_params.c prints them,
// config_resolved.c fills their defaults).
extern const ParamSpec CONFIG_TOP_KEYS[], CONFIG_EVAL_KEYS[];

// 64-bit FNV-1a (offset 0xcbf29ce484222325, prime 0x100000001b3), streaming.
uint64_t fnv1a64(uint64_t h, const void *data, size_t n);
#define FNV1A64_INIT 0xcbf29ce484222325ULL
