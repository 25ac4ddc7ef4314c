#!/usr/bin/python3
"""Golden files for tests/test_vit.c (suite "vit"): tiny random-weight CLIP and DINOv2 models in
every naming scheme adbench reads, and their per-block outputs computed by a plain-torch
reference written from the upstream semantics (open_clip / OpenAI CLIP, HF CLIPVisionModel,
facebookresearch/dinov2, HF Dinov2Model / Dinov2WithRegistersModel). Run with torch 1.13:

    /usr/bin/python3 tests/gen/gen_vit.py

Size trick (goldens stay < 1 MB): all tensors of all models are byte ranges of ONE shared random
blob (blob_f32.bin, and its F16 / BF16 roundings). Each model is committed as its safetensors
header only (<name>.hdr = 8-byte length + JSON, data_offsets into the blob); the C test writes
hdr + blob to a temporary .safetensors file. Tensors of one model may overlap in the blob; the
reader does not care, and the reference below reads exactly the same bytes.

Model: width 128 (2 heads of 64), 3 blocks, MLP hidden 64 (SwiGLU hidden 32), patch 7,
pretraining grid 4x4 (28 px). Inputs: native 28x28, "down" 21x35 (grid 3x5), "up" 42x49 (6x7).
Outputs per case: after blocks 1 and 3 (raw), after block 2 with the final norm, the image
embedding. The converter test (scripts/convert_weights.py) saves a tiny .pth (DINOv2, chunked
block names) and a tiny TorchScript .pt (OpenAI CLIP layout), converts both, and commits the
converted files with their outputs.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "vit")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
D, L, HID, P, M = 128, 3, 64, 7, 4
HEADS = D // 64
torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(1234)

# --- the shared blob: three regions with the statistics of three kinds of tensors ------------
NW, NB, NG = 49152 + 2048, 4096, 1024
blob = np.concatenate([
    rng.standard_normal(NW) * 0.06,        # W: linear / conv weights
    rng.standard_normal(NB) * 0.3,         # B: biases, embeddings, tokens
    1.0 + 0.2 * rng.standard_normal(NG),   # G: LayerNorm weights, LayerScale gammas
]).astype("<f4")
REGION = {"W": (0, NW), "B": (NW, NB), "G": (NW + NB, NG)}
blob_f16 = blob.astype("<f2")
blob_bf16 = torch.from_numpy(blob.copy()).to(torch.bfloat16)
BLOBS = {
    "F32": (blob.tobytes(), 4, torch.from_numpy(blob.copy())),
    "F16": (blob_f16.tobytes(), 2, torch.from_numpy(blob_f16.astype(np.float32))),
    "BF16": (blob_bf16.view(torch.int16).numpy().astype("<i2").tobytes(), 2, blob_bf16.float()),
}


def header(specs, dtype, pad=True):
    """specs: list of (name, kind, shape[, dtype]) -> (hdr bytes, {name: tensor}). Each tensor
    takes a random range of its kind's region of the blob."""
    _, es, vals = BLOBS[dtype]
    meta, tensors = {"__metadata__": {"format": "pt"}}, {}
    for spec in specs:
        name, kind, shape = spec[:3]
        dt = spec[3] if len(spec) > 3 else dtype
        n = int(np.prod(shape)) if shape else 1
        if dt == "I64":  # a buffer (HF position_ids): any bytes, never used as a weight
            nbytes = 8 * n
            start = 0
        else:
            lo, ln = REGION[kind]
            assert n <= ln, (name, n, ln)
            start = lo + int(rng.integers(0, ln - n + 1))
            nbytes = n * es
            tensors[name] = vals[start:start + n].reshape(shape).clone()
        meta[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [start * es, start * es + nbytes]}
    js = json.dumps(meta, separators=(",", ":")).encode()
    if pad:
        js += b" " * ((8 - (8 + len(js)) % 8) % 8)
    else:  # make the data section start at an odd address: the F32 path must copy, not alias
        if (8 + len(js)) % 4 == 0:
            js += b" "
    return len(js).to_bytes(8, "little") + js, tensors


