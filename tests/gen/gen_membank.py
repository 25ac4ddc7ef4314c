#!/usr/bin/python3
"""Writes tests/golden/membank/: independent NumPy/SciPy/torch references for PatchCore and
AnomalyDINO (tests/test_patchcore.c, tests/test_anomalydino.c).

Everything is recomputed here from the algorithm descriptions (../shared/docs/algorithms.md
§4, §5), in float64 unless stated:
- PatchCore embedding: torch F.unfold (zero padding) + F.adaptive_avg_pool1d, as upstream's
  PatchMaker / Preprocessing / Aggregator do;
- the coreset's random draws, re-implemented from methods/coreset.h's documented algorithm
  (splitmix64; starts by rejection; W ~ U(-1/sqrt(d), 1/sqrt(d))), then the greedy loop;
- kNN by brute force; image scores; torch bilinear (align_corners=False) + scipy
  gaussian_filter for the smoothed maps;
- AnomalyDINO: unit vectors, 1 - cos, top-1% mean; PCA by numpy eigh cross-checked against
  sklearn PCA(svd_solver="full") (same sign convention, sklearn 1.2); masks with cv2's
  border semantics rebuilt from scipy.ndimage (dilation pads 0, erosion pads 1).
"""
import os

import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "membank")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261125)
M64 = (1 << 64) - 1


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), a)


# ---------------------------------------------------------------------------------------
# splitmix64 and the coreset draws (methods/coreset.h)
class SplitMix64:
    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53


def coreset_draws(N, d, proj_dim, n_starts, seed):
    r = SplitMix64(seed)
    starts = []
    for _ in range(min(n_starts, N)):
        while True:
            j = r.next() % N
            if j not in starts:
                starts.append(j)
                break
    W = None
    if d != proj_dim:
        b = 1.0 / np.sqrt(d)
        W = np.array([(2.0 * r.uniform() - 1.0) * b for _ in range(proj_dim * d)]).astype(np.float32)
        W = W.reshape(proj_dim, d)
    return np.array(starts, np.int32), W


def greedy(P, n_sel, starts):
    P = P.astype(np.float64)

    def dists(s):
        return np.sqrt(((P - P[s]) ** 2).sum(1))

    dist = np.mean(np.stack([dists(s) for s in starts], 1), 1)
    sel = []
    for _ in range(n_sel):
        s = int(np.argmax(dist))  # first maximum
        sel.append(s)
        dist = np.minimum(dist, dists(s))
    return np.array(sel, np.int32)


def coreset(X, ratio, proj_dim, n_starts, seed):
    N, d = X.shape
    n_sel = int(N * ratio)
    starts, W = coreset_draws(N, d, proj_dim, n_starts, seed)
    P = X.astype(np.float64) @ W.astype(np.float64).T if W is not None else X
    return greedy(P, n_sel, starts), starts, W


