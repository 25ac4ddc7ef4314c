#!/usr/bin/env python3
"""Convert PyTorch checkpoints of CLIP / DINOv2 vision towers and torchvision ResNets to
.safetensors for adbench.

    python3 scripts/convert_weights.py IN OUT.safetensors [--dtype f32|f16|bf16] [--vision-only]

IN may be
  * an OpenAI CLIP TorchScript archive (ViT-L-14-336px.pt from openaipublic): loaded with
    torch.jit.load, as clip.load does; names "visual.*" are kept as they are;
  * a pickled state dict (.pth / .bin / .pt): official DINOv2 (dinov2_vitl14_pretrain.pth,
    names "blocks.N." or, from block_chunks > 0 training, "blocks.C.N." which is flattened),
    OpenCLIP / OpenAI ("visual.*"), Hugging Face CLIPModel / CLIPVisionModel / Dinov2Model
    (pytorch_model.bin), torchvision ResNet / WideResNet files (resnet18-f37072fd.pth,
    wide_resnet50_2-95faca4d.pth: names kept, BatchNorm tensors kept and folded by adbench at
    load time, the int64 num_batches_tracked entries dropped); wrappers {"state_dict": ...}, {"model": ...}, {"teacher": ...} and the
    prefixes "module.", "backbone." are removed.
Names are otherwise kept: adbench reads all four naming schemes (backbones/clip.c, dinov2.c).
Non-float entries (OpenAI's input_resolution / context_length / vocab_size, HF position_ids)
are dropped. --vision-only drops the CLIP text tower. Needs only torch.
The safetensors file is written here directly (8-byte little-endian header length, JSON
header padded to 8 bytes, tensors back to back), so the `safetensors` package is not needed.
"""
import argparse
import json
import os
import re
import sys

import torch


def load(path):
    try:  # OpenAI publishes TorchScript archives; clip.load opens them with torch.jit.load
        return torch.jit.load(path, map_location="cpu").state_dict()
    except Exception:
        pass
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for key in ("state_dict", "model", "teacher", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        sys.exit(f"{path}: expected a state dict or a TorchScript model, found {type(obj).__name__}")
    return obj


def normalise(sd):
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v) or not v.is_floating_point():
            continue
        for p in ("module.", "backbone."):
            if k.startswith(p):
                k = k[len(p):]
        k = re.sub(r"^blocks\.\d+\.(\d+)\.", r"blocks.\1.", k)  # DINOv2 block chunks
        if k in out:
            sys.exit(f"two tensors map to the name '{k}'")
        out[k] = v
    return out


def vision_only(sd):
    vis = ("visual.", "vision_model.", "visual_projection.")
    if any(k.startswith(vis) for k in sd):
        return {k: v for k, v in sd.items() if k.startswith(vis)}
    return sd


def write_safetensors(path, sd, dtype):
    tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    name = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
    meta, blobs, off = {"__metadata__": {"format": "pt", "converted_by": "adbench convert_weights.py"}}, [], 0
    for k in sorted(sd):
        t = sd[k].detach().to(tdt).contiguous()
        raw = (t.view(torch.int16) if tdt == torch.bfloat16 else t).numpy().tobytes()
        meta[k] = {"dtype": name, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    js = json.dumps(meta, separators=(",", ":")).encode()
    js += b" " * ((8 - (8 + len(js)) % 8) % 8)  # data starts 8-byte aligned: F32 mapped in place
    with open(path + ".tmp", "wb") as f:
        f.write(len(js).to_bytes(8, "little"))
        f.write(js)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    ap.add_argument("--vision-only", action="store_true", help="keep only the CLIP vision tower")
    a = ap.parse_args()
    sd = normalise(load(a.input))
    if a.vision_only:
        sd = vision_only(sd)
    if not sd:
        sys.exit(f"{a.input}: no floating-point tensors found")
    write_safetensors(a.output, sd, a.dtype)
    print(f"{a.output}: {len(sd)} tensors, {sum(v.numel() for v in sd.values()) / 1e6:.1f} M parameters, {a.dtype}")


if __name__ == "__main__":
    main()
