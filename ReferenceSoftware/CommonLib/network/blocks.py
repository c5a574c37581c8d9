"""Convolutional building blocks (first-order-model ``modules/util.py`` family).

Only operations with a clean fixed-point form are used: convolutions,
BatchNorm (folded into the convolution at inference), ReLU, 2x2 average
pooling and x2 nearest up-sampling.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SameBlock2d(nn.Module):
    """conv k x k + BN + ReLU, same resolution."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2)
        self.norm = nn.BatchNorm2d(cout, affine=True)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class DownBlock2d(nn.Module):
    """conv 3x3 + BN + ReLU + 2x2 average pooling."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout, affine=True)

    def forward(self, x):
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), 2)


class UpBlock2d(nn.Module):
    """x2 nearest up-sampling + conv 3x3 + BN + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout, affine=True)

    def forward(self, x):
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: x + conv(relu(bn(conv(relu(bn(x))))))."""

    def __init__(self, ch: int):
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(ch, affine=True), nn.Conv2d(ch, ch, 3, padding=1)
        self.norm2, self.conv2 = nn.BatchNorm2d(ch, affine=True), nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return x + out


class Hourglass(nn.Module):
    """U-Net hourglass: ``num_blocks`` down blocks, as many up blocks, skip concatenation."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        down = []
        for i in range(num_blocks):
            cin = in_features if i == 0 else min(max_features, block_expansion * 2 ** i)
            down.append(DownBlock2d(cin, min(max_features, block_expansion * 2 ** (i + 1))))
        self.down_blocks = nn.ModuleList(down)
        up = []
        for i in reversed(range(num_blocks)):
            cin = (1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1))
            up.append(UpBlock2d(cin, min(max_features, block_expansion * 2 ** i)))
        self.up_blocks = nn.ModuleList(up)
        self.out_filters = block_expansion + in_features

    def forward(self, x):
        outs = [x]
        for blk in self.down_blocks:
            outs.append(blk(outs[-1]))
        out = outs.pop()
        for blk in self.up_blocks:
            out = blk(out)
            out = torch.cat([out, outs.pop()], dim=1)
        return out


def gaussian_kernel_1d(scale: float):
    """Anti-aliasing Gaussian of first-order-model: sigma = (1/scale - 1)/2, size 2*round(4 sigma)+1."""
    sigma = (1 / scale - 1) / 2
    ksize = 2 * round(sigma * 4) + 1
    ax = torch.arange(ksize, dtype=torch.float64) - (ksize - 1) / 2
    k = torch.exp(-ax ** 2 / (2 * sigma ** 2))
    return (k / k.sum()).float(), ksize


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian low-pass (sigma 1.5, 13x13 for scale 1/4) then bilinear down-sampling."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        k1, ksize = gaussian_kernel_1d(scale)
        k2 = torch.outer(k1, k1)
        self.register_buffer("weight", k2.expand(channels, 1, ksize, ksize).contiguous(), persistent=False)
        self.groups, self.scale, self.pad = channels, scale, ksize // 2

    def forward(self, x):
        if self.scale == 1.0:
            return x
        out = F.conv2d(F.pad(x, (self.pad,) * 4), self.weight, groups=self.groups)
        return F.interpolate(out, scale_factor=self.scale, mode="bilinear", align_corners=False)


def make_coordinate_grid(h: int, w: int, dtype=torch.float32, device=None):
    """(h, w, 2) grid of (x, y) in [-1, 1] (pixel centres at the ends, align_corners=True convention)."""
    x = torch.linspace(-1, 1, w, dtype=dtype, device=device)
    y = torch.linspace(-1, 1, h, dtype=dtype, device=device)
    return torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], dim=2)


def warp(features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """w(F, e): bilinear grid sampling of ``features`` at the (x, y) positions ``flow`` (B, h, w, 2).

    On a map of another size than the flow the *displacement* F - G (G the identity grid of the flow) is resized
    bilinearly and added to the identity grid of the map (doc/integer_decoding_process.md 7.2): resizing the
    positions themselves would zoom the map by (w - 1) / w and shift its border samples by up to 1.5 samples
    at 4x, which a flow made of keypoint translations cannot undo.
    """
    h, w = features.shape[2:]
    fh, fw = flow.shape[1:3]
    if (fh, fw) != (h, w):
        disp = flow - make_coordinate_grid(fh, fw, flow.dtype, flow.device)
        disp = F.interpolate(disp.permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                             align_corners=False).permute(0, 2, 3, 1)
        flow = disp + make_coordinate_grid(h, w, flow.dtype, flow.device)
    return F.grid_sample(features, flow, mode="bilinear", padding_mode="zeros", align_corners=True)


def resize_map(m: torch.Tensor, size) -> torch.Tensor:
    if m.shape[2:] == tuple(size):
        return m
    return F.interpolate(m, size=size, mode="bilinear", align_corners=False)


def conv_macs(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of every Conv2d in one forward pass (for the cost report)."""
    total = [0]

    def hook(m, inp, out):
        total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            module(x) if not isinstance(x, tuple) else module(*x)
    finally:
        for h in handles:
            h.remove()
    return total[0]
