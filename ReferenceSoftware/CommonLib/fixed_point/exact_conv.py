"""Exact integer 2-D convolution computed with float32 convolutions (doc/integer_decoding_process.md clause 2.4).

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
    """Integer convolution y = conv(x, w) with int64 weights, padding p, stride 1, groups 1 or depthwise.

    ``x_max_abs`` bounds the input magnitude. The evaluation plan (input digits
    and input-channel chunk size) is derived from the actual weights: with one
    input digit the bound uses |x| <= x_max_abs, with two the digits' 255; of the
    plans that satisfy the 2^24 bound the one with the fewest convolutions is used.
    """

    check_ranges = False        # tests set it: every input must respect x_max_abs

    def __init__(self, weight: torch.Tensor, padding: int, groups: int = 1, x_max_abs: int = 1 << 15):
        self.w = weight.to(torch.int64)
        self.padding, self.groups = padding, groups
        if x_max_abs > 1 << 15:
            raise ValueError("activations must be within -2^15..2^15")
        self.x_max_abs = x_max_abs
        cout, cin_g, kh, kw = self.w.shape
        self.w_digits_n = digit_count(int(self.w.abs().max()) if self.w.numel() else 0)
        wd = digits(self.w, self.w_digits_n)
        # per (digit, output channel, input channel): sum over the kernel of |digit|
        sums = [d.abs().sum(dim=(2, 3)) for d in wd]
        plans = []
        for n_x, xd in ((1, max(1, x_max_abs)), (2, 255)):
            chunk = self._largest_chunk(sums, xd, cin_g)
            if chunk:
                plans.append((n_x * -(-cin_g // chunk), n_x, chunk))
        if not plans:
            raise ValueError("kernel too large for exact float32 evaluation")
        _, self.x_digits_n, self.chunk = min(plans)
        if groups != 1:
            self.chunk = cin_g
        self.w_chunks = []
        for c0 in range(0, cin_g, self.chunk):
            self.w_chunks.append((c0, [d[:, c0:c0 + self.chunk].float().contiguous() for d in wd]))

    @staticmethod
    def _largest_chunk(sums, xd: int, cin_g: int) -> int:
        """Largest uniform chunk of input channels with sum |w digit| x xd < 2^24 for every output (0: none)."""
        for chunk in range(cin_g, 0, -1):
            ok = True
            for s in sums:
                for c0 in range(0, cin_g, chunk):
                    if int(s[:, c0:c0 + chunk].sum(dim=1).max()) * xd >= FLOAT32_EXACT:
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                return chunk
        return 0

    def bound_ok(self) -> bool:
        """The exactness condition of the module docstring (checked by tests)."""
        xd = 255 if self.x_digits_n > 1 else max(1, self.x_max_abs)
        for _, wds in self.w_chunks:
            for d in wds:
                if float(d.abs().sum(dim=(1, 2, 3)).max()) * xd >= FLOAT32_EXACT:
                    return False
        return True

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: integers (int64, or a float32 carrier); returns the exact sums in a float64 carrier."""
        x = x.float()
        if ExactConv2d.check_ranges and float(x.abs().max()) > self.x_max_abs:
            raise AssertionError(f"input magnitude {float(x.abs().max())} above the declared {self.x_max_abs}")
        b = x.shape[0]
        if self.x_digits_n == 1:
            xb, nb = x, 1
        else:                                   # two digits, stacked along the batch: one call per chunk
            xb, nb = torch.empty((2 * b,) + tuple(x.shape[1:]), dtype=torch.float32), 2
            hi = torch.floor(x * (1 / 256), out=xb[b:])
            torch.sub(x, hi, alpha=256, out=xb[:b])
        acc = None
        for c0, wds in self.w_chunks:
            xs = xb[:, c0:c0 + self.chunk] if self.groups == 1 else xb
            for j, wj in enumerate(wds):
                y = F.conv2d(xs, wj, padding=self.padding, groups=self.groups)
                if nb == 1:
                    part = y.double()
                else:
                    part = y[b:].double().mul_(256).add_(y[:b])
                if j:
                    part.mul_(float(256 ** j))
                acc = part if acc is None else acc.add_(part)
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


class ExactSeparableConv2d:
    """Integer depthwise convolution with the 2-D kernel k[i] k[j] (an outer product), zero padding p, stride 1.

    Same result as ExactConv2d with ``torch.outer(k, k)``, in two 1-D passes: the integer sum factors as
    sum_i k[i] (sum_j k[j] x[r + i, c + j]), and zero padding of the input is zero padding of the row pass's
    output. The row pass is a float32 convolution, exact while sum |k| x x_max_abs < 2^24; the column pass a
    float64 one, exact while sum |k| x (that bound) < 2^53: every product and partial sum is then an integer
    that the carrier represents exactly, in any order of accumulation (the argument of the module docstring).
    About 2 K instead of 3 K^2 multiplications a sample for the 13-tap anti-aliasing kernel (clause 6.1: one
    digit of input, three of weights in ExactConv2d), ten times faster. PyTorch's CPU float64 convolution is
    direct (no oneDNN, never Winograd or FFT), so the argument holds for it as for float32.
    """

    def __init__(self, k: torch.Tensor, padding: int, channels: int, x_max_abs: int = 255):
        self.k = k.to(torch.int64)
        self.padding, self.channels, self.x_max_abs = padding, channels, x_max_abs
        if not self.bound_ok():
            raise ValueError("kernel too large for exact separable evaluation")
        k = self.k
        n = k.numel()
        self.row = k.float().view(1, 1, 1, n).expand(channels, 1, 1, n).contiguous()
        self.col = k.double().view(1, 1, n, 1).expand(channels, 1, n, 1).contiguous()

    def bound_ok(self) -> bool:
        """The exactness conditions of the class docstring (checked by tests)."""
        s = int(self.k.abs().sum())
        return s * self.x_max_abs < FLOAT32_EXACT and s * s * self.x_max_abs < 1 << 53

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: integers (int64, or a float32 carrier) within x_max_abs; returns the exact sums in a float64 carrier."""
        x = x.float()
        if ExactConv2d.check_ranges and float(x.abs().max()) > self.x_max_abs:
            raise AssertionError(f"input magnitude {float(x.abs().max())} above the declared {self.x_max_abs}")
        p = self.padding
        rows = F.conv2d(x, self.row, padding=(0, p), groups=self.channels).double()
        return F.conv2d(rows, self.col, padding=(p, 0), groups=self.channels)
