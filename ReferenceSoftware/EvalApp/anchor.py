"""The conventional anchor: x265 low-delay P with HM's QP cascade (brief section 5).

HM's ``encoder_lowdelay_P_main.cfg`` codes a GOP of 8 P pictures with QP
offsets 5, 4, 5, 4, 5, 4, 5, 1 and, on the first seven, the QP-dependent model
offset floor(Clip3(0, 3, -6.5 + 0.2590 * QP_pic) + 1/2); the intra picture
uses IntraQPOffset -1; four reference pictures. x265 follows the same
per-picture QPs (one zone per picture) with ``ref=4``; an anchor without the
cascade would flatter any new codec by tens of percent.
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from CommonLib.base_layer_decoder import BaseLayerDecoder
from CommonLib.metrics import ms_ssim_y, psnr_y
from CommonLib.video_io import VideoReader
from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
from EncoderLib.qp_cascade import lowdelay_p_qps

INTRA_QP_OFFSET = -1


def hm_lowdelay_p_qps(num: int, qp: int) -> list[int]:
    """Per-picture QPs of HM's low-delay P configuration (one intra picture at QP - 1, then GOPs of 8)."""
    return lowdelay_p_qps(num, qp, qp + INTRA_QP_OFFSET)


def code_hevc_anchor_point(seq: dict, qp: int, frames: int = 0, metrics=None) -> dict:
    reader = VideoReader(seq["path"])
    rate = Fraction(seq.get("fps") or reader.info.frame_rate).limit_denominator(1001)
    n = min(frames or reader.info.num_frames, reader.info.num_frames)
    enc = X265BaseLayerEncoder(reader.info.width, reader.info.height, rate, qp, qp, 0, picture_hash=0,
                               extra_params="ref=4", picture_qps=hm_lowdelay_p_qps(n, qp))
    dec = BaseLayerDecoder("hevc")
    t0 = time.time()
    rows, bits, sources = [], 0, []
    metrics = metrics or {}

    def measure(aus):
        nonlocal bits
        for au in aus:
            bits += 8 * len(au)
            for pic in dec.decode(au):
                src, rgb = sources.pop(0), pic.to_rgb()
                rows.append([psnr_y(rgb, src), ms_ssim_y(rgb, src)] + [f(src, rgb) for f in metrics.values()])

    for p in reader.frames(0, n):
        sources.append(p.to_rgb())
        measure(enc.encode(p))
    measure(enc.flush())
    a = np.array(rows)
    res = {"sequence": seq["name"], "codec": "HEVC", "qp": qp, "frames": len(rows),
           "kbps": bits / (len(rows) / float(rate)) / 1000, "psnr_y": float(a[:, 0].mean()),
           "ms_ssim_y": float(a[:, 1].mean()), "encode_fps": len(rows) / (time.time() - t0)}
    for j, k in enumerate(metrics):
        res[k] = float(a[:, 2 + j].mean())
    return res
