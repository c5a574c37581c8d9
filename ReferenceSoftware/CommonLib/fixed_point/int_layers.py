"""Integer layers of the fixed-point process (doc/integer_decoding_process.md clause 2).

``IntConv``: y[c] = ClipA(RShift(sum_k w[c,k] x[k] + b[c], s[c])) with int8..int16
weights w, an int64 bias b with the accumulator's fractional bits, and a per
output channel shift s[c] = qw[c] + q_in - q_out (power-of-two quantisers).
BatchNorm layers that follow a convolution are folded into it by the
converter; a BatchNorm that starts a pre-activation residual branch is an
``IntAffine`` (per-channel multiplier, same rounding).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from CommonLib.fixed_point.arith import frshift
from CommonLib.fixed_point.exact_conv import ExactConv2d


@dataclass
class IntConv:
    weight: torch.Tensor      # (Cout, Cin/groups, kh, kw) int64
    bias: torch.Tensor        # (Cout,) int64, fractional bits qw[c] + q_in
    shift: torch.Tensor       # (Cout,) int64, qw[c] + q_in - q_out
    q_in: int
    q_out: int
    padding: int
    groups: int = 1
    activation_bits: int = 16

    def __post_init__(self):
        self.amax = (1 << (self.activation_bits - 1)) - 1
        self._conv = ExactConv2d(self.weight, self.padding, self.groups, x_max_abs=self.amax + 1)
        self._bias = self.bias.double().view(1, -1, 1, 1)
        self._scale = torch.exp2(-self.shift.double()).view(1, -1, 1, 1)

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        """Exact sum of products plus bias (float64 carrier), before the output shift."""
        return self._conv(x) + self._bias

    def __call__(self, x: torch.Tensor, apply_relu: bool = False) -> torch.Tensor:
        """x: A-bit integers (float32 carrier) -> the same for the output."""
        acc = self._conv(x).add_(self._bias)
        acc.mul_(self._scale).add_(0.5).floor_()                            # RShift(acc, s[c]), exact
        return acc.clamp_(0 if apply_relu else -self.amax - 1, self.amax).float()

    def exactness_ok(self) -> bool:
        return self._conv.bound_ok()


@dataclass
class IntAffine:
    scale: torch.Tensor       # (C,) int64, qa[c] fractional bits
    bias: torch.Tensor        # (C,) int64, qa[c] + q_in fractional bits
    shift: torch.Tensor       # (C,) int64, qa[c] + q_in - q_out
    q_in: int
    q_out: int
    activation_bits: int = 16

    def __post_init__(self):
        self.amax = (1 << (self.activation_bits - 1)) - 1
        self._scale = self.scale.double().view(1, -1, 1, 1)
        self._bias = self.bias.double().view(1, -1, 1, 1)
        self._shift = self.shift.view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor, apply_relu: bool = False) -> torch.Tensor:
        y = frshift(x.double() * self._scale + self._bias, self._shift)
        return y.clamp(0 if apply_relu else -self.amax - 1, self.amax).float()


@dataclass
class IntQuantiser:
    """The quantiser of a tensor that is not a layer output (a residual sum, an HF sum)."""
    q_out: int
