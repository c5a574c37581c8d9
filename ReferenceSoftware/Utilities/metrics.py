"""Objective quality metrics on 8-bit pictures (non-normative).

* PSNR-Y: luma Y = 0.2126 R + 0.7152 G + 0.0722 B (BT.709, full range, float),
  as the JVET GFVC software; peak 255.
* SSIM on Y: Wang et al. 2004, the single-scale index with the window and constants below (the last
  scale's term of MS-SSIM at full resolution);
* MS-SSIM on Y: Wang, Simoncelli, Bovik 2003; 11x11 Gaussian window, sigma
  1.5, K1 = 0.01, K2 = 0.03, 5 scales with weights
  (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2x2 average pooling between scales.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from Utilities.colour import luma_bt709

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak * peak / mse))


def psnr_y(rgb_a: np.ndarray, rgb_b: np.ndarray) -> float:
    """PSNR of BT.709 luma of two (3, H, W) uint8 RGB pictures."""
    return psnr(luma_bt709(rgb_a), luma_bt709(rgb_b))


def _gauss_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 1-D Gaussian; the 2-D window is its outer product (separable)."""
    ax = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-ax ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _gauss_filter(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """'Valid' filtering of every channel of (B, C, H, W) with the window outer(g, g), as two 1-D passes."""
    c, n = t.shape[1], g.numel()
    t = F.conv2d(t, g.view(1, 1, 1, n).expand(c, 1, 1, n), groups=c)
    return F.conv2d(t, g.view(1, 1, n, 1).expand(c, 1, n, 1), groups=c)


def _ssim_parts(x, y, g, data_range):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my, exx, eyy, exy = _gauss_filter(torch.cat([x, y, x * x, y * y, x * y], 1), g).split(1, 1)
    sxx, syy, sxy = exx - mx * mx, eyy - my * my, exy - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum * cs).mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ms_ssim_tensor(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """MS-SSIM of (B, 1, H, W) tensors (H, W >= 176 for the 5 scales); returns (B,)."""
    x, y = x.double(), y.double()
    g = _gauss_window().to(x.device)
    vals = []
    for i, w in enumerate(MS_SSIM_WEIGHTS):
        ssim, cs = _ssim_parts(x, y, g, data_range)
        vals.append(torch.relu(ssim if i == len(MS_SSIM_WEIGHTS) - 1 else cs) ** w)
        if i < len(MS_SSIM_WEIGHTS) - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return torch.stack(vals, 0).prod(0)


def ssim_y(rgb_a: np.ndarray, rgb_b: np.ndarray) -> float:
    """SSIM on BT.709 luma of two (3, H, W) uint8 RGB pictures (11x11 Gaussian window, sigma 1.5, 'valid')."""
    ya = torch.from_numpy(luma_bt709(rgb_a)).view(1, 1, *rgb_a.shape[1:]).double()
    yb = torch.from_numpy(luma_bt709(rgb_b)).view(1, 1, *rgb_b.shape[1:]).double()
    return float(_ssim_parts(ya, yb, _gauss_window(), 255.0)[0][0])


def ms_ssim_y(rgb_a: np.ndarray, rgb_b: np.ndarray) -> float:
    """MS-SSIM on BT.709 luma of two (3, H, W) uint8 RGB pictures."""
    ya = torch.from_numpy(luma_bt709(rgb_a)).view(1, 1, *rgb_a.shape[1:])
    yb = torch.from_numpy(luma_bt709(rgb_b)).view(1, 1, *rgb_b.shape[1:])
    return float(ms_ssim_tensor(ya, yb)[0])