# --- naming schemes ------------------------------------------------------------------------
def clip_openai_specs(pre, text=False):
    s = [(pre + "conv1.weight", "W", (D, 3, P, P)), (pre + "class_embedding", "B", (D,)),
         (pre + "positional_embedding", "B", (M * M + 1, D)), (pre + "ln_pre.weight", "G", (D,)),
         (pre + "ln_pre.bias", "B", (D,))]
    for l in range(L):
        b = f"{pre}transformer.resblocks.{l}."
        s += [(b + "ln_1.weight", "G", (D,)), (b + "ln_1.bias", "B", (D,)),
              (b + "attn.in_proj_weight", "W", (3 * D, D)), (b + "attn.in_proj_bias", "B", (3 * D,)),
              (b + "attn.out_proj.weight", "W", (D, D)), (b + "attn.out_proj.bias", "B", (D,)),
              (b + "ln_2.weight", "G", (D,)), (b + "ln_2.bias", "B", (D,)),
              (b + "mlp.c_fc.weight", "W", (HID, D)), (b + "mlp.c_fc.bias", "B", (HID,)),
              (b + "mlp.c_proj.weight", "W", (D, HID)), (b + "mlp.c_proj.bias", "B", (D,))]
    s += [(pre + "ln_post.weight", "G", (D,)), (pre + "ln_post.bias", "B", (D,)), (pre + "proj", "W", (D, 48))]
    if text:  # a full OpenAI CLIP state dict also holds the text tower, outside "visual."
        s += [("positional_embedding", "B", (8, 64)), ("token_embedding.weight", "B", (10, 64)),
              ("transformer.resblocks.0.ln_1.weight", "G", (64,)), ("ln_final.weight", "G", (64,)),
              ("text_projection", "W", (64, 48)), ("logit_scale", "B", ())]
    return s


def clip_hf_specs():
    pre = "vision_model."
    s = [(pre + "embeddings.patch_embedding.weight", "W", (D, 3, P, P)), (pre + "embeddings.class_embedding", "B", (D,)),
         (pre + "embeddings.position_embedding.weight", "B", (M * M + 1, D)),
         (pre + "embeddings.position_ids", "B", (1, M * M + 1), "I64"),
         (pre + "pre_layrnorm.weight", "G", (D,)), (pre + "pre_layrnorm.bias", "B", (D,))]
    for l in range(L):
        b = f"{pre}encoder.layers.{l}."
        s += [(b + "layer_norm1.weight", "G", (D,)), (b + "layer_norm1.bias", "B", (D,))]
        for p in "qkv":
            s += [(b + f"self_attn.{p}_proj.weight", "W", (D, D)), (b + f"self_attn.{p}_proj.bias", "B", (D,))]
        s += [(b + "self_attn.out_proj.weight", "W", (D, D)), (b + "self_attn.out_proj.bias", "B", (D,)),
              (b + "layer_norm2.weight", "G", (D,)), (b + "layer_norm2.bias", "B", (D,)),
              (b + "mlp.fc1.weight", "W", (HID, D)), (b + "mlp.fc1.bias", "B", (HID,)),
              (b + "mlp.fc2.weight", "W", (D, HID)), (b + "mlp.fc2.bias", "B", (D,))]
    s += [(pre + "post_layernorm.weight", "G", (D,)), (pre + "post_layernorm.bias", "B", (D,)),
          ("visual_projection.weight", "W", (48, D)),
          ("text_model.embeddings.token_embedding.weight", "B", (10, 64)), ("text_projection.weight", "W", (48, 64)),
          ("logit_scale", "B", ())]
    return s


