"""Integer primitives of the fixed-point process (doc/integer_decoding_process.md clause 2).

All functions take and return ``torch.int64`` tensors of mathematical
integers. Rounding is always "round half up" by an arithmetic shift:

    RShift(a, s) = (a + 2^(s-1)) >> s      for s > 0
                 = a << (-s)                for s <= 0

``>>`` is the arithmetic (floor) shift. Clip(a, lo, hi) saturates.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rshift(a: torch.Tensor, s: int) -> torch.Tensor:
    """RShift(a, s) on int64 tensors (per-channel shifts use :func:`frshift`)."""
    if s > 0:
        return (a + (1 << (s - 1))) >> s
    return a << (-s) if s < 0 else a


def div_round(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """DivRound(a, b) = floor((2a + b) / (2b)) for b > 0: integer division rounded half up (int64)."""
    return torch.div(2 * a + b, 2 * b, rounding_mode="floor")


# --- the same operations on floating-point carriers of integers ----------------------------------
# Activations of the convolution layers are carried in float32 tensors holding
# integers of at most 2^15 in magnitude, accumulators in float64 tensors holding
# integers below 2^53 (doc clause 2.2): every operation below is then exact,
# because scaling by a power of two is exact and each intermediate value is an
# integer or half-integer below the significand's range.

def frshift(a: torch.Tensor, s) -> torch.Tensor:
    """RShift on a float carrier: floor(a 2^-s + 1/2) (for s <= 0 a 2^-s is an integer, unchanged)."""
    if isinstance(s, int):
        return a * float(2.0 ** -s) if s <= 0 else torch.floor(a * float(2.0 ** -s) + 0.5)
    return torch.floor(a * torch.exp2(-s.to(a.dtype)) + 0.5)


def favg_pool2(a: torch.Tensor) -> torch.Tensor:
    """RShift(sum of 2x2 samples, 2) on a float32 carrier (the mean of 4 integers is exact)."""
    return torch.floor(F.avg_pool2d(a, 2) + 0.5)


def fupsample_nearest2(a: torch.Tensor) -> torch.Tensor:
    return F.interpolate(a, scale_factor=2, mode="nearest")
