#!/usr/bin/python3
"""A random-weight DINOv2 ViT-L/14 (official facebookresearch names, real shapes: width 1024,
24 blocks, 16 heads, MLP 4096, patch 14, pretraining grid 37x37) as .safetensors, for timing the
whole pipeline (`adbench run`) without the real weights, which cannot be downloaded here.

    /usr/bin/python3 tests/gen/make_random_vit.py OUT.safetensors [--blocks 24]

Weights are N(0, 0.02), biases 0, LayerNorm gains 1, LayerScale gains 0.1 (activations stay
finite through 24 blocks); features are meaningless, shapes and FLOPs are the real ones.
"""
import json
import sys

import numpy as np


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    L = int(sys.argv[sys.argv.index("--blocks") + 1]) if "--blocks" in sys.argv else 24
    D, H, P, G = 1024, 4096, 14, 37
    shapes = {"patch_embed.proj.weight": (D, 3, P, P), "patch_embed.proj.bias": (D,), "cls_token": (1, 1, D),
              "pos_embed": (1, 1 + G * G, D), "mask_token": (1, D), "norm.weight": (D,), "norm.bias": (D,)}
    for i in range(L):
        b = "blocks.%d." % i
        shapes.update({b + "norm1.weight": (D,), b + "norm1.bias": (D,), b + "attn.qkv.weight": (3 * D, D),
                       b + "attn.qkv.bias": (3 * D,), b + "attn.proj.weight": (D, D), b + "attn.proj.bias": (D,),
                       b + "ls1.gamma": (D,), b + "norm2.weight": (D,), b + "norm2.bias": (D,),
                       b + "mlp.fc1.weight": (H, D), b + "mlp.fc1.bias": (H,), b + "mlp.fc2.weight": (D, H),
                       b + "mlp.fc2.bias": (D,), b + "ls2.gamma": (D,)})
    rng = np.random.default_rng(0)
    header, off, names = {}, 0, sorted(shapes)
    for n in names:
        size = int(np.prod(shapes[n])) * 4
        header[n] = {"dtype": "F32", "shape": list(shapes[n]), "data_offsets": [off, off + size]}
        off += size
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(out, "wb") as f:
        f.write(len(hj).to_bytes(8, "little"))
        f.write(hj)
        for n in names:
            s = shapes[n]
            if n.endswith(("norm1.weight", "norm2.weight")) or n == "norm.weight":
                a = np.ones(s, np.float32)
            elif n.endswith(".gamma"):
                a = np.full(s, 0.1, np.float32)
            elif n.endswith(".bias"):
                a = np.zeros(s, np.float32)
            else:
                a = (rng.standard_normal(s, dtype=np.float32) * 0.02).astype(np.float32)
            f.write(a.tobytes())


if __name__ == "__main__":
    main()
