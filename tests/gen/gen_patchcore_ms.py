#!/usr/bin/python3
"""Golden for tests/test_resnet.c patchcore_multiscale_embed_matches_upstream: PatchCore's
embedding of two CNN layers of different grids and widths, computed with torch the way
amazon-science/patchcore-inspection (commit 8a7748c, src/patchcore/patchcore.py PatchCore._embed,
PatchMaker.patchify, common.py Preprocessing/MeanMapper/Aggregator) does it:
  - each layer unfolded on its own grid (torch.nn.Unfold, kernel 3, padding 1, stride 1) into
    (B, L, C, 3, 3) patches;
  - every layer after the first reshaped to its (h, w) grid, each (C, 3, 3) component resized
    with F.interpolate(bilinear, align_corners=False) to the first layer's grid;
  - per layer the flattened C*9 vector adaptive-average-pooled to pre_dim (MeanMapper), layers
    stacked, flattened and pooled to target_dim (Aggregator).
The grids (7x6 and 4x3) give a non-integer scale on purpose.

    /usr/bin/python3 tests/gen/gen_patchcore_ms.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "resnet")
torch.manual_seed(0)
shapes = [(7, 6, 5), (4, 3, 8)]  # (h, w, C)
PRE, TGT, PS = 12, 16, 3

feats = [torch.randn(1, c, h, w) for h, w, c in shapes]


def patchify(x):
    b, c = x.shape[:2]
    u = torch.nn.Unfold(kernel_size=PS, stride=1, padding=PS // 2)(x)  # (B, C*9, L)
    return u.reshape(b, c, PS, PS, -1).permute(0, 4, 1, 2, 3)  # (B, L, C, 3, 3)


pats = [patchify(x) for x in feats]
H0, W0 = shapes[0][:2]
for i in range(1, len(pats)):
    h, w = shapes[i][:2]
    f = pats[i].reshape(1, h, w, *pats[i].shape[2:])  # (B, h, w, C, 3, 3)
    f = f.permute(0, 3, 4, 5, 1, 2)  # (B, C, 3, 3, h, w)
    base = f.shape
    f = F.interpolate(f.reshape(-1, 1, h, w), size=(H0, W0), mode="bilinear", align_corners=False)
    f = f.reshape(*base[:-2], H0, W0).permute(0, 4, 5, 1, 2, 3)  # (B, H0, W0, C, 3, 3)
    pats[i] = f.reshape(1, -1, *f.shape[-3:])
pats = [p.reshape(-1, *p.shape[-3:]) for p in pats]  # (B*L, C, 3, 3)
pre = torch.stack([F.adaptive_avg_pool1d(p.reshape(len(p), 1, -1), PRE).squeeze(1) for p in pats], dim=1)
emb = F.adaptive_avg_pool1d(pre.reshape(len(pre), 1, -1), TGT).reshape(len(pre), -1)

os.makedirs(OUT, exist_ok=True)
for i, x in enumerate(feats):  # saved as [h*w][C] (adbench's layout)
    np.save(os.path.join(OUT, "pcms_layer%d.npy" % i), np.ascontiguousarray(x[0].permute(1, 2, 0).reshape(-1, x.shape[1]).numpy()))
np.save(os.path.join(OUT, "pcms_embed.npy"), emb.numpy().astype(np.float32))
print("ok", emb.shape)
