"""Training samples assembled on the training device (``--DataOnDevice 1``).

The cached 4:2:0 pictures of every training clip (source and each base-layer
QP) are copied once to the device as uint8 tensors; each batch is gathered
there and converted to R'G'B' with the integer colour conversion of
``Utilities.colour`` (same coefficients, same rounding, so the pictures are
bit-identical to ``PairSampler``'s). The draws come from the same numpy
generator in the same order as ``PairSampler``, so both samplers give the same
sample sequence for a seed; on a GPU this removes the per-sample CPU work that
otherwise limits the training speed.
"""
from __future__ import annotations

import numpy as np
import torch

from Utilities.colour import CB_TO_B, CB_TO_G, CR_TO_G, CR_TO_R, ROUND, SHIFT, Y_SCALE
from TrainingLib.training_data import ClipCache, PairSampler


def upsample_chroma_torch(c: torch.Tensor) -> torch.Tensor:
    """(B, h, w) integer chroma -> (B, 2h, 2w): ``Utilities.colour.upsample_chroma`` on tensors."""
    p = torch.nn.functional.pad(c[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0].to(torch.int32)
    up, dn = 3 * p[:, 1:-1, :] + p[:, :-2, :], 3 * p[:, 1:-1, :] + p[:, 2:, :]
    v = torch.stack([up, dn], 2).flatten(1, 2)
    lf, rt = 3 * v[:, :, 1:-1] + v[:, :, :-2], 3 * v[:, :, 1:-1] + v[:, :, 2:]
    out = torch.stack([lf, rt], 3).flatten(2, 3)
    return (out + 8) >> 4


def yuv420_to_rgb_torch(packed: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(B, H*3/2, W) uint8 I420 pictures -> (B, 3, H, W) uint8 R'G'B' (``Utilities.colour.yuv420_to_rgb``)."""
    b = packed.shape[0]
    flat = packed.reshape(b, -1)
    ys, cs = width * height, (width // 2) * (height // 2)
    y = flat[:, :ys].reshape(b, height, width).to(torch.int32)
    u = flat[:, ys:ys + cs].reshape(b, height // 2, width // 2).to(torch.int32)
    v = flat[:, ys + cs:ys + 2 * cs].reshape(b, height // 2, width // 2).to(torch.int32)
    yy = (y - 16) * Y_SCALE
    cb, cr = upsample_chroma_torch(u) - 128, upsample_chroma_torch(v) - 128
    r = (yy + CR_TO_R * cr + ROUND) >> SHIFT
    g = (yy + CB_TO_G * cb + CR_TO_G * cr + ROUND) >> SHIFT
    bl = (yy + CB_TO_B * cb + ROUND) >> SHIFT
    return torch.stack([r, g, bl], 1).clamp(0, 255).to(torch.uint8)


class DevicePairSampler(PairSampler):
    """``PairSampler`` whose pictures live on ``device``; ``batch`` returns device tensors in [0, 1]."""

    def __init__(self, clips: list[ClipCache], pairs, seed: int, device, flip: bool = True, **kwargs):
        super().__init__(clips, pairs, seed, flip, **kwargs)
        if len({(c.width, c.height) for c in clips}) != 1:
            from Utilities.errors import ConfigError
            raise ConfigError("DataOnDevice needs training clips of one picture size")
        self.device = torch.device(device)
        # one tensor per clip: index 0 = source, 1 + k = decoded at pairs[k]
        self.pictures = [torch.stack([torch.from_numpy(np.array(a)) for a in
                                      [c.source] + [c.decoded[p] for p in self.pairs]]).to(self.device)
                         for c in clips]

    def batch_of(self, draws: list):
        rows = []      # key (decoded s), key source (s), base layer (decoded t), target (source t)
        for d in draws:
            k = 1 + self.pairs.index(d.pair)
            pics = self.pictures[d.clip]
            rows.append(torch.stack([pics[k, d.s], pics[0, d.s], pics[k, d.t], pics[0, d.t]]))
        c = self.clips[0]
        rgb = yuv420_to_rgb_torch(torch.stack(rows).flatten(0, 1), c.width, c.height)
        return self.assemble(draws, rgb.view(len(draws), 4, 3, c.height, c.width))
