"""Coding a whole sequence file with HDAC-HF and getting each picture back with its source.

Shared by EvalApp (rate points) and ConverterApp (the residual-scale fit): the
sequence is coded as EncoderApp codes it (the base layer of
EncoderLib.base_layer_settings, GFV SEI, the decoder's reconstruction
process), and every coded picture comes back in order with its source
picture in R'G'B'.
"""
from __future__ import annotations

from fractions import Fraction

from Utilities.video_io import VideoReader
from EncoderLib.base_layer_settings import BaseLayerSettings
from EncoderLib.encoder import EncoderSettings, HdacHfEncoder
from EncoderLib.encoder_model import EncoderModel


def sequence_frame_rate(seq: dict, reader: VideoReader) -> Fraction:
    return Fraction(seq.get("fps") or reader.info.frame_rate).limit_denominator(1001)


def code_sequence(seq: dict, model: EncoderModel, base_qp: int, intra_qp: int, frames: int = 0,
                  intra_period: int = 0, settings: EncoderSettings | None = None,
                  base_layer: BaseLayerSettings | None = None):
    """Yields (source R'G'B', access unit bytes, EncodedPicture) for every picture. Hash SEI messages are
    off unless ``settings`` / ``base_layer`` say otherwise; ``base_layer`` None = the default x265."""
    reader = VideoReader(seq["path"])
    n = min(frames or reader.info.num_frames, reader.info.num_frames)
    base_layer = base_layer or BaseLayerSettings(picture_hash=0)
    bl = base_layer.create(reader.info.width, reader.info.height, sequence_frame_rate(seq, reader), intra_qp, base_qp,
                           intra_period, n)
    enc = HdacHfEncoder(settings or EncoderSettings(precision=8, generated_picture_hash=False), bl, model,
                        base_layer.codec)
    sources = []
    for p in reader.frames(0, n):
        sources.append(p.to_rgb())
        for data, pic in enc.encode_picture(p):
            yield sources.pop(0), data, pic
    for data, pic in enc.flush():
        yield sources.pop(0), data, pic
