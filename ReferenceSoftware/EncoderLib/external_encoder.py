"""Base layer from an external encoder command (e.g. a VVC encoder such as vvencapp or VTM).

The command template is a shell-free argument list in which ``{input}``
(raw 4:2:0 8-bit .yuv of the pictures to code), ``{output}`` (the Annex-B
bitstream it must write), ``{width}``, ``{height}``, ``{fps}``, ``{frames}``,
``{qp}``, ``{intra_qp}`` and ``{intra_period}`` are substituted, e.g.

    vvencapp -i {input} -s {width}x{height} -r {fps} -f {frames} --qp {qp} --intraperiod {intra_period} -o {output}

The pictures are collected and coded in one run at :meth:`flush`; the
resulting stream is split into access units, which the HDAC-HF encoder then
completes with its GFV SEI NAL units (VVC suffix SEI, nal_unit_type 24).
The external encoder decides where its IRAP pictures are; they become the
key pictures.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from fractions import Fraction

from CommonLib.errors import BitstreamError, ConfigError
from DecoderLib.access_units import split_access_units


class ExternalBaseLayerEncoder:
    def __init__(self, command: str, codec: str, width: int, height: int, frame_rate: Fraction, base_qp: int,
                 intra_qp: int, intra_period: int):
        if not command.strip():
            raise ConfigError(f"BaseLayerCodec {codec} needs an external encoder command (ExternalEncoderCommand)")
        self.template = shlex.split(command)
        self.codec = codec
        self.params = dict(width=width, height=height, fps=float(frame_rate), qp=base_qp, intra_qp=intra_qp,
                           intra_period=intra_period)
        self.tmp = tempfile.TemporaryDirectory(prefix="hdac_bl_")
        self.yuv_path = os.path.join(self.tmp.name, "input.yuv")
        self.out_path = os.path.join(self.tmp.name, "base_layer.bin")
        self.yuv = open(self.yuv_path, "wb")
        self.count = 0

    def is_key_picture(self, index: int):
        return None          # decided by the external encoder

    def encode(self, pic) -> list[bytes]:
        self.yuv.write(pic.packed().tobytes())
        self.count += 1
        return []

    def flush(self) -> list[bytes]:
        self.yuv.close()
        args = [a.format(input=self.yuv_path, output=self.out_path, frames=self.count, **self.params)
                for a in self.template]
        try:
            proc = subprocess.run(args, capture_output=True, text=True)
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
            data = f.read()
        try:
            aus = split_access_units(data, self.codec)
        except BitstreamError as e:
            raise BitstreamError(f"external encoder output is not a {self.codec.upper()} Annex-B stream: {e}") from None
        if len(aus) != self.count:
            raise BitstreamError(f"external encoder coded {len(aus)} pictures, {self.count} were given")
        self.tmp.cleanup()
        return [au.annexb() for au in aus]