# ---------------------------------------------------------------------------------------
# PatchCore embedding with torch ops (upstream's PatchMaker.patchify + MeanMapper + Aggregator)
def patchcore_embed(layers, gh, gw, ps, pre_dim, target_dim):
    """layers: list of [P][C] arrays of one image -> [P][target_dim]."""
    per = []
    for t in layers:
        x = torch.from_numpy(t.astype(np.float64)).T.reshape(1, -1, gh, gw)  # 1 x C x gh x gw
        u = F.unfold(x, kernel_size=ps, padding=(ps - 1) // 2)  # 1 x C*ps*ps x P (channel-major)
        u = u[0].T  # P x C*ps*ps
        per.append(F.adaptive_avg_pool1d(u.unsqueeze(1), pre_dim).squeeze(1))  # P x pre_dim
    cat = torch.stack(per, 1).reshape(gh * gw, 1, -1)
    return F.adaptive_avg_pool1d(cat, target_dim).squeeze(1).numpy()


def knn_sq(Q, B, k):
    d2 = ((Q[:, None, :].astype(np.float64) - B[None, :, :].astype(np.float64)) ** 2).sum(-1)
    return np.sort(d2, 1)[:, :k]


def smooth_map(grid, oh, ow, sigma):
    t = torch.from_numpy(grid.astype(np.float64))[None, None]
    up = F.interpolate(t, size=(oh, ow), mode="bilinear", align_corners=False)[0, 0].numpy()
    return ndi.gaussian_filter(up, sigma=sigma, mode="reflect", truncate=4.0)


# --- PatchCore: embedding -------------------------------------------------------------
for name, (gh, gw, L, C, ps, pre, tgt) in {
    "emb_a": (5, 4, 2, 6, 3, 10, 7),     # uneven adaptive windows (54 -> 10, 20 -> 7)
    "emb_b": (4, 6, 1, 8, 3, 8, 8),      # pre_dim == C: exact per-channel 3x3 means
    "emb_c": (6, 5, 3, 4, 5, 9, 11),     # 5x5 window, 3 layers, 100 -> 9, 27 -> 11
    "emb_d": (3, 4, 2, 2, 3, 24, 50),    # adaptive pools that upsample (18 -> 24, 48 -> 50)
}.items():
    x = rng.standard_normal((L, gh * gw, C)).astype(np.float32)
    e = patchcore_embed([x[l] for l in range(L)], gh, gw, ps, pre, tgt)
    save(f"pc_{name}_in", x)
    save(f"pc_{name}_out", e.astype(np.float64))
    save(f"pc_{name}_cfg", np.array([gh, gw, L, C, ps, pre, tgt], np.int32))
# pre_dim == C really is the per-channel 3x3 zero-padded mean:
x = np.load(os.path.join(OUT, "pc_emb_b_in.npy"))[0].reshape(4, 6, 8).astype(np.float64)
box = ndi.uniform_filter(x, size=(3, 3, 1), mode="constant") .reshape(24, 8)
assert np.allclose(box, np.load(os.path.join(OUT, "pc_emb_b_out.npy")), atol=1e-12)

# --- Coreset ---------------------------------------------------------------------------
for name, (N, d, proj, ns, seed, ratio) in {
    "cs_a": (300, 40, 8, 10, 7, 0.1),
    "cs_b": (157, 8, 8, 10, 123456789012345, 0.25),   # d == proj_dim: no projection
    "cs_c": (50, 33, 20, 3, 1, 0.5),
}.items():
    X = (rng.standard_normal((N, d)) + 0.5 * rng.standard_normal((1, d))).astype(np.float32)
    sel, starts, W = coreset(X, ratio, proj, ns, seed)
    save(f"{name}_X", X)
    save(f"{name}_sel", sel)
    save(f"{name}_starts", starts)
    if W is not None:
        save(f"{name}_W", W)
    save(f"{name}_cfg", np.array([N, d, proj, ns, seed & 0xFFFFFFFF, seed >> 32], np.int64))
    save(f"{name}_ratio", np.array([ratio]))

# --- PatchCore end to end -------------------------------------------------------------
# 8 train, 6 test images, 5x6 grid, 2 layers of 12 channels; pre 16, target 12; coreset
# 0.25 of 240 = 60 with a 8-d projection; num_nn 3.
gh, gw, L, C, ps, pre, tgt = 5, 6, 2, 12, 3, 16, 12
ntr, nte, ratio, proj, ns, seed, k = 8, 6, 0.25, 8, 10, 3, 3
P = gh * gw
tr = rng.standard_normal((ntr, L, P, C)).astype(np.float32)
te = rng.standard_normal((nte, L, P, C)).astype(np.float32)
te[2, :, 7] += 3.0  # an anomalous patch
bank = np.concatenate([patchcore_embed([tr[i, l] for l in range(L)], gh, gw, ps, pre, tgt) for i in range(ntr)])
sel, _, _ = coreset(bank.astype(np.float32), ratio, proj, ns, seed)
mb = bank[sel]
q = np.concatenate([patchcore_embed([te[i, l] for l in range(L)], gh, gw, ps, pre, tgt) for i in range(nte)])
ps_ = knn_sq(q, mb, k).mean(1)
save("pc_run_train", tr)
save("pc_run_test", te)
save("pc_run_sel", sel)
save("pc_run_patch", ps_)
save("pc_run_image", ps_.reshape(nte, P).max(1))
# Smoothed map of test image 2 at 20 x 24, sigma 2 (runner-side post-processing).
save("pc_run_smooth", smooth_map(ps_.reshape(nte, gh, gw)[2], 20, 24, 2.0))


# ---------------------------------------------------------------------------------------
# AnomalyDINO
# Written from upstream's code path (read, not copied): dammsi/AnomalyDINO commit
# b3435f00052c9f7c0dcfe7f178a0138cfac3178e, src/backbones.py DINOv2Wrapper.compute_background_mask:
# first_pc = PCA(n_components=1).fit_transform(tokens) has shape (N, 1); the threshold, the
# centre test (on first_pc reshaped to the grid), cv2.dilate and cv2.morphologyEx(MORPH_CLOSE)
# with an np.ones((k, k)) kernel are applied to that (N, 1) array, then squeezed.
# Upstream's solver is svd_solver="randomized" on float32 with an unseeded global numpy
# RandomState; the golden uses svd_solver="full" in float64 (deterministic) and asserts
# that the randomized float32 solver gives the same mask.
import cv2  # noqa: E402  (python3-opencv)


def pca_pc1(X, sign="sklearn_u"):
    X = X.astype(np.float64)
    pca = PCA(n_components=1, svd_solver="full")
    s = pca.fit_transform(X)[:, 0]  # scikit-learn 1.2: svd_flip from U
    Xc = X - X.mean(0)
    w, V = np.linalg.eigh(Xc.T @ Xc)  # independent cross-check of the magnitude
    assert np.allclose(np.abs(Xc @ V[:, -1]), np.abs(s), rtol=1e-9, atol=1e-9 * np.abs(s).max())
    assert s[np.argmax(np.abs(s))] > 0, "scikit-learn here is not u-based (expected 1.2-1.4)"
    if sign == "sklearn_v":  # scikit-learn >= 1.5: svd_flip(u_based_decision=False)
        v = pca.components_[0]
        s = s * np.sign(v[np.argmax(np.abs(v))])
    return s


def pca_mask(X, gh, gw, thr=10.0, border=0.2, cfrac=0.35, k=3, morph="upstream", sign="sklearn_u"):
    s = pca_pc1(X, sign)
    first_pc = s[:, None]  # (N, 1) as fit_transform returns it
    mask = first_pc > thr
    c = mask.reshape(gh, gw)[int(gh * border):int(gh * (1 - border)), int(gw * border):int(gw * (1 - border))]
    if c.sum() <= c.size * cfrac:
        mask = -first_pc > thr
    if morph == "grid":  # adbench's option: the same operations on the gh x gw grid
        mask = mask.reshape(gh, gw)
    kern = np.ones((k, k), np.uint8)
    mask = cv2.dilate(mask.astype(np.uint8), kern).astype(bool)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kern).astype(bool)
    if morph == "upstream" and sign == "sklearn_u" and (thr, border, cfrac) == (10.0, 0.2, 0.35):
        # upstream's own solver (randomized, float32) on the same tokens: same mask
        fp = PCA(n_components=1, svd_solver="randomized").fit_transform(X.astype(np.float32))
        m2 = fp > thr
        c2 = m2.reshape(gh, gw)[int(gh * border):int(gh * (1 - border)), int(gw * border):int(gw * (1 - border))]
        if c2.sum() <= c2.size * cfrac:
            m2 = -fp > thr
        m2 = cv2.dilate(m2.astype(np.uint8), kern).astype(bool)
        m2 = cv2.morphologyEx(m2.astype(np.uint8), cv2.MORPH_CLOSE, kern).astype(bool)
        assert (m2.reshape(-1) == mask.reshape(-1)).all(), "randomized float32 PCA changes the mask"
    return mask.reshape(-1), s


