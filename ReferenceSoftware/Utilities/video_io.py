"""Reading and writing raw and containerised video, picture by picture.

Formats (chosen by the file extension):

* ``.yuv`` – raw planar Y'CbCr 4:2:0, 8 bit (size and rate given by the user);
* ``.y4m`` – YUV4MPEG2, 4:2:0 8 bit (size and rate in the header);
* ``.rgb`` – raw planar R'G'B' 4:4:4, 8 bit, one R, G, B plane per picture;
* anything else is opened with FFmpeg through PyAV and converted to yuv420p
  (reading only).

Pictures are :class:`YuvPicture` (4:2:0 planes) or ``(3, H, W)`` uint8 RGB
arrays; RGB <-> YUV uses the integer process of :mod:`Utilities.colour`.
Writers are output files of :mod:`Utilities.files`: the file appears under its
name on :meth:`VideoWriter.close` with ``ok=True``, so a failed run never
leaves a partly written file under the requested name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

import numpy as np

from Utilities.colour import rgb_to_yuv420, yuv420_to_rgb
from Utilities.errors import InputError
from Utilities.files import OutputFile


@dataclass
class YuvPicture:
    """One 8-bit 4:2:0 picture: luma (H, W), chroma (H/2, W/2)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def height(self) -> int:
        return self.y.shape[0]

    def planes(self):
        return [self.y, self.u, self.v]

    def to_rgb(self) -> np.ndarray:
        return yuv420_to_rgb(self.y, self.u, self.v)

    @staticmethod
    def from_rgb(rgb: np.ndarray) -> "YuvPicture":
        return YuvPicture(*rgb_to_yuv420(rgb))

    @staticmethod
    def from_packed(buf: np.ndarray, width: int, height: int) -> "YuvPicture":
        """From an (H*3/2, W) array or flat buffer in I420 order."""
        flat = buf.reshape(-1)
        ys, cs = width * height, (width // 2) * (height // 2)
        return YuvPicture(flat[:ys].reshape(height, width),
                          flat[ys:ys + cs].reshape(height // 2, width // 2),
                          flat[ys + cs:ys + 2 * cs].reshape(height // 2, width // 2))

    def packed(self) -> np.ndarray:
        return np.concatenate([p.reshape(-1) for p in self.planes()])


@dataclass
class VideoInfo:
    width: int
    height: int
    frame_rate: Fraction
    num_frames: int


def _ext(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _parse_rate(text: str) -> Fraction:
    try:
        return Fraction(text.replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"bad frame rate '{text}'") from None


def _check_size(width: int, height: int, what: str) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"{what}: picture size {width}x{height} must be given (SourceWidth/SourceHeight)")
    if width % 2 or height % 2:
        raise InputError(f"{what}: picture size {width}x{height} must be even for 4:2:0")


class VideoReader:
    """Iterates over the pictures of a video file as :class:`YuvPicture`.

    ``width``/``height``/``frame_rate`` are required for ``.yuv`` and ``.rgb``
    and, when given for self-describing files, must match them.
    """

    def __init__(self, path: str, width: int = 0, height: int = 0, frame_rate=None):
        if os.path.isdir(path):
            raise InputError(f"input file '{path}' is a directory")
        if not os.path.isfile(path):
            raise InputError(f"input file '{path}' does not exist")
        if not os.access(path, os.R_OK):
            raise InputError(f"input file '{path}' is not readable")
        self.path = path
        self.kind = _ext(path)
        rate = Fraction(frame_rate).limit_denominator(1001) if frame_rate else None
        if self.kind in (".yuv", ".rgb"):
            _check_size(width, height, path)
            per = width * height * (3 if self.kind == ".rgb" else 1) + (0 if self.kind == ".rgb" else 2 * (width // 2) * (height // 2))
            size = os.path.getsize(path)
            if size == 0 or size % per:
                raise InputError(f"input file '{path}' has {size} bytes, not a whole number of "
                                 f"{width}x{height} {'RGB 4:4:4' if self.kind == '.rgb' else 'YUV 4:2:0'} pictures ({per} bytes each)")
            self._frame_bytes = per
            self.info = VideoInfo(width, height, rate or Fraction(25), size // per)
        elif self.kind == ".y4m":
            self.info, self._data_offset = self._parse_y4m_header(path)
            self._check_given(width, height)
        else:
            self.info = self._probe_av(path, rate)
            self._check_given(width, height)

    def _check_given(self, width: int, height: int) -> None:
        if (width and width != self.info.width) or (height and height != self.info.height):
            raise InputError(f"input file '{self.path}' is {self.info.width}x{self.info.height}, "
                             f"not the {width}x{height} given")

    # --- YUV4MPEG2 -------------------------------------------------------------
    @staticmethod
    def _parse_y4m_header(path: str):
        with open(path, "rb") as f:
            head = f.read(256)
        end = head.find(b"\n")
        if not head.startswith(b"YUV4MPEG2 ") or end < 0:
            raise InputError(f"'{path}' is not a YUV4MPEG2 file (bad header)")
        fields = head[10:end].decode("ascii", "replace").split()
        w = h = 0
        rate = Fraction(25)
        for fld in fields:
            key, val = fld[0], fld[1:]
            if key == "W":
                w = int(val)
            elif key == "H":
                h = int(val)
            elif key == "F":
                rate = _parse_rate(val)
            elif key == "C" and not val.startswith("420"):
                raise InputError(f"'{path}': only 4:2:0 8-bit YUV4MPEG2 is supported (C{val})")
        _check_size(w, h, path)
        frame = w * h * 3 // 2
        data = os.path.getsize(path) - (end + 1)
        # each FRAME header is at least 6 bytes ("FRAME\n")
        with open(path, "rb") as f:
            f.seek(end + 1)
            fh = f.readline()
        if not fh.startswith(b"FRAME"):
            raise InputError(f"'{path}': no FRAME marker after the header")
        per = frame + len(fh)
        if data % per:
            raise InputError(f"'{path}': {data} bytes of picture data is not a whole number of {w}x{h} frames")
        return VideoInfo(w, h, rate, data // per), end + 1

    # --- FFmpeg containers ---------------------------------------------------
    def _probe_av(self, path: str, rate):
        import av
        try:
            with av.open(path) as c:
                if not c.streams.video:
                    raise InputError(f"'{path}' has no video stream")
                s = c.streams.video[0]
                n = s.frames or sum(1 for _ in c.decode(video=0))
                fr = s.average_rate or s.guessed_rate or Fraction(25)
                return VideoInfo(s.codec_context.width, s.codec_context.height, rate or Fraction(fr), n)
        except av.error.FFmpegError as e:
            raise InputError(f"cannot read '{path}' with FFmpeg: {e}") from None

    def __len__(self) -> int:
        return self.info.num_frames

    def frames(self, skip: int = 0, count: int = 0) -> Iterator[YuvPicture]:
        """Yield pictures ``skip`` .. ``skip + count - 1`` (count 0 = to the end)."""
        n = self.info.num_frames - skip if count <= 0 else min(count, self.info.num_frames - skip)
        if n <= 0:
            raise InputError(f"'{self.path}' has {self.info.num_frames} pictures; FrameSkip {skip} leaves none")
        w, h = self.info.width, self.info.height
        if self.kind in (".yuv", ".rgb"):
            with open(self.path, "rb") as f:
                f.seek(skip * self._frame_bytes)
                for _ in range(n):
                    buf = np.frombuffer(f.read(self._frame_bytes), np.uint8)
                    if self.kind == ".rgb":
                        yield YuvPicture.from_rgb(buf.reshape(3, h, w))
                    else:
                        yield YuvPicture.from_packed(buf, w, h)
        elif self.kind == ".y4m":
            with open(self.path, "rb") as f:
                f.seek(self._data_offset)
                frame = w * h * 3 // 2
                for i in range(skip + n):
                    if not f.readline().startswith(b"FRAME"):
                        raise InputError(f"'{self.path}': FRAME marker missing at picture {i}")
                    buf = f.read(frame)
                    if i >= skip:
                        yield YuvPicture.from_packed(np.frombuffer(buf, np.uint8), w, h)
        else:
            import av
            with av.open(self.path) as c:
                for i, fr in enumerate(c.decode(video=0)):
                    if i >= skip + n:
                        break
                    if i >= skip:
                        yield YuvPicture.from_packed(fr.to_ndarray(format="yuv420p"), w, h)


class VideoWriter:
    """Writes pictures to ``.yuv`` (4:2:0), ``.y4m`` or ``.rgb`` (planar 4:4:4).

    Accepts RGB (3, H, W) arrays or :class:`YuvPicture`; converts with the
    integer process where needed. The file appears under its name only when
    :meth:`close` is called with ``ok=True``.
    """

    FORMATS = (".yuv", ".y4m", ".rgb")

    def __init__(self, path: str, width: int, height: int, frame_rate=Fraction(25)):
        self.kind = _ext(path)
        if self.kind not in self.FORMATS:
            raise InputError(f"output file '{path}': unknown format '{self.kind}' (use .yuv, .y4m or .rgb)")
        self.path = path
        self.f = OutputFile(path, "wb")
        self.count = 0
        if self.kind == ".y4m":
            r = Fraction(frame_rate).limit_denominator(1001)
            self.f.write(f"YUV4MPEG2 W{width} H{height} F{r.numerator}:{r.denominator} Ip A1:1 C420jpeg\n".encode())

    def write(self, pic) -> None:
        if self.kind == ".rgb":
            rgb = pic.to_rgb() if isinstance(pic, YuvPicture) else pic
            self.f.write(np.ascontiguousarray(rgb, np.uint8).tobytes())
            return self._done()
        yuv = pic if isinstance(pic, YuvPicture) else YuvPicture.from_rgb(pic)
        if self.kind == ".y4m":
            self.f.write(b"FRAME\n")
        self.f.write(yuv.packed().tobytes())
        self._done()

    def _done(self):
        self.count += 1

    def close(self, ok: bool = True) -> None:
        self.f.close(ok)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(ok=exc_type is None)
