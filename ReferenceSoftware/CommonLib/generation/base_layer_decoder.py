"""Base-layer picture decoding with FFmpeg (PyAV): HEVC or VVC access units in, 4:2:0 pictures out.

Access units are fed one at a time, single-threaded, so pictures come out in
decoding order (= output order for the low-delay structure) and memory does
not grow with the sequence length. The decoder runs with FFmpeg's low-delay
flag: without it, FFmpeg's VVC decoder gives each picture one access unit late.

The decoded base-layer picture of the decoding process is 8-bit
(doc/decoding_process.md clause 2): a picture coded at BitDepth 9..16 (VTM and
VVenC code 8-bit video at InternalBitDepth 10) is converted sample by sample as
JVET's decoders write it with ``-d 8``::

    s8 = Min( 255, ( s + ( 1 << ( BitDepth - 9 ) ) ) >> ( BitDepth - 8 ) )

The coded samples are kept (:class:`BaseLayerPicture`) for the decoded picture
hash SEI, which covers the picture at its coded bit depth.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from Utilities.errors import BitstreamError
from Utilities.video_io import YuvPicture

FFMPEG_DECODERS = {"hevc": "hevc", "vvc": "vvc"}
#: FFmpeg pixel formats of 4:2:0 pictures -> their bit depth
PIXEL_FORMATS = {"yuv420p": 8, "yuvj420p": 8, "yuv420p10le": 10, "yuv420p12le": 12}

__all__ = ["BaseLayerDecoder", "BaseLayerPicture", "to_8_bits", "FFMPEG_DECODERS"]


def to_8_bits(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """Min(255, (s + (1 << (BitDepth - 9))) >> (BitDepth - 8)) of integer samples (uint8 unchanged at 8 bits)."""
    if bit_depth == 8:
        return samples.astype(np.uint8, copy=False)
    shift = bit_depth - 8
    s = samples.astype(np.int32)
    return np.minimum((s + (1 << (shift - 1))) >> shift, 255).astype(np.uint8)


@dataclass
class BaseLayerPicture(YuvPicture):
    """A decoded base-layer picture: its 8-bit planes (y, u, v) and, when coded at more than 8 bits, the coded
    planes."""

    bit_depth: int = 8
    coded: tuple | None = field(default=None, repr=False, compare=False)

    def coded_planes(self) -> list:
        """The planes at the coded bit depth (what the decoded picture hash SEI covers)."""
        return list(self.coded) if self.coded is not None else self.planes()


class BaseLayerDecoder:
    def __init__(self, codec: str = "hevc"):
        import av
        if codec not in FFMPEG_DECODERS:
            raise BitstreamError(f"unknown base-layer codec '{codec}'")
        self.cc = av.CodecContext.create(FFMPEG_DECODERS[codec], "r")
        self.cc.thread_count = 1
        self.cc.flags |= av.codec.context.Flags.low_delay
        self.codec = codec

    def _convert(self, frames):
        out = []
        for f in frames:
            depth = PIXEL_FORMATS.get(f.format.name)
            if depth is None:
                raise BitstreamError(f"base layer is {f.format.name}; only 4:2:0 at 8, 10 or 12 bits is supported")
            w, h = f.width, f.height
            if depth == 8:
                out.append(BaseLayerPicture(*YuvPicture.from_packed(f.to_ndarray(format="yuv420p"), w, h).planes()))
                continue
            coded = YuvPicture.from_packed(f.to_ndarray(), w, h).planes()
            eight = [to_8_bits(p, depth) for p in coded]
            out.append(BaseLayerPicture(*eight, bit_depth=depth, coded=tuple(coded)))
        return out

    def decode(self, access_unit: bytes) -> list[BaseLayerPicture]:
        import av
        try:
            return self._convert(self.cc.decode(av.Packet(access_unit)))
        except av.error.FFmpegError as e:
            raise BitstreamError(f"{self.codec.upper()} decoder error: {e}") from None

    def flush(self) -> list[BaseLayerPicture]:
        import av
        try:
            return self._convert(self.cc.decode(None))
        except av.error.FFmpegError as e:
            raise BitstreamError(f"{self.codec.upper()} decoder error at flush: {e}") from None