def object_tokens(gh, gw, D, centre_object, holes=(), spots=(), radius=4.5):
    radius = radius if centre_object else 2.2
    """Foreground/background tokens: pc1 separates them by ~40. centre_object False: the
    object is a frame around a large centre ellipse (a minority, so pc1 > 0 there and the
    centre test flips the mask to the centre)."""
    fg, bg = rng.standard_normal(D), rng.standard_normal(D)
    fg, bg = 20 * fg / np.linalg.norm(fg), -20 * fg / np.linalg.norm(fg) + 0.3 * bg
    yy, xx = np.mgrid[0:gh, 0:gw]
    inside = ((yy - (gh - 1) / 2) ** 2 / (gh / radius) ** 2 + (xx - (gw - 1) / 2) ** 2 / (gw / radius) ** 2) <= 1
    obj = inside if centre_object else ~inside
    for (y, x) in holes:
        obj[y, x] = False
    for (y, x) in spots:
        obj[y, x] = True
    X = np.where(obj.reshape(-1, 1), fg, bg) + rng.standard_normal((gh * gw, D))
    return X.astype(np.float32)


cases = {
    "mask_a": (12, 14, 16, True, [(6, 7)], [(0, 0)]),      # centred object with a hole, corner spot
    "mask_b": (20, 20, 12, False, [(0, 9)], [(9, 9)]),     # frame object: sign flip
    "mask_c": (10, 18, 20, True, [], [(9, 17), (0, 9)]),
}
for name, (gh, gw, D, centre, holes, spots) in cases.items():
    X = object_tokens(gh, gw, D, centre, holes, spots)
    m, s = pca_mask(X, gh, gw)
    save(f"ad_{name}_X", X)
    save(f"ad_{name}_mask", m.astype(np.uint8))
    save(f"ad_{name}_pc1", s)
    save(f"ad_{name}_cfg", np.array([gh, gw, D], np.int32))
