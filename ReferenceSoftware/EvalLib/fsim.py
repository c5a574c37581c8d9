"""FSIM / FSIMc, the Feature Similarity index of 8-bit R'G'B' pictures.

L. Zhang, L. Zhang, X. Mou and D. Zhang, "FSIM: A Feature Similarity Index
for Image Quality Assessment", IEEE Trans. Image Processing 20(8), 2011.

The computation follows the authors' MATLAB program (``FeatureSIM.m``) in the
form that ``piq.fsim`` (piq 0.8.0) gives it, which is what the JVET GFVC
software reports as "FSIM" on RGB pictures:

1. Both pictures are scaled to [0, 255] (float64) and reduced by the factor
   ``F = max(1, round(min(H, W) / 256))`` (Python rounding, half to even) by
   averaging non-overlapping F x F blocks; rows/columns that do not fill a
   whole block at the bottom/right are dropped.
2. R'G'B' -> YIQ with the matrix ``[[0.299, 0.587, 0.114], [0.5959, -0.2746,
   -0.3213], [0.2115, -0.5227, 0.3112]]``.
3. Phase congruency (PC) of each Y plane with log-Gabor filters built in the
   frequency domain: 4 scales (wavelengths 6, 12, 24, 48), 4 orientations,
   sigma_onf 0.55, angular spread pi / (4 * 1.2), a Butterworth low pass
   (cut-off 0.45, order 15) and a noise threshold of k = 2 Rayleigh standard
   deviations, estimated per orientation from the (lower) median of the
   squared smallest-scale response and divided by 1.7.
4. Gradient magnitude (GM) of each Y plane with the Scharr kernels
   ``[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]] / 16`` and its transpose, zero
   padding outside the picture.
5. S_PC = (2 PC_a PC_b + T1) / (PC_a^2 + PC_b^2 + T1) with T1 = 0.85, S_G
   likewise with T2 = 160; for FSIMc also S_I, S_Q on the I and Q planes with
   T3 = T4 = 200, combined as ``|S_I S_Q| ** 0.03``.
6. FSIM(c) = sum(S_PC S_G [|S_I S_Q|^0.03] PC_m) / sum(PC_m) with
   PC_m = max(PC_a, PC_b).

The index is symmetric in its two arguments; identical pictures give 1.0.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft

__all__ = ["fsim"]

# Phase congruency parameters (FeatureSIM.m / piq defaults).
_SCALES = 4
_ORIENTS = 4
_MIN_WAVELENGTH = 6
_MULT = 2
_SIGMA_ONF = 0.55
_D_THETA_ON_SIGMA = 1.2
_K_NOISE = 2.0
_LOWPASS_CUTOFF = 0.45
_LOWPASS_ORDER = 15
_PC2_NOISE_RESCALE = 1.7

# Similarity constants of the paper.
_T1, _T2, _T3, _T4, _LAMBDA = 0.85, 160.0, 200.0, 200.0, 0.03

_EPS = float(np.finfo(np.float64).eps)

_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.5959, -0.2746, -0.3213],
                        [0.2115, -0.5227, 0.3112]], dtype=np.float64)


def _check_picture(rgb, name: str) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"{name} must be a (3, H, W) R'G'B' array, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8, got {arr.dtype}")
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"{name} is empty ({arr.shape})")
    return arr


def _block_mean(planes: np.ndarray, f: int) -> np.ndarray:
    """Mean of non-overlapping f x f blocks of (C, H, W) planes; partial blocks dropped."""
    if f == 1:
        return planes
    c, h, w = planes.shape
    hh, ww = h // f, w // f
    blocks = planes[:, :hh * f, :ww * f].reshape(c, hh, f, ww, f)
    return blocks.sum(axis=(2, 4)) / (f * f)


def _centred_frequencies(n: int) -> np.ndarray:
    """Normalised frequencies with 0 at index n // 2 (MATLAB FeatureSIM.m convention)."""
    if n % 2:
        return (np.arange(n, dtype=np.float64) - (n - 1) / 2) / (n - 1)
    return (np.arange(n, dtype=np.float64) - n / 2) / n


class _FilterBank:
    """Log-Gabor filters of one picture size and the image-independent noise terms."""

    def __init__(self, h: int, w: int):
        fr = _centred_frequencies(h)[:, None]   # along the rows
        fc = _centred_frequencies(w)[None, :]   # along the columns
        # piq's orientation convention: angle measured from the row-frequency
        # axis, i.e. atan2(-f_col, f_row).
        radius = np.sqrt(fr * fr + fc * fc)
        angle = np.arctan2(-np.broadcast_to(fc, radius.shape), np.broadcast_to(fr, radius.shape))
        lowpass = 1.0 / (1.0 + (radius / _LOWPASS_CUTOFF) ** (2 * _LOWPASS_ORDER))

        # Zero frequency to the top-left corner, as fft2 expects.
        radius = np.fft.ifftshift(radius)
        angle = np.fft.ifftshift(angle)
        lowpass = np.fft.ifftshift(lowpass)
        radius[0, 0] = 1.0  # keeps log() finite; that bin is zeroed below

        two_log_sigma2 = 2.0 * math.log(_SIGMA_ONF) ** 2
        radial = []
        for s in range(_SCALES):
            centre = 1.0 / (_MIN_WAVELENGTH * _MULT ** s)
            g = np.exp(-np.log(radius / centre) ** 2 / two_log_sigma2) * lowpass
            g[0, 0] = 0.0
            radial.append(g)

        sin_a, cos_a = np.sin(angle), np.cos(angle)
        theta_sigma = math.pi / (_ORIENTS * _D_THETA_ON_SIGMA)
        angular = []
        for o in range(_ORIENTS):
            phi = o * math.pi / _ORIENTS
            d_sin = sin_a * math.cos(phi) - cos_a * math.sin(phi)
            d_cos = cos_a * math.cos(phi) + sin_a * math.sin(phi)
            d_theta = np.abs(np.arctan2(d_sin, d_cos))
            angular.append(np.exp(-d_theta ** 2 / (2.0 * theta_sigma ** 2)))

        # (orientation, scale, H, W)
        self.filters = np.stack([np.stack([angular[o] * radial[s] for s in range(_SCALES)])
                                 for o in range(_ORIENTS)])

        # Mean squared filter value at the smallest scale, per orientation.
        self.smallest_scale_power = (self.filters[:, 0] ** 2).sum(axis=(1, 2))

        # Spatial filters (real part), normalised as in FeatureSIM.m.
        spatial = np.fft.ifft2(self.filters).real * math.sqrt(h * w)
        self.sum_an2 = (spatial ** 2).sum(axis=(1, 2, 3))
        cross = np.zeros(_ORIENTS)
        for i in range(_SCALES - 1):
            for j in range(i + 1, _SCALES):
                cross += (spatial[:, i] * spatial[:, j]).sum(axis=(1, 2))
        self.sum_ai_aj = cross


