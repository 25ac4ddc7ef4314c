#!/usr/bin/python3
"""Golden files for tests/test_musc.c: every MuSc step (../shared/docs/algorithms.md §2.1)
in plain NumPy float64, written independently of the C code (and of upstream's code).
Bilinear upsampling uses torch.nn.functional.interpolate (align_corners=True), the
operation MuSc calls. The subset split uses Python's own random module, as upstream.

Run from the repository root: /usr/bin/python3 tests/gen/gen_musc.py
"""
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

OUT = "tests/golden/musc"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240125)

N, L, GH, GW, D = 12, 2, 6, 7, 24
DEGREES = [1, 3, 5]
P = GH * GW

# Features with a per-image/per-layer offset and scale so that the LayerNorm matters, and a
# shared "normal" pattern plus noise so that the nearest-neighbour distances are meaningful.
base = rng.normal(size=(L, P, D))
feats = np.empty((N, L, P, D))
for i in range(N):
    for l in range(L):
        feats[i, l] = (base[l] + 0.6 * rng.normal(size=(P, D))) * (1 + 0.5 * i) + 0.3 * i - l
feats[3, :, 10:13] += 4.0  # an "anomaly" in image 3
feats = feats.astype(np.float32)


def layernorm(x):  # over all P*D values, biased variance, eps 1e-5
    x = x.astype(np.float64)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-5)


def lnamd(ln, r):  # zero-padded r x r box mean / r^2, then L2 normalisation
    g = ln.reshape(GH, GW, D)
    h = (r - 1) // 2
    pad = np.zeros((GH + 2 * h, GW + 2 * h, D))
    pad[h:h + GH, h:h + GW] = g
    out = np.zeros_like(g)
    for du in range(r):
        for dv in range(r):
            out += pad[du:du + GH, dv:dv + GW]
    out /= r * r
    out = out.reshape(P, D)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def interval_mean(v, lo, hi):
    m = len(v)
    khi = int(m * hi) if hi < 1 else int(hi)
    klo = int(m * lo) if lo < 1 else int(lo)
    if khi < klo:
        khi, klo = klo, khi
    return np.sort(v)[klo:khi].mean()


ln = np.zeros((N, L, P, D))
Z = np.zeros((L * len(DEGREES), N, P, D))
for i in range(N):
    for l in range(L):
        ln[i, l] = layernorm(feats[i, l])
        for ri, r in enumerate(DEGREES):
            Z[l * len(DEGREES) + ri, i] = lnamd(ln[i, l], r)

K = L * len(DEGREES)
dist = np.zeros((K, N, N, P))
for k in range(K):
    for i in range(N):
        for j in range(N):
            if i != j:
                diff = Z[k, i][:, None, :] - Z[k, j][None, :, :]
                dist[k, i, j] = np.sqrt((diff ** 2).sum(-1)).min(1)


def score_maps(lo, hi):
    per_set = np.zeros((K, N, P))
    for k in range(K):
        for i in range(N):
            others = [j for j in range(N) if j != i]
            for p in range(P):
                per_set[k, i, p] = interval_mean(dist[k, i, others, p], lo, hi)
    # mean over layers, then over degrees
    by_deg = per_set.reshape(L, len(DEGREES), N, P).mean(0)
    return per_set, by_deg.mean(0)


per_set, maps = score_maps(0.0, 0.3)
_, maps_b = score_maps(0.1, 0.5)


def image_scores(m, S):
    t = torch.tensor(m.reshape(N, 1, GH, GW), dtype=torch.float64)
    up = F.interpolate(t, size=(S, S), mode="bilinear", align_corners=True)
    return up.reshape(N, -1).max(1).values.numpy()


scores37 = image_scores(maps, 37)
scores50 = image_scores(maps, 50)


def rscin(s, C, ks):
    s = (s - s.min()) / (s.max() - s.min())
    W = C.astype(np.float64) @ C.astype(np.float64).T
    res = []
    for k in ks:
        out = np.zeros(len(s))
        for i in range(len(s)):
            keep = np.argsort(-W[i], kind="stable")[:k]
            out[i] = (W[i, keep] * s[keep]).sum() / W[i, keep].sum()
        res.append(out)
    return np.mean(res, 0)


E = 16
clip_emb = rng.normal(size=(N, E)) + 2.0
clip_emb /= np.linalg.norm(clip_emb, axis=1, keepdims=True)
dino_emb = rng.normal(size=(N, E)) * rng.uniform(0.5, 3.0, size=(N, 1)) + 1.0  # unnormalised
clip_emb = clip_emb.astype(np.float32)
dino_emb = dino_emb.astype(np.float32)
raw = scores37.astype(np.float32).astype(np.float64)
rs = np.stack([rscin(raw, clip_emb, [1, 2, 3]), rscin(raw, clip_emb, [1, 8, 9]),
               rscin(raw, dino_emb, [1, 2, 3]), rscin(raw, dino_emb, [1, 8, 9])])

