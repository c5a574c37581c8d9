"""Keypoint detector (encoder side, non-normative): brief section 2.

Input picture (B, 3, H, W) in [0, 1] -> anti-aliased x0.25 -> hourglass ->
7x7 conv to K heatmaps -> spatial softmax with temperature 0.1 -> expected
(x, y) on the [-1, 1] grid. No Jacobians.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from CommonLib.network.blocks import AntiAliasInterpolation2d, Hourglass, make_coordinate_grid
from CommonLib.generation.network_config import KeypointDetectorConfig


class KeypointDetector(nn.Module):
    def __init__(self, cfg: KeypointDetectorConfig):
        super().__init__()
        self.cfg = cfg
        self.down = AntiAliasInterpolation2d(3, cfg.scale_factor)
        self.predictor = Hourglass(cfg.block_expansion, 3, cfg.num_blocks, cfg.max_features)
        self.kp = nn.Conv2d(self.predictor.out_filters, cfg.num_kp, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns keypoints (B, K, 2) as (x, y) in [-1, 1]."""
        heat = self.kp(self.predictor(self.down(x)))
        b, k, h, w = heat.shape
        prob = F.softmax(heat.view(b, k, -1) / self.cfg.temperature, dim=2).view(b, k, h, w, 1)
        grid = make_coordinate_grid(h, w, heat.dtype, heat.device).view(1, 1, h, w, 2)
        return (prob * grid).sum(dim=(2, 3))
