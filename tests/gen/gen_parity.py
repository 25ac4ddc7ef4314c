#!/usr/bin/python3
"""Writes tests/golden/parity/: a small fixed feature set per method and every stage of
scoring it with the OFFICIAL code's semantics (tests/test_parity.c compares adbench stage by
stage). Written from reading upstream (nothing copied); versions used here: torch 1.13,
numpy 1.24, scikit-learn 1.2, scipy 1.10, OpenCV 4.6 (python3-opencv).

PatchCore: amazon-science/patchcore-inspection fcaa92f124fb1ad74a7acf56726decd4b27cbcad
  patchcore.py PatchCore._embed + common.py (PatchMaker.patchify: F.unfold with padding
  (p-1)/2, stride 1; Preprocessing/MeanMapper: adaptive_avg_pool1d of the flattened C x p x p
  neighbourhood to pre_dim; Aggregator: adaptive_avg_pool1d of the concatenated layers to
  target_dim); sampler.py ApproximateGreedyCoresetSampler (seeded as utils.fix_seeds:
  np.random.seed + torch.manual_seed); common.py NearestNeighbourScorer (faiss IndexFlatL2:
  squared L2, mean over num_nn), PatchMaker.score (image = max patch); RescaleSegmentor
  (bilinear align_corners=False to the input size, gaussian_filter sigma 4);
  bin/run_patchcore.py min-max normalisation of scores and segmentations over the test
  set; metrics.py (sklearn roc_auc_score, image-wise and pixel-wise).
AnomalyDINO: dammsi/AnomalyDINO b3435f00052c9f7c0dcfe7f178a0138cfac3178e
  src/backbones.py compute_background_mask (PCA first component on the (N, 1) column,
  threshold 10, centre test, cv2.dilate + MORPH_CLOSE 3x3 on that column);
  src/detection.py (reference tokens L2-normalised, faiss L2 / 2 = 1 - cos, masked patches 0,
  mean_top1p); src/utils.py dists2map (cv2.resize INTER_LINEAR to the image size,
  gaussian_filter sigma 4); sklearn roc_auc_score for image and pixel AUROC.
"""
import os

import cv2
import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "parity")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261202)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), a)


# ======================================================================= PatchCore
GH = GW = 8
L, C, PS, PRE, TGT, PROJ, NS, RATIO, SEED, K, PX = 2, 8, 3, 8, 12, 4, 10, 0.1, 0, 1, 4
NTR, NTE = 4, 8
H, W = GH * PX, GW * PX


def pc_tokens(anom=None, amp=3.0):
    base = np.sin(np.arange(GH * GW)[:, None] * 0.3 + np.arange(C)[None, :]) * 2.0
    x = np.stack([base + rng.standard_normal((GH * GW, C)) * 0.5 for _ in range(L)])
    m = np.zeros((H, W), np.uint8)
    if anom is not None:
        y, x0 = anom
        for dy in range(2):
            for dx in range(2):
                x[:, (y + dy) * GW + x0 + dx] += rng.standard_normal(C) * amp
        m[y * PX:(y + 2) * PX, x0 * PX:(x0 + 2) * PX] = 1
    return x.astype(np.float32), m


