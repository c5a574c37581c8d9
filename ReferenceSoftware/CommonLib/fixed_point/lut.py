"""exp, softmax and sigmoid in integer arithmetic with the model file's exp table (doc clause 4).

EXP is a table of N = 2^14 entries, EXP[t] = floor(2^14 exp(-t / 2^10) + 1/2),
stored in the integer model file (so it is data, not a platform exp()).
Arguments t >= 0 are integers with 10 fractional bits; t >= N gives 0.
"""
from __future__ import annotations

import math

import torch

from CommonLib.fixed_point.arith import div_round, rshift

EXP_ARG_BITS = 10            # fractional bits of the argument t
EXP_VALUE_BITS = 14          # fractional bits of EXP[t]
EXP_ENTRIES = 1 << 14        # t in [0, 16)


def build_exp_table() -> torch.Tensor:
    """The table (converter side; float64 exp, then stored as integers)."""
    return torch.tensor([math.floor((1 << EXP_VALUE_BITS) * math.exp(-t / (1 << EXP_ARG_BITS)) + 0.5)
                         for t in range(EXP_ENTRIES)], dtype=torch.int64)


def exp_neg(t: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """EXP[t] for t >= 0 (10 fractional bits), 0 for t >= N; result has 14 fractional bits."""
    inside = t < EXP_ENTRIES
    return torch.where(inside, table[t.clamp(0, EXP_ENTRIES - 1)], torch.zeros_like(t))


def to_exp_arg(a: torch.Tensor, q: int) -> torch.Tensor:
    """An integer with q fractional bits re-expressed with 10 (RShift)."""
    return rshift(a, q - EXP_ARG_BITS)


def softmax(logits: torch.Tensor, q: int, table: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """softmax over ``dim`` of logits (q fractional bits) -> weights with 15 fractional bits.

    m = max, e_k = EXP[RShift(m - l_k, q - 10)], w_k = floor((2^16 e_k + S) / (2 S)), S = sum e_k.
    """
    m = logits.max(dim=dim, keepdim=True).values
    e = exp_neg(to_exp_arg(m - logits, q), table)
    s = e.sum(dim=dim, keepdim=True)
    return div_round(e << 15, s)


def spatial_expectation(logits: torch.Tensor, q: int, temperature: tuple[int, int], table: torch.Tensor) -> torch.Tensor:
    """Keypoints of heatmap logits (1, K, h, w) with q fractional bits (doc clause 6.7): the softmax over the
    h x w positions at temperature T = t_num / t_den and the expected (x, y) on the [-1, 1] grid, as (K, 2)
    integers with 16 fractional bits.

    m = max, t = DivRound((m - l) t_den 2^10, t_num 2^q) (10 fractional bits), e = EXP[t], S = sum e;
    x = DivRound(2^16 sum e (2i - (w - 1)), S (w - 1)), y likewise with j and h.
    """
    t_num, t_den = temperature
    _, k, h, w = logits.shape
    lg = logits[0].reshape(k, h * w).to(torch.int64)
    d = (lg.max(dim=1, keepdim=True).values - lg) * t_den
    s = EXP_ARG_BITS - q
    t = div_round(d << s, torch.tensor(t_num)) if s >= 0 else div_round(d, torch.tensor(t_num << -s))
    e = exp_neg(t, table).reshape(k, h, w)
    total = e.sum(dim=(1, 2))
    gx = 2 * torch.arange(w, dtype=torch.int64) - (w - 1)
    gy = 2 * torch.arange(h, dtype=torch.int64) - (h - 1)
    x = div_round((e * gx.view(1, 1, w)).sum(dim=(1, 2)) << 16, total * (w - 1))
    y = div_round((e * gy.view(1, h, 1)).sum(dim=(1, 2)) << 16, total * (h - 1))
    return torch.stack([x, y], dim=1)


def sigmoid(a: torch.Tensor, q: int, table: torch.Tensor) -> torch.Tensor:
    """sigmoid of a (q fractional bits) -> 15 fractional bits.

    t = RShift(|a|, q - 10); s = floor((2^30 + (2^14 + EXP[t])) / (2 (2^14 + EXP[t]))) = round(2^15 / (1 + e^-|a|));
    sigmoid = s for a >= 0, 2^15 - s for a < 0.
    """
    t = to_exp_arg(a.abs(), q)
    den = (1 << EXP_VALUE_BITS) + exp_neg(t, table)
    s = div_round(torch.full_like(den, 1 << 29), den)
    return torch.where(a >= 0, s, (1 << 15) - s)