for name, (gh, gw, *_r) in cases.items():
    m = np.load(os.path.join(OUT, f"ad_{name}_mask.npy"))
    X = np.load(os.path.join(OUT, f"ad_{name}_X.npy"))
    g = pca_mask(X, gh, gw, morph="grid")[0]
    assert 0 < m.sum() < m.size, name
    save(f"ad_{name}_mask_grid", g.astype(np.uint8))
    print(name, "mask", m.sum(), "/", m.size, "upstream vs grid morphology differ at", int((g != m).sum()))


def top_mean(d, frac):
    m = int(len(d) * frac)
    return float(np.max(d)) if m == 0 else float(np.mean(sorted(d, reverse=True)[:m]))


def anomalydino_ref(tr, te, gh, gw, k, masking, frac, mask_ref=False, morph="upstream", sign="sklearn_u"):
    def unit(x):
        x = x.astype(np.float64)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    if mask_ref:  # upstream mask_ref_images: reference tokens outside their own mask dropped
        B = unit(np.concatenate([tr[i][pca_mask(tr[i], gh, gw, morph=morph, sign=sign)[0]] for i in range(tr.shape[0])]))
    else:
        B = unit(tr.reshape(-1, tr.shape[-1]))
    maps, scores = [], []
    for i in range(te.shape[0]):
        keep = pca_mask(te[i], gh, gw, morph=morph, sign=sign)[0] if masking else np.ones(gh * gw, bool)
        d = knn_sq(unit(te[i]), B, k).mean(1) / 2
        d[~keep] = 0
        maps.append(d)
        scores.append(top_mean(d, frac))
    return np.array(maps), np.array(scores)


# References: 2 images x 8 rotations (rotation is image-level; here just 16 entries), 10x12
# grid (120 patches), 24-d tokens; 5 test images with a foreground structure for the masking.
gh, gw, D = 10, 12, 24
tr = np.stack([object_tokens(gh, gw, D, True) for _ in range(16)])
te = np.stack([object_tokens(gh, gw, D, True, holes=[(4, 5)] if i == 1 else [], spots=[(0, 0)] if i == 3 else [])
               for i in range(5)])
te[4, 50] += 4 * rng.standard_normal(D).astype(np.float32)  # an anomalous patch
save("ad_run_train", tr)
save("ad_run_test", te)
for name, (k, masking, frac, mref) in {"a": (1, True, 0.01, False), "b": (2, False, 0.1, False),
                                       "c": (1, False, 0.05, False), "d": (1, True, 0.01, True)}.items():
    maps, scores = anomalydino_ref(tr, te, gh, gw, k, masking, frac, mref)
    save(f"ad_run_{name}_maps", maps)
    save(f"ad_run_{name}_scores", scores)
    print("run", name, "masked-out patches", int((maps == 0).sum()), "of", maps.size)