@lru_cache(maxsize=8)
def _filter_bank(h: int, w: int) -> _FilterBank:
    return _FilterBank(h, w)


def _lower_median(values: np.ndarray) -> np.ndarray:
    """Median along the last axis; for an even count the lower middle value."""
    k = (values.shape[-1] - 1) // 2
    return np.partition(values, k, axis=-1)[..., k]


def _phase_congruency(luma: np.ndarray, bank: _FilterBank) -> np.ndarray:
    h, w = luma.shape
    # responses even + i odd per orientation and scale (O, S, H, W)
    responses = scipy.fft.ifft2(scipy.fft.fft2(luma)[None, None] * bank.filters)
    amplitude = np.abs(responses)

    total = responses.sum(axis=1, keepdims=True)
    mean = total / (np.abs(total) + _EPS)           # mean_even + i mean_odd
    # sum over scales of A_n (cos(dphi) - |sin(dphi)|), per orientation: with r conj(mean) = (even mean_even +
    # odd mean_odd) + i (odd mean_even - even mean_odd)
    rotated = responses * mean.conj()
    energy = (rotated.real - np.abs(rotated.imag)).sum(axis=1)  # (O, H, W)

    # Noise: Rayleigh-distributed energy estimated from the smallest scale.
    e2_smallest = (amplitude[:, 0] ** 2).reshape(_ORIENTS, h * w)
    mean_e2n = -_lower_median(e2_smallest) / math.log(0.5)
    noise_power = mean_e2n / bank.smallest_scale_power
    noise_energy2 = 2.0 * noise_power * bank.sum_an2 + 4.0 * noise_power * bank.sum_ai_aj
    tau = np.sqrt(noise_energy2 / 2.0)
    threshold = (tau * math.sqrt(math.pi / 2.0)
                 + _K_NOISE * np.sqrt((2.0 - math.pi / 2.0) * tau ** 2)) / _PC2_NOISE_RESCALE

    energy = np.maximum(energy - threshold[:, None, None], 0.0)
    return (energy.sum(axis=0) + _EPS) / (amplitude.sum(axis=(0, 1)) + _EPS)


def _scharr_magnitude(plane: np.ndarray) -> np.ndarray:
    p = np.pad(plane, 1)  # zeros outside the picture
    top, mid, bot = p[:-2], p[1:-1], p[2:]
    gx = (3.0 * (top[:, 2:] - top[:, :-2]) + 10.0 * (mid[:, 2:] - mid[:, :-2])
          + 3.0 * (bot[:, 2:] - bot[:, :-2])) / 16.0
    left, centre, right = p[:, :-2], p[:, 1:-1], p[:, 2:]
    gy = (3.0 * (left[2:] - left[:-2]) + 10.0 * (centre[2:] - centre[:-2])
          + 3.0 * (right[2:] - right[:-2])) / 16.0
    return np.sqrt(gx * gx + gy * gy)


def _similarity(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return (2.0 * a * b + t) / (a * a + b * b + t)


def fsim(rgb_a: np.ndarray, rgb_b: np.ndarray, chromatic: bool = True) -> float:
    """FSIMc (``chromatic=True``) or FSIM on luma of two 8-bit R'G'B' pictures.

    ``rgb_a`` (reference) and ``rgb_b`` (distorted) are ``(3, H, W)`` uint8
    arrays of the same size. Returns a value that is 1.0 for identical
    pictures and usually in [0, 1].
    """
    a = _check_picture(rgb_a, "rgb_a")
    b = _check_picture(rgb_b, "rgb_b")
    if a.shape != b.shape:
        raise ValueError(f"picture sizes differ: {a.shape} vs {b.shape}")

    f = max(1, round(min(a.shape[1:]) / 256))
    yiq = []
    for pic in (a, b):
        planes = _block_mean(pic.astype(np.float64), f)
        yiq.append(np.einsum("kc,chw->khw", _RGB_TO_YIQ, planes))
    (ya, ia, qa), (yb, ib, qb) = yiq

    bank = _filter_bank(*ya.shape)
    pc_a = _phase_congruency(ya, bank)
    pc_b = _phase_congruency(yb, bank)
    pc_max = np.maximum(pc_a, pc_b)

    score = (_similarity(_scharr_magnitude(ya), _scharr_magnitude(yb), _T2)
             * _similarity(pc_a, pc_b, _T1) * pc_max)
    if chromatic:
        score = score * np.abs(_similarity(ia, ib, _T3) * _similarity(qa, qb, _T4)) ** _LAMBDA
    return float(score.sum() / pc_max.sum())
