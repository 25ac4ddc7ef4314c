#!/usr/bin/python3
"""Writes tests/golden/parity/musc_*.npy: a small fixed feature set and every stage of scoring
it with the OFFICIAL MuSc code's semantics (tests/test_parity_musc.c compares adbench's MuSc
and CoDeGraph stage by stage). Written from reading upstream's code paths (nothing copied):
the same torch operations in the same order and dtypes. Versions used here: torch 1.13 (CPU),
numpy 1.24, scikit-learn 1.2, scikit-image 0.19 (upstream pins 0.21 / 1.3.2 in
requirements.txt; the calls used are the same).

Upstream: xrli-U/MuSc b1847817fb9557c34b8cbd70ae750c3e7affa380 (its modules and musc.py
are unchanged at the newest commit b76b93d, which only touches configs and backbones).
  models/modules/_LNAMD.py  LNAMD._embed: drop the class token, reshape to (B, C, h, h), a
      fresh torch.nn.LayerNorm([C, h, h]) per layer (eps 1e-5, weight 1, bias 0);
      r != 1: PatchMaker.patchify (torch.nn.Unfold, kernel r, padding (r-1)/2, stride 1,
      reshaped to (B, P, C, r, r)); r == 1: (B, P, C, 1, 1); layers of the same grid are not
      resampled; Preprocessing/MeanMapper: each flattened C*r*r patch adaptive_avg_pool1d'ed
      to C (= feature_dim, the first layer's width), stacked to (B, P, layers, C).
  models/musc.py make_category_data: features /= features.norm(dim=-1) per (layer, r); MSM
      per layer with topmin_min=0, topmin_max=0.3; mean over layers, then mean over r (the
      MSM output is double from there on); F.interpolate(bilinear, align_corners=True) to
      img_resize; image score = max of the upsampled map; RsCIN with k_list [1, 2, 3]
      (mvtec_ad, btad) or [1, 8, 9] (visa); no Gaussian smoothing of the maps anywhere.
  models/modules/_MSM.py MSM -> compute_scores_fast: torch.cdist of image i's patches to
      all other images' patches (float32; the mm path, sqrt(x.x + y.y - 2 x.y), since
      P > 25), min over each other image's patches -> (P, N-1); k_max = int((N-1) * 0.3),
      k_min = int((N-1) * 0); topk smallest k_max, then the k_max - k_min largest of those,
      float32 mean; rows stacked as double.
  models/modules/_RsCIN.py RsCIN: scores min-max normalised (float64), W = cls @ cls.T
      (numpy float32), MMO: per k the N-k smallest of each row of W zeroed (torch.topk),
      rows normalised by their sums (D^-1 W), times the scores, mean over k (float32).
  utils/metrics.py compute_metrics: sklearn roc_auc_score / average_precision_score on the
      RsCIN scores and the upsampled maps; cal_pro_score (200 thresholds, FPR < 0.3).
Upstream runs LNAMD/MSM under torch.cuda.amp.autocast: layer_norm and cdist are on autocast's
float32 list, so from the tokens on the arithmetic is float32 as here (the tokens themselves
may be float16 from the backbone; parity starts at the tokens).

Run from anywhere: /usr/bin/python3 tests/gen/gen_parity_musc.py
"""
import math
import os
import random

import numpy as np
import torch
import torch.nn.functional as F
from skimage import measure
from sklearn.metrics import auc, average_precision_score, roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "parity")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261203)
torch.set_num_threads(1)

N, LY, G, C, E, S = 10, 3, 8, 16, 16, 40   # images, layers, grid side, width, embedding, eval side
P, PX = G * G, S // G
R_LIST = [1, 3, 5]
ZI = [0, 7]                                 # images whose LNAMD rows and distances are saved


def save(name, a):
    np.save(os.path.join(OUT, "musc_" + name + ".npy"), a)


