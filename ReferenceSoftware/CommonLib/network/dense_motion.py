"""Dense motion generator (decoder side; the float twin of the normative integer process of
doc/integer_decoding_process.md clause 6): brief section 2.

From the key picture and the key / target keypoints it predicts the dense
backward flow F_{r->t} (B, h, w, 2) and the occlusion map O_{r->t} (B, 1, h, w)
at 1/4 resolution, as first-order-model without Jacobians:

* heatmaps  H_k = exp(-0.5 |z - kp_t,k|^2 / var) - exp(-0.5 |z - kp_r,k|^2 / var), plus a zero map;
* sparse motions  T_k(z) = z - kp_t,k + kp_r,k, plus the identity;
* the key picture warped by each sparse motion;
* hourglass on the (K+1) x (1 + 3) channels -> K+1 masks (softmax) and the occlusion (sigmoid);
  with ``base_input`` the down-sampled decoded base-layer picture of the target (the decoder has it) is 3 more
  input channels, so the masks can pick, sample by sample, the sparse motion whose warped key picture matches
  the target's actual content (zeros in animation-only decoding and where base-layer dropout drops it);
* flow = sum_k mask_k T_k.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from CommonLib.network.blocks import AntiAliasInterpolation2d, Hourglass, make_coordinate_grid
from CommonLib.generation.network_config import DenseMotionConfig


def keypoint_heatmaps(kp: torch.Tensor, h: int, w: int, variance: float) -> torch.Tensor:
    """Gaussian heatmaps exp(-0.5 |z - kp|^2 / variance), (B, K, h, w)."""
    grid = make_coordinate_grid(h, w, kp.dtype, kp.device).view(1, 1, h, w, 2)
    d = grid - kp.view(kp.shape[0], kp.shape[1], 1, 1, 2)
    return torch.exp(-0.5 * (d ** 2).sum(-1) / variance)


class DenseMotionNetwork(nn.Module):
    def __init__(self, cfg: DenseMotionConfig, num_kp: int):
        super().__init__()
        self.cfg, self.num_kp = cfg, num_kp
        cin = (num_kp + 1) * 4 + (3 if cfg.base_input else 0)
        self.down = AntiAliasInterpolation2d(3, cfg.scale_factor)
        self.hourglass = Hourglass(cfg.block_expansion, cin, cfg.num_blocks, cfg.max_features)
        self.mask = nn.Conv2d(self.hourglass.out_filters, num_kp + 1, 7, padding=3)
        self.occlusion = nn.Conv2d(self.hourglass.out_filters, 1, 7, padding=3)

    def forward(self, key: torch.Tensor, kp_key: torch.Tensor, kp_target: torch.Tensor, variance_scale: float = 1.0,
                base: torch.Tensor | None = None, use_base: torch.Tensor | None = None):
        """``variance_scale`` (training on crops): the keypoint variance is multiplied by it, so that heatmaps of
        a crop keep the width in samples that they have on the whole picture. ``base`` / ``use_base``: the
        base-layer picture and its 0/1 weights per sample (``base_input`` configurations only)."""
        src = self.down(key)
        b, _, h, w = src.shape
        k = self.num_kp
        var = self.cfg.kp_variance * variance_scale
        heat = keypoint_heatmaps(kp_target, h, w, var) - keypoint_heatmaps(kp_key, h, w, var)
        heat = torch.cat([torch.zeros_like(heat[:, :1]), heat], dim=1)             # (B, K+1, h, w)
        ident = make_coordinate_grid(h, w, src.dtype, src.device).view(1, 1, h, w, 2)
        shift = (kp_key - kp_target).view(b, k, 1, 1, 2)
        sparse = torch.cat([ident.expand(b, 1, h, w, 2), ident + shift], dim=1)    # (B, K+1, h, w, 2)
        deformed = F.grid_sample(src.unsqueeze(1).expand(b, k + 1, 3, h, w).reshape(b * (k + 1), 3, h, w),
                                 sparse.reshape(b * (k + 1), h, w, 2), mode="bilinear",
                                 padding_mode="zeros", align_corners=True).view(b, k + 1, 3, h, w)
        inp = torch.cat([heat.unsqueeze(2), deformed], dim=2).view(b, (k + 1) * 4, h, w)
        if self.cfg.base_input:
            if base is None:
                base_src = torch.zeros_like(src)
            else:
                base_src = self.down(base)
                if use_base is not None:
                    base_src = base_src * use_base.view(-1, 1, 1, 1).to(base_src.dtype)
            inp = torch.cat([inp, base_src], dim=1)
        feat = self.hourglass(inp)
        mask = F.softmax(self.mask(feat), dim=1)                                     # (B, K+1, h, w)
        flow = (mask.unsqueeze(-1) * sparse).sum(dim=1)                             # (B, h, w, 2)
        occlusion = torch.sigmoid(self.occlusion(feat))                             # (B, 1, h, w)
        return flow, occlusion
