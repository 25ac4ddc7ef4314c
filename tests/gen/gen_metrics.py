#!/usr/bin/python3
"""Writes tests/golden/metrics/<case>/: small label/score/mask/map .npy files and expected.txt
("name value" lines, repr precision) for tests/test_metrics.c.

References (independent of the C code):
  * image/pixel AUROC and AP: sklearn roc_auc_score / average_precision_score;
  * F1-max: MuSc's recipe (precision_recall_curve, 2pr/(p+r), max over finite values); its
    arg-max threshold from exact fractions (lowest threshold reaching the maximum);
  * AU-PRO: my numpy re-implementation of the official MVTec algorithm (spec B5.2), with the
    FPR in float64 (pixel_aupro) and in float32 like the oracle (pixel_aupro_f32);
  * MuSc-PRO: my numpy re-implementation of MuSc's cal_pro_score (spec B5.3) with
    skimage.measure.label, on float64 maps.
Checked once, ad hoc (upstream code is not committed): on every equal-size case and limits
0.3 / 0.05 / 1.0, pixel_aupro_f32 is bit-identical to the official MVTec v1.0 compute_pro +
trapezoid, and pixel_aupro_musc bit-identical to MuSc's cal_pro_score on float64 maps (which
raises ValueError where this reference gives NaN: no point with FPR < limit). The float32 FPR
of the oracle moves AU-PRO by up to 6e-9 against pixel_aupro (float64), hence 1e-6 there.
Run: /usr/bin/python3 tests/gen/gen_metrics.py
"""
import os
import shutil
from bisect import bisect
from fractions import Fraction

import numpy as np
from scipy.ndimage import label as nd_label
from skimage import measure
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "metrics")
LIMITS = (0.3, 0.05, 1.0)


