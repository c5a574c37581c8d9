"""Conventional anchors of the CTC: HM and VTM (the JVET anchors) and x265 (no-binary fallback).

* ``HM``   HM's TAppEncoder with the JVET ``encoder_lowdelay_P_main.cfg`` (IntraPeriod -1, the cfg's
           IntraQPOffset -1, GOP 8 with QP offsets 5,4,5,4,5,4,5,1 + model offset, 4 references);
* ``VTM-LDB`` VTM's EncoderApp with ``encoder_lowdelay_vtm.cfg`` (low-delay B): the anchor of the JVET GFVC
           common test conditions;
* ``VTM``  VTM's EncoderApp with ``encoder_lowdelay_P_vtm.cfg`` (same structure as HM's, 10-bit internal);
* ``x265`` x265 in constant-QP low-delay P mode following the same per-picture QP cascade (one zone per
           picture, ``ref=4``): not the JVET anchor, labelled so in every table.

The binaries and cfg files come from EvalApp's cfg (``HmEncoder``, ``HmEncoderCfg``, ``VtmEncoder``,
``VtmEncoderCfg``); a stored anchor point is reused only when it was made with the same binary and cfg
(their SHA-256, :meth:`EncoderLib.jvet_encoder.JvetEncoder.identity`) or x265 settings. The JVET
encoders' reconstruction (``-o``, 8 bit) is what is measured; rate = every byte of the stream.
"""
from __future__ import annotations

import os
import tempfile
import time
from fractions import Fraction

import numpy as np

from CommonLib.syntax.access_units import split_access_units
from CommonLib.generation.base_layer_decoder import BaseLayerDecoder
from Utilities.metrics import ms_ssim_y, psnr_y
from Utilities.video_io import VideoReader, YuvPicture
from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
from EncoderLib.qp_cascade import lowdelay_p_qps
from CommonLib.syntax.bit_accounting import PARTS, access_unit_bits

__all__ = ["ANCHORS", "ANCHOR_LABEL", "x265_anchor_identity", "code_anchor_point", "hm_lowdelay_p_qps"]

ANCHORS = ("VTM-LDB", "HM", "VTM", "x265")
ANCHOR_LABEL = {"VTM-LDB": "VTM LDB", "HM": "HM", "VTM": "VTM", "x265": "x265 (not the JVET anchor)"}
#: anchor -> (JVET encoder, binary option, cfg option, low-delay structure)
JVET_ANCHORS = {"HM": ("HM", "HmEncoder", "HmEncoderCfg", "P"), "VTM": ("VTM", "VtmEncoder", "VtmEncoderCfg", "P"),
                "VTM-LDB": ("VTM", "VtmEncoder", "VtmLdbEncoderCfg", "B")}
INTRA_QP_OFFSET = -1
X265_ANCHOR_PARAMS = "ref=4"


def hm_lowdelay_p_qps(num: int, qp: int) -> list[int]:
    """Per-picture QPs of HM's low-delay P configuration (one intra picture at QP - 1, then GOPs of 8)."""
    return lowdelay_p_qps(num, qp, qp + INTRA_QP_OFFSET)