# divide_num: upstream's sub_datasets (datasets/mvtec.py) re-stated: group by defect folder in
# order of first appearance, random.seed(seed), shuffle each group, chunks of divide_num,
# subset t = element t of every chunk.
groups = ["broken"] * 7 + ["good"] * 13 + ["scratch"] * 5 + ["thread"] * 9
split_cases = []
for dn, seed, use_groups in [(2, 0, True), (3, 0, True), (4, 7, True), (3, 0, False), (2, 123456, False)]:
    random.seed(seed)
    g = groups if use_groups else ["all"] * len(groups)
    ids = {}
    for i, name in enumerate(g):
        ids.setdefault(name, []).append(i)
    subset = np.zeros(len(g), dtype=np.int32)
    order = []
    per_sub = [[] for _ in range(dn)]
    for name in ids:
        lst = ids[name]
        random.shuffle(lst)
        chunks = [lst[c:c + dn] for c in range(0, len(lst), dn)]
        for t in range(dn):
            for ch in chunks:
                if len(ch) > t:
                    per_sub[t].append(ch[t])
    for t in range(dn):
        for i in per_sub[t]:
            subset[i] = t
        order += per_sub[t]
    split_cases.append(np.concatenate([[dn, seed, int(use_groups)], subset, order]).astype(np.int64))

np.save(f"{OUT}/feats.npy", feats)  # (N, L, P, D) float32
np.save(f"{OUT}/ln.npy", ln.astype(np.float32))
np.save(f"{OUT}/z.npy", Z.astype(np.float32))  # (K, N, P, D), set k = l*3 + degree index
np.save(f"{OUT}/dist.npy", dist.astype(np.float32))  # (K, N, N, P)
np.save(f"{OUT}/per_set.npy", per_set.astype(np.float32))  # (K, N, P), interval [0, 0.3)
np.save(f"{OUT}/maps.npy", maps.astype(np.float32))  # (N, P)
np.save(f"{OUT}/maps_lo01_hi05.npy", maps_b.astype(np.float32))
np.save(f"{OUT}/scores.npy", np.stack([scores37, scores50]).astype(np.float32))  # S = 37, 50
np.save(f"{OUT}/clip_emb.npy", clip_emb)
np.save(f"{OUT}/dino_emb.npy", dino_emb)
np.save(f"{OUT}/rscin.npy", rs.astype(np.float32))  # clip{123}, clip{189}, dino{123}, dino{189}
np.save(f"{OUT}/split.npy", np.stack(split_cases))  # rows: dn, seed, grouped, subset[34], order[34]
print("wrote", OUT, "N", N, "P", P, "D", D)

# --- pixel backbone (backbones/pixel.c) on a real MVTec AD screw image ----------------------
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
SCREW = "../shared/data/mvtec_ad/screw/test/good/000.png"


def pixel_features(path, size, patch, stride, scales):
    im = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    x = (np.asarray(im, dtype=np.float64) / 255.0 - MEAN) / STD  # (S, S, 3)
    x = x.transpose(2, 0, 1)
    g = (size - patch) // stride + 1
    layers = []
    for s in scales:
        off = (patch * (s - 1)) // 2
        pad = patch * s
        xp = np.zeros((3, size + 2 * pad, size + 2 * pad))
        xp[:, pad:pad + size, pad:pad + size] = x
        f = np.zeros((g * g, 3 * patch * patch))
        for gy in range(g):
            for gx in range(g):
                y0, x0 = gy * stride - off + pad, gx * stride - off + pad
                win = xp[:, y0:y0 + patch * s, x0:x0 + patch * s]
                pooled = win.reshape(3, patch, s, patch, s).mean((2, 4))
                f[gy * g + gx] = pooled.reshape(-1)
        layers.append(f)
    return np.stack(layers), im


fa, _ = pixel_features(SCREW, 64, 8, 8, [1, 2])
emb_a = fa[0].mean(0)
emb_a /= np.linalg.norm(emb_a)
fb, _ = pixel_features(SCREW, 60, 6, 5, [3])
th = Image.open(SCREW).convert("RGB").resize((16, 16), Image.BILINEAR)
emb_b = ((np.asarray(th, dtype=np.float64) / 255.0 - MEAN) / STD).transpose(2, 0, 1).reshape(-1)
emb_b /= np.linalg.norm(emb_b)
np.save(f"{OUT}/pixel_a.npy", fa.astype(np.float32))  # size 64 patch 8 stride 8 scales [1,2]
np.save(f"{OUT}/pixel_a_embed.npy", emb_a.astype(np.float32))  # embed mean
np.save(f"{OUT}/pixel_b.npy", fb.astype(np.float32))  # size 60 patch 6 stride 5 scales [3]
np.save(f"{OUT}/pixel_b_embed.npy", emb_b.astype(np.float32))  # embed thumb
print("pixel", fa.shape, fb.shape)