def pc_embed(img):  # img: L x P x C, one image
    feats = []
    for l in range(L):
        t = torch.from_numpy(img[l]).T.reshape(1, C, GH, GW)
        u = F.unfold(t, kernel_size=PS, stride=1, padding=(PS - 1) // 2, dilation=1)
        u = u.reshape(1, C, PS, PS, -1).permute(0, 4, 1, 2, 3)  # patchify: B x P x C x p x p
        u = u.reshape(-1, C, PS, PS)
        feats.append(F.adaptive_avg_pool1d(u.reshape(len(u), 1, -1), PRE).squeeze(1))  # MeanMapper
    f = torch.stack(feats, dim=1)  # Preprocessing: B*P x L x pre
    f = F.adaptive_avg_pool1d(f.reshape(len(f), 1, -1), TGT)  # Aggregator
    return f.reshape(len(f), -1).numpy()


def upstream_sampler(feat, ratio, proj, ns, seed):
    np.random.seed(seed)
    torch.manual_seed(seed)
    f = torch.from_numpy(feat)
    with torch.no_grad():
        if f.shape[1] != proj:
            f = torch.nn.Linear(f.shape[1], proj, bias=False)(f)

        def bd(a, b):
            aa = a.unsqueeze(1).bmm(a.unsqueeze(2)).reshape(-1, 1)
            bb = b.unsqueeze(1).bmm(b.unsqueeze(2)).reshape(1, -1)
            return (-2 * a.mm(b.T) + aa + bb).clamp(0, None).sqrt()

        starts = np.random.choice(len(f), int(np.clip(ns, None, len(f))), replace=False).tolist()
        dist = torch.mean(bd(f, f[starts]), axis=-1).reshape(-1, 1)
        sel = []
        for _ in range(int(len(f) * ratio)):
            i = torch.argmax(dist).item()
            sel.append(i)
            dist = torch.min(torch.cat([dist, bd(f, f[i:i + 1])], dim=-1), dim=1).values.reshape(-1, 1)
    return np.array(sel, np.int32)


tr = np.stack([pc_tokens()[0] for _ in range(NTR)])
anoms = [None, None, None, None, (1, 1), (4, 5), (6, 0), (3, 3)]
te, gt = zip(*[pc_tokens(a, 0.4 if i == 7 else 3.0) for i, a in enumerate(anoms)])  # image 7: faint
te, gt = np.stack(te), np.stack(gt)
labels = np.array([a is not None for a in anoms], np.uint8)
bank_full = np.concatenate([pc_embed(tr[i]) for i in range(NTR)])
sel = upstream_sampler(bank_full.astype(np.float32), RATIO, PROJ, NS, SEED)
bank = bank_full[sel].astype(np.float64)
q = np.concatenate([pc_embed(te[i]) for i in range(NTE)])
d2 = ((q[:, None, :].astype(np.float64) - bank[None]) ** 2).sum(-1)
patch = np.sort(d2, 1)[:, :K].mean(1)  # faiss squared L2, mean over num_nn
image = patch.reshape(NTE, -1).max(1)
up = F.interpolate(torch.from_numpy(patch.reshape(NTE, 1, GH, GW)), size=(H, W), mode="bilinear",
                   align_corners=False)[:, 0].numpy()
maps = np.stack([ndi.gaussian_filter(m, sigma=4) for m in up])
# run_patchcore.py: min-max normalisation over the test set (monotone: AUROC unchanged)
ns_ = (image - image.min()) / (image.max() - image.min())
nm_ = (maps - maps.min()) / (maps.max() - maps.min())
save("pc_train", tr)
save("pc_test", te)
save("pc_gt", gt)
save("pc_labels", labels)
save("pc_embed_test", q.astype(np.float32))
save("pc_sel", sel)
save("pc_patch", patch)
save("pc_image", image)
save("pc_maps", maps.astype(np.float32))
save("pc_metrics", np.array([roc_auc_score(labels, ns_), roc_auc_score(gt.ravel().astype(int), nm_.ravel())]))
print("patchcore: image AUROC %.4f pixel AUROC %.4f" % tuple(np.load(os.path.join(OUT, "pc_metrics.npy"))))

# ===================================================================== AnomalyDINO
GH = GW = 10
D, PX, NREF, NTE = 16, 4, 8, 8
H, W = GH * PX, GW * PX


FG = rng.standard_normal(D)


def ad_tokens(anom=None, amp=6.0):
    fg = FG + 0.2 * rng.standard_normal(D)  # one object class, slightly varying per image
    fg = 20 * fg / np.linalg.norm(fg)
    yy, xx = np.mgrid[0:GH, 0:GW]
    obj = ((yy - 4.5) ** 2 + (xx - 4.5) ** 2) <= 3.3 ** 2
    X = np.where(obj.reshape(-1, 1), fg, -fg) + rng.standard_normal((GH * GW, D)) * 2.0
    m = np.zeros((H, W), np.uint8)
    if anom is not None:
        y, x = anom
        X[y * GW + x] += rng.standard_normal(D) * amp
        m[y * PX:(y + 1) * PX, x * PX:(x + 1) * PX] = 1
    return X.astype(np.float32), m


def background_mask(tokens, grid, threshold=10, kernel_size=3, border=0.2):
    # svd_solver "full" in float64 (deterministic); upstream's "randomized" float32 solver is
    # checked to give the same mask below.
    first_pc = PCA(n_components=1, svd_solver="full").fit_transform(tokens.astype(np.float64))
    mask = first_pc > threshold
    m = mask.reshape(grid)[int(grid[0] * border):int(grid[0] * (1 - border)),
                           int(grid[1] * border):int(grid[1] * (1 - border))]
    if m.sum() <= m.size * 0.35:
        mask = -first_pc > threshold
    k = np.ones((kernel_size, kernel_size), np.uint8)
    mask = cv2.dilate(mask.astype(np.uint8), k).astype(bool)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, k).astype(bool)
    fp = PCA(n_components=1, svd_solver="randomized").fit_transform(tokens.astype(np.float32))
    m2 = fp > threshold
    c2 = m2.reshape(grid)[int(grid[0] * border):int(grid[0] * (1 - border)), int(grid[1] * border):int(grid[1] * (1 - border))]
    if c2.sum() <= c2.size * 0.35:
        m2 = -fp > threshold
    m2 = cv2.morphologyEx(cv2.dilate(m2.astype(np.uint8), k), cv2.MORPH_CLOSE, k).astype(bool)
    assert (m2 == mask).all()
    return mask.squeeze()