def x265_anchor_identity(preset: str, params: str, cascade: bool = True) -> dict:
    import av
    d = {"encoder": "x265", "preset": preset, "params": ":".join(p for p in (X265_ANCHOR_PARAMS, params) if p),
         "libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ())))}
    if not cascade:
        d["qp_cascade"] = 0
    return d


def _measure(pictures, sources, metrics) -> list[list[float]]:
    return [[psnr_y(p.to_rgb(), s), ms_ssim_y(p.to_rgb(), s)] + [f(s, p.to_rgb()) for f in metrics.values()]
            for p, s in zip(pictures, sources)]


def _x265_pictures(seq, reader, n, rate, qp, preset, params, cascade=True, intra_qp=None):
    """x265 bitstream and decoded pictures of the first n pictures (HM's QP cascade, or constant QP; the intra
    picture at QP - 1, or at ``intra_qp``)."""
    iqp = qp + INTRA_QP_OFFSET if intra_qp is None else intra_qp
    enc = X265BaseLayerEncoder(reader.info.width, reader.info.height, rate, iqp, qp, 0, picture_hash=0, preset=preset,
                               extra_params=":".join(p for p in (X265_ANCHOR_PARAMS, params) if p),
                               picture_qps=lowdelay_p_qps(n, qp, iqp) if cascade else None)
    dec = BaseLayerDecoder("hevc")
    data, pics = [], []
    for p in reader.frames(0, n):
        for au in enc.encode(p):
            data.append(au)
            pics += dec.decode(au)
    for au in enc.flush():
        data.append(au)
        pics += dec.decode(au)
    return b"".join(data), pics + dec.flush()


def _jvet_pictures(encoder, reader, n, rate, qp):
    """JVET encoder bitstream bits and its 8-bit reconstruction of the first n pictures."""
    w, h = reader.info.width, reader.info.height
    with tempfile.TemporaryDirectory(prefix="hdac_anchor_") as d:
        yuv, out, rec = (os.path.join(d, n_) for n_ in ("in.yuv", "anchor.bin", "rec.yuv"))
        with open(yuv, "wb") as f:
            for p in reader.frames(0, n):
                f.write(p.packed().tobytes())
        data = encoder.encode(yuv, out, w, h, rate, n, qp, qp + INTRA_QP_OFFSET, 0, recon=rec)
        raw = np.fromfile(rec, np.uint8)
    per = w * h * 3 // 2
    if raw.size != n * per:
        raise ValueError(f"{encoder.codec_name} reconstruction has {raw.size} bytes, expected {n * per}")
    return data, [YuvPicture.from_packed(raw[i * per:(i + 1) * per], w, h) for i in range(n)]


def code_anchor_point(seq: dict, anchor: str, qp: int, frames: int = 0, metrics=None, jvet_encoder=None,
                      x265_preset: str = "medium", x265_params: str = "", x265_cascade: bool = True,
                      x265_intra_qp: int | None = None, keep_picture: int | None = None) -> dict:
    """One anchor rate point: ``anchor`` in ANCHORS at base QP ``qp`` (HM's cascade) on ``seq``. ``keep_picture``:
    the index of a picture whose decoded and source R'G'B' pictures are returned in ``res["pictures"]``."""
    reader = VideoReader(seq["path"])
    rate = Fraction(seq.get("fps") or reader.info.frame_rate).limit_denominator(1001)
    n = min(frames or reader.info.num_frames, reader.info.num_frames)
    metrics = metrics or {}
    t0 = time.time()
    if anchor == "x265":
        data, pics = _x265_pictures(seq, reader, n, rate, qp, x265_preset, x265_params, x265_cascade, x265_intra_qp)
        identity, codec = x265_anchor_identity(x265_preset, x265_params, x265_cascade), "hevc"
        if x265_intra_qp is not None:
            identity["intra_qp"] = x265_intra_qp
    else:
        data, pics = _jvet_pictures(jvet_encoder, reader, n, rate, qp)
        identity, codec = jvet_encoder.identity(), jvet_encoder.codec
    dt = time.time() - t0
    parts = {p: 0 for p in PARTS}
    for au in split_access_units(data, codec):
        access_unit_bits(au, parts)
    bits = 8 * len(data)
    sources = [p.to_rgb() for p in reader.frames(0, n)]
    if len(pics) != n:
        raise ValueError(f"{anchor} anchor: {len(pics)} pictures decoded, {n} coded")
    a = np.array(_measure(pics, sources, metrics))
    res = {"sequence": seq["name"], "codec": anchor, "qp": qp, "frames": n, "kbps": bits / (n / float(rate)) / 1000,
           "psnr_y": float(a[:, 0].mean()), "ms_ssim_y": float(a[:, 1].mean()), "encode_fps": n / dt,
           "anchor_encoder": identity, "bits": parts, "seconds": n / float(rate)}
    for j, k in enumerate(metrics):
        res[k] = float(a[:, 2 + j].mean())
    if keep_picture is not None and 0 <= keep_picture < n:
        res["pictures"] = (pics[keep_picture].to_rgb(), None, sources[keep_picture])
    return res
