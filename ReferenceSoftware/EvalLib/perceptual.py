"""Perceptual metrics that need pretrained weights, loaded from local files (never downloaded).

* ``msvgg``: multi-scale VGG19 distance of the GFVC software family: the mean
  absolute difference of the relu1_1..relu5_1 features, summed over the
  layers and over the scales 1, 1/2, 1/4, 1/8 (bilinear). Needs VGG19
  weights (torchvision names, ``--Vgg19Weights``). Lower is better.
* ``lpips``: LPIPS v0.1 with the VGG16 backbone (Zhang et al. 2018):
  scaling layer, channel-normalised relu1_2..relu5_3 features, squared
  differences weighted by the learned 1x1 "lin" layers, spatial mean, sum.
  Needs VGG16 weights (``--Vgg16Weights``) and the lin-layer file of the
  ``lpips`` package (``weights/v0.1/vgg.pth``, ``--LpipsWeights``). Lower is better.
* ``dists``: DISTS (Ding et al. 2020): VGG16 with L2 pooling, structure and
  texture similarity of the input and the five stages weighted by the learned
  alpha / beta (``weights.pt`` of the DISTS package, ``--DistsWeights``) and
  VGG16 weights. Lower is better.

All take (3, H, W) uint8 RGB pictures (reference, distorted).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from Utilities.errors import ConfigError, ModelError
from EvalLib.vgg import VggFeatures, load_weight_file

LOWER_IS_BETTER = {"msvgg", "lpips", "dists"}


def _t(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).float().unsqueeze(0) / 255.0


class MsVgg:
    def __init__(self, vgg19_file: str):
        self.vgg = VggFeatures(vgg19_file, "vgg19").eval()

    @torch.no_grad()
    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        x, y, total = _t(ref), _t(dist), 0.0
        for s in (1, 0.5, 0.25, 0.125):
            xs = x if s == 1 else F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)
            ys = y if s == 1 else F.interpolate(y, scale_factor=s, mode="bilinear", align_corners=False)
            total += sum(float((a - b).abs().mean()) for a, b in zip(self.vgg(xs), self.vgg(ys)))
        return total


class Lpips:
    SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    CHANNELS = (64, 128, 256, 512, 512)

    def __init__(self, vgg16_file: str, lin_file: str):
        self.vgg = VggFeatures(vgg16_file, "vgg16", imagenet_normalise=False).eval()
        sd = load_weight_file(lin_file, "LPIPS lin-layer")
        try:
            self.lins = [sd[f"lin{i}.model.1.weight"].float().view(1, c, 1, 1) for i, c in enumerate(self.CHANNELS)]
        except (KeyError, RuntimeError):
            raise ModelError(f"LPIPS weights '{lin_file}' lack lin0..lin4 (lpips v0.1 vgg.pth expected)") from None

    @torch.no_grad()
    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        x, y = ((_t(a) * 2 - 1 - self.SHIFT) / self.SCALE for a in (ref, dist))
        total = 0.0
        for fx, fy, w in zip(self.vgg(x), self.vgg(y), self.lins):
            nx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            ny = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total += float(((nx - ny) ** 2 * w).sum(1).mean())
        return total


class Dists:
    CHANNELS = (3, 64, 128, 256, 512, 512)

    def __init__(self, vgg16_file: str, dists_file: str):
        self.vgg = VggFeatures(vgg16_file, "vgg16", pool="l2").eval()
        sd = load_weight_file(dists_file, "DISTS")
        try:
            alpha, beta = sd["alpha"].float().view(1, -1, 1, 1), sd["beta"].float().view(1, -1, 1, 1)
        except KeyError:
            raise ModelError(f"DISTS weights '{dists_file}' lack alpha / beta") from None
        if alpha.shape[1] != sum(self.CHANNELS) or beta.shape[1] != sum(self.CHANNELS):
            raise ModelError(f"DISTS weights '{dists_file}': alpha / beta must have {sum(self.CHANNELS)} channels")
        w = alpha.sum() + beta.sum()
        self.alpha, self.beta = torch.split(alpha / w, self.CHANNELS, 1), torch.split(beta / w, self.CHANNELS, 1)

    @torch.no_grad()
    def __call__(self, ref: np.ndarray, dist: np.ndarray) -> float:
        x, y = _t(ref), _t(dist)
        fx, fy = [x] + self.vgg(x), [y] + self.vgg(y)
        c1 = c2 = 1e-6
        d1 = d2 = 0.0
        for a, b, wa, wb in zip(fx, fy, self.alpha, self.beta):
            ma, mb = a.mean([2, 3], keepdim=True), b.mean([2, 3], keepdim=True)
            s1 = (2 * ma * mb + c1) / (ma ** 2 + mb ** 2 + c1)
            va, vb = ((a - ma) ** 2).mean([2, 3], keepdim=True), ((b - mb) ** 2).mean([2, 3], keepdim=True)
            cov = (a * b).mean([2, 3], keepdim=True) - ma * mb
            s2 = (2 * cov + c2) / (va + vb + c2)
            d1 += float((wa * s1).sum())
            d2 += float((wb * s2).sum())
        return 1.0 - (d1 + d2)


def perceptual_metrics(names, vgg19: str = "", vgg16: str = "", lpips: str = "", dists: str = "") -> dict:
    """Metric functions for ``names``; a clear ConfigError when a weight file is missing."""
    out = {}
    need = {"msvgg": [("Vgg19Weights", vgg19)], "lpips": [("Vgg16Weights", vgg16), ("LpipsWeights", lpips)],
            "dists": [("Vgg16Weights", vgg16), ("DistsWeights", dists)]}
    for n in names:
        if n not in need:
            continue
        missing = [opt for opt, path in need[n] if not path]
        if missing:
            raise ConfigError(f"metric {n} needs pretrained weights from local files: give {' and '.join(missing)} "
                              "(nothing is downloaded)")
        out[n] = {"msvgg": lambda: MsVgg(vgg19), "lpips": lambda: Lpips(vgg16, lpips),
                  "dists": lambda: Dists(vgg16, dists)}[n]()
    return out
