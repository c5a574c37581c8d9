"""Coding a whole sequence file with HDAC-HF and getting each picture back with its source.

Shared by EvalApp (rate points) and ConverterApp (the residual-scale fit): the
sequence is coded as EncoderApp codes it (x265 base layer, GFV SEI, the
decoder's reconstruction process), and every coded picture comes back in
order with its source picture in R'G'B'.
"""
from __future__ import annotations

from fractions import Fraction

from CommonLib.video_io import VideoReader
from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
from EncoderLib.encoder import EncoderSettings, HdacHfEncoder
from EncoderLib.encoder_model import EncoderModel
from EncoderLib.qp_cascade import lowdelay_p_qps


def sequence_frame_rate(seq: dict, reader: VideoReader) -> Fraction:
    return Fraction(seq.get("fps") or reader.info.frame_rate).limit_denominator(1001)


def code_sequence(seq: dict, model: EncoderModel, base_qp: int, intra_qp: int, frames: int = 0,
                  intra_period: int = 0, settings: EncoderSettings | None = None, cascade: bool = False):
    """Yields (source R'G'B', access unit bytes, EncodedPicture) for every picture; hash SEI messages off
    unless ``settings`` says otherwise."""
    reader = VideoReader(seq["path"])
    n = min(frames or reader.info.num_frames, reader.info.num_frames)
    qps = lowdelay_p_qps(n, base_qp, intra_qp, intra_period) if cascade else None
    bl = X265BaseLayerEncoder(reader.info.width, reader.info.height, sequence_frame_rate(seq, reader), intra_qp,
                              base_qp, intra_period, picture_hash=0, picture_qps=qps)
    enc = HdacHfEncoder(settings or EncoderSettings(precision=8, generated_picture_hash=False), bl, model)
    sources = []
    for p in reader.frames(0, frames):
        sources.append(p.to_rgb())
        for data, pic in enc.encode_picture(p):
            yield sources.pop(0), data, pic
    for data, pic in enc.flush():
        yield sources.pop(0), data, pic
