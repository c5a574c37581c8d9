"""HDAC-HF generator with base-layer fusion and HF shuttling (brief section 2, paper eqs. 1-5).

key encoder   e_r^0 = SameBlock(k x k, 3 -> be), e_r^i = Down_i(e_r^{i-1}), i = 1..n
base encoder  the same shape, separate weights, on the decoded base-layer picture
warp          Ê_w = O . w(F, e_r^n)                                         (eq. 1)
fusion        Ê = Conv3x3(ResBlocks(concat[Ê_w, base features]))
decoder       d^1 = Up_1(Ê + ê_hf^n), d^j = Up_j(d^{j-1} + ê_hf^{n-j+1})    (eqs. 4-5)
              with ``base_skips`` also + S_l(e_b^l), l = n-j+1 < n, and d^n + S_0(e_b^0) into the output
              convolution: S_l a 1x1 convolution without bias of the base encoder's level-l features e_b^l
              (U-Net skips; zeros without a base layer)
output        sigmoid(Conv k x k (d^n))              (output_mode = sigmoid, paper)
              skip + Conv k x k (d^n), clipped         (output_mode = residual; skip is the
              base-layer picture, or the warped key picture in animation-only decoding)

refinement    P' = P + R(P), P = clip(output, 0, 1), R = Conv3x3(C -> 3) . ReLU . Conv3x3(C -> C) ... ReLU .
              Conv3x3(3 -> C), ``refine_layers`` convolutions in all (``refine_layers`` > 0; the last one zero at
              first): a correction of each sample from the (2 refine_layers + 1)^2 samples around it, which
              cannot recognise a face (doc/model_card.md, the local post-filter study)

With ``key_input`` False (the ablation "post-filter") the warped key features are zeros and there is no HF
shuttling: the output is a function of the base-layer picture alone, at the same decoder cost.

Base-layer features are zeroed when no base layer is used (animation-only),
and at random during training (``base_dropout``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from CommonLib.network.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, resize_map, warp
from CommonLib.generation.network_config import GeneratorConfig
from CommonLib.network.hf_shuttling import shuttle


class PictureEncoder(nn.Module):
    """First block and down blocks; returns the features of every level."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.first = SameBlock2d(3, cfg.block_expansion, cfg.first_kernel)
        self.down = nn.ModuleList(
            DownBlock2d(min(cfg.max_features, cfg.block_expansion * 2 ** i),
                        min(cfg.max_features, cfg.block_expansion * 2 ** (i + 1)))
            for i in range(cfg.num_down_blocks))

    def forward(self, x):
        feats = [self.first(x)]
        for blk in self.down:
            feats.append(blk(feats[-1]))
        return feats


class Generator(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        n = cfg.num_down_blocks
        chans = [min(cfg.max_features, cfg.block_expansion * 2 ** i) for i in range(n + 1)]
        self.key_encoder = PictureEncoder(cfg)
        self.base_encoder = PictureEncoder(cfg)
        width = 2 * chans[n]
        bott = cfg.bottleneck_features or width
        self.project = nn.Conv2d(width, bott, 1) if bott != width else nn.Identity()
        self.bottleneck = nn.Sequential(*[ResBlock2d(bott) for _ in range(cfg.num_bottleneck_blocks)])
        self.fuse_out = nn.Conv2d(bott, chans[n], 3, padding=1)
        self.up = nn.ModuleList(UpBlock2d(chans[i], chans[i - 1]) for i in range(n, 0, -1))
        self.final = nn.Conv2d(chans[0], 3, cfg.first_kernel, padding=cfg.first_kernel // 2)
        if cfg.base_skips:                            # S_l of levels 0..n-1, zeros at first (the network without them)
            self.base_skip = nn.ModuleList(nn.Conv2d(chans[i], chans[i], 1, bias=False) for i in range(n))
            for conv in self.base_skip:
                nn.init.zeros_(conv.weight)
        if cfg.output_mode == "residual":
            nn.init.zeros_(self.final.weight)
            nn.init.zeros_(self.final.bias)
        if cfg.refine_layers:
            if cfg.refine_problem():
                raise ValueError(cfg.refine_problem())
            c = cfg.refine_channels
            self.refine = nn.ModuleList([nn.Conv2d(3, c, 3, padding=1)] +
                                        [nn.Conv2d(c, c, 3, padding=1) for _ in range(cfg.refine_layers - 2)] +
                                        [nn.Conv2d(c, 3, 3, padding=1)])
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)

    def _hf(self, e, flow, occ):
        out = shuttle(e, flow, occ, self.cfg.hf_filter, self.cfg.hf_order)
        return out

    def _add(self, a, b):
        s = a + b
        return F.normalize(s, dim=1) if self.cfg.hf_l2norm else s

    def forward(self, key, base, flow, occlusion, use_base: torch.Tensor | None = None):
        """key, base: (B, 3, H, W) in [0, 1]; flow (B, h, w, 2); occlusion (B, 1, h, w).

        ``use_base``: (B,) 0/1 weights of the base-layer features (None = all 1);
        ``base`` may be None for animation-only decoding.
        """
        cfg = self.cfg
        key_feats = self.key_encoder(key)
        top = key_feats[-1]
        warped = resize_map(occlusion, top.shape[2:]) * warp(top, flow)
        if not cfg.key_input:                         # the post-filter ablation: nothing of the key picture
            warped = torch.zeros_like(warped)
        base_feats = None
        if base is None:
            base_feat = torch.zeros_like(warped)
        else:
            base_feats = self.base_encoder(base)
            if use_base is not None:
                u = use_base.view(-1, 1, 1, 1)
                base_feats = [f * u.to(f.dtype) for f in base_feats]
            base_feat = base_feats[-1]
        skips = cfg.base_skips and base_feats is not None
        x = self.fuse_out(self.bottleneck(self.project(torch.cat([warped, base_feat], dim=1))))
        for j, up in enumerate(self.up):
            level = cfg.num_down_blocks - j
            if skips and level < cfg.num_down_blocks:
                x = x + self.base_skip[level](base_feats[level])
            if cfg.hf_filter != "none" and cfg.key_input:
                x = self._add(x, self._hf(key_feats[level], flow, occlusion))
            x = up(x)
        if skips:
            x = x + self.base_skip[0](base_feats[0])
        out = self.final(x)
        if cfg.output_mode == "sigmoid":
            out = torch.sigmoid(out)
        else:
            out = self.skip_picture(key, base, flow, use_base) + out
        return self.refined(out) if cfg.refine_layers else out

    def refined(self, out):
        """P + R(P) with P = clip(out, 0, 1) (the refinement of the module docstring)."""
        p = out.clamp(0, 1)
        r = p
        for conv in self.refine[:-1]:
            r = torch.relu(conv(r))
        return p + self.refine[-1](r)

    @staticmethod
    def skip_picture(key, base, flow, use_base):
        """Residual output: base-layer picture where fused, else the key picture warped by the flow."""
        warped_key = warp(key, flow)
        if base is None:
            return warped_key
        if use_base is None:
            return base
        u = use_base.view(-1, 1, 1, 1).to(base.dtype)
        return u * base + (1 - u) * warped_key