# Top-1% mean on a longer vector with ties.
v = np.round(rng.random(1024) * 50).astype(np.float32)
save("ad_top_in", v)
save("ad_top_out", np.array([top_mean(v, 0.01), top_mean(v, 0.001), top_mean(v, 0.0005)]))

# --- AnomalyDINO mask variants (appended: the draws above are unchanged) ----------------
for name, (k, masking, frac, mref, morph, sign) in {"e": (1, True, 0.01, True, "grid", "sklearn_u"),
                                                    "f": (1, True, 0.01, True, "upstream", "sklearn_v")}.items():
    maps, scores = anomalydino_ref(tr, te, gh, gw, k, masking, frac, mref, morph, sign)
    save(f"ad_run_{name}_maps", maps)
    save(f"ad_run_{name}_scores", scores)
    print("run", name, "differs from a at", int((maps != np.load(os.path.join(OUT, "ad_run_a_maps.npy"))).sum()))


def sign_tokens(gh, gw, D):
    """Neither sign passes the centre test (the centre is neutral, |pc1| < threshold), and the
    two svd_flip conventions disagree: the largest |score| is a +40 patch along e while e's
    largest |entry| is negative."""
    e = rng.standard_normal(D)
    e[0] = 0
    e = 0.6 * e / np.linalg.norm(e)
    e[0] = -0.8
    X = rng.standard_normal((gh * gw, D)) * 0.7
    g = np.zeros((gh, gw))
    g[0:4, 0:4] = 20      # foreground corner
    g[gh - 4:, gw - 5:] = -18  # the other class, opposite corner
    g[1, 1] = 40
    X += g.reshape(-1, 1) * e
    return X.astype(np.float32)


gh, gw, D = 12, 12, 16
X = sign_tokens(gh, gw, D)
mu, su = pca_mask(X, gh, gw, sign="sklearn_u")
mv, sv = pca_mask(X, gh, gw, sign="sklearn_v")
assert np.allclose(su, -sv) and (mu != mv).any(), "sign case does not separate the conventions"
save("ad_sign_X", X)
save("ad_sign_cfg", np.array([gh, gw, D], np.int32))
save("ad_sign_mask_u", mu.astype(np.uint8))
save("ad_sign_mask_v", mv.astype(np.uint8))
save("ad_sign_pc1_u", su)
print("sign case: masks differ at", int((mu != mv).sum()), "of", mu.size)

# --- Upstream random streams for the coreset (appended) --------------------------------
# From upstream's code path (read, not copied): amazon-science/patchcore-inspection commit
# fcaa92f124fb1ad74a7acf56726decd4b27cbcad, src/patchcore/sampler.py
# ApproximateGreedyCoresetSampler: _reduce_features builds torch.nn.Linear(d, proj_dim,
# bias=False) (skipped when d == proj_dim) and applies it; _compute_greedy_coreset_indices
# draws np.random.choice(N, clip(n_starts, None, N), replace=False), sets the anchor
# distance to the mean distance to those starts, then greedily takes the argmax and mins
# in the distance to the pick; distances by _compute_batchwise_differences
# (sqrt(clamp(a.a + b.b - 2 a.b, 0))) in float32. Seeds as utils.fix_seeds:
# np.random.seed(seed) and torch.manual_seed(seed), here immediately before the sampler.
# Real torch 1.13 / numpy 1.24 draws.
def upstream_draws(N, d, proj, ns, seed):
    np.random.seed(seed)
    starts = np.random.choice(N, int(np.clip(ns, None, N)), replace=False)
    torch.manual_seed(seed)
    W = None if d == proj else torch.nn.Linear(d, proj, bias=False).weight.detach().numpy().copy()
    return starts.astype(np.int32), W


