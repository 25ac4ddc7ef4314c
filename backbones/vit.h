// One Vision Transformer for CLIP and DINOv2 image towers, llm.c style: a config, the weights
// (pointers into the memory-mapped safetensors file, or converted copies), the activations
// (one arena sized for a batch and an input size), and one function per layer.
//
// The two families differ only in configuration:
//   CLIP   (OpenAI / OpenCLIP / HF CLIP): conv patch embedding without bias, class embedding,
//          ln_pre, pre-LN blocks, MLP with QuickGELU (as trained) or exact GELU, LayerNorm eps
//          1e-5, ln_post + proj for the image embedding. MuSc runs ViT-L-14-336 at 336 with
//          QuickGELU but rebuilds the model for any other size without the quick_gelu flag,
//          so at 518 it uses exact GELU (algorithms.md §1.1): hence act is a config value.
//   DINOv2 (official / HF): conv with bias, CLS + 0 or 4 register tokens (registers get no
//          position embedding), LayerScale on both branches, exact GELU MLP or SwiGLU FFN
//          (ViT-g: hidden = (int(4D * 2/3) + 7) // 8 * 8, fused w12 = [x1; x2], silu(x1) * x2),
//          LayerNorm eps 1e-6, final norm.
// Weight names live in clip.c / dinov2.c (one table per naming scheme); heads = width / 64.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

typedef enum { VIT_CLIP, VIT_DINOV2 } ViTFamily;
typedef enum { ACT_GELU, ACT_QUICK_GELU } ViTAct;
// How the position-embedding grid (M x M) is resized to the input grid (gh x gw), bicubic
// A = -0.75, align_corners = False, exactly as each naming scheme's reference code does:
typedef enum {
    POS_SIZE,          // F.interpolate(size=(gh, gw)): open_clip resize_pos_embed, HF Dinov2Model
    POS_SCALE_OFFSET,  // scale_factor=((gh+0.1)/M, (gw+0.1)/M): official DINOv2 (no registers), MuSc
    POS_SIZE_AA,       // size=(gh, gw), antialias=True (PIL-style a = -0.5 kernel): official
                       // dinov2_*_reg hub models (interpolate_antialias, offset 0) and HF
                       // Dinov2WithRegistersModel
} PosResize;

typedef struct {
    ViTFamily family;
    const char *scheme;   // naming scheme the weights used ("openai", "hf-clip", "dinov2", "hf-dinov2")
    int width;            // D, e.g. 1024 for ViT-L
    int layers;           // e.g. 24
    int heads;            // D / 64
    int patch;            // 14
    int grid;             // M: pretraining grid (pos embedding has M*M + 1 rows), 24 for CLIP-336
    int hidden;           // MLP hidden (4D), or SwiGLU hidden (w12 has 2 * hidden rows)
    int swiglu;           // 1: SwiGLU FFN
    int n_reg;            // register tokens (0 or 4)
    int embed_dim;        // CLIP projection width (768 for ViT-L/14); 0 = no projection
    float eps;            // LayerNorm eps: 1e-5 CLIP, 1e-6 DINOv2
    ViTAct act;           // MLP activation (SwiGLU ignores it)
    PosResize pos_resize;
} ViTConfig;

typedef struct {
    const float *ln1_w, *ln1_b;    // (D)
    const float *qkv_w, *qkv_b;    // (3D, D), (3D): rows q, k, v (PyTorch Linear layout: out x in)
    const float *proj_w, *proj_b;  // (D, D), (D)
    const float *ls1, *ls2;        // (D) LayerScale gammas, NULL for CLIP
    const float *ln2_w, *ln2_b;    // (D)
    const float *fc1_w, *fc1_b;    // (hidden, D) or SwiGLU (2*hidden, D)
    const float *fc2_w, *fc2_b;    // (D, hidden)
} ViTLayer;

typedef struct {
    const float *patch_w;          // (D, 3, P, P) conv weight = (D, 3*P*P) row-major
    const float *patch_b;          // (D) or NULL (CLIP)
    const float *cls;              // (D)
    const float *reg;              // (n_reg, D) or NULL
    const float *pos;              // (M*M + 1, D): CLS row then the grid row-major
    const float *ln_pre_w, *ln_pre_b;  // (D) CLIP only, else NULL
    ViTLayer *layer;               // [layers]
    const float *norm_w, *norm_b;  // (D) ln_post (CLIP) / norm (DINOv2)
    const float *proj;             // (embed_dim, D) Linear layout, or NULL
} ViTWeights;

typedef struct {
    int B, gh, gw, T;    // batch, patch grid, tokens = 1 + n_reg + gh*gw
    float *x;            // (B, T, D) residual stream
    float *ln;           // (B, T, D) LayerNorm output
    float *qkv;          // (B, T, 3D)
    float *att;          // (B, T, D) attention output (heads concatenated)
    float *tmp;          // (B, T, D) out-projection / MLP output
    float *fc;           // (B, T, hidden) or (B, T, 2*hidden)
    float *col;          // (B*gh*gw, 3*P*P) im2col buffer
    float *scores;       // (threads, attention_scratch) per-thread attention score tiles
    int threads;
    float *pos;          // (1 + gh*gw, D) position embedding at this grid
    size_t bytes;        // arena size
} ViTActs;

