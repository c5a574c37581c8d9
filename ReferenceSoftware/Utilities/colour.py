"""Integer colour conversion between Y'CbCr 4:2:0 and R'G'B' 4:4:4 (8 bit).

Normative for HDAC-HF (``doc/decoding_process.md``, clause "Colour
conversion"): BT.709 matrix, limited ("TV") range, 14-bit fixed-point
coefficients, round-half-up by adding 2^13 before an arithmetic right shift,
clipping to [0, 255]. Chroma is up-sampled with the separable triangular
filter (3/4, 1/4) (centre-sited chroma) and down-sampled by the rounded mean
of each 2x2 block. Only integer numpy arithmetic is used, so results are the
same on every machine.
"""
from __future__ import annotations

import numpy as np

SHIFT = 14
ROUND = 1 << (SHIFT - 1)

# Forward matrix, coefficient = floor(c * 2^14 + 1/2) of the BT.709 limited-range
# equations (Kr = 0.2126, Kb = 0.0722); test_colour.py re-derives them.
RGB_TO_Y = (2991, 10064, 1016)
RGB_TO_CB = (-1649, -5547, 7196)
RGB_TO_CR = (7196, -6536, -660)
# Inverse matrix.
Y_SCALE = 19077          # 255/219
CR_TO_R = 29372          # 255/224 * 2(1-Kr)
CB_TO_G = -3494          # -255/224 * 2(1-Kb) Kb/Kg
CR_TO_G = -8731          # -255/224 * 2(1-Kr) Kr/Kg
CB_TO_B = 34610          # 255/224 * 2(1-Kb)


def _clip8(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0, 255).astype(np.uint8)


def upsample_chroma(c: np.ndarray) -> np.ndarray:
    """4:2:0 chroma plane (h, w) -> (2h, 2w): weights (3, 1)/4 per direction, edges replicated."""
    c = c.astype(np.int32)
    p = np.pad(c, 1, mode="edge")
    # vertical: rows 2i -> 3 c[i] + c[i-1], rows 2i+1 -> 3 c[i] + c[i+1]
    up = 3 * p[1:-1, :] + p[:-2, :]
    dn = 3 * p[1:-1, :] + p[2:, :]
    v = np.empty((2 * c.shape[0], p.shape[1]), np.int32)
    v[0::2], v[1::2] = up, dn
    lf = 3 * v[:, 1:-1] + v[:, :-2]
    rt = 3 * v[:, 1:-1] + v[:, 2:]
    out = np.empty((v.shape[0], 2 * c.shape[1]), np.int32)
    out[:, 0::2], out[:, 1::2] = lf, rt
    return ((out + 8) >> 4).astype(np.uint8)


def downsample_chroma(c: np.ndarray) -> np.ndarray:
    """Full-resolution chroma (2h, 2w) -> (h, w): (a + b + c + d + 2) >> 2."""
    c = c.astype(np.int32)
    s = c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y'CbCr 4:2:0 planes (uint8) -> R'G'B' (3, H, W) uint8."""
    yy = (y.astype(np.int64) - 16) * Y_SCALE
    cb = upsample_chroma(u).astype(np.int64) - 128
    cr = upsample_chroma(v).astype(np.int64) - 128
    r = (yy + CR_TO_R * cr + ROUND) >> SHIFT
    g = (yy + CB_TO_G * cb + CR_TO_G * cr + ROUND) >> SHIFT
    b = (yy + CB_TO_B * cb + ROUND) >> SHIFT
    return _clip8(np.stack([r, g, b]))


def rgb_to_yuv444(rgb: np.ndarray):
    """R'G'B' (3, H, W) uint8 -> full-resolution Y', Cb, Cr planes (uint8)."""
    r, g, b = (rgb[i].astype(np.int64) for i in range(3))

    def mat(c, offset):
        return _clip8((c[0] * r + c[1] * g + c[2] * b + (offset << SHIFT) + ROUND) >> SHIFT)

    return mat(RGB_TO_Y, 16), mat(RGB_TO_CB, 128), mat(RGB_TO_CR, 128)


def rgb_to_yuv420(rgb: np.ndarray):
    """R'G'B' (3, H, W) uint8 -> (Y, Cb, Cr) 4:2:0 planes (uint8)."""
    y, cb, cr = rgb_to_yuv444(rgb)
    return y, downsample_chroma(cb), downsample_chroma(cr)


BT709_LUMA = (0.2126, 0.7152, 0.0722)        # Y = kr R + kg G + kb B (BT.709)


def luma_bt709(rgb: np.ndarray) -> np.ndarray:
    """Float BT.709 luma in [0, 255] (full range) for metrics (PSNR-Y as the GFVC software)."""
    rgb = rgb.astype(np.float64)
    return BT709_LUMA[0] * rgb[0] + BT709_LUMA[1] * rgb[1] + BT709_LUMA[2] * rgb[2]
