"""HEVC base-layer encoder: x265 through PyAV (FFmpeg's libx265 wrapper).

One Annex-B stream: key pictures are IRAP pictures at ``intra_qp``, every
other picture is a low-delay P picture at ``base_qp`` (no B pictures, no
look-ahead, no scene cuts, constant QP). x265's API has no per-picture QP, so
the intra QP is obtained through the I/P QP ratio: ``ipratio`` =
2^((base_qp - intra_qp) / 6), which x265 turns back into the QP offset
(checked by a test: the IRAP picture is bit-identical to an intra-only stream
coded at ``intra_qp``). The x265 "info" SEI is off; the decoded picture hash
SEI (MD5 / CRC / checksum) is optional.
"""
from __future__ import annotations

from fractions import Fraction

from Utilities.errors import ConfigError
from Utilities.video_io import YuvPicture


class X265BaseLayerEncoder:
    HASH_TYPES = {0: None, 1: "1", 2: "2", 3: "3"}  # off, MD5, CRC, checksum (x265 --hash)

    def __init__(self, width: int, height: int, frame_rate: Fraction, intra_qp: int, base_qp: int,
                 intra_period: int = 0, picture_hash: int = 1, preset: str = "medium", extra_params: str = "",
                 picture_qps: list[int] | None = None):
        import av
        for name, qp in (("IntraQP", intra_qp), ("BaseLayerQP", base_qp)):
            if not 0 <= qp <= 51:
                raise ConfigError(f"{name} {qp} is outside 0..51")
        if intra_qp > base_qp:
            raise ConfigError(f"IntraQP {intra_qp} must not exceed BaseLayerQP {base_qp}")
        if picture_hash not in self.HASH_TYPES:
            raise ConfigError(f"SEIDecodedPictureHash {picture_hash} is not 0..3")
        self.intra_period = intra_period
        self.picture_qps = picture_qps
        if picture_qps is not None:
            # one x265 zone per picture forces its QP. Measured with this x265 build (test_base_layer):
            # zone j+1 governs picture j, and the last picture encoded takes no zone, so flush()
            # encodes one extra copy of the last picture and drops its access unit
            if any(not 0 <= q <= 51 for q in picture_qps):
                raise ConfigError("per-picture QPs must be in 0..51")
            qps = list(picture_qps) + [picture_qps[-1]]
            zones = "/".join(f"{i + 1},{i + 1},q={q}" for i, q in enumerate(qps))
            rate_params = [f"qp={picture_qps[-1]}", "ipratio=1", f"zones={zones}"]
        else:
            rate_params = [f"qp={base_qp}", f"ipratio={2 ** ((base_qp - intra_qp) / 6):.9f}"]
        params = rate_params + ["info=0",
                  "bframes=0", "keyint=-1", "min-keyint=1", "scenecut=0", "rc-lookahead=0",
                  "frame-threads=1", "pools=1", "repeat-headers=1", "aud=0", "log-level=error"]
        if self.HASH_TYPES[picture_hash]:
            params.append(f"hash={self.HASH_TYPES[picture_hash]}")
        if extra_params:
            params += [p for p in extra_params.split(":") if p]
        cc = av.CodecContext.create("libx265", "w")
        cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
        rate = Fraction(frame_rate).limit_denominator(1001)
        cc.time_base = 1 / rate
        cc.framerate = rate
        cc.options = {"x265-params": ":".join(params), "preset": preset, "forced-idr": "1"}
        try:
            cc.open()
        except Exception as e:
            raise ConfigError(f"x265 refused the parameters '{':'.join(params)}': {e}") from None
        self.cc = cc
        self.count = 0
        self.last = None

    def is_key_picture(self, index: int) -> bool:
        return index == 0 or (self.intra_period > 0 and index % self.intra_period == 0)

    def encode(self, pic: YuvPicture) -> list[bytes]:
        """Encode the next picture; returns the access units x265 emitted (one per picture)."""
        import av
        frame = av.VideoFrame.from_ndarray(pic.packed().reshape(-1, pic.width), format="yuv420p")
        frame.pts = self.count
        frame.pict_type = av.video.frame.PictureType.I if self.is_key_picture(self.count) \
            else av.video.frame.PictureType.P
        self.count += 1
        self.last = pic
        return [bytes(p) for p in self.cc.encode(frame)]

    def flush(self) -> list[bytes]:
        if self.picture_qps is None or self.last is None:
            return [bytes(p) for p in self.cc.encode(None)]
        n = self.count
        out = self.encode(self.last)
        out += [bytes(p) for p in self.cc.encode(None)]
        self.count = n
        return out[:-1]           # the extra picture's access unit (always the last one)
