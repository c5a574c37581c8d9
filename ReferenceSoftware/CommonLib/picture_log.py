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

The line (doc/software_manual.md sections 4 and 5)::

    POC     1 P fused  base layer     264 bits  GFV SEI   112 bits  scale  55/64  [MD5:<R>,<G>,<B>]
    POC     1 P fused     376 bits  GFV SEI   112 bits  scale  55/64  [MD5:<R>,<G>,<B>,(OK)]

(EncoderApp reports the base-layer bits of the access unit, DecoderApp all its
bits and the MD5 verdict; ``scale`` is the residual scale applied, doc/decoding_process.md
clause 4.1.)
"""
from __future__ import annotations

from enum import Enum
from typing import Optional, Sequence

from CommonLib.residual_scaling import RESIDUAL_SCALE_ONE

__all__ = ["PictureKind", "picture_line"]


class PictureKind(Enum):
    KEY = "key"
    FUSED = "fused"
    ANIMATION = "animation"
    DERIVED = "derived"

    @property
    def label(self) -> str:
        return {"key": "I (key)", "fused": "P fused", "animation": "P anim ", "derived": "P deriv"}[self.value]


def picture_line(index: int, kind: PictureKind, bits: int, sei_bits: int, residual_scale: Optional[int],
                 md5: Sequence[bytes], check: Optional[str] = None, bits_label: str = "") -> str:
    """The per-picture line; ``check`` (DecoderApp) is the MD5 verdict, ``bits_label`` e.g. 'base layer '."""
    scale = "" if residual_scale is None else f"scale {residual_scale:3d}/{RESIDUAL_SCALE_ONE}  "
    hexes = ",".join(bytes(d).hex() for d in md5)
    verdict = "" if check is None else f",({check})"
    return (f"POC {index:5d} {kind.label}  {bits_label}{bits:7d} bits  GFV SEI {sei_bits:5d} bits  "
            f"{scale}[MD5:{hexes}{verdict}]")
