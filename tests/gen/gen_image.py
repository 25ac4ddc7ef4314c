#!/usr/bin/python3
"""Golden files for tests/test_image.c (suite "image").

Run from the repository root:  /usr/bin/python3 tests/gen/gen_image.py
Needs Pillow 9.4, numpy, torch 1.13 (CPU), scipy 1.10; reads the real MVTec AD screw images from
../shared/data (never copied: only resized outputs are stored).

Outputs (tests/golden/image/):
  dec_*.{png,jpg,bmp,tif}  small images of every format / bit depth the decoder must handle
  dec_*.rgb8.npy           what PIL's Image.open(p).convert("RGB") returns for them
  dec_*.raw.npy            the raw sample values (for the float decoder: raw / (2^bits - 1))
  mask_*.png / .npy        masks and their expected mask_read() values
  pil_*.png                Pillow resize outputs of the screw images (gray, lossless PNG)
  pil_rgb_*.npy            Pillow resize outputs of a synthetic RGB image (dec_rgb8.png)
  rot_*.npy                cv2.warpAffine rotation (AnomalyDINO) emulated in numpy
  t_*.npy                  torch F.interpolate / scipy gaussian_filter outputs; the inputs are
                           generated in C and here by the same integer formula (pattern()).
"""
import math
import os
import struct
import zlib

import numpy as np
import scipy
import scipy.ndimage
import torch
import torch.nn.functional as F
import PIL
from PIL import Image

assert PIL.__version__.startswith("9.4"), PIL.__version__
assert torch.__version__.startswith("1.13"), torch.__version__
assert scipy.__version__.startswith("1.10"), scipy.__version__

OUT = "tests/golden/image"
SCREW = "../shared/data/mvtec_ad/screw"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)


def save(name, arr):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(arr))


