// Helpers of the "vit" backbone driver shared with `adbench features` and the benchmark.
#pragma once
#include <stddef.h>

#include "vit.h"

// "auto" | "gelu" | "quick_gelu" -> *is_auto or *act; -1 + ad_error otherwise.
int vit_parse_act(const char *s, int *is_auto, ViTAct *act);
// The "auto" activation: DINOv2 gelu; CLIP QuickGELU at its pretraining input size and exact
// GELU at any other size (MuSc's released behaviour, algorithms.md §1.1).
ViTAct vit_auto_act(const ViT *m, int H, int W);