typedef struct {
    ViTConfig cfg;
    ViTWeights w;
    ViTActs a;
    SafeTensors st;   // the mapped file; weights point into it
    float **owned;    // buffers built at load (fused q/k/v, transposed projections)
    int n_owned;
    unsigned char *buf_arena;  // activations
} ViT;

// Open a weights file: family, scheme and shape come from tensor names and shapes (clip.c,
// dinov2.c). act/pos may be overridden afterwards by the caller. 0 or -1 + ad_error.
int vit_open(ViT *m, const char *path);
void vit_close(ViT *m);
// Loader helpers shared by clip.c / dinov2.c.
int clip_load(ViT *m);    // 1 = not a CLIP file, 0 = loaded, -1 = error
int dinov2_load(ViT *m);  // 1 = not a DINOv2 file, 0 = loaded, -1 = error
float *vit_own(ViT *m, size_t n);  // a buffer freed by vit_close
// Rows [q; k; v] of three separate projections (HF names) fused into one owned buffer of 3n.
const float *vit_fuse3(ViT *m, const float *q, const float *k, const float *v, size_t n);
// The tensor as float32 with exactly this shape (NULL + ad_error naming tensor and file).
// VIT_W(m, name, d0, d1, ...) spells the shape inline.
const float *vit_w(ViT *m, const char *name, int ndim, const int64_t *shape);
// Checks a dimension read from the file: lo <= v <= hi, else ad_error naming file and tensor.
int vit_check_dim(const ViT *m, const char *tensor, const char *what, int64_t v, int64_t lo, int64_t hi);
#define VIT_W(m, name, ...) \
    vit_w(m, name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
// Fill out (1 + gh*gw, D) with the position embedding resized to gh x gw per cfg.pos_resize.
void vit_pos_embed(float *out, const ViT *m, int gh, int gw);
// PyTorch F.interpolate(mode="bicubic", align_corners=False, antialias=True) channel-last
// (dinov2.c; the non-antialiased one is interp_bicubic_torch in src/interp.c).
void interp_bicubic_aa_torch(float *out, int oh, int ow, const float *in, int ih, int iw, int C);

// Forward a batch of B normalised images img (B, 3, H, W). For each of the n_taps 1-based
// blocks in taps, writes the residual stream after that block to out + i*B*T*D as (B, T, D),
// with the final norm applied when norm != 0 (out may be NULL). When embed != NULL, writes
// (B, embed_dim) CLIP ln_post(CLS)·proj L2-normalised, or (B, D) DINOv2 norm(CLS) (all blocks
// run). Returns 0, or -1 + ad_error (bad tap, image smaller than a patch).
int vit_forward(ViT *m, float *out, float *embed, const float *img, int B, int H, int W,
                const int *taps, int n_taps, int norm);
int vit_tokens(const ViT *m, int H, int W);  // T for an H x W input
// Position-embedding resize mode by name: "scheme" (what the naming scheme's own reference
// does; the default after vit_open), "hub" (official torch.hub DINOv2 semantics whatever the
// names: offset scale factor without registers, antialiased size with registers; this is what
// MuSc and AnomalyDINO ran, so HF-downloaded DINOv2 weights need it to reproduce them; CLIP is
// unaffected), or explicitly "size", "offset", "size_aa". 0 or -1 + ad_error.
int vit_set_pos_resize(ViT *m, const char *mode);
int vit_embed_dim(const ViT *m);             // width of vit_forward's embed
// 1: linear, attention and activations use the naive references (libm, double sums); tests
// compare whole forwards fast vs naive. Global, not thread-safe: for tests only.
void vit_use_naive(int on);
// Per-stage process CPU seconds of the blocks, summed since the last call (bench vit --profile):
// copies them to out (VIT_NSTAGES values, may be NULL), resets, and turns recording on/off.
#define VIT_NSTAGES 7
extern const char *const VIT_STAGE[VIT_NSTAGES];
void vit_profile(int on, double *out);

// --- layers (outputs first, then inputs, then weights, then sizes) ----------------------
void layernorm_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, float eps);
void linear_forward(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC);
void linear_forward_naive(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC);
// linear + activation fused per output tile: act 0 none, 1 GELU, 2 QuickGELU
void linear_act_forward(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC, int act);
// Tiled attention, online softmax (vit.c); scratch holds threads * attention_scratch(T, C / NH) floats.
void attention_forward(float *out, float *scratch, const float *qkv, int B, int T, int C, int NH, int threads);
size_t attention_scratch(int T, int hs);
void attention_forward_naive(float *out, const float *qkv, int B, int T, int C, int NH);
void gelu_forward(float *out, const float *inp, size_t N);        // A&S erf, as PyTorch's CPU kernel
void quick_gelu_forward(float *out, const float *inp, size_t N);
void gelu_forward_naive(float *out, const float *inp, size_t N);  // libm erff
void quick_gelu_forward_naive(float *out, const float *inp, size_t N);
float vit_expf(float x);  // the vectorisable exp / erf used by the kernels (exported for tests)
float vit_erff(float x);
void swiglu_forward(float *out, const float *inp, int N, int H);  // inp (N, 2H) -> out (N, H)
void residual_forward(float *x, const float *y, const float *gamma, int N, int C);  // x += gamma * y
void patch_embed_forward(float *out, float *col, const float *img, const float *w, const float *b,
                         int B, int H, int W, int P, int D);
