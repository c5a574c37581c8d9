"""HDAC-HF decoder: bitstream -> access units -> base-layer pictures + GFV SEI -> output pictures.

Pictures are produced one at a time (a generator), so memory does not grow
with the number of pictures. A bitstream error stops decoding at the
picture where it occurs: the pictures before it have been delivered, and
:class:`DecodingStopped` says where decoding stopped and why.
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

from CommonLib import nal_unit as nu
from CommonLib.base_layer_decoder import BaseLayerDecoder
from CommonLib.errors import BitstreamError, HdacError, InputError
from CommonLib.hevc_slice_qp import SliceQpParser
from CommonLib.keypoint_coding import GfvDecodingState
from CommonLib.picture_hash_sei import md5_planes
from DecoderLib.access_units import split_access_units
from DecoderLib.picture_reconstructor import OutputPicture, PictureReconstructor
from DecoderLib.sei_parser import parse_access_unit_sei


class DecodingStopped(BitstreamError):
    """Raised after the intact pictures were delivered; ``pictures`` counts them."""

    def __init__(self, message: str, pictures: int):
        super().__init__(message)
        self.pictures = pictures


@dataclass
class DecodedPicture:
    out: OutputPicture
    bits: int                                   # bits of the access unit (all NAL units)
    sei_bits: int                               # bits of its SEI NAL units carrying GFV SEI
    md5: list                                   # computed MD5 of R, G, B
    md5_expected: list | None                   # from the generated-picture MD5 SEI
    base_md5_ok: bool | None                    # decoded picture hash check of the base layer
    base_picture: object = None                 # the decoded base-layer picture (YuvPicture)
    skipped_sei: list = field(default_factory=list)


def read_bitstream(path: str) -> bytes:
    if not os.path.isfile(path):
        raise InputError(f"bitstream file '{path}' does not exist")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"cannot read bitstream '{path}': {e.strerror}") from None


class HdacHfDecoder:
    def __init__(self, codec: str = "hevc", model_file: str = "", check_base_hash: bool = True,
                 trace=None, log=None, float_inference: bool = False, float_model_file: str = ""):
        if codec not in nu.CODECS:
            raise InputError(f"unknown base-layer codec '{codec}'")
        self.codec = codec
        self.check_base_hash = check_base_hash
        self.trace = trace
        self.gfv_state = GfvDecodingState()
        self.reconstructor = PictureReconstructor(model_file, log, float_inference, float_model_file)

    def decode(self, data: bytes):
        """Yields :class:`DecodedPicture` in output order."""
        try:
            aus = split_access_units(data, self.codec)
        except BitstreamError as e:
            raise DecodingStopped(f"cannot split the bitstream into access units: {e}", 0) from None
        bl = BaseLayerDecoder(self.codec)
        qp_parser = SliceQpParser() if self.codec == nu.HEVC else None
        pending = deque()
        delivered = 0
        for au in aus:
            where = f"picture {au.index}"
            try:
                if not au.has_vcl:
                    raise BitstreamError("access unit without a coded picture (truncated?)")
                sei = parse_access_unit_sei(au.nal_units, au.types, self.codec, au.index, self.gfv_state, self.trace)
                if not sei.gfv:
                    raise BitstreamError("no Generative Face Video SEI message (truncated or not an HDAC-HF stream?)")
                if len(sei.gfv) > 1:
                    raise BitstreamError(f"{len(sei.gfv)} GFV SEI messages in one access unit")
                irap = any(nu.is_irap(t, self.codec) for t in au.vcl_types)
                qp = qp_parser.access_unit_or_error(au.nal_units) if qp_parser else None
                pending.append((au.index, sei, irap, 8 * au.num_bytes(), sei.gfv_nal_bits, qp))
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
        index, sei, irap, bits, sei_bits, qp = pending.popleft()
        base_ok = None
        if self.check_base_hash and sei.base_hash is not None and sei.base_hash[0] == 0:
            base_ok = md5_planes(pic.planes()) == list(sei.base_hash[1])
            if not base_ok:
                raise DecodingStopped(f"picture {index}: base-layer picture MD5 mismatch "
                                      "(corrupt or truncated base layer)", delivered)
        try:
            out = self.reconstructor.picture(index, sei.gfv[0], pic, irap, qp)
        except HdacError as e:
            raise DecodingStopped(f"picture {index}: {e}", delivered) from None
        return DecodedPicture(out, bits, sei_bits, md5_planes(list(out.rgb)), sei.generated_md5, base_ok,
                              pic, sei.skipped)