def unit(x):
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def mean_top1p(d):
    n = int(len(d) * 0.01)
    return np.max(d) if n == 0 else np.mean(sorted(d.flatten(), reverse=True)[:n])


ref = np.stack([ad_tokens()[0] for _ in range(NREF)])  # 1 image x 8 "rotations"
anoms = [None, None, None, None, (5, 5), (3, 6), (2, 3), (7, 4)]
te, gt = zip(*[ad_tokens(a, 0.8 if i == 7 else 6.0) for i, a in enumerate(anoms)])  # image 7: faint
te, gt = np.stack(te), np.stack(gt)
labels = np.array([a is not None for a in anoms], np.uint8)
B = unit(ref.reshape(-1, D))  # mask_ref_images False: every reference token
masks, patch, image, maps = [], [], [], []
for i in range(NTE):
    mk = background_mask(te[i], (GH, GW))
    f = unit(te[i][mk])
    d = (((f[:, None, :] - B[None]) ** 2).sum(-1)).min(1) / 2  # faiss L2 on unit vectors / 2
    out = np.zeros_like(mk, dtype=float)
    out[mk] = d
    masks.append(mk)
    patch.append(out)
    image.append(mean_top1p(out.flatten()))
    maps.append(ndi.gaussian_filter(cv2.resize(out.reshape(GH, GW), (W, H), interpolation=cv2.INTER_LINEAR), sigma=4))
masks, patch, image, maps = np.array(masks), np.array(patch), np.array(image), np.array(maps)
save("ad_ref", ref)
save("ad_test", te)
save("ad_gt", gt)
save("ad_labels", labels)
save("ad_masks", masks.astype(np.uint8))
save("ad_patch", patch)
save("ad_image", image)
save("ad_maps", maps.astype(np.float32))
save("ad_metrics", np.array([roc_auc_score(labels, image), roc_auc_score(gt.ravel().astype(int), maps.ravel())]))
print("anomalydino: masked-out", int((~masks).sum()), "of", masks.size,
      "image AUROC %.4f pixel AUROC %.4f" % tuple(np.load(os.path.join(OUT, "ad_metrics.npy"))))
print("wrote", OUT, sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT)), "bytes")
