"""High-frequency shuttling (paper section III-A, eqs. 2-3).

    e_hf^i  = f_hpf(e_r^i)                        (2)
    ê_hf^i  = O_{r->t} . w(F_{r->t}, e_hf^i)      (3)

f_hpf is a fixed depthwise 3x3 filter, stride 1, zero padding 1:
``highpass8``  (paper "Filter 1")  [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]
``laplacian4`` (paper "Filter 2")  [[0,1,0],[1,-4,1],[0,1,0]]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from CommonLib.network.blocks import resize_map, warp
from CommonLib.generation.network_config import HF_KERNELS


def high_pass(e: torch.Tensor, name: str) -> torch.Tensor:
    """Eq. (2): depthwise fixed high-pass filter of the feature map e (B, C, H, W)."""
    c = e.shape[1]
    k = torch.tensor(HF_KERNELS[name], dtype=e.dtype, device=e.device).view(1, 1, 3, 3).expand(c, 1, 3, 3)
    return F.conv2d(e, k, padding=1, groups=c)


def shuttle(e: torch.Tensor, flow: torch.Tensor, occlusion: torch.Tensor, name: str,
            order: str = "filter_warp") -> torch.Tensor:
    """Eqs. (2)-(3): filtered, warped and occlusion-masked key-picture features.

    ``order="unwarped"`` is the public code's variant (filter only, no warp or mask).
    """
    hf = high_pass(e, name)
    if order == "unwarped":
        return hf
    return resize_map(occlusion, hf.shape[2:]) * warp(hf, flow)
