#!/usr/bin/python3
"""torchvision CPU baseline for `adbench bench resnet`, measured in the same run (the machine is
shared, so only ratios measured together mean anything).

    /usr/bin/python3 tests/gen/bench_torch_resnet.py [--adbench build/adbench] [--threads N]
        [--batch 1,8] [--reps R] [--stages 3] [--model resnet18|wide_resnet50_2|all]

For each model and batch it times torchvision's own model (weights=None, eval mode, BatchNorm
as torchvision runs it) truncated after layer`stages` (conv1, bn1, relu, maxpool, layer1..),
under torch.inference_mode and torch.set_num_threads(N), best of R after a warm-up; then runs
`adbench bench resnet` with OMP_NUM_THREADS=N on the same shapes and prints adbench / torch.
It also prints which backends torch uses for convolutions (oneDNN/mkldnn) and its BLAS.
"""
import argparse
import os
import re
import subprocess
import time

import torch
import torch.nn as nn
import torchvision


def trunk(arch, stages):
    m = getattr(torchvision.models, arch)(weights=None).eval()
    mods = [m.conv1, m.bn1, m.relu, m.maxpool] + [getattr(m, "layer%d" % s) for s in range(1, stages + 1)]
    return nn.Sequential(*mods).eval()


def time_torch(arch, batch, reps, stages):
    m = trunk(arch, stages)
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        m(x)
        best = 1e30
        for _ in range(reps):
            t0 = time.perf_counter()
            m(x)
            best = min(best, time.perf_counter() - t0)
    return best / batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adbench", default=os.environ.get("ADBENCH", "build/adbench"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--model", default="all")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    cfg = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", cfg)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {a.threads} threads, best of {a.reps}, "
          f"stages 1..{a.stages}; mkldnn (oneDNN) convolutions: {torch.backends.mkldnn.is_available()}, "
          f"BLAS: {blas.group(1) if blas else '?'}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    for arch in ("resnet18", "wide_resnet50_2"):
        if a.model not in (arch, "all"):
            continue
        out = subprocess.run([a.adbench, "bench", "resnet", "--model", arch, "--batch", a.batch, "--reps", str(a.reps),
                              "--stages", str(a.stages)], env=env, check=True, capture_output=True, text=True).stdout
        print(out.strip())
        for b in a.batch.split(","):
            tt = time_torch(arch, int(b), a.reps, a.stages)
            line = re.search(r"model=%s .*batch=%s .*" % (arch, b), out).group(0)
            tc = float(re.search(r"per_image_s=([0-9.]+)", line).group(1))
            pct = re.search(r"pct_of_sgemm_peak=([0-9.]+)", line).group(1)
            print(f"RESULT {arch} batch {b}: adbench {tc * 1e3:.1f} ms/image, torchvision {tt * 1e3:.1f} ms/image, "
                  f"ratio adbench/torchvision = {tc / tt:.2f}x, adbench at {pct}% of OpenBLAS sgemm peak "
                  f"(FLOPs of direct convolution; Winograd does fewer multiplications)")


if __name__ == "__main__":
    main()
