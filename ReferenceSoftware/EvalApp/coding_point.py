"""One rate point: a sequence coded by HDAC-HF with one model and one QP, measured.

The encoder's reconstruction is DecoderApp's output (same process, checked
by the MD5 SEI in the tests), so one encoding pass gives the rate, the
generated pictures and the decoded base-layer pictures of the same bitstream.
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from CommonLib.metrics import ms_ssim_y, psnr_y
from CommonLib.network.model_file import load_model
from CommonLib.video_io import VideoReader
from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
from EncoderLib.encoder import EncoderSettings, HdacHfEncoder


def code_hdac_point(seq: dict, model_path: str, base_qp: int, intra_qp: int, frames: int = 0,
                    precision: int = 7, fusion: bool = True, intra_period: int = 0) -> dict:
    """Encode ``seq`` and measure it; hash SEI messages off (rate as in the CTC)."""
    reader = VideoReader(seq["path"])
    rate = Fraction(seq.get("fps") or reader.info.frame_rate).limit_denominator(1001)
    model, meta = load_model(model_path)
    bl = X265BaseLayerEncoder(reader.info.width, reader.info.height, rate, intra_qp, base_qp, intra_period,
                              picture_hash=0)
    enc = HdacHfEncoder(EncoderSettings(precision=precision, generated_picture_hash=False, fusion=fusion),
                        bl, model, model_path, meta["sha256"], meta.get("model_name", "model"))
    rows, bits, sei_bits = [], 0, 0
    t0 = time.time()

    def measure(results, sources):
        nonlocal bits, sei_bits
        for data, pic in results:
            src = sources.pop(0)
            bits += 8 * len(data)
            sei_bits += pic.sei_bits
            base_rgb = pic.base.to_rgb()
            rows.append((psnr_y(pic.out.rgb, src), ms_ssim_y(pic.out.rgb, src),
                         psnr_y(base_rgb, src), ms_ssim_y(base_rgb, src)))

    sources = []
    for p in reader.frames(0, frames):
        sources.append(p.to_rgb())
        measure(enc.encode_picture(p), sources)
    measure(enc.flush(), sources)
    dt = time.time() - t0
    a = np.array(rows)
    n = len(rows)
    return {"sequence": seq["name"], "model": meta.get("model_name"), "model_sha256": meta["sha256"],
            "base_qp": base_qp, "intra_qp": intra_qp, "fusion": int(fusion), "frames": n,
            "kbps": bits / (n / float(rate)) / 1000, "gfv_sei_kbps": sei_bits / (n / float(rate)) / 1000,
            "psnr_y": float(a[:, 0].mean()), "ms_ssim_y": float(a[:, 1].mean()),
            "base_psnr_y": float(a[:, 2].mean()), "base_ms_ssim_y": float(a[:, 3].mean()),
            "encode_fps": n / dt}
