"""Base-layer picture decoding with FFmpeg (PyAV): HEVC or VVC access units in, 4:2:0 pictures out.

Access units are fed one at a time, single-threaded, so pictures come out in
decoding order (= output order for the low-delay structure) and memory does
not grow with the sequence length.
"""
from __future__ import annotations

from Utilities.errors import BitstreamError
from Utilities.video_io import YuvPicture

FFMPEG_DECODERS = {"hevc": "hevc", "vvc": "vvc"}


class BaseLayerDecoder:
    def __init__(self, codec: str = "hevc"):
        import av
        if codec not in FFMPEG_DECODERS:
            raise BitstreamError(f"unknown base-layer codec '{codec}'")
        self.cc = av.CodecContext.create(FFMPEG_DECODERS[codec], "r")
        self.cc.thread_count = 1
        self.codec = codec

    def _convert(self, frames):
        out = []
        for f in frames:
            if f.format.name not in ("yuv420p", "yuvj420p"):
                raise BitstreamError(f"base layer is {f.format.name}; only 8-bit 4:2:0 is supported")
            out.append(YuvPicture.from_packed(f.to_ndarray(format="yuv420p"), f.width, f.height))
        return out

    def decode(self, access_unit: bytes) -> list[YuvPicture]:
        import av
        try:
            return self._convert(self.cc.decode(av.Packet(access_unit)))
        except av.error.FFmpegError as e:
            raise BitstreamError(f"{self.codec.upper()} decoder error: {e}") from None

    def flush(self) -> list[YuvPicture]:
        import av
        try:
            return self._convert(self.cc.decode(None))
        except av.error.FFmpegError as e:
            raise BitstreamError(f"{self.codec.upper()} decoder error at flush: {e}") from None