def raw_png(path, arr, ctype, bitdepth, extra=()):
    """Minimal PNG writer (Pillow cannot write 16-bit colour PNGs)."""
    h, w = arr.shape[:2]
    a = arr.astype(">u2") if bitdepth == 16 else arr.astype(np.uint8)
    if bitdepth == 4:  # two samples per byte, high nibble first, rows padded to a byte
        p = np.zeros((h, (w + 1) // 2 * 2), np.uint8)
        p[:, :w] = a
        a = (p[:, 0::2] << 4) | p[:, 1::2]
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, bitdepth, ctype, 0, 0, 0)
    anc = b"".join(chunk(t, d) for t, d in extra)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + anc + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def raw_tiff_rgb16(path, arr):
    """Minimal little-endian baseline TIFF, 16-bit RGB, one uncompressed strip."""
    h, w, _ = arr.shape
    data = arr.astype("<u2").tobytes()
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, None), (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    ifd_off = 8
    ifd_size = 2 + 12 * len(tags) + 4
    bps_off = ifd_off + ifd_size
    data_off = bps_off + 6
    out = b"II*\x00" + struct.pack("<I", ifd_off) + struct.pack("<H", len(tags))
    for tag, typ, cnt, val in tags:
        if tag == 258:
            val = bps_off
            out += struct.pack("<HHII", tag, typ, cnt, val)
        elif tag == 273:
            out += struct.pack("<HHII", tag, typ, cnt, data_off)
        elif typ == 3:
            out += struct.pack("<HHIHH", tag, typ, cnt, val, 0)
        else:
            out += struct.pack("<HHII", tag, typ, cnt, val)
    out += struct.pack("<I", 0) + struct.pack("<HHH", 16, 16, 16) + data
    with open(path, "wb") as f:
        f.write(out)


def smooth_rgb(h, w):
    """Synthetic RGB test picture: gradients, a disc, sharp stripes, some noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 255 * x / (w - 1)
    b = np.where((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2, 230.0, 20.0)
    b[:, ::6] = 255
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# 1. Decoding: every format / bit depth, expected = PIL convert("RGB")
# ---------------------------------------------------------------------------------------------
H, W = 23, 31
rgb8 = smooth_rgb(H, W)
gray8 = rgb8[..., 0].copy()
rgba8 = np.concatenate([rgb8, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], -1)
gray16 = rng.integers(0, 65536, (H, W)).astype(np.uint16)
gray16[0, :6] = [0, 1, 254, 255, 256, 65535]  # PIL clips single-channel 16-bit to 255
rgb16 = rng.integers(0, 65536, (H, W, 3)).astype(np.uint16)
rgba16 = rng.integers(0, 65536, (H, W, 4)).astype(np.uint16)
la16 = rng.integers(0, 65536, (H, W, 2)).astype(np.uint16)
bits1 = (rng.random((H, W)) > 0.5)

files = {}
Image.fromarray(gray8, "L").save(f"{OUT}/dec_gray8.png"); files["gray8.png"] = (gray8, 8)
Image.fromarray(rgb8, "RGB").save(f"{OUT}/dec_rgb8.png"); files["rgb8.png"] = (rgb8, 8)
Image.fromarray(rgba8, "RGBA").save(f"{OUT}/dec_rgba8.png"); files["rgba8.png"] = (rgba8, 8)
Image.fromarray(gray16).save(f"{OUT}/dec_gray16.png"); files["gray16.png"] = (gray16, 16)
raw_png(f"{OUT}/dec_rgb16.png", rgb16, 2, 16); files["rgb16.png"] = (rgb16, 16)
raw_png(f"{OUT}/dec_rgba16.png", rgba16, 6, 16); files["rgba16.png"] = (rgba16, 16)
raw_png(f"{OUT}/dec_la16.png", la16, 4, 16); files["la16.png"] = (la16, 16)
Image.fromarray(bits1).save(f"{OUT}/dec_gray1.png"); files["gray1.png"] = (bits1.astype(np.uint8) * 255, 8)
# Ancillary chunks libpng warns about (bad sRGB intent, short iCCP, empty tEXt keyword): the
# pixels are plain RGB, and the decoder must stay silent.
raw_png(f"{OUT}/dec_warn.png", rgb8, 2, 8, [(b"sRGB", b"\x09"), (b"iCCP", b"prof\x00\x00" + zlib.compress(b"x" * 50)),
                                          (b"tEXt", b"\x00bad")])
files["warn.png"] = (rgb8, 8)
gray4 = rng.integers(0, 16, (H, W)).astype(np.uint8)
raw_png(f"{OUT}/dec_gray4.png", gray4, 0, 4); files["gray4.png"] = (gray4 * 17, 8)  # 4-bit scales by 17
pal = Image.fromarray(rgb8, "RGB").quantize(colors=16)
pal.save(f"{OUT}/dec_pal.png"); files["pal.png"] = (np.asarray(pal.convert("RGB")), 8)
Image.fromarray(rgb8, "RGB").save(f"{OUT}/dec_rgb.jpg", quality=92); files["rgb.jpg"] = (None, 8)
Image.fromarray(gray8, "L").save(f"{OUT}/dec_gray.jpg", quality=92); files["gray.jpg"] = (None, 8)
exif = Image.Exif()
exif[0x0112] = 6  # EXIF orientation "rotate 90 CW": the loaders (PIL open, ours) must ignore it
Image.fromarray(rgb8, "RGB").save(f"{OUT}/dec_exif6.jpg", quality=92, exif=exif); files["exif6.jpg"] = (None, 8)
Image.fromarray(rgb8, "RGB").save(f"{OUT}/dec_rgb.bmp"); files["rgb.bmp"] = (rgb8, 8)
Image.fromarray(gray8, "L").save(f"{OUT}/dec_gray8.bmp"); files["gray8.bmp"] = (gray8, 8)
Image.fromarray(rgb8, "RGB").save(f"{OUT}/dec_rgb.tif"); files["rgb.tif"] = (rgb8, 8)
Image.fromarray(gray16).save(f"{OUT}/dec_gray16.tif"); files["gray16.tif"] = (gray16, 16)
raw_tiff_rgb16(f"{OUT}/dec_rgb16.tif", rgb16); files["rgb16.tif"] = (rgb16, 16)

for name, (raw, bits) in files.items():
    stem = name.replace(".", "_")
    pil = np.asarray(Image.open(f"{OUT}/dec_{name}").convert("RGB"))
    assert pil.shape == (H, W, 3), (name, pil.shape)
    save(f"dec_{stem}.rgb8.npy", pil)
    if raw is not None:
        # Float decoder: full-precision colour samples (gray replicated, alpha dropped).
        r = raw if raw.ndim == 3 else raw[..., None]
        r = r[..., :3] if r.shape[2] >= 3 else np.repeat(r[..., :1], 3, -1)
        save(f"dec_{stem}.rawrgb.npy", r.astype(np.int32))
        print(f"{name}: PIL mode {Image.open(f'{OUT}/dec_{name}').mode}, bits {bits}")
# Document the 16-bit rules the C decoder reproduces.
assert (np.load(f"{OUT}/dec_gray16_png.rgb8.npy")[..., 0] == np.minimum(gray16, 255)).all()
assert (np.load(f"{OUT}/dec_gray16_tif.rgb8.npy")[..., 0] == np.minimum(gray16, 255)).all()
assert (np.load(f"{OUT}/dec_rgb16_png.rgb8.npy") == (rgb16 >> 8)).all()
assert (np.load(f"{OUT}/dec_rgb16_tif.rgb8.npy") == (rgb16 >> 8)).all()
assert (np.load(f"{OUT}/dec_la16_png.rgb8.npy")[..., 0] == (la16[..., 0] >> 8)).all()

# Masks: gray raw values, colour -> 255 where any channel != 0, palette likewise.
mg = np.zeros((H, W), np.uint8); mg[3:9, 4:12] = 255; mg[15, 20] = 1; mg[16, 2] = 37
Image.fromarray(mg, "L").save(f"{OUT}/mask_gray.png"); save("mask_gray.npy", mg)
mc = np.zeros((H, W, 3), np.uint8); mc[2:6, 2:6] = (255, 0, 0); mc[10:12, 20:25] = (0, 0, 3); mc[20, 30] = (0, 9, 0)
Image.fromarray(mc, "RGB").save(f"{OUT}/mask_rgb.png"); save("mask_rgb.npy", ((mc != 0).any(-1) * 255).astype(np.uint8))
mp = Image.fromarray((mc != 0).any(-1).astype(np.uint8) * 2, "P")
mp.putpalette([0, 0, 0, 10, 10, 10, 250, 0, 0] + [0] * (253 * 3))
mp.save(f"{OUT}/mask_pal.png"); save("mask_pal.npy", ((np.asarray(mp.convert("RGB")) != 0).any(-1) * 255).astype(np.uint8))

# Which files Pillow opens as mode "1"/"P" (Image.resize then forces NEAREST).
bw = Image.fromarray(mg > 0)                                   # mode "1"
bw.save(f"{OUT}/mode_1.bmp"); bw.save(f"{OUT}/mode_1.tif")
mp.save(f"{OUT}/mode_p.bmp"); mp.save(f"{OUT}/mode_p.tif")
Image.fromarray(mg, "L").save(f"{OUT}/mode_l.bmp")             # 8-bit, gray palette -> "L"
Image.fromarray(gray8, "L").save(f"{OUT}/mode_l.tif")
nearest = {}
for f in ["dec_gray8.png", "dec_rgb8.png", "dec_gray1.png", "dec_gray4.png", "dec_pal.png", "dec_gray16.png",
          "dec_rgb.jpg", "dec_rgb.bmp", "dec_gray8.bmp", "dec_rgb.tif", "dec_rgb16.tif", "mask_pal.png",
          "mode_1.bmp", "mode_1.tif", "mode_p.bmp", "mode_p.tif", "mode_l.bmp", "mode_l.tif"]:
    nearest[f] = Image.open(f"{OUT}/{f}").mode in ("1", "P")
with open(f"{OUT}/pil_forces_nearest.txt", "w") as fh:
    for f, v in nearest.items():
        fh.write(f"{f} {int(v)}\n")
assert sum(nearest.values()) == 7, nearest

# ---------------------------------------------------------------------------------------------
# 2. Pillow resize of the real screw images (gray, replicated to RGB by convert("RGB"))
# ---------------------------------------------------------------------------------------------
F_ = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
screws = {"good000": f"{SCREW}/train/good/000.png", "head000": f"{SCREW}/test/scratch_head/000.png"}
cases = [  # (tag, (w, h), filter) applied to both screws
    ("518_bicubic", (518, 518), "bicubic"),
    ("518_bilinear", (518, 518), "bilinear"),
    ("336_bicubic", (336, 336), "bicubic"),
    ("224_bilinear", (224, 224), "bilinear"),
    ("448x600_bicubic", (448, 600), "bicubic"),
    ("1024x150_bilinear", (1024, 150), "bilinear"),  # vertical pass only
    ("150x1024_bicubic", (150, 1024), "bicubic"),    # horizontal pass only
    ("300x410_nearest", (300, 410), "nearest"),
]
for sname, path in screws.items():
    rgb = Image.open(path).convert("RGB")
    for tag, size, flt in cases:
        if sname == "head000" and tag not in ("518_bicubic", "518_bilinear"):
            continue  # keep the goldens small: these shapes once is enough
        out = np.asarray(rgb.resize(size, F_[flt]))
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all()
        Image.fromarray(out[..., 0], "L").save(f"{OUT}/pil_{sname}_{tag}.png", optimize=True)
    # Upscale of a crop (the full 1024 upscale would be large): (100..261, 300..437) -> 301 x 259.
    crop = rgb.crop((300, 100, 437, 261))
    up = np.asarray(crop.resize((301, 259), Image.BICUBIC))
    Image.fromarray(up[..., 0], "L").save(f"{OUT}/pil_{sname}_cropup_bicubic.png", optimize=True)
    up = np.asarray(crop.resize((301, 259), Image.BILINEAR))
    Image.fromarray(up[..., 0], "L").save(f"{OUT}/pil_{sname}_cropup_bilinear.png", optimize=True)
# MuSc's mask path: Image.open(mask) (mode L) .resize((518, 518)) bilinear.
m = Image.open(f"{SCREW}/ground_truth/scratch_head/000_mask.png")
assert m.mode == "L"
Image.fromarray(np.asarray(m.resize((518, 518), Image.BILINEAR)), "L").save(f"{OUT}/pil_mask000_518_bilinear.png")

# Synthetic RGB image (dec_rgb8.png, 31 x 23): down, up, one axis, nearest.
src = Image.open(f"{OUT}/dec_rgb8.png")
for tag, size, flt in [("17x11_bicubic", (17, 11), "bicubic"), ("17x11_bilinear", (17, 11), "bilinear"),
                       ("64x50_bicubic", (64, 50), "bicubic"), ("45x23_bilinear", (45, 23), "bilinear"),
                       ("31x9_bicubic", (31, 9), "bicubic"), ("13x40_nearest", (13, 40), "nearest"),
                       ("62x46_nearest", (62, 46), "nearest")]:
    save(f"pil_rgb_{tag}.npy", np.asarray(src.resize(size, F_[flt])))

# ---------------------------------------------------------------------------------------------
# 3. Rotation: cv2.getRotationMatrix2D((w/2, h/2), deg, 1) + warpAffine(INTER_LINEAR,
#    BORDER_REFLECT_101), emulated with OpenCV's fixed-point arithmetic (no cv2 in Python here).
# ---------------------------------------------------------------------------------------------
def cv_round(v):
    return np.rint(v).astype(np.int64)  # cvRound: round half to even


def reflect101(i, n):
    if n == 1:
        return np.zeros_like(i)
    p = 2 * n - 2
    i = np.mod(i, p)
    return np.where(i < n, i, p - i)


def cv_rotate(img, deg):
    h, w = img.shape[:2]
    cx, cy = float(np.float32(w / 2)), float(np.float32(h / 2))
    a = deg * (math.pi / 180)
    alpha, beta = math.cos(a), math.sin(a)
    M = [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy]
    D = M[0] * M[4] - M[1] * M[3]
    D = 1.0 / D if D != 0 else 0
    A11, A22 = M[4] * D, M[0] * D
    M[0] = A11; M[1] *= -D; M[3] *= -D; M[4] = A22
    b1 = -M[0] * M[2] - M[1] * M[5]
    b2 = -M[3] * M[2] - M[4] * M[5]
    M[2] = b1; M[5] = b2
    AB = 1024
    xs = np.arange(w, dtype=np.float64)
    adelta = cv_round(M[0] * xs * AB)
    bdelta = cv_round(M[3] * xs * AB)
    out = np.zeros_like(img)
    c = img.shape[2]
    for y in range(h):
        X0 = int(cv_round((M[1] * y + M[2]) * AB)) + 16
        Y0 = int(cv_round((M[4] * y + M[5]) * AB)) + 16
        X = (X0 + adelta) >> 5
        Y = (Y0 + bdelta) >> 5
        sx, sy, fx, fy = X >> 5, Y >> 5, X & 31, Y & 31
        w00 = (32 - fx) * (32 - fy) * 32; w01 = fx * (32 - fy) * 32
        w10 = (32 - fx) * fy * 32; w11 = fx * fy * 32
        x0, x1 = reflect101(sx, w), reflect101(sx + 1, w)
        y0, y1 = reflect101(sy, h), reflect101(sy + 1, h)
        for ch in range(c):
            s = img[..., ch].astype(np.int64)
            v = s[y0, x0] * w00 + s[y0, x1] * w01 + s[y1, x0] * w10 + s[y1, x1] * w11
            out[y, :, ch] = np.clip((v + (1 << 14)) >> 15, 0, 255)
    return out


rot_src = smooth_rgb(37, 41)
save("rot_src.npy", rot_src)
for deg in (45, 90, 135, 180, 30, -17.5):
    save(f"rot_{str(deg).replace('-', 'm').replace('.', 'p')}.npy", cv_rotate(rot_src, deg))
# A gray crop of a real screw at AnomalyDINO's angles (odd size so w/2 is not an integer).
screw_crop = np.asarray(Image.open(screws["good000"]).convert("L"))[400:453, 380:441][..., None].copy()
save("rot_screw_src.npy", screw_crop)
save("rot_screw_225.npy", cv_rotate(screw_crop, 225))


# ---------------------------------------------------------------------------------------------
# 4. torch / scipy float resamplers. Inputs: pattern(n, seed), mirrored in test_image.c.
# ---------------------------------------------------------------------------------------------
def pattern(n, seed):
    """((i*i*31 + i*17 + seed*101) mod 2003) / 1024 - 1, exactly representable in float32."""
    i = np.arange(n, dtype=np.int64)
    return (((i * i * 31 + i * 17 + seed * 101) % 2003).astype(np.float32) / np.float32(1024)) - np.float32(1)


def bil(ih, iw, oh, ow, ac, seed):
    x = torch.from_numpy(pattern(ih * iw, seed).reshape(1, 1, ih, iw))
    return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=ac)[0, 0].numpy()


# MuSc: 37 -> 518, align_corners=True (stored every 5th row/col to stay small).
save("t_bil_37_518_ac1_s5.npy", bil(37, 37, 518, 518, True, 1)[::5, ::5])
save("t_bil_37_518_ac0_s5.npy", bil(37, 37, 518, 518, False, 2)[::5, ::5])
save("t_bil_13x17_61x40_ac0.npy", bil(13, 17, 61, 40, False, 3))  # non-square, down in w
save("t_bil_13x17_61x40_ac1.npy", bil(13, 17, 61, 40, True, 4))
save("t_bil_28_224_ac0.npy", bil(28, 28, 224, 224, False, 5)[::3, ::3])


def bic(ih, iw, C, seed, size=None, sf=None):
    x = torch.from_numpy(pattern(ih * iw * C, seed).reshape(1, ih, iw, C)).permute(0, 3, 1, 2)
    if size is not None:
        y = F.interpolate(x, size=size, mode="bicubic", align_corners=False)
    else:
        y = F.interpolate(x, scale_factor=sf, mode="bicubic", align_corners=False)
    return y[0].permute(1, 2, 0).contiguous().numpy()  # channel-last (oh, ow, C)


C = 4
save("t_bic_24_37_size.npy", bic(24, 24, C, 11, size=(37, 37)))     # open_clip resize_pos_embed
save("t_bic_16_37_size.npy", bic(16, 16, C, 12, size=(37, 37)))
g = 32
sf = (g + 0.1) / 37                                                  # DINOv2 interpolate_pos_encoding
y = bic(37, 37, C, 13, sf=(sf, sf))
assert y.shape[:2] == (32, 32), y.shape
save("t_bic_37_32_sf.npy", y)
save("t_bic_37_32_size.npy", bic(37, 37, C, 13, size=(32, 32)))     # newer DINOv2: size=
y = bic(37, 37, C, 14, sf=((32 + 0.1) / 37, (48 + 0.1) / 37))       # VisA 3:2 grid
assert y.shape[:2] == (32, 48), y.shape
save("t_bic_37_32x48_sf.npy", y)
# Documented fact: with scale_factor, torch uses 1/sf, so size= and scale_factor= differ.
assert not np.array_equal(np.load(f"{OUT}/t_bic_37_32_sf.npy"), np.load(f"{OUT}/t_bic_37_32_size.npy"))


# How interp.c was pinned down (and a guard: if this torch build computes differently, stop).
# Probing torch 1.13 (Debian CPU build) with unit impulses and brute-forcing evaluation orders gave:
# source coordinate in double from the float scale, fraction rounded to float; bilinear = double sum
# of x * (float weight products); bicubic = Keys A=-0.75 with the FMAs below, x pass then y pass.
# This numpy emulation must reproduce every torch golden bit for bit.
f32, f64 = np.float32, np.float64


def fma(a, b, c):  # a*b is exact in float64 for float32 inputs; one rounding to float32 after
    return (f64(a) * f64(b) + f64(c)).astype(f32)


def emu_src(n, o, ac, sf, cubic):
    if ac:
        sc = f32(n - 1) / f32(o - 1) if o > 1 else f32(0)
        return f64(sc) * np.arange(o)
    sc = f32(1.0 / sf) if sf else f32(n) / f32(o)
    s = f64(sc) * (np.arange(o) + 0.5) - 0.5
    return s if cubic else np.maximum(s, 0.0)


def emu_bilinear(x, oh, ow, ac):
    def tab(n, o):
        s = emu_src(n, o, ac, None, False)
        i0 = np.minimum(np.floor(s).astype(np.int64), n - 1)
        l1 = np.clip(s - i0, 0, 1).astype(f32)
        return i0, i0 + (i0 < n - 1), (f32(1) - l1).astype(f32), l1
    y0, y1, h0, h1 = tab(x.shape[0], oh)
    x0, x1, w0, w1 = tab(x.shape[1], ow)
    acc = f64(x[np.ix_(y0, x0)]) * f64(np.outer(h0, w0).astype(f32))
    acc += f64(x[np.ix_(y0, x1)]) * f64(np.outer(h0, w1).astype(f32))
    acc += f64(x[np.ix_(y1, x0)]) * f64(np.outer(h1, w0).astype(f32))
    acc += f64(x[np.ix_(y1, x1)]) * f64(np.outer(h1, w1).astype(f32))
    return acc.astype(f32)


def emu_bicubic(x, oh, ow, sf=None):  # x: (ih, iw, C)
    A = f32(-0.75)

    def c1(t):
        return ((fma(A + f32(2), t, -(A + f32(3))) * t).astype(f32) * t).astype(f32) + f32(1)

    def c2(t):
        u = fma(fma(A, t, -(f32(5) * A)), t, f32(8) * A)
        return (u * t).astype(f32) + (-(f32(4) * A))

    def tab(n, o, s_f):
        s = emu_src(n, o, False, s_f, True)
        i = np.floor(s).astype(np.int64)
        t = (s - i).astype(f32)
        t2 = (f32(1) - t).astype(f32)
        w = np.stack([c2((f64(t) + 1.0).astype(f32)), c1(t), c1(t2), c2((f64(t2) + 1.0).astype(f32))], 1)
        idx = np.clip(i[:, None] - 1 + np.arange(4), 0, n - 1)
        return idx, w.astype(f32)

    def interp1d(v, c):  # v[..., 4, C] with c[..., 4] -> fma(v3,c3, fma(v2,c2, fma(v0,c0, v1*c1)))
        c = c[..., None]
        r = (v[..., 1, :] * c[..., 1, :]).astype(f32)
        for j in (0, 2, 3):
            r = fma(v[..., j, :], c[..., j, :], r)
        return r

    iy, wy = tab(x.shape[0], oh, sf[0] if sf else None)
    ix, wx = tab(x.shape[1], ow, sf[1] if sf else None)
    rows = x[iy]                                   # (oh, 4, iw, C)
    g = rows[:, :, ix]                             # (oh, 4, ow, 4, C)
    r = interp1d(g, np.broadcast_to(wx[None, None], g.shape[:-1]))   # (oh, 4, ow, C)
    r = np.moveaxis(r, 1, 2)                       # (oh, ow, 4, C)
    return interp1d(r, np.broadcast_to(wy[:, None, :], r.shape[:-1]))


for name, (ih, iw, oh, ow, ac, seed, step) in {
        "t_bil_37_518_ac1_s5": (37, 37, 518, 518, True, 1, 5), "t_bil_37_518_ac0_s5": (37, 37, 518, 518, False, 2, 5),
        "t_bil_13x17_61x40_ac0": (13, 17, 61, 40, False, 3, 1), "t_bil_13x17_61x40_ac1": (13, 17, 61, 40, True, 4, 1),
        "t_bil_28_224_ac0": (28, 28, 224, 224, False, 5, 3)}.items():
    e = emu_bilinear(pattern(ih * iw, seed).reshape(ih, iw), oh, ow, ac)[::step, ::step]
    assert np.array_equal(e, np.load(f"{OUT}/{name}.npy")), f"torch bilinear arithmetic changed: {name}"
for name, (ih, oh, ow, seed, s_f) in {
        "t_bic_24_37_size": (24, 37, 37, 11, None), "t_bic_16_37_size": (16, 37, 37, 12, None),
        "t_bic_37_32_sf": (37, 32, 32, 13, (32.1 / 37, 32.1 / 37)), "t_bic_37_32_size": (37, 32, 32, 13, None),
        "t_bic_37_32x48_sf": (37, 32, 48, 14, ((32 + 0.1) / 37, (48 + 0.1) / 37))}.items():
    e = emu_bicubic(pattern(ih * ih * C, seed).reshape(ih, ih, C), oh, ow, s_f)
    assert np.array_equal(e, np.load(f"{OUT}/{name}.npy")), f"torch bicubic arithmetic changed: {name}"
print("torch arithmetic emulation: bit-exact on every interpolation golden")


def gauss(h, w, sigma, seed):
    x = pattern(h * w, seed).reshape(h, w)
    return scipy.ndimage.gaussian_filter(x, sigma=sigma, mode="reflect", truncate=4.0)


save("t_gauss_224_s4.npy", gauss(224, 224, 4.0, 21))
save("t_gauss_45x130_s4.npy", gauss(45, 130, 4.0, 22))
save("t_gauss_20x9_s4.npy", gauss(20, 9, 4.0, 23))   # radius 16 > size: repeated reflection
save("t_gauss_50x37_s1p5.npy", gauss(50, 37, 1.5, 24))

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
print(f"{len(os.listdir(OUT))} files, {total / 1e6:.2f} MB in {OUT}")