# ---------------------------------------------------------------- binary metrics
def f1_threshold_exact(y, s):
    """Lowest threshold t at which 2TP/(2TP+FP+FN) (positive iff s >= t) is maximal."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s)
    P = int(y.sum())
    order = np.argsort(-s.astype(np.float64), kind="stable")
    ss, yy = s[order], y[order]
    best, best_t = Fraction(-1), None
    tp = fp = 0
    i = 0
    n = len(ss)
    while i < n:
        j = i
        while j < n and ss[j] == ss[i]:
            tp += int(yy[j])
            fp += int(not yy[j])
            j += 1
        f = Fraction(2 * tp, 2 * tp + fp + (P - tp))
        if f >= best:
            best, best_t = f, float(ss[i])
        i = j
    return float(best), best_t


def binary(y, s):
    y = np.asarray(y).astype(bool).ravel()
    s = np.asarray(s).ravel()
    P, N = int(y.sum()), int((~y).sum())
    if P == 0:
        return dict(auroc=float("nan"), ap=float("nan"), f1max=float("nan"), f1thr=float("nan"))
    auroc = roc_auc_score(y, s) if N > 0 else float("nan")
    ap = average_precision_score(y, s)
    p, r, _ = precision_recall_curve(y, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * p * r / (p + r)
    f1max = float(np.max(f1[np.isfinite(f1)]))
    exact, thr = f1_threshold_exact(y, s)
    assert abs(exact - f1max) < 1e-12
    return dict(auroc=float(auroc), ap=float(ap), f1max=f1max, f1thr=thr)


# ---------------------------------------------------------------- official AU-PRO (spec B5.2)
def trapezoid(x, y, x_max):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    fin = np.isfinite(x) & np.isfinite(y)
    x, y = x[fin], y[fin]
    corr = 0.0
    if x_max not in x:
        ins = bisect(list(x), x_max)
        assert 0 < ins < len(x)
        yi = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]))
        corr = 0.5 * (yi + y[ins - 1]) * (x_max - x[ins - 1])
    m = x <= x_max
    x, y = x[m], y[m]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + corr)


def pro_curve(maps, masks, fpr_dtype):
    """Official curve, for a list of maps of any sizes (regions labelled per image)."""
    fp_ch, pro_ch, scores = [], [], []
    n_ok = n_reg = 0
    for a, g in zip(maps, masks):
        lab, nc = nd_label(g != 0, np.ones((3, 3), int))
        n_reg += nc
        ok = lab == 0
        n_ok += int(ok.sum())
        pc = np.zeros(lab.shape, np.float64)
        for k in range(1, nc + 1):
            rm = lab == k
            pc[rm] = 1.0 / rm.sum()
        fp_ch.append(ok.ravel().astype(np.uint64))
        pro_ch.append(pc.ravel())
        scores.append(a.ravel())
    s = np.concatenate(scores)
    fp = np.concatenate(fp_ch)
    pc = np.concatenate(pro_ch)
    idx = np.argsort(s, kind="stable")[::-1]
    s, fp, pc = s[idx], fp[idx], pc[idx]
    fpr = np.cumsum(fp).astype(fpr_dtype) / fpr_dtype(n_ok) if n_ok else np.full(len(s), np.nan)
    pro = np.cumsum(pc) / n_reg if n_reg else np.full(len(s), np.nan)
    keep = np.append(np.diff(s) != 0, True)
    fpr, pro = np.clip(fpr[keep], None, 1.0), np.clip(pro[keep], None, 1.0)
    return np.concatenate(([0.0], fpr, [1.0])), np.concatenate(([0.0], pro, [1.0])), n_reg, n_ok


def aupro(maps, masks, limit, fpr_dtype=np.float64):
    x, y, n_reg, n_ok = pro_curve(maps, masks, fpr_dtype)
    if n_reg == 0 or n_ok == 0:
        return float("nan")
    return trapezoid(x, y, limit) / limit


# ---------------------------------------------------------------- MuSc cal_pro_score (spec B5.3)
def musc_pro(maps, masks, limit, max_step=200):
    amaps = [np.asarray(a, np.float64) for a in maps]
    lo = min(a.min() for a in amaps)
    hi = max(a.max() for a in amaps)
    delta = (hi - lo) / max_step
    if not delta > 0:
        return float("nan"), 0
    ths = np.arange(lo, hi, delta)
    n_neg = sum(int((g == 0).sum()) for g in masks)
    regions = [measure.regionprops(measure.label(g != 0)) for g in masks]
    if n_neg == 0 or sum(len(r) for r in regions) == 0:
        return float("nan"), len(ths)
    pros, fprs = [], []
    for th in ths:
        pro, fp = [], 0
        for a, g, regs in zip(amaps, masks, regions):
            b = a > th
            for reg in regs:
                tp = b[reg.coords[:, 0], reg.coords[:, 1]].sum()
                pro.append(tp / reg.area)
            fp += int(np.logical_and(g == 0, b).sum())
        pros.append(np.array(pro).mean())
        fprs.append(fp / n_neg)
    pros, fprs = np.array(pros), np.array(fprs)
    keep = fprs < limit
    fprs, pros = fprs[keep], pros[keep]
    if len(fprs) < 2 or not fprs.max() > fprs.min():
        return float("nan"), len(ths)
    fprs = (fprs - fprs.min()) / (fprs.max() - fprs.min())
    dx = np.diff(fprs)  # sklearn.metrics.auc: direction from the monotonic x
    direction = -1 if np.any(dx < 0) else 1
    return float(direction * np.trapz(pros, fprs)), len(ths)


# ---------------------------------------------------------------- cases
def n_regions(masks):
    return sum(nd_label(g != 0, np.ones((3, 3), int))[1] for g in masks)


def expected(labels, scores, maps, masks):
    e = {}
    for k, v in binary(labels, scores).items():
        e["image_" + k] = v
    y = np.concatenate([(g != 0).ravel() for g in masks])
    s = np.concatenate([a.ravel() for a in maps])
    for k, v in binary(y, s).items():
        e["pixel_" + k] = v
    for L in LIMITS:
        e[f"pixel_aupro@{L}"] = aupro(maps, masks, L)
        e[f"pixel_aupro_f32@{L}"] = aupro(maps, masks, L, np.float32)
        e[f"pixel_aupro_musc@{L}"], nth = musc_pro(maps, masks, L)
    e["musc_thresholds"] = nth
    e["n_regions"] = n_regions(masks)
    return e


def write_case(name, labels, scores, maps, masks, mixed=False):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    np.save(f"{d}/labels.npy", labels)
    np.save(f"{d}/scores.npy", scores)
    if mixed:
        np.save(f"{d}/maps_flat.npy", np.concatenate([a.ravel() for a in maps]))
        np.save(f"{d}/masks_flat.npy", np.concatenate([g.ravel() for g in masks]))
        np.save(f"{d}/shapes.npy", np.array([a.shape for a in maps], np.int64))
    else:
        np.save(f"{d}/maps.npy", np.stack(maps))
        np.save(f"{d}/masks.npy", np.stack(masks))
    e = expected(labels, scores, list(maps), list(masks))
    with open(f"{d}/expected.txt", "w") as f:
        for k, v in e.items():
            f.write(f"{k} {float(v)!r}\n")
    print(name, {k: e[k] for k in ("image_auroc", "pixel_auroc", "pixel_aupro@0.3", "pixel_aupro_musc@0.3", "n_regions")})


def blobs(rng, h, w, n, val=1):
    g = np.zeros((h, w), np.uint8)
    for _ in range(n):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(1, max(2, h // 4)), rng.integers(1, max(2, w // 4))
        yy, xx = np.ogrid[:h, :w]
        g[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = val
    return g


def smooth_map(rng, g, dtype=np.float32, bump=1.0):
    h, w = g.shape
    a = rng.normal(0, 1, (h, w)) + bump * (g != 0) + 0.3 * np.sin(np.arange(w) / 3.0)[None, :]
    return a.astype(dtype)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    rng = np.random.default_rng(1)
    # random: 8 images 24x32, 5 defective; labels bool, scores float32 with a few ties
    masks = [blobs(rng, 24, 32, int(rng.integers(1, 4)), 255) if i % 3 else np.zeros((24, 32), np.uint8) for i in range(8)]
    maps = [smooth_map(rng, g) for g in masks]
    labels = np.array([g.any() for g in masks])
    scores = np.array([a.max() for a in maps], np.float32)
    scores[1] = scores[2]
    write_case("random", labels, scores, maps, masks)

    # heavy ties: 7 levels per pixel, 3 levels per image; bool masks, int64 labels, f64 scores
    rng = np.random.default_rng(2)
    masks = [blobs(rng, 20, 20, 2).astype(bool) if i % 2 else np.zeros((20, 20), bool) for i in range(6)]
    maps = [(np.round(np.clip(rng.random((20, 20)) + 0.4 * g, 0, 1) * 6) / 6).astype(np.float32) for g in masks]
    labels = np.array([1, 0, 1, 1, 0, 1], np.int64)
    scores = np.array([0.5, 0.5, 1.0, 0.0, 0.0, 1.0], np.float64)
    write_case("heavy_ties", labels, scores, maps, masks)

    # a single region in one image; mask values are class ids (3), int32 labels
    rng = np.random.default_rng(3)
    masks = [np.zeros((16, 16), np.uint8) for _ in range(5)]
    masks[2][4:9, 5:12] = 3
    maps = [smooth_map(rng, g, bump=1.5) for g in masks]
    labels = np.array([0, 0, 1, 0, 0], np.int32)
    scores = np.array([a.max() for a in maps], np.float32)
    write_case("single_region", labels, scores, maps, masks)

    # regions touching only diagonally: one 8-connected region each (4-connectivity: 7)
    rng = np.random.default_rng(4)
    g0 = np.zeros((12, 12), np.uint8)
    for k in range(4):
        g0[1 + k, 1 + k] = 1  # diagonal chain
    g0[8, 2] = g0[9, 3] = g0[10, 2] = 1  # a zig-zag
    g1 = np.zeros((12, 12), np.uint8)
    g1[2:4, 2:4] = 1
    g1[4:7, 4:7] = 1  # two squares joined at one corner
    masks = [g0, g1, np.zeros((12, 12), np.uint8)]
    maps = [smooth_map(rng, g) for g in masks]
    labels = np.array([1, 1, 0], np.uint8)
    scores = np.array([a.max() for a in maps], np.float32)
    write_case("diagonal", labels, scores, maps, masks)

    # one image (image AUROC undefined)
    rng = np.random.default_rng(5)
    masks = [blobs(rng, 32, 32, 2, 255)]
    maps = [smooth_map(rng, masks[0])]
    write_case("one_image", np.array([1], np.uint8), np.array([maps[0].max()], np.float32), maps, masks)

    # all-equal scores everywhere
    rng = np.random.default_rng(6)
    masks = [blobs(rng, 10, 10, 1, 255) if i % 2 else np.zeros((10, 10), np.uint8) for i in range(4)]
    maps = [np.full((10, 10), 0.5, np.float32) for _ in masks]
    labels = np.array([0, 1, 0, 1], np.uint8)
    write_case("all_equal", labels, np.full(4, 0.5, np.float32), maps, masks)

    # float64 maps whose values tie in float32 but not in float64
    rng = np.random.default_rng(7)
    masks = [blobs(rng, 16, 16, 2, 255) if i % 2 else np.zeros((16, 16), np.uint8) for i in range(4)]
    maps = [(np.round(rng.random((16, 16)) * 4 + 1.5 * (g != 0)) / 4 + rng.integers(0, 3, (16, 16)) * 1e-12).astype(np.float64) for g in masks]
    labels = np.array([0, 1, 0, 1], np.uint8)
    scores = np.array([a.max() for a in maps], np.float64)
    write_case("float64", labels, scores, maps, masks)

    # many equal-size images with many small regions; mild ties (scores rounded to 1e-3)
    rng = np.random.default_rng(8)
    masks = [blobs(rng, 16, 16, int(rng.integers(1, 5)), 255) if i % 4 else np.zeros((16, 16), np.uint8) for i in range(20)]
    maps = [np.round(smooth_map(rng, g, np.float64, 0.8), 3).astype(np.float32) for g in masks]
    labels = np.array([g.any() for g in masks])
    scores = np.array([a.max() for a in maps], np.float32)
    write_case("multi", labels, scores, maps, masks)

    # a case where np.arange yields 201 MuSc thresholds
    for seed in range(100, 10000):
        rng = np.random.default_rng(seed)
        masks = [blobs(rng, 12, 12, 2, 255) if i % 2 else np.zeros((12, 12), np.uint8) for i in range(4)]
        maps = [smooth_map(rng, g) for g in masks]
        lo = min(float(a.min()) for a in maps)
        hi = max(float(a.max()) for a in maps)
        if len(np.arange(lo, hi, (hi - lo) / 200)) == 201:
            break
    labels = np.array([g.any() for g in masks])
    write_case("musc201", labels, np.array([a.max() for a in maps], np.float32), maps, masks)

    # mixed sizes (C API only: stored flat with a shapes table)
    rng = np.random.default_rng(9)
    shapes = [(10, 12), (16, 8), (7, 7), (20, 5), (9, 14)]
    masks = [blobs(rng, h, w, 2, 255) if i != 2 else np.zeros((h, w), np.uint8) for i, (h, w) in enumerate(shapes)]
    maps = [smooth_map(rng, g) for g in masks]
    labels = np.array([g.any() for g in masks])
    write_case("mixed_sizes", labels, np.array([a.max() for a in maps], np.float32), maps, masks, mixed=True)


if __name__ == "__main__":
    main()
