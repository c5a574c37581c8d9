"""Exact integer 2-D convolution computed with float32 convolutions (doc clause 2.3).

The normative result of a convolution is the exact integer sum
sum_k w[k] x[k] (plus the bias, added in int64). This module computes it
with the platform's fast float32 convolution, which is exact here because
every product and every partial sum it forms is an integer of magnitude
below 2^24 (the float32 significand): the activations are split into
base-256 digits (lo in 0..255, hi = a >> 8 in -128..127), the weights too
when they exceed 8 bits, and the input channels are cut into chunks so that

    sum over one chunk of |digit(w)| x |digit(x)|  <  2^24.

Then every partial sum of the float32 accumulation, in whatever order,
blocking, vectorisation or fused multiply-add the library uses, is an
exactly representable integer, so the float32 result is exact and
independent of the machine. The digits' partial convolutions are converted
to int64 and recombined with shifts. (A direct or GEMM algorithm is
required; PyTorch's CPU float32 convolution with batch 1 is direct/GEMM —
oneDNN direct or im2col+GEMM — never Winograd or FFT.)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

FLOAT32_EXACT = 1 << 24


def digits(a: torch.Tensor, n: int) -> list[torch.Tensor]:
    """Base-256 digits of int64 ``a``: n-1 unsigned digits 0..255 then a signed top digit."""
    out = []
    for _ in range(n - 1):
        out.append(a & 255)
        a = a >> 8
    out.append(a)
    return out


def digit_count(max_abs: int) -> int:
    """Digits needed so that the signed top digit is within -128..127."""
    n = 1
    while max_abs >= (1 << (8 * n - 1)):
        n += 1
    return n


class ExactConv2d:
    """Integer convolution y = conv(x, w) with int64 weights, padding p, stride 1, groups 1 or depthwise."""

    def __init__(self, weight: torch.Tensor, padding: int, groups: int = 1, x_max_abs: int = (1 << 15) - 1):
        self.w = weight.to(torch.int64)
        self.padding, self.groups = padding, groups
        cout, cin_g, kh, kw = self.w.shape
        self.w_digits_n = digit_count(int(self.w.abs().max()) if self.w.numel() else 0)
        self.x_max_abs = x_max_abs
        self.x_digits_n = 1 if x_max_abs <= 255 else 2
        if x_max_abs >= 1 << 15:
            raise ValueError("activations must be below 2^15 in magnitude")
        wd = digits(self.w, self.w_digits_n)
        max_wd = max(255 if i < self.w_digits_n - 1 else max(1, int(d.abs().max())) for i, d in enumerate(wd))
        max_xd = 255 if self.x_digits_n > 1 else max(1, x_max_abs)
        per_channel = kh * kw * max_wd * max_xd
        self.chunk = max(1, (FLOAT32_EXACT - 1) // per_channel)
        if groups != 1:
            if per_channel >= FLOAT32_EXACT:
                raise ValueError("depthwise kernel too large for exact float32 evaluation")
            self.chunk = cin_g
        elif self.chunk < 1:
            raise ValueError("kernel too large for exact float32 evaluation")
        # pre-split weights: list over input-channel chunks of lists of float32 digit tensors
        self.w_chunks = []
        for c0 in range(0, cin_g, self.chunk):
            self.w_chunks.append((c0, [d[:, c0:c0 + self.chunk].float().contiguous() for d in wd]))

    def bound_ok(self) -> bool:
        """The exactness condition of the module docstring (checked by tests)."""
        cout, cin_g, kh, kw = self.w.shape
        for _, wds in self.w_chunks:
            for i, d in enumerate(wds):
                xd = 255 if self.x_digits_n > 1 else self.x_max_abs
                if float(d.abs().sum(dim=(1, 2, 3)).max()) * xd >= FLOAT32_EXACT:
                    return False
        return True

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: integers (int64, or a float32 carrier); returns the exact sums in a float64 carrier."""
        x = x.float()
        if self.x_digits_n == 1:
            xb, nb = x, 1
        else:                                   # two digits, stacked along the batch: one call per chunk
            hi = torch.floor(x * (1 / 256))
            xb, nb = torch.cat([x - 256 * hi, hi], 0), 2
        b = x.shape[0]
        acc = None
        for c0, wds in self.w_chunks:
            xs = xb[:, c0:c0 + self.chunk] if self.groups == 1 else xb
            for j, wj in enumerate(wds):
                y = F.conv2d(xs, wj, padding=self.padding, groups=self.groups).double()
                part = y[:b] if nb == 1 else y[:b] + 256 * y[b:]
                if j:
                    part = part * float(256 ** j)
                acc = part if acc is None else acc + part
        return acc


def reference_conv2d(x: torch.Tensor, w: torch.Tensor, padding: int, groups: int = 1) -> torch.Tensor:
    """Slow int64 reference (unfold + integer matmul) for tests."""
    b, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    xp = F.pad(x, (padding,) * 4)
    cols = xp.unfold(2, kh, 1).unfold(3, kw, 1)          # b, cin, H, W, kh, kw
    H, W = cols.shape[2], cols.shape[3]
    if groups == 1:
        cols = cols.permute(0, 2, 3, 1, 4, 5).reshape(b, H * W, cin * kh * kw)
        y = cols @ w.reshape(cout, -1).t()
        return y.permute(0, 2, 1).reshape(b, cout, H, W)
    y = (cols * w.view(1, cout, 1, 1, kh, kw)).sum(dim=(4, 5))
    return y
