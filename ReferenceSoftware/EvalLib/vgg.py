"""VGG16 / VGG19 feature extractors with weights from a local file (torchvision key names).

No weights are ever downloaded: perceptual losses and metrics load
``features.N.weight`` / ``features.N.bias`` from a file the user gives.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from Utilities.errors import ModelError

VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512],
}
#: ReLU indices in torchvision's ``features``: vgg19 relu1_1..relu5_1, vgg16 relu1_2..relu5_3
TAPS = {"vgg19": (1, 6, 11, 20, 29), "vgg16": (3, 8, 15, 22, 29)}


def load_weight_file(path: str, what: str) -> dict:
    """A state dict from a local file (weights only: nothing pickled is executed)."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"cannot load {what} weights '{path}': {e}") from None
    if not isinstance(sd, dict):
        raise ModelError(f"{what} weights '{path}' are not a state dict")
    return sd


class L2Pool(nn.Module):
    """DISTS' L2 pooling: sqrt(Hanning(3x3) * x^2), stride 2."""

    def __init__(self, channels: int):
        super().__init__()
        a = torch.hann_window(5, periodic=False)[1:-1]
        g = torch.outer(a, a)
        self.register_buffer("filter", (g / g.sum()).expand(channels, 1, 3, 3).contiguous(), persistent=False)
        self.channels = channels

    def forward(self, x):
        out = F.conv2d(x ** 2, self.filter, stride=2, padding=1, groups=self.channels)
        return (out + 1e-12).sqrt()


class VggFeatures(nn.Module):
    def __init__(self, weight_file: str, arch: str = "vgg19", pool: str = "max", last_tap: int | None = None,
                 imagenet_normalise: bool = True):
        super().__init__()
        cfg = VGG_CFG[arch]
        layers, c = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2) if pool == "max" else L2Pool(c))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
                c = v
        self.taps = TAPS[arch]
        self.features = nn.Sequential(*layers[: (last_tap or self.taps[-1]) + 1])
        sd = load_weight_file(weight_file, arch.upper())
        sd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
        try:
            missing, _ = self.features.load_state_dict(sd, strict=False)
        except RuntimeError as e:
            raise ModelError(f"{arch.upper()} weights '{weight_file}' do not fit ({str(e).splitlines()[0]})") from None
        if missing:
            raise ModelError(f"{arch.upper()} weights '{weight_file}' lack {missing[:2]}")
        self.imagenet_normalise = imagenet_normalise
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        if self.imagenet_normalise:
            x = (x - self.mean) / self.std
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return outs