def dino_official_specs(reg=0, swiglu=False):
    s = [("patch_embed.proj.weight", "W", (D, 3, P, P)), ("patch_embed.proj.bias", "B", (D,)),
         ("cls_token", "B", (1, 1, D)), ("pos_embed", "B", (1, M * M + 1, D)), ("mask_token", "B", (1, D))]
    if reg:
        s += [("register_tokens", "B", (1, reg, D))]
    for l in range(L):
        b = f"blocks.{l}."
        s += [(b + "norm1.weight", "G", (D,)), (b + "norm1.bias", "B", (D,)),
              (b + "attn.qkv.weight", "W", (3 * D, D)), (b + "attn.qkv.bias", "B", (3 * D,)),
              (b + "attn.proj.weight", "W", (D, D)), (b + "attn.proj.bias", "B", (D,)), (b + "ls1.gamma", "G", (D,)),
              (b + "norm2.weight", "G", (D,)), (b + "norm2.bias", "B", (D,)), (b + "ls2.gamma", "G", (D,))]
        if swiglu:
            s += [(b + "mlp.w12.weight", "W", (2 * HID // 2, D)), (b + "mlp.w12.bias", "B", (HID,)),
                  (b + "mlp.w3.weight", "W", (D, HID // 2)), (b + "mlp.w3.bias", "B", (D,))]
        else:
            s += [(b + "mlp.fc1.weight", "W", (HID, D)), (b + "mlp.fc1.bias", "B", (HID,)),
                  (b + "mlp.fc2.weight", "W", (D, HID)), (b + "mlp.fc2.bias", "B", (D,))]
    s += [("norm.weight", "G", (D,)), ("norm.bias", "B", (D,))]
    return s


def dino_hf_specs(reg=0, swiglu=False):
    e = "embeddings."
    s = [(e + "patch_embeddings.projection.weight", "W", (D, 3, P, P)), (e + "patch_embeddings.projection.bias", "B", (D,)),
         (e + "cls_token", "B", (1, 1, D)), (e + "position_embeddings", "B", (1, M * M + 1, D)), (e + "mask_token", "B", (1, D))]
    if reg:
        s += [(e + "register_tokens", "B", (1, reg, D))]
    for l in range(L):
        b = f"encoder.layer.{l}."
        s += [(b + "norm1.weight", "G", (D,)), (b + "norm1.bias", "B", (D,))]
        for p in ("query", "key", "value"):
            s += [(b + f"attention.attention.{p}.weight", "W", (D, D)), (b + f"attention.attention.{p}.bias", "B", (D,))]
        s += [(b + "attention.output.dense.weight", "W", (D, D)), (b + "attention.output.dense.bias", "B", (D,)),
              (b + "layer_scale1.lambda1", "G", (D,)), (b + "norm2.weight", "G", (D,)), (b + "norm2.bias", "B", (D,)),
              (b + "layer_scale2.lambda1", "G", (D,))]
        if swiglu:
            s += [(b + "mlp.weights_in.weight", "W", (HID, D)), (b + "mlp.weights_in.bias", "B", (HID,)),
                  (b + "mlp.weights_out.weight", "W", (D, HID // 2)), (b + "mlp.weights_out.bias", "B", (D,))]
        else:
            s += [(b + "mlp.fc1.weight", "W", (HID, D)), (b + "mlp.fc1.bias", "B", (HID,)),
                  (b + "mlp.fc2.weight", "W", (D, HID)), (b + "mlp.fc2.bias", "B", (D,))]
    s += [("layernorm.weight", "G", (D,)), ("layernorm.bias", "B", (D,))]
    return s


# --- references ----------------------------------------------------------------------------
def ln(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def act_fn(name):
    return (lambda x: x * torch.sigmoid(1.702 * x)) if name == "quick_gelu" else F.gelu


def clip_openai_ref(t, pre, img, act, taps, norm_tap):
    """open_clip VisionTransformer semantics (OpenAI weights): conv1 without bias, class token,
    positional embedding resized by open_clip resize_pos_embed, ln_pre, residual attention
    blocks through nn.MultiheadAttention, ln_post(CLS) @ proj."""
    x = F.conv2d(img, t[pre + "conv1.weight"], stride=P)
    gh, gw = x.shape[-2:]
    x = x.reshape(1, D, -1).permute(0, 2, 1)
    x = torch.cat([t[pre + "class_embedding"] + torch.zeros(1, 1, D), x], dim=1)
    pos = t[pre + "positional_embedding"]
    if (gh, gw) != (M, M):  # resize_pos_embed: class position kept, grid bicubic to the new size
        g = pos[1:].reshape(1, M, M, D).permute(0, 3, 1, 2)
        g = F.interpolate(g, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([pos[:1], g.permute(0, 2, 3, 1).reshape(gh * gw, D)], 0)
    x = x + pos
    x = ln(x, t[pre + "ln_pre.weight"], t[pre + "ln_pre.bias"], 1e-5)
    outs = {}
    a = act_fn(act)
    for l in range(L):
        b = f"{pre}transformer.resblocks.{l}."
        mha = nn.MultiheadAttention(D, HEADS)
        with torch.no_grad():
            mha.in_proj_weight.copy_(t[b + "attn.in_proj_weight"])
            mha.in_proj_bias.copy_(t[b + "attn.in_proj_bias"])
            mha.out_proj.weight.copy_(t[b + "attn.out_proj.weight"])
            mha.out_proj.bias.copy_(t[b + "attn.out_proj.bias"])
        h = ln(x, t[b + "ln_1.weight"], t[b + "ln_1.bias"], 1e-5).transpose(0, 1)  # LND, as open_clip
        x = x + mha(h, h, h, need_weights=False)[0].transpose(0, 1)
        h = ln(x, t[b + "ln_2.weight"], t[b + "ln_2.bias"], 1e-5)
        h = F.linear(a(F.linear(h, t[b + "mlp.c_fc.weight"], t[b + "mlp.c_fc.bias"])), t[b + "mlp.c_proj.weight"], t[b + "mlp.c_proj.bias"])
        x = x + h
        outs[l + 1] = x[0].clone()
        if l + 1 == norm_tap:
            outs["norm"] = ln(x, t[pre + "ln_post.weight"], t[pre + "ln_post.bias"], 1e-5)[0]
    e = ln(x[:, 0], t[pre + "ln_post.weight"], t[pre + "ln_post.bias"], 1e-5) @ t[pre + "proj"]
    outs["embed"] = F.normalize(e, dim=-1)[0]
    return outs


def clip_hf_ref(t, img, act, taps, norm_tap):
    """transformers CLIPVisionTransformer semantics: embeddings (no conv bias), pre_layrnorm,
    CLIPEncoderLayer with separate q/k/v projections (eager attention), post_layernorm on the
    pooled CLS, visual_projection; interpolate_pos_encoding = bicubic to size, align false."""
    p = "vision_model."
    x = F.conv2d(img, t[p + "embeddings.patch_embedding.weight"], stride=P)
    gh, gw = x.shape[-2:]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([t[p + "embeddings.class_embedding"].expand(1, 1, -1), x], dim=1)
    pos = t[p + "embeddings.position_embedding.weight"][None]
    if (gh, gw) != (M, M):
        g = pos[:, 1:].reshape(1, M, M, D).permute(0, 3, 1, 2)
        g = F.interpolate(g, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([pos[:, :1], g.permute(0, 2, 3, 1).reshape(1, -1, D)], 1)
    x = x + pos
    x = ln(x, t[p + "pre_layrnorm.weight"], t[p + "pre_layrnorm.bias"], 1e-5)
    outs, a = {}, act_fn(act)
    hd = D // HEADS
    for l in range(L):
        b = f"{p}encoder.layers.{l}."
        h = ln(x, t[b + "layer_norm1.weight"], t[b + "layer_norm1.bias"], 1e-5)
        q, k, v = (F.linear(h, t[b + f"self_attn.{n}_proj.weight"], t[b + f"self_attn.{n}_proj.bias"]).view(1, -1, HEADS, hd).transpose(1, 2) for n in "qkv")
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * hd ** -0.5, dim=-1)
        o = torch.matmul(w, v).transpose(1, 2).reshape(1, -1, D)
        x = x + F.linear(o, t[b + "self_attn.out_proj.weight"], t[b + "self_attn.out_proj.bias"])
        h = ln(x, t[b + "layer_norm2.weight"], t[b + "layer_norm2.bias"], 1e-5)
        x = x + F.linear(a(F.linear(h, t[b + "mlp.fc1.weight"], t[b + "mlp.fc1.bias"])), t[b + "mlp.fc2.weight"], t[b + "mlp.fc2.bias"])
        outs[l + 1] = x[0].clone()
        if l + 1 == norm_tap:
            outs["norm"] = ln(x, t[p + "post_layernorm.weight"], t[p + "post_layernorm.bias"], 1e-5)[0]
    pooled = ln(x[:, 0], t[p + "post_layernorm.weight"], t[p + "post_layernorm.bias"], 1e-5)
    outs["embed"] = F.normalize(F.linear(pooled, t["visual_projection.weight"]), dim=-1)[0]
    return outs


def dino_official_ref(t, img, taps, norm_tap, reg=0, swiglu=False):
    """facebookresearch/dinov2 DinoVisionTransformer semantics: prepare_tokens_with_masks
    (interpolate_pos_encoding: offset 0.1 scale factor without registers; the _reg hub models use
    interpolate_antialias=True, interpolate_offset=0 -> size=), registers after the position
    embedding, NestedTensorBlock with LayerScale, get_intermediate_layers(norm=True)."""
    B, nc, w, h = img.shape  # upstream names: w is the row count here
    x = F.conv2d(img, t["patch_embed.proj.weight"], t["patch_embed.proj.bias"], stride=P).flatten(2).transpose(1, 2)
    x = torch.cat([t["cls_token"].expand(1, -1, -1), x], dim=1)
    pe = t["pos_embed"]
    npatch, N = x.shape[1] - 1, pe.shape[1] - 1
    if not (npatch == N and w == h):
        w0, h0 = w // P, h // P
        Mq = int(math.sqrt(N))
        g = pe[:, 1:].reshape(1, Mq, Mq, D).permute(0, 3, 1, 2)
        if reg:  # interpolate_antialias=True, interpolate_offset=0.0
            g = F.interpolate(g, mode="bicubic", antialias=True, size=(w0, h0))
        else:
            g = F.interpolate(g, mode="bicubic", antialias=False, scale_factor=(float(w0 + 0.1) / Mq, float(h0 + 0.1) / Mq))
        assert (w0, h0) == tuple(g.shape[-2:])
        pe = torch.cat([pe[:, :1], g.permute(0, 2, 3, 1).reshape(1, -1, D)], dim=1)
    x = x + pe
    if reg:
        x = torch.cat([x[:, :1], t["register_tokens"].expand(1, -1, -1), x[:, 1:]], dim=1)
    outs, hd = {}, D // HEADS
    for l in range(L):
        b = f"blocks.{l}."
        y = ln(x, t[b + "norm1.weight"], t[b + "norm1.bias"], 1e-6)
        Bn, Nn, C = y.shape
        qkv = F.linear(y, t[b + "attn.qkv.weight"], t[b + "attn.qkv.bias"]).reshape(Bn, Nn, 3, HEADS, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * hd ** -0.5, qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        y = F.linear((att @ v).transpose(1, 2).reshape(Bn, Nn, C), t[b + "attn.proj.weight"], t[b + "attn.proj.bias"])
        x = x + t[b + "ls1.gamma"] * y
        y = ln(x, t[b + "norm2.weight"], t[b + "norm2.bias"], 1e-6)
        if swiglu:
            x1, x2 = F.linear(y, t[b + "mlp.w12.weight"], t[b + "mlp.w12.bias"]).chunk(2, dim=-1)
            y = F.linear(F.silu(x1) * x2, t[b + "mlp.w3.weight"], t[b + "mlp.w3.bias"])
        else:
            y = F.linear(F.gelu(F.linear(y, t[b + "mlp.fc1.weight"], t[b + "mlp.fc1.bias"])), t[b + "mlp.fc2.weight"], t[b + "mlp.fc2.bias"])
        x = x + t[b + "ls2.gamma"] * y
        outs[l + 1] = x[0].clone()
        if l + 1 == norm_tap:
            outs["norm"] = ln(x, t["norm.weight"], t["norm.bias"], 1e-6)[0]
    outs["embed"] = ln(x, t["norm.weight"], t["norm.bias"], 1e-6)[0, 0]
    return outs


def dino_hf_ref(t, img, taps, norm_tap, reg=0, swiglu=False, hub=False):
    """transformers Dinov2Model / Dinov2WithRegistersModel semantics: interpolate_pos_encoding
    with size=(h // p, w // p) (antialias=True in the with-registers model), separate q/k/v,
    Dinov2LayerScale lambda1, final layernorm."""
    e = "embeddings."
    _, _, H, W = img.shape
    x = F.conv2d(img, t[e + "patch_embeddings.projection.weight"], t[e + "patch_embeddings.projection.bias"], stride=P).flatten(2).transpose(1, 2)
    x = torch.cat([t[e + "cls_token"].expand(1, -1, -1), x], dim=1)
    pe = t[e + "position_embeddings"]
    if not (x.shape[1] - 1 == pe.shape[1] - 1 and H == W):
        g = pe[:, 1:].reshape(1, M, M, D).permute(0, 3, 1, 2)
        if hub and not reg:  # adbench pos_resize "hub": the official hub interpolation on HF-named weights
            g = F.interpolate(g, scale_factor=(float(H // P + 0.1) / M, float(W // P + 0.1) / M), mode="bicubic", antialias=False)
        else:
            g = F.interpolate(g, size=(H // P, W // P), mode="bicubic", align_corners=False, antialias=bool(reg))
        pe = torch.cat([pe[:, :1], g.permute(0, 2, 3, 1).reshape(1, -1, D)], dim=1)
    x = x + pe
    if reg:
        x = torch.cat([x[:, :1], t[e + "register_tokens"].expand(1, -1, -1), x[:, 1:]], dim=1)
    outs, hd = {}, D // HEADS
    for l in range(L):
        b = f"encoder.layer.{l}."
        y = ln(x, t[b + "norm1.weight"], t[b + "norm1.bias"], 1e-6)
        q, k, v = (F.linear(y, t[b + f"attention.attention.{n}.weight"], t[b + f"attention.attention.{n}.bias"]).view(1, -1, HEADS, hd).transpose(1, 2)
                   for n in ("query", "key", "value"))
        w = F.softmax(torch.matmul(q, k.transpose(-1, -2)) * hd ** -0.5, dim=-1, dtype=torch.float32)
        y = torch.matmul(w, v).transpose(1, 2).reshape(1, -1, D)
        y = F.linear(y, t[b + "attention.output.dense.weight"], t[b + "attention.output.dense.bias"])
        x = y * t[b + "layer_scale1.lambda1"] + x
        y = ln(x, t[b + "norm2.weight"], t[b + "norm2.bias"], 1e-6)
        if swiglu:
            x1, x2 = F.linear(y, t[b + "mlp.weights_in.weight"], t[b + "mlp.weights_in.bias"]).chunk(2, dim=-1)
            y = F.linear(F.silu(x1) * x2, t[b + "mlp.weights_out.weight"], t[b + "mlp.weights_out.bias"])
        else:
            y = F.linear(F.gelu(F.linear(y, t[b + "mlp.fc1.weight"], t[b + "mlp.fc1.bias"])), t[b + "mlp.fc2.weight"], t[b + "mlp.fc2.bias"])
        x = y * t[b + "layer_scale2.lambda1"] + x
        outs[l + 1] = x[0].clone()
        if l + 1 == norm_tap:
            outs["norm"] = ln(x, t["layernorm.weight"], t["layernorm.bias"], 1e-6)[0]
    outs["embed"] = ln(x, t["layernorm.weight"], t["layernorm.bias"], 1e-6)[0, 0]
    return outs


# --- cases ---------------------------------------------------------------------------------
SIZES = {"native": (28, 28), "down": (21, 35), "up": (42, 49)}
INPUTS = {k: torch.from_numpy(np.random.default_rng(7 + i).standard_normal((1, 3, h, w)).astype(np.float32))
          for i, (k, (h, w)) in enumerate(SIZES.items())}

MODELS = {  # name: (specs, dtype, pad, reference(t, img, act, taps, norm_tap))
    "clip_openai": (clip_openai_specs("visual.", text=True), "F32", True, lambda t, i, a, tp, n: clip_openai_ref(t, "visual.", i, a, tp, n)),
    "clip_openai_vision": (clip_openai_specs(""), "F32", True, lambda t, i, a, tp, n: clip_openai_ref(t, "", i, a, tp, n)),
    "clip_openai_f16": (clip_openai_specs("visual."), "F16", True, lambda t, i, a, tp, n: clip_openai_ref(t, "visual.", i, a, tp, n)),
    "clip_hf": (clip_hf_specs(), "F32", False, lambda t, i, a, tp, n: clip_hf_ref(t, i, a, tp, n)),
    "dino": (dino_official_specs(), "F32", True, lambda t, i, a, tp, n: dino_official_ref(t, i, tp, n)),
    "dino_reg4": (dino_official_specs(4), "F32", True, lambda t, i, a, tp, n: dino_official_ref(t, i, tp, n, reg=4)),
    "dino_reg4_bf16": (dino_official_specs(4), "BF16", True, lambda t, i, a, tp, n: dino_official_ref(t, i, tp, n, reg=4)),
    "dino_swiglu": (dino_official_specs(0, True), "F32", True, lambda t, i, a, tp, n: dino_official_ref(t, i, tp, n, swiglu=True)),
    "hfdino": (dino_hf_specs(), "F32", True, lambda t, i, a, tp, n: dino_hf_ref(t, i, tp, n)),
    "hfdino_reg4": (dino_hf_specs(4), "F32", True, lambda t, i, a, tp, n: dino_hf_ref(t, i, tp, n, reg=4)),
    "hfdino_swiglu": (dino_hf_specs(0, True), "F32", True, lambda t, i, a, tp, n: dino_hf_ref(t, i, tp, n, swiglu=True)),
}
# the same header as "hfdino" (same weights), reference with the official hub interpolation
HUB_CASE = ("hfdino_up_hub", "hfdino", "up")
# (case name, model, input, act); taps: blocks 1 and 3 raw, block 2 with the final norm, embedding.
CASES = [
    ("clip_openai_native_quick", "clip_openai", "native", "quick_gelu"),
    ("clip_openai_up_gelu", "clip_openai", "up", "gelu"),
    ("clip_openai_down_quick", "clip_openai", "down", "quick_gelu"),
    ("clip_openai_vision_native_gelu", "clip_openai_vision", "native", "gelu"),
    ("clip_openai_f16_native_quick", "clip_openai_f16", "native", "quick_gelu"),
    ("clip_hf_up_quick", "clip_hf", "up", "quick_gelu"),
    ("dino_native", "dino", "native", "gelu"),
    ("dino_down", "dino", "down", "gelu"),
    ("dino_up", "dino", "up", "gelu"),
    ("dino_reg4_up", "dino_reg4", "up", "gelu"),
    ("dino_reg4_down", "dino_reg4", "down", "gelu"),
    ("dino_reg4_bf16_native", "dino_reg4_bf16", "native", "gelu"),
    ("dino_swiglu_up", "dino_swiglu", "up", "gelu"),
    ("hfdino_up", "hfdino", "up", "gelu"),
    ("hfdino_reg4_down", "hfdino_reg4", "down", "gelu"),
    ("hfdino_reg4_native", "hfdino_reg4", "native", "gelu"),
    ("hfdino_swiglu_native", "hfdino_swiglu", "native", "gelu"),
]


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr.detach().numpy().astype(np.float32)))


def write_outputs(case, outs):
    save(case + "_b1", outs[1])
    save(case + "_b3", outs[3])
    save(case + "_b2n", outs["norm"])
    save(case + "_embed", outs["embed"])


# --- converter test: a tiny .pth (DINOv2, chunked names) and a TorchScript .pt (OpenAI) --------
class Box(nn.Module):
    def forward(self, x):
        return x


class TinyOpenAIVisual(nn.Module):
    """Parameter layout of OpenAI CLIP's VisionTransformer (module names give the state-dict
    names), width 64, 1 block, patch 4, grid 2x2; forward is a stub (only weights matter)."""
    def __init__(self):
        super().__init__()
        d = 64
        self.conv1 = nn.Conv2d(3, d, 4, 4, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(d) * 0.3)
        self.positional_embedding = nn.Parameter(torch.randn(5, d) * 0.3)
        self.ln_pre = nn.LayerNorm(d)
        blk = Box()
        blk.ln_1, blk.attn, blk.ln_2 = nn.LayerNorm(d), nn.MultiheadAttention(d, 1), nn.LayerNorm(d)
        blk.mlp = nn.Sequential()
        blk.mlp.add_module("c_fc", nn.Linear(d, 32))
        blk.mlp.add_module("c_proj", nn.Linear(32, d))
        self.transformer = Box()
        self.transformer.resblocks = nn.Sequential(blk)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(torch.randn(d, 16) * 0.1)
        for p in self.parameters():  # non-trivial LayerNorm / bias values
            with torch.no_grad():
                p.add_(torch.randn_like(p) * 0.1)

    def forward(self, x):
        return x


class TinyOpenAI(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = TinyOpenAIVisual()
        self.logit_scale = nn.Parameter(torch.ones([]))
        self.input_resolution = 8  # OpenAI's TorchScript models carry these as attributes

    def forward(self, x):
        return self.visual(x)


def tiny_dino_pth():
    d, sd = 64, {}
    r = lambda *s, sc=0.1: torch.randn(*s) * sc
    sd["cls_token"], sd["pos_embed"], sd["mask_token"] = r(1, 1, d, sc=0.3), r(1, 5, d, sc=0.3), r(1, d)
    sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"] = r(d, 3, 4, 4), r(d)
    # block_chunks=2 with 2 blocks: chunk 1 holds block 1 at index 1 ("blocks.1.1.")
    for i, chunk in ((0, 0), (1, 1)):
        b = f"blocks.{chunk}.{i}."
        sd.update({b + "norm1.weight": 1 + r(d), b + "norm1.bias": r(d), b + "attn.qkv.weight": r(3 * d, d),
                   b + "attn.qkv.bias": r(3 * d), b + "attn.proj.weight": r(d, d), b + "attn.proj.bias": r(d),
                   b + "ls1.gamma": 1 + r(d), b + "norm2.weight": 1 + r(d), b + "norm2.bias": r(d),
                   b + "mlp.fc1.weight": r(32, d), b + "mlp.fc1.bias": r(32), b + "mlp.fc2.weight": r(d, 32),
                   b + "mlp.fc2.bias": r(d), b + "ls2.gamma": 1 + r(d)})
    sd["norm.weight"], sd["norm.bias"] = 1 + r(d), r(d)
    return sd


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    meta = json.loads(raw[8:8 + n])
    base, out = 8 + n, {}
    for k, v in meta.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(raw[base + a:base + b], dtype=dt).astype(np.float32).reshape(v["shape"]))
    return out


def converter_cases(tmp):
    global D, L, HID, P, M, HEADS
    conv = os.path.join(ROOT, "scripts", "convert_weights.py")
    pth = os.path.join(tmp, "tiny_dino.pth")
    torch.save(tiny_dino_pth(), pth)
    pt = os.path.join(tmp, "tiny_openai.pt")
    torch.jit.save(torch.jit.script(TinyOpenAI()), pt)
    for src, dst in ((pth, "conv_dino.safetensors"), (pt, "conv_openai.safetensors")):
        subprocess.run([sys.executable, conv, src, os.path.join(OUT, dst), "--vision-only", "--dtype", "f16"], check=True)
    saved = (D, L, HID, P, M, HEADS)
    D, L, HID, P, M, HEADS = 64, 2, 32, 4, 2, 1
    img = torch.from_numpy(np.random.default_rng(99).standard_normal((1, 3, 12, 8)).astype(np.float32))
    save("conv_input", img[0])
    t = read_safetensors(os.path.join(OUT, "conv_dino.safetensors"))
    o = dino_official_ref(t, img, None, 1)
    save("conv_dino_b2", o[2])
    save("conv_dino_b1n", o["norm"])
    L = 1
    t = read_safetensors(os.path.join(OUT, "conv_openai.safetensors"))
    o = clip_openai_ref(t, "visual.", img, "quick_gelu", None, 1)
    save("conv_openai_b1", o[1])
    save("conv_openai_embed", o["embed"])
    D, L, HID, P, M, HEADS = saved


def main():
    os.makedirs(OUT, exist_ok=True)
    for dt, (raw, _, _) in BLOBS.items():
        with open(os.path.join(OUT, f"blob_{dt.lower()}.bin"), "wb") as f:
            f.write(raw)
    for k, img in INPUTS.items():
        save("input_" + k, img[0])
    tensors = {}
    for name, (specs, dt, pad, _) in MODELS.items():
        hdr, tensors[name] = header(specs, dt, pad)
        with open(os.path.join(OUT, name + ".hdr"), "wb") as f:
            f.write(hdr)
    with torch.no_grad():
        for case, model, inp, act in CASES:
            outs = MODELS[model][3](tensors[model], INPUTS[inp], act, (1, 3), 2)
            write_outputs(case, outs)
        cse, model, inp = HUB_CASE
        write_outputs(cse, dino_hf_ref(tensors[model], INPUTS[inp], (1, 3), 2, hub=True))
        with tempfile.TemporaryDirectory() as tmp:
            converter_cases(tmp)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
