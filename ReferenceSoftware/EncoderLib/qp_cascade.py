"""Per-picture QPs of HM's low-delay P configuration (``encoder_lowdelay_P_main.cfg``).

GOPs of 8 P pictures after each intra picture, QP offsets 5, 4, 5, 4, 5, 4, 5, 1
and, on the first seven, the QP-dependent model offset
floor(Clip3(0, 3, -6.5 + 0.2590 * QP_pic) + 1/2) where QP_pic = QP + offset.
Used by the HEVC anchor (intra QP = QP - 1, HM's IntraQPOffset) and, with
``BaseLayerQPCascade 1``, by the HDAC-HF base layer (intra QP = IntraQP).
"""
from __future__ import annotations

import math

LDP_QP_OFFSETS = (5, 4, 5, 4, 5, 4, 5, 1)
LDP_MODEL_OFFSET, LDP_MODEL_SCALE = -6.5, 0.2590


def lowdelay_p_qps(num: int, qp: int, intra_qp: int, intra_period: int = 0) -> list[int]:
    out = []
    last_key = 0
    for i in range(num):
        if i == 0 or (intra_period > 0 and i % intra_period == 0):
            last_key = i
            q = intra_qp
        else:
            pos = (i - last_key - 1) % 8
            q = qp + LDP_QP_OFFSETS[pos]
            if pos < 7:
                q += math.floor(min(3.0, max(0.0, LDP_MODEL_OFFSET + LDP_MODEL_SCALE * q)) + 0.5)
        out.append(min(51, max(0, q)))
    return out
