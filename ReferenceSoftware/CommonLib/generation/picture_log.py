"""What the apps print and log per picture: the picture kind and the one-line picture report.

One spelling of each picture kind everywhere (EncoderApp's and DecoderApp's
lines, DecoderApp's output picture log):

=============  ==========  ===============================================
kind           line label  picture
=============  ==========  ===============================================
``key``        ``I (key)`` IRAP key picture (GFV base picture), output as decoded
``fused``      ``P fused`` generated with the base layer (FusionFlag = 1)
``animation``  ``P anim``  generated without the base layer (FusionFlag = 0)
``derived``    ``P deriv`` fused, keypoints derived by the decoder (no GFV SEI)
=============  ==========  ===============================================

The line (doc/software_manual.md sections 4 and 5), the same in both apps but
for DecoderApp's MD5 verdict::

    POC     1 P fused  base layer    264 bits  GFV SEI  112 bits  hash SEI  200 bits  scale  55/64  [MD5:<R>,<G>,<B>]
    POC     1 P fused  base layer    264 bits  GFV SEI  112 bits  hash SEI  200 bits  scale  55/64  [MD5:<R>,<G>,<B>,(OK)]

(the three parts of the access unit's bits are those of CommonLib.syntax.bit_accounting; ``scale`` is the residual
scale applied, doc/decoding_process.md clause 4.1.)
"""
from __future__ import annotations

from enum import Enum
from typing import Optional, Sequence

from CommonLib.generation.residual_scaling import RESIDUAL_SCALE_ONE

__all__ = ["PictureKind", "picture_line"]


class PictureKind(Enum):
    KEY = "key"
    FUSED = "fused"
    ANIMATION = "animation"
    DERIVED = "derived"

    @property
    def label(self) -> str:
        return {"key": "I (key)", "fused": "P fused", "animation": "P anim ", "derived": "P deriv"}[self.value]


def picture_line(index: int, kind: PictureKind, bits, residual_scale: Optional[int], md5: Sequence[bytes],
                 check: Optional[str] = None) -> str:
    """The per-picture line; ``bits`` a CommonLib.syntax.bit_accounting.PictureBits, ``check`` (DecoderApp) the MD5
    verdict."""
    scale = "" if residual_scale is None else f"scale {residual_scale:3d}/{RESIDUAL_SCALE_ONE}  "
    hexes = ",".join(bytes(d).hex() for d in md5)
    verdict = "" if check is None else f",({check})"
    return (f"POC {index:5d} {kind.label}  base layer {bits.base:6d} bits  GFV SEI {bits.gfv:4d} bits  "
            f"hash SEI {bits.hash:4d} bits  {scale}[MD5:{hexes}{verdict}]")


def rate_summary(bits, pictures: int, seconds: float) -> str:
    """'total 55.300 kbps (base layer ..., GFV SEI ... = n bits/picture, hash SEI ...)' of a whole stream."""
    kbps = lambda b: b / seconds / 1000.0 if seconds else 0.0
    return (f"total {kbps(bits.total):.3f} kbps (base layer {kbps(bits.base):.3f} kbps, GFV SEI {kbps(bits.gfv):.3f} "
            f"kbps = {bits.gfv / max(pictures, 1):.1f} bits/picture, hash SEI {kbps(bits.hash):.3f} kbps)")
