"""One rate point: a sequence coded by HDAC-HF with one model, one base layer and one QP pair, measured.

The encoder's reconstruction is DecoderApp's output (same process, checked
by the MD5 SEI in the tests), so one encoding pass gives the rate, the
generated pictures and the decoded base-layer pictures of the same bitstream.
"""
from __future__ import annotations

import time

import numpy as np

from CommonLib.syntax.access_units import split_access_units
from Utilities.metrics import ms_ssim_y, psnr_y
from Utilities.video_io import VideoReader
from EncoderLib.base_layer_settings import BaseLayerSettings
from EncoderLib.encoder import EncoderSettings
from EncoderLib.encoder_model import open_encoder_model
from EncoderLib.sequence_coding import code_sequence, sequence_frame_rate
from CommonLib.syntax.bit_accounting import PARTS, access_unit_bits

BASE_METRICS = {"psnr_y": psnr_y, "ms_ssim_y": ms_ssim_y}


def code_hdac_point(seq: dict, model_path: str, base_qp: int, intra_qp: int, frames: int = 0,
                    precision: int = 8, fusion: bool = True, intra_period: int = 0, metrics=None,
                    base_layer: BaseLayerSettings | None = None, keypoint_transmission: str = "always",
                    keep_picture: int | None = None) -> dict:
    """Encode ``seq`` and measure it; hash SEI messages off (rate as in the CTC).

    ``kbps`` counts every byte of the bitstream, ``bits`` splits them (CommonLib.syntax.bit_accounting).
    ``kbps_animation`` counts what an animation-only decoder needs: the key pictures' access units and
    the GFV SEI NAL units of all pictures (the base-layer P pictures left out).
    """
    metrics = dict(BASE_METRICS, **(metrics or {}))
    base_layer = base_layer or BaseLayerSettings(picture_hash=0)
    model = open_encoder_model(model_path)
    settings = EncoderSettings(precision=precision, generated_picture_hash=False, fusion=fusion,
                               keypoint_transmission=keypoint_transmission)
    gen_rows, base_rows = [], []
    bits = {"all": 0, "sei": 0, "animation": 0}
    parts = {p: 0 for p in PARTS}
    derived = 0
    kept = None
    t0 = time.time()
    for src, data, pic in code_sequence(seq, model, base_qp, intra_qp, frames, intra_period, settings, base_layer):
        if pic.index == keep_picture:
            kept = (pic.out.rgb, pic.base.to_rgb(), src)
        bits["all"] += 8 * len(data)
        bits["sei"] += pic.bits.gfv + pic.bits.hash
        bits["animation"] += pic.bits.gfv + pic.bits.hash + (pic.bits.base if pic.is_key else 0)
        (au,) = split_access_units(data, base_layer.codec)
        access_unit_bits(au, parts)
        derived += int(pic.out.derived)
        gen_rows.append([f(src, pic.out.rgb) for f in metrics.values()])
        base_rgb = pic.base.to_rgb()
        base_rows.append([f(src, base_rgb) for f in BASE_METRICS.values()])
    dt = time.time() - t0
    rate = sequence_frame_rate(seq, VideoReader(seq["path"]))
    g, b = np.array(gen_rows), np.array(base_rows)
    n = len(gen_rows)
    seconds = n / float(rate)
    res = {"sequence": seq["name"], "model": model.name, "model_sha256": model.sha256,
           "float_model_sha256": model.source_model_sha256, "base_qp": base_qp, "intra_qp": intra_qp,
           "fusion": int(fusion), "base_layer": base_layer.identity(), "keypoint_transmission": keypoint_transmission,
           "derived_pictures": derived, "frames": n,
           "kbps": bits["all"] / seconds / 1000, "gfv_sei_kbps": bits["sei"] / seconds / 1000,
           "kbps_animation": bits["animation"] / seconds / 1000, "bits": parts, "seconds": seconds,
           "encode_fps": n / dt}
    for j, k in enumerate(metrics):
        res[k] = float(g[:, j].mean())
    for j, k in enumerate(BASE_METRICS):
        res["base_" + k] = float(b[:, j].mean())
    if kept is not None:
        res["pictures"] = kept
    return res
