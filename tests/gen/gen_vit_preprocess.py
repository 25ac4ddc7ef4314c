#!/usr/bin/python3
"""Goldens for the reference input pipelines (backbones/preprocess.c; tests "vit/preprocess_*").

Pipelines, as the reference code runs them (algorithms.md §1.1):
  musc_clip:    PIL open + convert("RGB"), resize((S, S), BICUBIC), ToTensor, CLIP mean/std
  musc_dino:    PIL open + convert("RGB"), resize((S, S), BILINEAR), ToTensor, ImageNet mean/std
  anomalydino:  RGB array (cv2.imread + BGR2RGB in the reference; identical pixels for these
                8-bit PNGs) -> PIL.Image.fromarray -> torchvision Resize(S, BICUBIC,
                antialias=True) = PIL resize of the shorter side to S, the longer to
                int(S * long / short); ToTensor; ImageNet mean/std; crop bottom/right to a
                multiple of 14.
torchvision is not installed here: ToTensor / Normalize are written out in float32 torch ops in
the order torchvision uses ((x / 255 - mean) / std), and Resize on a PIL image is PIL's resize.
Inputs: the real MVTec AD screw images ../shared/data/mvtec_ad/screw (read-only, not copied);
"crop" variants take rows 100..799, cols 50..999 of the decoded image (700 x 950, non-square).
Stored per case: per-channel row sums and column sums (float64) and a 32x32 window per channel.
"""
import os

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "golden", "vit_preprocess")
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data", "mvtec_ad", "screw")
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
IMNET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
IMAGES = {"good000": "train/good/000.png", "scratch000": "test/scratch_head/000.png"}
CROP = (100, 800, 50, 1000)  # rows r0:r1, cols c0:c1 -> 700 x 950


def to_tensor_normalize(pil, stats):
    t = torch.from_numpy(np.array(pil, dtype=np.uint8)).permute(2, 0, 1).contiguous().float().div(255)
    mean = torch.tensor(stats[0], dtype=torch.float32)[:, None, None]
    std = torch.tensor(stats[1], dtype=torch.float32)[:, None, None]
    return (t - mean) / std


def pipeline(rgb, kind, size):
    pil = Image.fromarray(rgb)
    if kind == "musc_clip":
        return to_tensor_normalize(pil.resize((size, size), Image.BICUBIC), CLIP)
    if kind == "musc_dino":
        return to_tensor_normalize(pil.resize((size, size), Image.BILINEAR), IMNET)
    w, h = pil.size
    short, long_ = (w, h) if w <= h else (h, w)
    nl = int(size * long_ / short)
    ow, oh = (size, nl) if w <= h else (nl, size)
    t = to_tensor_normalize(pil.resize((ow, oh), Image.BICUBIC), IMNET)
    H, W = t.shape[1:]
    return t[:, :H - H % 14, :W - W % 14]


CASES = [  # (name, image, crop?, pipeline, size)
    ("good000_musc_clip_224", "good000", False, "musc_clip", 224),
    ("scratch000_musc_clip_518", "scratch000", False, "musc_clip", 518),
    ("good000_musc_dino_224", "good000", False, "musc_dino", 224),
    ("scratch000_crop_musc_dino_518", "scratch000", True, "musc_dino", 518),
    ("good000_anomalydino_448", "good000", False, "anomalydino", 448),
    ("scratch000_crop_anomalydino_448", "scratch000", True, "anomalydino", 448),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, img, crop, kind, size in CASES:
        rgb = np.array(Image.open(os.path.join(DATA, IMAGES[img])).convert("RGB"))
        if crop:
            rgb = np.ascontiguousarray(rgb[CROP[0]:CROP[1], CROP[2]:CROP[3]])
        t = pipeline(rgb, kind, size).numpy().astype(np.float64)
        np.save(os.path.join(OUT, name + "_rows.npy"), t.sum(axis=2))   # (3, H)
        np.save(os.path.join(OUT, name + "_cols.npy"), t.sum(axis=1))   # (3, W)
        y0, x0 = t.shape[1] // 3, t.shape[2] // 2 - 32
        np.save(os.path.join(OUT, name + "_win.npy"), t[:, y0:y0 + 32, x0:x0 + 32].astype(np.float32))
        print(name, t.shape)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{total / 1e3:.0f} kB in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
