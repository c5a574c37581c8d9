"""Base-layer encoders that code the whole sequence in one run of another program.

:class:`OfflineBaseLayerEncoder` collects the pictures in a temporary raw
4:2:0 8-bit file and codes them at :meth:`flush`; the stream is split into
access units (one per picture, checked), which the HDAC-HF encoder then
completes with its SEI NAL units. Two kinds:

* :class:`JvetBaseLayerEncoder` (``BaseLayerEncoder: hm``): HM's TAppEncoder
  with a JVET cfg (EncoderLib.jvet_encoder); the key pictures are its IRAP
  pictures at IntraQP (``--IntraQPOffset``), every IntraPeriod pictures;
* :class:`ExternalBaseLayerEncoder` (``BaseLayerEncoder: external``): any
  command line, as a shell-free argument list in which ``{input}``,
  ``{output}`` (the Annex-B stream it must write), ``{width}``, ``{height}``,
  ``{fps}``, ``{frames}``, ``{qp}``, ``{intra_qp}`` and ``{intra_period}``
  are substituted, e.g.
  ``vvencapp -i {input} -s {width}x{height} -r {fps} -f {frames} --qp {qp} --intraperiod {intra_period} -o {output}``;
  the program decides where its IRAP pictures are, and they become the key
  pictures.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from fractions import Fraction

from CommonLib.syntax.access_units import split_access_units
from Utilities.errors import BitstreamError, ConfigError
from EncoderLib.jvet_encoder import JvetEncoder

__all__ = ["OfflineBaseLayerEncoder", "JvetBaseLayerEncoder", "ExternalBaseLayerEncoder"]


class OfflineBaseLayerEncoder:
    """Collects pictures; :meth:`code` (of a subclass) turns the raw file into an Annex-B stream."""

    def __init__(self, codec: str, width: int, height: int, frame_rate: Fraction, base_qp: int, intra_qp: int,
                 intra_period: int):
        self.codec, self.width, self.height = codec, width, height
        self.frame_rate, self.base_qp, self.intra_qp, self.intra_period = Fraction(frame_rate), base_qp, intra_qp, \
            intra_period
        self.tmp = tempfile.TemporaryDirectory(prefix="hdac_bl_")
        self.yuv_path = os.path.join(self.tmp.name, "input.yuv")
        self.out_path = os.path.join(self.tmp.name, "base_layer.bin")
        self.yuv = open(self.yuv_path, "wb")
        self.count = 0
        self.progress = None          # optional callable(pictures coded so far) while flush() runs

    def is_key_picture(self, index: int):
        return None                   # unknown before the stream exists (the subclass may know)

    def encode(self, pic) -> list[bytes]:
        self.yuv.write(pic.packed().tobytes())
        self.count += 1
        return []

    def code(self) -> bytes:          # pragma: no cover - abstract
        raise NotImplementedError

    def flush(self) -> list[bytes]:
        self.yuv.close()
        try:
            data = self.code()
            aus = split_access_units(data, self.codec)
        except BitstreamError as e:
            raise BitstreamError(f"{self.what()} output is not a {self.codec.upper()} Annex-B stream: {e}") from None
        finally:
            self.tmp.cleanup()
        if len(aus) != self.count:
            raise BitstreamError(f"{self.what()} coded {len(aus)} pictures, {self.count} were given")
        return [au.annexb() for au in aus]

    def what(self) -> str:
        return "base-layer encoder"


class JvetBaseLayerEncoder(OfflineBaseLayerEncoder):
    """The base layer coded by a JVET reference encoder (HM: HEVC)."""

    def __init__(self, encoder: JvetEncoder, width: int, height: int, frame_rate: Fraction, base_qp: int,
                 intra_qp: int, intra_period: int, picture_hash: int = 1):
        if intra_qp > base_qp:
            raise ConfigError(f"IntraQP {intra_qp} must not exceed BaseLayerQP {base_qp}")
        encoder.check_intra_period(intra_period)
        super().__init__(encoder.codec, width, height, frame_rate, base_qp, intra_qp, intra_period)
        self.encoder, self.picture_hash = encoder, picture_hash

    def is_key_picture(self, index: int) -> bool:
        return index == 0 or (self.intra_period > 0 and index % self.intra_period == 0)

    def what(self) -> str:
        return f"{self.encoder.codec_name} encoder '{os.path.basename(self.encoder.binary)}'"

    def code(self) -> bytes:
        return self.encoder.encode(self.yuv_path, self.out_path, self.width, self.height, self.frame_rate, self.count,
                                   self.base_qp, self.intra_qp, self.intra_period, self.picture_hash,
                                   progress=self.progress)


class ExternalBaseLayerEncoder(OfflineBaseLayerEncoder):
    """The base layer coded by a user-given command line."""

    def __init__(self, command: str, codec: str, width: int, height: int, frame_rate: Fraction, base_qp: int,
                 intra_qp: int, intra_period: int):
        if not command.strip():
            raise ConfigError("BaseLayerEncoder external needs ExternalEncoderCommand")
        self.template = shlex.split(command)
        super().__init__(codec, width, height, frame_rate, base_qp, intra_qp, intra_period)

    def what(self) -> str:
        return f"external encoder '{self.template[0]}'"

    def code(self) -> bytes:
        params = dict(width=self.width, height=self.height, fps=float(self.frame_rate), qp=self.base_qp,
                      intra_qp=self.intra_qp, intra_period=self.intra_period, frames=self.count)
        args = [a.format(input=self.yuv_path, output=self.out_path, **params) for a in self.template]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, errors="replace")
        except FileNotFoundError:
            raise ConfigError(f"external encoder '{args[0]}' not found") from None
        except OSError as e:
            raise ConfigError(f"cannot run external encoder '{args[0]}': {e.strerror}") from None
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            raise ConfigError(f"external encoder '{args[0]}' failed with exit code {proc.returncode}: {last[0]}")
        if not os.path.isfile(self.out_path):
            raise ConfigError(f"external encoder '{args[0]}' wrote no bitstream to {{output}}")
        with open(self.out_path, "rb") as f:
            return f.read()
