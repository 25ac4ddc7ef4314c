#!/usr/bin/python3
"""PyTorch CPU baseline for `adbench bench vit`, measured in the same run (the machine is shared,
so only ratios measured together mean anything).

    /usr/bin/python3 tests/gen/bench_torch_vit.py [--adbench build/adbench] [--threads N]
        [--batch B] [--reps R] [--blocks L] [--model clip|dinov2|all]

For each model it times a plain-torch forward with random weights of the real shapes
(CLIP ViT-L/14 @336: open_clip-style blocks with nn.MultiheadAttention and QuickGELU;
DINOv2 ViT-L/14 @518: DINOv2-style attention (q*scale @ k^T, softmax, @ v), LayerScale, GELU),
torch.inference_mode, torch.set_num_threads(N); then runs `adbench bench vit` with
OMP_NUM_THREADS=N on the same shapes and prints the ratio adbench / PyTorch per image.
"""
import argparse
import os
import re
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ClipBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, d // 64)
        self.c_fc, self.c_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):  # x: (T, B, D), as open_clip
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        h = self.c_fc(self.ln_2(x))
        return x + self.c_proj(h * torch.sigmoid(1.702 * h))


class DinoBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.ls1, self.ls2 = nn.Parameter(torch.ones(d) * 0.5), nn.Parameter(torch.ones(d) * 0.5)
        self.h = d // 64

    def forward(self, x):  # (B, N, D)
        B, N, C = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (C // self.h) ** -0.5, qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = x + self.ls1 * self.proj((a @ v).transpose(1, 2).reshape(B, N, C))
        return x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, dinov2, blocks, d=1024):
        super().__init__()
        self.dinov2 = dinov2
        g = 37 if dinov2 else 24
        self.conv = nn.Conv2d(3, d, 14, 14, bias=dinov2)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, g * g + 1, d) * 0.02)
        self.ln_pre = nn.LayerNorm(d)
        self.blocks = nn.ModuleList([(DinoBlock if dinov2 else ClipBlock)(d) for _ in range(blocks)])

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        if self.dinov2:
            for b in self.blocks:
                x = b(x)
            return x
        x = self.ln_pre(x).transpose(0, 1)
        for b in self.blocks:
            x = b(x)
        return x.transpose(0, 1)


def time_torch(dinov2, batch, reps, blocks):
    m = ViT(dinov2, blocks).eval()
    s = 518 if dinov2 else 336
    x = torch.randn(batch, 3, s, s)
    with torch.inference_mode():
        m(x)  # warm-up
        best, cbest = 1e30, 1e30
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            m(x)
            best = min(best, time.perf_counter() - t0)
            cbest = min(cbest, time.process_time() - c0)
    return best / batch, cbest / batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adbench", default=os.environ.get("ADBENCH", "build/adbench"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=24)
    ap.add_argument("--model", default="all")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    # Debian's torch does its fp32 GEMMs through libblas.so.3 = the same OpenBLAS, so the
    # OPENBLAS_CORETYPE in the environment applies to both; adbench keeps it (blas guard).
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    blas = blas.group(1) if blas else "?"
    print(f"torch {torch.__version__}, {a.threads} threads, batch {a.batch}, best of {a.reps}, {a.blocks} blocks")
    for name, dinov2 in (("clip", False), ("dinov2", True)):
        if a.model not in (name, "all"):
            continue
        tt, tcpu = time_torch(dinov2, a.batch, a.reps, a.blocks)
        out = subprocess.run([a.adbench, "bench", "vit", "--model", name, "--batch", str(a.batch), "--reps", str(a.reps),
                              "--blocks", str(a.blocks)], env=env, check=True, capture_output=True, text=True).stdout
        print(out.strip())
        tc = float(re.search(r"per_image_s=([0-9.]+)", out).group(1))
        pct = re.search(r" pct_of_sgemm_peak=([0-9.]+)", out).group(1)
        ccpu = float(re.search(r"per_image_cpu_s=([0-9.]+)", out).group(1))
        cpct = re.search(r"cpu_pct_of_sgemm_peak=([0-9.]+)", out).group(1)
        kernel = re.search(r"kernel=(\S+)", out).group(1)
        print(f"RESULT {name} (OpenBLAS kernel {kernel} for both; torch BLAS: {blas}): adbench {tc:.3f} s/image, "
              f"PyTorch {tt:.3f} s/image, ratio adbench/PyTorch = {tc / tt:.2f}x (wall), {ccpu / tcpu:.2f}x (CPU time: "
              f"{ccpu:.3f} vs {tcpu:.3f} s/image); adbench at {pct}% of the OpenBLAS sgemm peak (wall), {cpct}% (CPU time)")


if __name__ == "__main__":
    main()
