"""Training losses that need no downloaded weights (brief section 3).

* reconstruction: lambda_QP x [ w_l1 x sum over scales (1, 1/2, 1/4, 1/8) of L1 + w_mse MSE + w_edge L1 of Laplacians ]
* keypoint equivariance: random affine warps T, | T(kp(T^-1 x)) - kp(x) |_1 (weight w_eq)
* warp: | w(F, K) - target |_1, the key picture warped by the flow against the target (weight w_warp)
* optional VGG19 perceptual pyramid loss from a local weight file (``vgg19_perceptual``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from CommonLib.network.blocks import make_coordinate_grid
from CommonLib.network.hf_shuttling import high_pass
from EvalLib.vgg import VGG_CFG, VggFeatures


def reconstruction_loss(out, target, lam, w_mse: float = 100.0, w_edge: float = 1.0, scales: int = 4,
                        w_l1: float = 1.0):
    """Per-sample weighted loss; ``lam`` (B,) is the QP-dependent weight."""
    per = torch.zeros(out.shape[0], device=out.device)
    o, t = out, target
    for s in range(scales if w_l1 else 0):
        per = per + w_l1 * (o - t).abs().mean(dim=(1, 2, 3))
        if s < scales - 1:
            o, t = F.avg_pool2d(o, 2), F.avg_pool2d(t, 2)
    per = per + w_mse * ((out - target) ** 2).mean(dim=(1, 2, 3))
    if w_edge:
        per = per + w_edge * (high_pass(out, "laplacian4") - high_pass(target, "laplacian4")).abs().mean(dim=(1, 2, 3))
    return (lam * per).mean()


def warp_loss(key, flow, target):
    """L1 between the key picture warped by the dense motion's flow, w(F, K), and the target: a direct training
    signal for the motion path, which the reconstruction loss alone leaves nearly untrained when the generator
    can lean on the base-layer picture (doc/model_card.md, motion diagnostics)."""
    from CommonLib.network.blocks import warp
    return (warp(key, flow) - target).abs().mean()


def random_affine(batch: int, sigma: float = 0.05, device=None) -> torch.Tensor:
    """(B, 2, 3) affine maps close to identity (FOMM's equivariance transform without TPS)."""
    theta = torch.randn(batch, 2, 3, device=device) * sigma
    theta[:, :, :2] += torch.eye(2, device=device)
    return theta


def equivariance_loss(kp_detector, x, kp_x):
    """Keypoints of an affinely warped picture, mapped back, must equal those of the picture."""
    b, _, h, w = x.shape
    theta = random_affine(b, device=x.device)
    grid = make_coordinate_grid(h, w, x.dtype, x.device).view(1, h * w, 2)
    ones = torch.ones(1, h * w, 1, dtype=x.dtype, device=x.device)
    src = torch.einsum("bij,bnj->bni", theta, torch.cat([grid, ones], 2).expand(b, -1, -1)).view(b, h, w, 2)
    warped = F.grid_sample(x, src, mode="bilinear", padding_mode="reflection", align_corners=True)
    kp_w = kp_detector(warped)
    kp_back = torch.einsum("bij,bkj->bki", theta, torch.cat([kp_w, torch.ones_like(kp_w[..., :1])], 2))
    return (kp_back - kp_x).abs().mean()


class Vgg19Features(VggFeatures):
    """VGG19 up to relu5_1 (weights from a local torchvision-format file)."""

    CFG = VGG_CFG["vgg19"]

    def __init__(self, weight_file: str):
        super().__init__(weight_file, "vgg19")


def vgg19_perceptual(vgg: Vgg19Features, out, target, scales=(1, 0.5, 0.25, 0.125), weight: float = 10.0):
    loss = 0.0
    for s in scales:
        o = out if s == 1 else F.interpolate(out, scale_factor=s, mode="bilinear", align_corners=False)
        t = target if s == 1 else F.interpolate(target, scale_factor=s, mode="bilinear", align_corners=False)
        for fo, ft in zip(vgg(o), vgg(t.detach())):
            loss = loss + weight * (fo - ft.detach()).abs().mean()
    return loss


class PatchDiscriminator(nn.Module):
    """Multi-scale patch discriminator (first-order-model style) for the optional LSGAN loss."""

    def __init__(self, scales=(1, 0.5), block_expansion: int = 32, num_blocks: int = 4, max_features: int = 256):
        super().__init__()
        self.scales = scales
        self.nets = nn.ModuleList()
        for _ in scales:
            layers, c = [], 3
            for i in range(num_blocks):
                co = min(max_features, block_expansion * 2 ** i)
                layers += [nn.Conv2d(c, co, 4, stride=2 if i < num_blocks - 1 else 1, padding=1),
                           nn.LeakyReLU(0.2)]
                c = co
            layers.append(nn.Conv2d(c, 1, 3, padding=1))
            self.nets.append(nn.Sequential(*layers))

    def forward(self, x):
        """Per scale: (list of intermediate features, patch scores)."""
        out = []
        for s, net in zip(self.scales, self.nets):
            h = x if s == 1 else F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)
            feats = []
            for layer in net:
                h = layer(h)
                if isinstance(layer, nn.LeakyReLU):
                    feats.append(h)
            out.append((feats, h))
        return out


def lsgan_generator_loss(disc, fake, real, w_fm: float = 10.0):
    """LSGAN generator term (D(fake) -> 1) plus feature matching against the real picture."""
    loss = 0.0
    with torch.no_grad():
        real_out = disc(real)
    for (ff, sf), (fr, _) in zip(disc(fake), real_out):
        loss = loss + ((1 - sf) ** 2).mean()
        loss = loss + w_fm * sum((a - b).abs().mean() for a, b in zip(ff, fr))
    return loss


def lsgan_discriminator_loss(disc, fake, real):
    loss = 0.0
    for (_, sf), (_, sr) in zip(disc(fake.detach()), disc(real)):
        loss = loss + ((1 - sr) ** 2).mean() + (sf ** 2).mean()
    return loss
