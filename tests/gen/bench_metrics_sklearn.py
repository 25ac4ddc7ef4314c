#!/usr/bin/python3
"""Pixel-metric speed vs sklearn, measured in one run on the same sample.

Writes a ~1e7-pixel sample (default 37 maps of 518x518: MuSc-like bilinear maps, 27% normal
images, 1-3 elliptic defects) to a temporary folder, then times
  * sklearn roc_auc_score + average_precision_score on the flattened pixels, and
  * `adbench metrics` on the same .npy files (whole process: start-up, loading, image metrics
    and all five pixel metrics: AUROC, AP, F1-max, AU-PRO, MuSc-PRO),
and prints the ratios (wall time and CPU time, since the machine may be shared) plus the
differences of AUROC and AP.
Usage: /usr/bin/python3 tests/gen/bench_metrics_sklearn.py [ADBENCH] [N_MAPS] [SIZE]
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def sample(n, s, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, s, s), np.uint8)
    maps = np.empty((n, s, s), np.float32)
    yy, xx = np.mgrid[:s, :s]
    g = 37
    lin = np.linspace(0, g - 1, s)  # align_corners=True
    i0 = np.floor(lin).astype(int)
    i1 = np.minimum(i0 + 1, g - 1)
    w = lin - i0
    for k in range(n):
        if rng.random() >= 467 / 1725:
            for _ in range(rng.integers(1, 4)):
                cy, cx = rng.random(2) * s
                ry, rx = 3 + rng.random(2) * s / 8
                masks[k][((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 255
        grid = 0.2 + 0.1 * rng.random((g, g))
        cen = ((np.arange(g) + 0.5) * s / g).astype(int)
        grid += (masks[k][np.ix_(cen, cen)] > 0) * (0.3 + 0.3 * rng.random((g, g)))
        rows = grid[i0] * (1 - w)[:, None] + grid[i1] * w[:, None]
        m = rows[:, i0] * (1 - w)[None, :] + rows[:, i1] * w[None, :]
        maps[k] = (m + 0.05 * (masks[k] > 0)).astype(np.float32)
    labels = masks.reshape(n, -1).any(1)
    scores = maps.reshape(n, -1).max(1)
    return labels, scores, masks, maps


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    adbench = sys.argv[1] if len(sys.argv) > 1 else "build/adbench"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 37
    s = int(sys.argv[3]) if len(sys.argv) > 3 else 518
    labels, scores, masks, maps = sample(n, s)
    y, a = masks.ravel() > 0, maps.ravel()
    print(f"sample: {n} maps of {s}x{s} = {y.size:.3g} pixels, {100 * y.mean():.2f}% anomalous")
    with tempfile.TemporaryDirectory() as d:
        for name, arr in (("L", labels), ("S", scores), ("M", masks), ("A", maps)):
            np.save(f"{d}/{name}.npy", arr)
        c0, t0 = time.process_time(), time.perf_counter()
        auroc = roc_auc_score(y, a)
        ap = average_precision_score(y, a)
        t_sk, c_sk = time.perf_counter() - t0, time.process_time() - c0
        c0, t0 = children_cpu(), time.perf_counter()
        out = subprocess.run([adbench, "metrics", "--labels", f"{d}/L.npy", "--scores", f"{d}/S.npy",
                              "--masks", f"{d}/M.npy", "--maps", f"{d}/A.npy"],
                             check=True, capture_output=True, text=True).stdout
        t_c, c_c = time.perf_counter() - t0, children_cpu() - c0
    hdr, row = out.strip().split("\n")
    vals = dict(zip(hdr.split(","), map(float, row.split(","))))
    print(f"sklearn roc_auc_score + average_precision_score: {t_sk:.2f} s wall, {c_sk:.2f} s CPU")
    print(f"adbench metrics (load + image + 5 pixel metrics): {t_c:.2f} s wall, {c_c:.2f} s CPU")
    print(f"ratio sklearn / adbench: {t_sk / t_c:.1f}x wall, {c_sk / c_c:.1f}x CPU")
    print(f"|pixel_auroc diff| {abs(vals['pixel_auroc'] - auroc):.2g}, |pixel_ap diff| {abs(vals['pixel_ap'] - ap):.2g}")
    print(f"adbench: {out.strip()}")


if __name__ == "__main__":
    main()