def upstream_greedy(F32, n_sel, starts):
    """Upstream's loop in torch float32 (its distance formula)."""
    f = torch.from_numpy(F32)

    def bd(a, b):
        aa = a.unsqueeze(1).bmm(a.unsqueeze(2)).reshape(-1, 1)
        bb = b.unsqueeze(1).bmm(b.unsqueeze(2)).reshape(1, -1)
        return (-2 * a.mm(b.T) + aa + bb).clamp(0, None).sqrt()

    dist = torch.mean(bd(f, f[starts]), axis=-1).reshape(-1, 1)
    sel = []
    for _ in range(n_sel):
        i = torch.argmax(dist).item()
        sel.append(i)
        dist = torch.min(torch.cat([dist, bd(f, f[i:i + 1])], dim=-1), dim=1).values.reshape(-1, 1)
    return np.array(sel, np.int32)


def upstream_coreset(X, ratio, proj, ns, seed):
    N, d = X.shape
    starts, W = upstream_draws(N, d, proj, ns, seed)
    with torch.no_grad():
        F32 = X if W is None else (torch.from_numpy(X) @ torch.from_numpy(W).T).numpy()
    n_sel = int(N * ratio)
    sel = upstream_greedy(F32, n_sel, starts)
    # adbench's loop (exact differences, float64 here) makes the same picks on these sets:
    ref = greedy(X.astype(np.float64) @ W.astype(np.float64).T if W is not None else X, n_sel, starts)
    assert (ref == sel).all(), "upstream's float32 formula and exact distances pick differently"
    return sel, starts, W


for name, (N, d, proj, ns, seed, ratio) in {
    "csu_a": (300, 40, 8, 10, 7, 0.1),
    "csu_b": (157, 8, 8, 10, 4000000000, 0.25),   # d == proj_dim: no projection, no torch draws
    "csu_c": (3000, 4, 3, 10, 0, 0.01),            # long permutation (rejection masks up to 2^12)
    "csu_d": (6, 5, 3, 10, 1, 0.5),                # n_starts clipped to N
}.items():
    X = (rng.standard_normal((N, d)) + 0.5 * rng.standard_normal((1, d))).astype(np.float32)
    sel, starts, W = upstream_coreset(X, ratio, proj, ns, seed)
    save(f"{name}_X", X)
    save(f"{name}_sel", sel)
    save(f"{name}_starts", starts)
    if W is not None:
        save(f"{name}_W", W)
    save(f"{name}_cfg", np.array([N, d, proj, ns, seed & 0xFFFFFFFF, seed >> 32], np.int64))
    save(f"{name}_ratio", np.array([ratio]))
# Raw legacy MT19937 words (np.random.seed) = torch's CPU generator words, 1000 of each seed.
save("mt_raw", np.stack([np.random.RandomState(s)._bit_generator.random_raw(1000).astype(np.int64)
                         for s in (0, 5489, 4294967295)]))

# PatchCore end to end with upstream's draws (same data as pc_run; seed 3).
gh, gw, L, C, ps, pre, tgt = 5, 6, 2, 12, 3, 16, 12
ntr, nte, ratio, proj, ns, seed, k = 8, 6, 0.25, 8, 10, 3, 3
P = gh * gw
tr = np.load(os.path.join(OUT, "pc_run_train.npy"))
te = np.load(os.path.join(OUT, "pc_run_test.npy"))
bank = np.concatenate([patchcore_embed([tr[i, l] for l in range(L)], gh, gw, ps, pre, tgt) for i in range(ntr)])
sel, _, _ = upstream_coreset(bank.astype(np.float32), ratio, proj, ns, seed)
q = np.concatenate([patchcore_embed([te[i, l] for l in range(L)], gh, gw, ps, pre, tgt) for i in range(nte)])
ps_ = knn_sq(q, bank[sel], k).mean(1)
save("pc_runu_sel", sel)
save("pc_runu_patch", ps_)
save("pc_runu_image", ps_.reshape(nte, P).max(1))
print("upstream-rng run: picks shared with splitmix64's", len(set(sel) & set(np.load(os.path.join(OUT, "pc_run_sel.npy")))),
      "of", len(sel))
print("wrote", OUT, sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT)), "bytes")
