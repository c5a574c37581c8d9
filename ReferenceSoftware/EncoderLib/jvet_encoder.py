"""Running a JVET reference encoder (HM's TAppEncoder, VTM's EncoderApp) on a raw 4:2:0 file.

The binary and its cfg file come from the user's cfg (``HmEncoder`` /
``HmEncoderCfg``, ``VtmEncoder`` / ``VtmEncoderCfg``): the project never
needs them. One run codes the whole sequence with the JVET options a user
would give on the command line::

    <binary> -c <cfg> -i in.yuv -wdt W -hgt H -fr FPS -f N -q QP --IntraQPOffset=<IntraQP - QP>
             --IntraPeriod=<P or -1> [--DecodingRefreshType=1] --Level=3.1 -b out.bin -o <recon or "">
             --SEIDecodedPictureHash=<0..3> [--OutputBitDepth=8 (VTM)]

Key-picture refresh (``IntraPeriod`` > 0) uses CRA pictures
(``DecodingRefreshType`` 1), so every key picture is an IRAP picture; HM and
VTM need the period to be a multiple of the cfg's GOPSize (8 in the JVET
low-delay cfgs). The encoders print one ``POC`` line per coded picture, which
drives the progress callback (HM codes about 4 pictures/s of 256x256 here,
VTM 0.2..1: they are far slower than x265). ``-fr`` takes an integer: a
sequence at 22.131 fps is given as 22 (it only sets the stream's timing
information; rates are computed from the sequence's own frame rate).

Every failure is a one-line :class:`ConfigError` / :class:`BitstreamError`
naming the binary: missing or not executable binary, missing cfg, non-zero
exit (with the encoder's last error line), no stream written, a stream with
another number of pictures than given.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Optional

from CommonLib.syntax.access_units import split_access_units
from Utilities.errors import BitstreamError, ConfigError
from Utilities.files import sha256_file

__all__ = ["JvetEncoder", "JVET_CODECS", "check_binary", "check_cfg_file", "default_cfg", "jvet_encoder"]

#: name -> (base-layer codec of its streams, options it needs beyond the common ones)
JVET_CODECS = {"HM": ("hevc", []), "VTM": ("vvc", ["--OutputBitDepth=8", "--OutputBitDepthC=8"])}
#: the JVET low-delay P cfg of each encoder, and where an installation keeps it relative to the binary's
#: folder (HM's and VTM's source trees keep bin/ and cfg/ side by side; so does shared/jvet-tools' install.sh,
#: with an hm_ / vtm_ prefix)
LOWDELAY_P_CFG = {"HM": "encoder_lowdelay_P_main.cfg", "VTM": "encoder_lowdelay_P_vtm.cfg"}
#: VTM's low-delay B cfg: the anchor of the JVET GFVC common test conditions
LOWDELAY_B_CFG = {"VTM": "encoder_lowdelay_vtm.cfg"}
_CFG_PLACES = ("../cfg/{name}", "../cfg/{prefix}_{name}", "{name}")
_POC_LINE = re.compile(r"^POC\s+\d+")
_GOP_SIZE = re.compile(r"^\s*GOPSize\s*:\s*(\d+)", re.M)


def check_binary(path: str, option: str) -> str:
    """``path`` as an absolute path of an executable file, or ConfigError naming ``option``."""
    if not path:
        raise ConfigError(f"{option} is not set (the path of the encoder binary)")
    if not os.path.isfile(path):
        raise ConfigError(f"{option} '{path}' does not exist")
    if not os.access(path, os.X_OK):
        raise ConfigError(f"{option} '{path}' is not executable")
    return os.path.abspath(path)


def default_cfg(binary: str, codec_name: str, option: str, structure: str = "P") -> str:
    """The JVET low-delay P (or B) cfg of the installation ``binary`` belongs to, or ConfigError naming ``option``."""
    name = (LOWDELAY_B_CFG if structure == "B" else LOWDELAY_P_CFG)[codec_name]
    d = os.path.dirname(os.path.abspath(binary))
    for place in _CFG_PLACES:
        p = os.path.normpath(os.path.join(d, place.format(name=name, prefix=codec_name.lower())))
        if os.path.isfile(p):
            return p
    raise ConfigError(f"{option} is not set and no {name} was found next to the encoder ('{d}/../cfg/')")


def check_cfg_file(path: str, option: str) -> str:
    if not path:
        raise ConfigError(f"{option} is not set (the encoder's cfg file)")
    if not os.path.isfile(path):
        raise ConfigError(f"{option} '{path}' does not exist")
    return os.path.abspath(path)


@dataclass
class JvetEncoder:
    """A JVET encoder binary with its cfg file; ``identity`` ties results to both (their SHA-256)."""

    codec_name: str                      # "HM" or "VTM"
    binary: str
    cfg_file: str
    binary_option: str = "HmEncoder"
    cfg_option: str = "HmEncoderCfg"
    extra_args: list = field(default_factory=list)
    #: a folder where streams are kept by the SHA-256 of (binary, cfg, input, command): the JVET encoders are
    #: deterministic, so EvalApp codes a sequence once for all configurations that share its base layer
    cache_dir: str = ""

    def __post_init__(self):
        if self.codec_name not in JVET_CODECS:
            raise ConfigError(f"unknown JVET encoder '{self.codec_name}' (HM or VTM)")
        self.binary = check_binary(self.binary, self.binary_option)
        self.cfg_file = check_cfg_file(self.cfg_file, self.cfg_option)
        with open(self.cfg_file, encoding="utf-8", errors="replace") as f:
            m = _GOP_SIZE.search(f.read())
        self.gop_size = int(m.group(1)) if m else 1

    @property
    def codec(self) -> str:
        return JVET_CODECS[self.codec_name][0]

    def identity(self) -> dict:
        """What a stored result made with this encoder must match to be reused."""
        return {"encoder": self.codec_name, "binary_sha256": sha256_file(self.binary),
                "cfg_sha256": sha256_file(self.cfg_file), "cfg": os.path.basename(self.cfg_file),
                "extra_args": list(self.extra_args)}

    def check_intra_period(self, intra_period: int) -> None:
        if intra_period > 0 and (intra_period % self.gop_size or intra_period <= self.gop_size):
            raise ConfigError(f"{self.codec_name} ({os.path.basename(self.binary)}) needs IntraPeriod 0 or a multiple "
                              f"of its GOPSize {self.gop_size} larger than {self.gop_size}, not {intra_period}")

    def command(self, yuv: str, out: str, width: int, height: int, frame_rate: Fraction, frames: int, qp: int,
                intra_qp: int, intra_period: int, picture_hash: int = 0, recon: str = "") -> list[str]:
        fps = max(1, round(Fraction(frame_rate)))        # -fr is an integer; it only sets timing information
        args = [self.binary, "-c", self.cfg_file, "-i", yuv, "-wdt", str(width), "-hgt", str(height),
                "-fr", str(fps), "-f", str(frames), "-q", str(qp), f"--IntraQPOffset={intra_qp - qp}",
                f"--IntraPeriod={intra_period if intra_period > 0 else -1}", "--Level=3.1", "-b", out, "-o", recon,
                f"--SEIDecodedPictureHash={picture_hash}"]
        if intra_period > 0:
            args.append("--DecodingRefreshType=1")
        return args + JVET_CODECS[self.codec_name][1] + list(self.extra_args)

    def encode(self, yuv: str, out: str, width: int, height: int, frame_rate: Fraction, frames: int, qp: int,
               intra_qp: int, intra_period: int = 0, picture_hash: int = 0, recon: str = "",
               progress: Optional[Callable[[int], None]] = None) -> bytes:
        """Code ``frames`` pictures of ``yuv``; returns the Annex-B stream (checked: ``frames`` access units).

        ``progress(n)`` is called with the number of pictures the encoder has reported so far."""
        for name, q in (("IntraQP", intra_qp), ("QP", qp)):
            if not 0 <= q <= 51:
                raise ConfigError(f"{name} {q} is outside 0..51")
        self.check_intra_period(intra_period)
        args = self.command(yuv, out, width, height, frame_rate, frames, qp, intra_qp, intra_period, picture_hash,
                            recon)
        name = os.path.basename(self.binary)
        if os.path.exists(out):
            os.remove(out)
        cached = self._cache_path(yuv, args[1:], out, recon) if self.cache_dir else None
        if cached and os.path.exists(cached) and not recon:
            with open(cached, "rb") as f:
                data = f.read()
            if progress:
                progress(frames)
            return data
        tail: list[str] = []
        try:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    errors="replace", cwd=os.path.dirname(os.path.abspath(out)))
        except OSError as e:
            raise ConfigError(f"cannot run {self.codec_name} encoder '{self.binary}': {e.strerror}") from None
        done = 0
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-20:]
            if _POC_LINE.match(line):
                done += 1
                if progress:
                    progress(done)
        rc = proc.wait()
        if rc != 0:
            errs = [t for t in tail if re.search(r"error|fail|abort|assert", t, re.I)] or [t for t in tail if t]
            last = errs[-1].strip() if errs else ""
            raise ConfigError(f"{self.codec_name} encoder '{name}' failed with exit code {rc}" + (f": {last}" if last else ""))
        if not os.path.isfile(out) or os.path.getsize(out) == 0:
            raise ConfigError(f"{self.codec_name} encoder '{name}' wrote no bitstream")
        with open(out, "rb") as f:
            data = f.read()
        try:
            aus = split_access_units(data, self.codec)
        except BitstreamError as e:
            raise BitstreamError(f"{self.codec_name} encoder '{name}' wrote no {self.codec.upper()} "
                                 f"Annex-B stream: {e}") from None
        if len(aus) != frames:
            raise BitstreamError(f"{self.codec_name} encoder '{name}' coded {len(aus)} pictures, {frames} were given")
        if cached and not recon:
            from Utilities.files import write_bytes
            os.makedirs(self.cache_dir, exist_ok=True)
            write_bytes(cached, data, "cached base-layer stream")
        return data

    def _cache_key_files(self) -> tuple:
        """The SHA-256 of the files besides the input that decide the stream (binary and cfg)."""
        return sha256_file(self.binary), sha256_file(self.cfg_file)

    def _cache_path(self, yuv: str, args: list[str], out: str, recon: str) -> str:
        import hashlib
        h = hashlib.sha256()
        for part in self._cache_key_files() + (sha256_file(yuv),):
            h.update(part.encode())
        h.update(repr([a for a in args if a not in (yuv, out, recon, self.cfg_file)]).encode())
        return os.path.join(self.cache_dir, h.hexdigest() + ".bin")


def jvet_encoder(codec_name: str, binary: str, cfg_file: str = "", structure: str = "P",
                 cfg_option: str = "") -> JvetEncoder:
    """The encoder of the cfg options ``HmEncoder`` / ``HmEncoderCfg`` or ``VtmEncoder`` / ``VtmEncoderCfg``
    (``~`` expanded; an empty cfg is the installation's low-delay P cfg, :func:`default_cfg`)."""
    option = {"HM": "HmEncoder", "VTM": "VtmEncoder"}[codec_name]
    binary = check_binary(os.path.expanduser(binary), option)
    cfg_option = cfg_option or option + "Cfg"
    cfg = os.path.expanduser(cfg_file) if cfg_file else default_cfg(binary, codec_name, cfg_option, structure)
    return JvetEncoder(codec_name, binary, cfg, option, cfg_option)