# ---------------------------------------------------------------- the fixed feature set
# A shared "normal" pattern per layer, per-image scale and offset (so LayerNorm matters),
# patch noise, and unique anomalies (2x2 patch blocks) in images 6-9, image 9 faint.
base = np.stack([np.sin(np.arange(P)[:, None] * (0.21 + 0.1 * l) + np.arange(C)[None, :] * 0.7) * 1.5
                 for l in range(LY)])
anoms = {6: (1, 1, 3.0), 7: (4, 5, 3.0), 8: (6, 0, 3.0), 9: (3, 3, 0.8)}
feats = np.empty((N, LY, P, C))
gt = np.zeros((N, S, S), np.uint8)
for i in range(N):
    for l in range(LY):
        feats[i, l] = (base[l] + 0.5 * rng.standard_normal((P, C))) * (1.0 + 0.2 * i) + 0.3 * i - 0.5 * l
    if i in anoms:
        y, x, amp = anoms[i]
        for dy in range(2):
            for dx in range(2):
                feats[i, :, (y + dy) * G + x + dx] += rng.standard_normal((LY, C)) * amp
        gt[i, y * PX:(y + 2) * PX, x * PX:(x + 2) * PX] = 1
feats = feats.astype(np.float32)
labels = np.array([i in anoms for i in range(N)], np.uint8)
# Class tokens (CLIP's image_features, normalised): anomalous images drift along one direction.
drift = rng.standard_normal(E)
emb = rng.standard_normal(E) + 0.4 * rng.standard_normal((N, E)) + 0.6 * labels[:, None] * drift
emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- LNAMD (_LNAMD.py + musc.py)
def lnamd(tokens, r):
    """tokens: list over layers of (B, 1 + P, C) float32 tensors -> (B, P, layers, C), unit rows."""
    B = tokens[0].shape[0]
    per_layer, shapes = [], []
    for t in tokens:
        t = t[:, 1:, :]
        h = int(math.sqrt(t.shape[1]))
        t = t.reshape(B, h, h, t.shape[2]).permute(0, 3, 1, 2)
        t = torch.nn.LayerNorm([t.shape[1], t.shape[2], t.shape[3]])(t)
        per_layer.append(t)
    if r != 1:
        pad = (r - 1) // 2
        out = []
        for t in per_layer:
            u = torch.nn.Unfold(kernel_size=r, stride=1, padding=pad, dilation=1)(t)
            out.append(u.reshape(B, t.shape[1], r, r, -1).permute(0, 4, 1, 2, 3))
            shapes.append([(s + 2 * pad - (r - 1) - 1) // 1 + 1 for s in t.shape[-2:]])
        per_layer = out
    else:
        shapes = [list(t.shape[-2:]) for t in per_layer]
        per_layer = [t.reshape(B, t.shape[1], -1, 1, 1).permute(0, 2, 1, 3, 4) for t in per_layer]
    assert all(s == shapes[0] for s in shapes)  # same grid: upstream resamples nothing
    per_layer = [t.reshape(-1, *t.shape[-3:]) for t in per_layer]
    dim = tokens[0].shape[-1]
    pooled = [F.adaptive_avg_pool1d(t.reshape(len(t), 1, -1), dim).squeeze(1) for t in per_layer]
    f = torch.stack(pooled, dim=1)
    f = f.reshape(B, -1, *f.shape[-2:]).detach()
    f /= f.norm(dim=-1, keepdim=True)
    return f


# ---------------------------------------------------------------- MSM (_MSM.py)
def msm_image(Z, i, lo=0, hi=0.3):
    n, p, c = Z.shape
    ref = torch.cat((Z[:i], Z[i + 1:]), dim=0)
    d = torch.cdist(Z[i:i + 1], ref.reshape(-1, c)).reshape(p, n - 1, p)
    d = torch.min(d, -1)[0]                      # (P, N-1): nearest patch of each other image
    kmax = int(d.shape[1] * hi) if hi < 1 else int(hi)
    kmin = int(d.shape[1] * lo) if lo < 1 else int(lo)
    if kmax < kmin:
        kmax, kmin = kmin, kmax
    v, _ = torch.topk(d.float(), kmax, largest=False, sorted=True)
    v, _ = torch.topk(v.float(), kmax - kmin, largest=True, sorted=True)
    return d, torch.mean(v.clone(), dim=1)


# cls row first, as the CLIP/DINO tokens upstream receives (dropped by LNAMD)
cls_rows = rng.standard_normal((N, 1, C)).astype(np.float32)


def score_set(ids, keep=None):
    """make_category_data for one (sub)set of images: fused patch maps (len(ids), P), double."""
    n = len(ids)
    tokens = [torch.from_numpy(np.concatenate([cls_rows[ids], feats[ids, l]], 1)) for l in range(LY)]
    maps_r = torch.tensor([]).double()
    for ri, r in enumerate(R_LIST):
        # upstream runs LNAMD image by image (batch_size 1); LayerNorm is per image either way
        Zr = torch.cat([lnamd([t[b:b + 1] for t in tokens], r) for b in range(n)], 0)  # (n, P, LY, C)
        maps_l = torch.tensor([]).double()
        for l in range(LY):
            Z = Zr[:, :, l, :].contiguous()
            rows = torch.tensor([]).double()
            for i in range(n):
                d, s = msm_image(Z, i)
                if keep is not None and i in ZI:
                    keep["dist"][ri, l, ZI.index(i)] = d.T.numpy()
                rows = torch.cat((rows, s.unsqueeze(0).double()), 0)
            if keep is not None:
                for q, i in enumerate(ZI):
                    keep["z"][ri, l, q] = Z[i].numpy()
                keep["msm"][ri, l] = rows.numpy()
            maps_l = torch.cat((maps_l, rows.unsqueeze(0)), 0)
        maps_r = torch.cat((maps_r, torch.mean(maps_l, 0).unsqueeze(0)), 0)
    return torch.mean(maps_r, 0)


def upsample(patch):  # (n, P) double -> (n, S, S) double, as make_category_data
    n = patch.shape[0]
    return F.interpolate(patch.view(n, 1, G, G), size=S, mode="bilinear", align_corners=True)[:, 0].numpy()


keep = {"z": np.zeros((len(R_LIST), LY, len(ZI), P, C), np.float32),
        "dist": np.zeros((len(R_LIST), LY, len(ZI), N - 1, P), np.float32),
        "msm": np.zeros((len(R_LIST), LY, N, P))}
patch = score_set(np.arange(N), keep)                                            # (N, P) double
maps = upsample(patch)                                                           # (N, S, S) double
raw = maps.reshape(N, -1).max(-1)


# ---------------------------------------------------------------- RsCIN (_RsCIN.py)
def rscin(old, cls, k_list):
    cls = np.array(cls)
    sc = (old - old.min()) / (old.max() - old.min())
    W = torch.tensor(cls @ cls.T).clone().float()
    score = torch.tensor(sc).clone().float()
    out = []
    for k in k_list:
        _, low = torch.topk(W.float(), W.shape[0] - k, largest=False, sorted=True)
        Wm = W.clone()
        for i in range(W.shape[0]):
            Wm[i, low[i]] = 0
        Dinv = torch.zeros_like(W).float()
        for i in range(W.shape[-1]):
            Dinv[i, i] = 1 / (Wm[i, :].sum())
        out.append((Dinv @ Wm) @ score.clone().unsqueeze(-1))
    return torch.concat(out, -1).mean(-1).numpy()


cls_list = [emb[i] for i in range(N)]
img_mvtec = rscin(raw, cls_list, [1, 2, 3])
img_visa = rscin(raw, cls_list, [1, 8, 9])


# ---------------------------------------------------------------- divide_num (datasets/mvtec.py)
# sub_datasets(full, divide_num, divide_iter, random_seed): random.seed(seed) at every call,
# image indices grouped by anomaly folder (dict insertion order = the sorted folder order of
# get_image_data), each group shuffled (one generator across groups), cut into chunks of
# divide_num; subset t takes element t of every chunk. Our image order is that sorted order:
# good (0-5) < hole (6, 7) < scratch (8, 9). make_category_data concatenates the subsets' maps,
# class tokens and labels in that order and runs RsCIN once over all of them.
DEFECT = ["good"] * 6 + ["hole"] * 2 + ["scratch"] * 2
DIVIDE, DSEED = 2, 42  # examples/musc_main.py: MuSc(cfg, seed=42)


def sub_dataset(groups, divide_num, it, seed):
    random.seed(seed)
    by_type = {}
    for idx, g in enumerate(groups):
        by_type.setdefault(g, []).append(idx)
    picked = []
    for ids in by_type.values():
        random.shuffle(ids)
        chunks = [ids[c:c + divide_num] for c in range(0, len(ids), divide_num)]
        picked += [ch[it] for ch in chunks if len(ch) > it]
    return picked


order = [i for it in range(DIVIDE) for i in sub_dataset(DEFECT, DIVIDE, it, DSEED)]
assert sorted(order) == list(range(N))
div_patch_cat = torch.cat([score_set(np.array(sub_dataset(DEFECT, DIVIDE, it, DSEED))) for it in range(DIVIDE)], 0)
div_raw_cat = upsample(div_patch_cat).reshape(N, -1).max(-1)
div_img_cat = rscin(div_raw_cat, [emb[i] for i in order], [1, 2, 3])
div_patch, div_img = np.zeros((N, P)), np.zeros(N, np.float32)
div_patch[order], div_img[order] = div_patch_cat.numpy(), div_img_cat  # back to our image order


# ---------------------------------------------------------------- metrics (utils/metrics.py)
def pro_score(masks, amaps, max_step=200, expect_fpr=0.3):
    binary = np.zeros_like(amaps, dtype=bool)
    lo, hi = amaps.min(), amaps.max()
    delta = (hi - lo) / max_step
    pros, fprs = [], []
    for th in np.arange(lo, hi, delta):
        binary[amaps <= th], binary[amaps > th] = 0, 1
        pro = []
        for b, m in zip(binary, masks):
            for region in measure.regionprops(measure.label(m)):
                pro.append(b[region.coords[:, 0], region.coords[:, 1]].sum() / region.area)
        inv = 1 - masks
        fprs.append(np.logical_and(inv, binary).sum() / inv.sum())
        pros.append(np.array(pro).mean())
    pros, fprs = np.array(pros), np.array(fprs)
    keep = fprs < expect_fpr
    f = fprs[keep]
    f = (f - f.min()) / (f.max() - f.min())
    return auc(f, pros[keep])


gpx = gt.astype(np.int32)
metrics = np.array([roc_auc_score(labels, img_mvtec), roc_auc_score(gpx.ravel(), maps.ravel()),
                    average_precision_score(gpx.ravel(), maps.ravel()), pro_score(gpx, maps)])

save("feats", feats)
save("embed", emb)
save("gt", gt)
save("labels", labels)
save("z", keep["z"])
save("dist", keep["dist"])
save("msm", keep["msm"])
save("patch", patch.numpy())
save("image_raw", raw)
save("image_mvtec", img_mvtec)
save("image_visa", img_visa)
save("maps", maps.astype(np.float32))
save("metrics", metrics)
save("div2_order", np.array(order, np.int32))
save("div2_patch", div_patch)
save("div2_image", div_img)
print("musc: raw image scores", np.round(raw, 4))
print("musc: image AUROC %.4f pixel AUROC %.4f pixel AP %.4f AU-PRO %.4f (raw image AUROC %.4f)"
      % (*metrics, roc_auc_score(labels, raw)))
print("wrote", OUT, sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith("musc_")),
      "bytes")
