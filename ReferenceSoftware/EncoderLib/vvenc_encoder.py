"""Running VVenC's full-featured encoder app (``vvencFFapp``) on a raw 4:2:0 file: the fast VVC base layer.

The binary comes from the user's cfg (``VvencEncoder``); the speed/quality
trade-off from ``VvencPreset`` (faster, fast, medium, slow, slower) and
further options from ``VvencParams``. One run codes the whole sequence in
VVenC's low-delay structure, with the options the HDAC-HF base layer needs::

    vvencFFapp --preset P -i in.yuv -s WxH --InputBitDepth 8 --OutputBitDepth 8 --FrameRate FPS --TicksPerSecond -1
               -f N -q QP
               --IntraQPOffset=<IntraQP - QP> --IntraPeriod=<P or -1> --DecodingRefreshType none
               --PicReordering 0 --GOPSize 8 --QPA 0 --GOPQPA 0 --BIM 0 --MCTFFutureReference 0
               --Threads 1 --SEIDecodedPictureHash <0..3> -b out.bin [VvencParams]

* ``--PicReordering 0 --GOPSize 8``: low delay (every picture refers to earlier ones only; B slices with both
  lists pointing backwards), VVenC's own QP offsets per position in the GOP of 8;
* ``--QPA 0 --GOPQPA 0 --BIM 0``: no perceptual, GOP-level or block-importance QP adaptation, so the key
  pictures are coded at IntraQP exactly (with ``--BIM 1`` VVenC moves the intra QP by -1 or -2) and the other
  pictures at VVenC's cascade above ``-q``;
* ``--MCTFFutureReference 0``: the temporal pre-filter of the key pictures looks at past pictures only, as a
  low-delay encoder can;
* ``--DecodingRefreshType none``: VVenC refuses CRA/IDR refresh types in low delay, yet with ``--IntraPeriod``
  P it codes picture P, 2P, ... as IDR_W_RADL pictures: IRAP pictures, the key pictures;
* ``--Threads 1``: one core per encoder (EvalApp runs several points at once);
* ``--FrameRate`` is the sequence's rate rounded to an integer, as HM's and VTM's ``-fr``: it only sets the
  stream's timing information (rates are computed from the sequence's own frame rate); ``--TicksPerSecond -1``
  (one tick per picture) accepts any such rate (VVenC's 27 MHz default refuses 22 and 35 pictures/s).

VVenC codes 8-bit video at its default InternalBitDepth 10; the base-layer
decoder converts to 8 bits (CommonLib.generation.base_layer_decoder). (FFmpeg
8.1 decodes VVenC's ALF / CC-ALF wrongly at InternalBitDepth 8: keep 10.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

from EncoderLib.jvet_encoder import JvetEncoder, check_binary
from Utilities.errors import ConfigError
from Utilities.files import sha256_file

__all__ = ["VVENC_PRESETS", "VvencEncoder", "vvenc_encoder"]

VVENC_PRESETS = ("faster", "fast", "medium", "slow", "slower")
#: the options that make VVenC's output an HDAC-HF base layer (see the module docstring)
BASE_LAYER_ARGS = ["--DecodingRefreshType", "none", "--PicReordering", "0", "--GOPSize", "8", "--QPA", "0",
                   "--GOPQPA", "0", "--BIM", "0", "--MCTFFutureReference", "0", "--Threads", "1"]


@dataclass
class VvencEncoder(JvetEncoder):
    """vvencFFapp with a preset and options; :meth:`identity` ties results to the binary's SHA-256, the preset and
    the options."""

    preset: str = "medium"
    params: str = ""

    def __post_init__(self):
        if self.preset not in VVENC_PRESETS:
            raise ConfigError(f"VvencPreset '{self.preset}' (choose {', '.join(VVENC_PRESETS)})")
        self.binary = check_binary(self.binary, self.binary_option)
        self.extra_args = self.params.split()
        self.gop_size = 8

    @property
    def codec(self) -> str:
        return "vvc"

    def identity(self) -> dict:
        return {"encoder": "VVenC", "binary_sha256": sha256_file(self.binary), "preset": self.preset,
                "params": self.params, "base_layer_args": " ".join(BASE_LAYER_ARGS)}

    def check_intra_period(self, intra_period: int) -> None:
        """VVenC takes any IntraPeriod (it need not be a multiple of the GOP size)."""

    def command(self, yuv: str, out: str, width: int, height: int, frame_rate: Fraction, frames: int, qp: int,
                intra_qp: int, intra_period: int, picture_hash: int = 0, recon: str = "") -> list[str]:
        # an integer rate, as for HM and VTM: it only sets the stream's timing information; VVenC refuses rates
        # its default TicksPerSecond (27 MHz) cannot express (21524/873, 22, 35): one tick per picture
        fps = max(1, round(Fraction(frame_rate)))
        args = [self.binary, "--preset", self.preset, "-i", yuv, "-s", f"{width}x{height}", "--InputBitDepth", "8",
                "--OutputBitDepth", "8", "--FrameRate", str(fps), "--TicksPerSecond", "-1",
                "-f", str(frames), "-q", str(qp), f"--IntraQPOffset={intra_qp - qp}",
                f"--IntraPeriod={intra_period if intra_period > 0 else -1}", *BASE_LAYER_ARGS,
                "--SEIDecodedPictureHash", str(picture_hash), "-b", out]
        if recon:
            args += ["-o", recon]
        return args + list(self.extra_args)

    def _cache_key_files(self) -> tuple:
        return (sha256_file(self.binary),)


def vvenc_encoder(binary: str, preset: str = "medium", params: str = "") -> VvencEncoder:
    """The encoder of the cfg options ``VvencEncoder`` / ``VvencPreset`` / ``VvencParams`` (``~`` expanded)."""
    return VvencEncoder("VVenC", os.path.expanduser(binary), "", "VvencEncoder", "", preset=preset, params=params)
