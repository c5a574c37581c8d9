"""HDAC-HF decoder: bitstream -> access units -> base-layer pictures + GFV SEI -> output pictures.

Pictures are produced one at a time (a generator), so memory does not grow
with the number of pictures. A bitstream error stops decoding at the
picture where it occurs: the pictures before it have been delivered, and
:class:`DecodingStopped` says where decoding stopped and why.

Each delivered picture carries its MD5 verdict (doc/bitstream_syntax.md
clause 5.3): the generated-picture MD5 SEI is checked only against pictures
of the normative integer process (``PictureReconstructor.normative``); key
pictures are the decoded pictures themselves and are always checked.

:func:`parse_stream` is the syntax-only mode (DecoderApp ``--ParseOnly 1``):
every NAL unit, SEI message and (HEVC) slice header is parsed and traced,
any number of GFV SEI messages per access unit, no picture decoded or
generated, no keypoint range check; it reads GFV SEI messages written by
other software (e.g. the JVET encoders' example configurations).
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.access_unit_sei import gfv_syntax_trace, parse_access_unit_sei
from CommonLib.syntax.bit_io import trace_line
from CommonLib.syntax.bit_accounting import PictureBits, picture_bits
from CommonLib.syntax.access_units import split_access_units
from CommonLib.generation.base_layer_decoder import BaseLayerDecoder
from Utilities.errors import BitstreamError, HdacError, InputError
from CommonLib.syntax.slice_qp import slice_qp_parser
from CommonLib.syntax.keypoint_coding import GfvState
from CommonLib.syntax.picture_hash_sei import md5_planes
from CommonLib.generation.picture_reconstruction import OutputPicture, PictureReconstructor

__all__ = ["DecodingStopped", "DecodedPicture", "read_bitstream", "HdacHfDecoder", "parse_stream",
           "MD5_OK", "MD5_ERROR"]

MD5_OK = "OK"
MD5_ERROR = "***ERROR***"


class DecodingStopped(BitstreamError):
    """Raised after the intact pictures were delivered; ``pictures`` counts them."""

    def __init__(self, message: str, pictures: int):
        super().__init__(message)
        self.pictures = pictures


@dataclass
class DecodedPicture:
    out: OutputPicture
    bits: PictureBits                           # base layer / GFV SEI / hash SEI bits of the access unit
    md5: list                                   # computed MD5 of R, G, B
    md5_expected: list | None                   # from the generated-picture MD5 SEI
    md5_check: str                              # the verdict: OK, ***ERROR***, or why it was not checked
    base_md5_ok: bool | None                    # decoded picture hash check of the base layer
    base_picture: object = None                 # the decoded base-layer picture (YuvPicture)
    skipped_sei: list = field(default_factory=list)


def md5_verdict(check: bool, normative: bool, is_key: bool, md5: list, expected: list | None) -> str:
    if not check:
        return "not checked"
    if not normative and not is_key:
        return "not checked (float)"
    if expected is None:
        return "no MD5 SEI"
    return MD5_OK if list(md5) == list(expected) else MD5_ERROR


def read_bitstream(path: str) -> bytes:
    if os.path.isdir(path):
        raise InputError(f"bitstream file '{path}' is a directory")
    if not os.path.isfile(path):
        raise InputError(f"bitstream file '{path}' does not exist")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"cannot read bitstream '{path}': {e.strerror}") from None


def _split(data: bytes, codec: str):
    try:
        nu.check_stream_codec(data, codec)
        return split_access_units(data, codec)
    except BitstreamError as e:
        raise DecodingStopped(f"cannot split the bitstream into access units: {e}", 0) from None


class HdacHfDecoder:
    def __init__(self, codec: str = "hevc", model_file: str = "", check_hash: bool = True,
                 trace=None, log=None, float_inference: bool = False, float_model_file: str = "",
                 gfv_syntax: str = "vtm"):
        if codec not in nu.CODECS:
            raise InputError(f"unknown base-layer codec '{codec}'")
        self.codec = codec
        self.check_hash = check_hash
        self.trace = trace
        self.gfv_state = GfvState(gfv_syntax)
        self.reconstructor = PictureReconstructor(model_file, log, float_inference, float_model_file)

    def decode(self, data: bytes):
        """Yields :class:`DecodedPicture` in output order."""
        aus = _split(data, self.codec)
        trace_line(self.trace, gfv_syntax_trace(self.gfv_state.syntax))
        bl = BaseLayerDecoder(self.codec)
        qp_parser = slice_qp_parser(self.codec, self.trace)
        pending = deque()
        delivered = 0
        for au in aus:
            where = f"picture {au.index}"
            try:
                if not au.has_vcl:
                    raise BitstreamError("access unit without a coded picture (truncated?)")
                qp = qp_parser.access_unit_or_error(au.nal_units, au.index)
                sei = parse_access_unit_sei(au, au.index, self.gfv_state, self.trace)
                if len(sei.gfv) > 1:
                    raise BitstreamError(f"{len(sei.gfv)} GFV SEI messages in one access unit (an HDAC-HF access "
                                         "unit carries one)")
                pending.append((au.index, sei, au.is_irap, picture_bits(au), qp))
                pictures = bl.decode(au.annexb())
            except HdacError as e:
                raise DecodingStopped(f"{where}: {e}", delivered) from None
            for pic in pictures:
                yield self._reconstruct(pending, pic, delivered)
                delivered += 1
        try:
            pictures = bl.flush()
        except HdacError as e:
            raise DecodingStopped(f"at the end of the bitstream: {e}", delivered) from None
        for pic in pictures:
            yield self._reconstruct(pending, pic, delivered)
            delivered += 1
        if pending:
            raise DecodingStopped(f"{len(pending)} access unit(s) produced no base-layer picture "
                                  f"(truncated bitstream?)", delivered)

    def _reconstruct(self, pending, pic, delivered) -> DecodedPicture:
        if not pending:
            raise DecodingStopped("the base-layer decoder output more pictures than access units", delivered)
        index, sei, irap, bits, qp = pending.popleft()
        base_ok = None
        if self.check_hash and sei.base_hash is not None and sei.base_hash[0] == 0:
            base_ok = md5_planes(pic.coded_planes(), pic.bit_depth) == list(sei.base_hash[1])
            if not base_ok:
                raise DecodingStopped(f"picture {index}: base-layer picture MD5 mismatch "
                                      "(corrupt or truncated base layer)", delivered)
        try:
            out = self.reconstructor.picture(index, sei.gfv[0] if sei.gfv else None, pic, irap, qp)
        except HdacError as e:
            raise DecodingStopped(f"picture {index}: {e}", delivered) from None
        md5 = md5_planes(list(out.rgb))
        check = md5_verdict(self.check_hash, self.reconstructor.normative, out.is_key, md5, sei.generated_md5)
        return DecodedPicture(out, bits, md5, sei.generated_md5, check, base_ok, pic, sei.skipped)


@dataclass
class ParsedStream:
    access_units: int = 0
    gfv_messages: int = 0
    bits: PictureBits = field(default_factory=PictureBits)


def parse_stream(data: bytes, codec: str = "hevc", gfv_syntax: str = "vtm", trace=None) -> ParsedStream:
    """Parse (and trace) the syntax of every access unit; BitstreamError (as DecodingStopped) on the first
    error, after the access units before it were traced."""
    aus = _split(data, codec)
    state = GfvState(gfv_syntax, check_range=False)
    trace_line(trace, gfv_syntax_trace(gfv_syntax))
    qp_parser = slice_qp_parser(codec, trace)
    out = ParsedStream()
    for au in aus:
        try:
            qp_parser.access_unit(au.nal_units, au.index)
            sei = parse_access_unit_sei(au, au.index, state, trace)
            bits = picture_bits(au)
        except HdacError as e:
            raise DecodingStopped(f"picture {au.index}: {e}", out.access_units) from None
        out.access_units += 1
        out.gfv_messages += len(sei.gfv)
        out.bits += bits
    return out
