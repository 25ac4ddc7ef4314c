#!/usr/bin/python3
"""Golden files for tests/test_resnet.c (suite "resnet"): torchvision's own ResNet-18, ResNet-50 and
WideResNet-50-2 (torchvision 0.14, the models upstream PatchCore loads) with random weights, and
torchvision ResNet-18 with the real shared ImageNet weights on a real MVTec AD screw image.

    /usr/bin/python3 tests/gen/gen_resnet.py

Random models: every tensor of the state dict (original checkpoint form: convs without bias,
BatchNorm weight/bias/running_mean/running_var) is drawn from a counter-based generator that the
C test re-implements, so no weights are committed (wide_resnet50_2 alone is 267 MB):

    seed = FNV-1a 64 of the tensor name;  for i = 0..n-1:
    z = seed + (i + 1) * 0x9E3779B97F4A7C15 (mod 2^64), then splitmix64's finaliser
    u = float32(z >> 40) * 2^-24;  value = float32(lo + (hi - lo) * float64(u))

lo/hi per tensor are written to <model>_spec.json (name, shape, lo, hi in state-dict order). The
C test writes those tensors to a temporary .safetensors file with torchvision's names and loads
it through the normal loader (BatchNorm folded at load time). Outputs: the input (also drawn,
name "input"), and layer1..layer4 in eval mode, saved as [B][H*W][C] (the layout adbench's
features use).

Real weights: ../shared/data/weights/resnet18-imagenet1k-v1-bnfolded-layer1to3.safetensors (BN
already folded into conv weight + bias, no layer4): torchvision resnet18 with every BatchNorm
replaced by nn.Identity and each conv given its bias. Input: a real screw test image through
torchvision's PatchCore pipeline (Resize(256) + CenterCrop(224) + ToTensor + Normalize(ImageNet),
exactly patchcore-inspection's MVTecDataset transform_img). Saved: the input tensor (3, 224, 224)
and layer1..layer3 as [H*W][C]. Skipped (with a message) when the shared weights are absent.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "golden", "resnet")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data")
torch.set_num_threads(1)

M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def draw(name, n, lo, hi):
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    return (lo + (hi - lo) * u.astype(np.float64)).astype(np.float32)


def bounds(name, shape):
    if name.endswith("running_var"):
        return 0.5, 1.5
    if name.endswith("running_mean") or (".bn" in name or name.startswith("bn") or "downsample.1" in name) and name.endswith("bias"):
        return -0.1, 0.1
    if name.endswith("weight") and len(shape) == 1:  # BatchNorm gamma
        return 0.5, 1.0
    fan_in = int(np.prod(shape[1:]))
    b = float(np.sqrt(6.0 / fan_in))  # Kaiming-uniform for ReLU: keeps activations O(1)
    return -b, b


def save(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr.astype(np.float32)))


def nhwc(t):  # (B, C, H, W) -> (B, H*W, C)
    b, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(b, h * w, c).detach().numpy()


def taps(model, x, n):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    outs = []
    for s in range(1, n + 1):
        x = getattr(model, "layer%d" % s)(x)
        outs.append(x)
    return outs


def random_case(arch, B, H, W):
    model = getattr(torchvision.models, arch)(weights=None)
    model.eval()
    sd = model.state_dict()
    spec, new = [], {}
    for name, t in sd.items():
        if name.startswith("fc.") or name.endswith("num_batches_tracked"):
            continue
        lo, hi = bounds(name, tuple(t.shape))
        new[name] = torch.from_numpy(draw(name, t.numel(), lo, hi).reshape(t.shape))
        spec.append({"name": name, "shape": list(t.shape), "lo": lo, "hi": hi})
    model.load_state_dict(new, strict=False)
    x = torch.from_numpy(draw("input", B * 3 * H * W, -2.0, 2.0).reshape(B, 3, H, W))
    with open(os.path.join(OUT, arch + "_spec.json"), "w") as f:
        json.dump({"arch": arch, "input": [B, 3, H, W], "tensors": spec}, f, indent=0)
    with torch.no_grad():
        for s, y in enumerate(taps(model, x, 4), 1):
            save("%s_layer%d" % (arch, s), nhwc(y))
    print(arch, "ok")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


def real_case():
    wpath = os.path.join(SHARED, "weights", "resnet18-imagenet1k-v1-bnfolded-layer1to3.safetensors")
    img = os.path.join(SHARED, "mvtec_ad", "screw", "test", "scratch_head", "000.png")
    if not os.path.exists(wpath):
        print("skipped the real-weight case: %s is absent" % wpath)
        return
    sd = read_safetensors(wpath)
    model = torchvision.models.resnet18(weights=None)
    model.eval()
    for name, mod in list(model.named_modules()):  # BN as the identity, convs with bias
        if isinstance(mod, nn.Conv2d):
            mod.bias = nn.Parameter(torch.zeros(mod.out_channels))
    model.bn1 = nn.Identity()
    for s in range(1, 5):
        for blk in getattr(model, "layer%d" % s):
            blk.bn1, blk.bn2 = nn.Identity(), nn.Identity()
            if blk.downsample is not None:
                blk.downsample[1] = nn.Identity()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k.startswith(("layer4", "fc")) for k in missing), missing
    tf = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = tf(Image.open(img).convert("RGB")).unsqueeze(0)
    save("real_input", x[0].numpy())
    with torch.no_grad():
        for s, y in enumerate(taps(model, x, 3), 1):
            save("real_layer%d" % s, nhwc(y)[0])
    print("real ok")


def converter_case():
    """scripts/convert_weights.py on a torchvision .pth (original checkpoint form, with int64
    num_batches_tracked entries): a BasicBlock ResNet cut after layer1 (small enough to commit
    the converted file). The C test loads tiny_converted.safetensors and compares layer1."""
    import subprocess
    import tempfile
    torch.manual_seed(0)
    model = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1])
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.0)
            m.bias.data.uniform_(-0.1, 0.1)
    model.eval()
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith(("layer2", "layer3", "layer4", "fc"))}
    out = os.path.join(OUT, "tiny_converted.safetensors")
    with tempfile.TemporaryDirectory() as d:
        pth = os.path.join(d, "tiny.pth")
        torch.save(sd, pth)
        subprocess.check_call([sys.executable, os.path.join(HERE, "..", "..", "scripts", "convert_weights.py"), pth, out])
    x = torch.from_numpy(draw("tiny-input", 3 * 40 * 48, -2.0, 2.0).reshape(1, 3, 40, 48))
    with torch.no_grad():
        save("tiny_converted_layer1", nhwc(taps(model, x, 1)[0])[0])
    print("converter ok")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    random_case("resnet18", 2, 40, 48)
    random_case("resnet50", 1, 40, 48)
    random_case("wide_resnet50_2", 1, 40, 48)
    real_case()
    converter_case()
    sys.exit(0)
