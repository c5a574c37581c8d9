"""Bjontegaard deltas (BD-rate, BD-metric) with the JVET CTC piecewise-cubic method.

The JVET common-test-condition spreadsheet interpolates log10(rate) as a
piecewise cubic (PCHIP) function of the quality metric and integrates over the
quality range both curves cover (the two curves may have different numbers of points, as the CTC's
anchors and test configurations do); ``cubic`` (the original VCEG-M33 polynomial)
and ``akima`` are offered for comparison. The computation is the
``bjontegaard`` package's (PCHIP reproduces the spreadsheet, brief section 6).
"""
from __future__ import annotations

import warnings

import numpy as np

from Utilities.errors import ConfigError

METHODS = ("pchip", "cubic", "akima")


def overlap_fraction(q_anchor, q_test) -> float:
    """Common quality range / the smaller of the two ranges (0 = disjoint)."""
    lo, hi = max(min(q_anchor), min(q_test)), min(max(q_anchor), max(q_test))
    span = min(max(q_anchor) - min(q_anchor), max(q_test) - min(q_test))
    return max(0.0, hi - lo) / span if span > 0 else 0.0


def _check(rates_a, q_a, rates_t, q_t):
    for name, r, q in (("anchor", rates_a, q_a), ("test", rates_t, q_t)):
        if len(r) != len(q) or len(r) < 4 and len(r) < 2:
            raise ConfigError(f"{name}: rates and metric values must have the same length (>= 2)")
        if any(x <= 0 for x in r):
            raise ConfigError(f"{name}: rates must be positive")
        if len(set(q)) != len(q):
            raise ConfigError(f"{name}: metric values must be distinct")


def _bd(kind: str, rates_a, q_a, rates_t, q_t, method: str) -> float:
    """The bjontegaard package's ``bd_rate`` or ``bd_psnr`` after the checks; NaN where the ranges (of quality
    for BD-rate, of log-rate for BD-metric) do not overlap."""
    import bjontegaard as bd
    if method not in METHODS:
        raise ConfigError(f"unknown BD method '{method}' (choose {', '.join(METHODS)})")
    _check(rates_a, q_a, rates_t, q_t)
    ranges = (q_a, q_t) if kind == "rate" else (np.log10(rates_a), np.log10(rates_t))
    if overlap_fraction(*ranges) <= 0:
        return float("nan")
    fn = bd.bd_rate if kind == "rate" else bd.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(list(rates_a), list(q_a), list(rates_t), list(q_t), method=method, min_overlap=0,
                        require_matching_points=False))


def bd_rate(rates_a, q_a, rates_t, q_t, method: str = "pchip") -> float:
    """Average bit-rate difference (%) of test vs. anchor at equal quality (negative = test saves bits)."""
    return _bd("rate", rates_a, q_a, rates_t, q_t, method)


def bd_metric(rates_a, q_a, rates_t, q_t, method: str = "pchip") -> float:
    """Average quality difference of test vs. anchor at equal rate (BD-PSNR for PSNR)."""
    return _bd("metric", rates_a, q_a, rates_t, q_t, method)
