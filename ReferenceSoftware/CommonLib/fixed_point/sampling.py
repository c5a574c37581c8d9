"""Fixed-point resampling: bilinear resizing and bilinear grid sampling (doc clause 3).

Coordinates are integers with 8 fractional bits (1/256 sample); the two
1-D weights of a bilinear interpolation are 8-bit fractions, their product a
16-bit fraction, and every output sample is RShift(sum of 4 weighted
samples, 16): one rounding per sample.
"""
from __future__ import annotations

import torch

from CommonLib.fixed_point.arith import rshift

COORD_BITS = 8
ONE = 1 << COORD_BITS


def resize_axis_weights(n_in: int, n_out: int):
    """Indices i0, i1 and 8-bit weight w1 of output samples 0..n_out-1 (align_corners = False).

    src = (d + 1/2) n_in / n_out - 1/2, clamped at 0, computed as the fraction
    N / D with N = (2d + 1) n_in - n_out, D = 2 n_out; i0 = floor(N / D),
    i1 = min(i0 + 1, n_in - 1), w1 = floor((256 (N - i0 D) + D/2) / D) (exact
    for power-of-two size ratios).
    """
    d = torch.arange(n_out, dtype=torch.int64)
    num = ((2 * d + 1) * n_in - n_out).clamp(min=0)
    den = 2 * n_out
    i0 = num // den
    rem = num - i0 * den
    w1 = (rem * ONE * 2 + den) // (2 * den)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    return i0, i1, w1


def resize_bilinear(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize of an integer map (B, C, H, W) to ``size`` (same quantiser)."""
    h_out, w_out = size
    b, c, h, w = x.shape
    if (h, w) == (h_out, w_out):
        return x
    y0, y1, wy = resize_axis_weights(h, h_out)
    x0, x1, wx = resize_axis_weights(w, w_out)
    rows = x[:, :, y0, :] * (ONE - wy).view(1, 1, -1, 1) + x[:, :, y1, :] * wy.view(1, 1, -1, 1)
    out = rows[:, :, :, x0] * (ONE - wx) + rows[:, :, :, x1] * wx
    return rshift(out, 2 * COORD_BITS)


def grid_sample(feat: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Bilinear sampling of ``feat`` (B, C, H, W) at sample positions (px, py) (B, Ho, Wo), 8 fractional bits.

    Position (0, 0) is the centre of the top-left sample (align_corners = True);
    neighbours outside the map count as 0 (zero padding). Same quantiser as feat.
    """
    b, c, h, w = feat.shape
    ho, wo = px.shape[1:]
    x0, y0 = px >> COORD_BITS, py >> COORD_BITS
    fx, fy = px & (ONE - 1), py & (ONE - 1)
    flat = feat.reshape(b, c, h * w)
    out = torch.zeros(b, c, ho * wo, dtype=torch.int64)
    for dy, wyt in ((0, ONE - fy), (1, fy)):
        for dx, wxt in ((0, ONE - fx), (1, fx)):
            xx, yy = x0 + dx, y0 + dy
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            idx = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).reshape(b, 1, ho * wo)
            wt = (wyt * wxt * inside).reshape(b, 1, ho * wo)
            out += torch.gather(flat, 2, idx.expand(b, c, ho * wo)) * wt
    return rshift(out, 2 * COORD_BITS).reshape(b, c, ho, wo)
