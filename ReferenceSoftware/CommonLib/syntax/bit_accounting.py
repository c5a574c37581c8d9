"""Where the bits of a stream go.

Per picture (EncoderApp's and DecoderApp's picture lines and logs, one definition for both): every bit of
an access unit is in one of three parts,

==================  ========================================================================
part                bits
==================  ========================================================================
``base layer``      every NAL unit of the base-layer encoder: VCL NAL units, parameter sets, its own
                    SEI (e.g. the decoded picture hash), AUD, ...
``GFV SEI``         the sei_message( )s of payloadType 223 (payloadType / payloadSize bytes and
                    payload), plus the framing of their SEI NAL unit (start code, NAL unit header,
                    rbsp_trailing_bits, emulation prevention)
``hash SEI``        the generated-picture MD5 messages (user_data_unregistered with the project's
                    UUID, doc/bitstream_syntax.md), plus the framing of their SEI NAL unit when it
                    carries no GFV SEI message
==================  ========================================================================

(an SEI NAL unit of the HDAC-HF layer with another message, e.g. EncoderApp's SEIUnknownPayload test
message, counts that message in the GFV SEI part when it shares the NAL unit with a GFV message, else in the
hash SEI part).

Per stream (EvalApp's bit breakdown): every byte of an access unit in one of five parts.

==================  ========================================================================
part                bytes (start codes and NAL unit headers included)
==================  ========================================================================
``key``             VCL NAL units of IRAP pictures (the key pictures)
``base``            VCL NAL units of the other pictures (the base-layer P pictures)
``gfv_payload``     the GFV SEI payloads (payloadType 223, payload padding included)
``sei_framing``     the rest of the SEI NAL units that carry GFV SEI: start code, NAL unit header,
                    payloadType / payloadSize bytes, rbsp_trailing_bits, emulation prevention
``other``           everything else: parameter sets, other SEI NAL units, other SEI messages
                    sharing a NAL unit with the GFV SEI, AUD, ...
==================  ========================================================================

The parts add up to the size of the stream exactly (checked by a test).
"""
from __future__ import annotations

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.access_units import split_access_units
from dataclasses import dataclass

from CommonLib.syntax.picture_hash_sei import is_generated_picture_md5
from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO, USER_DATA_UNREGISTERED, parse_sei_nal_unit

__all__ = ["PARTS", "PART_LABEL", "PictureBits", "picture_bits", "access_unit_bits", "stream_bits"]


@dataclass(frozen=True)
class PictureBits:
    base: int = 0
    gfv: int = 0
    hash: int = 0

    @property
    def total(self) -> int:
        return self.base + self.gfv + self.hash

    def __add__(self, other: "PictureBits") -> "PictureBits":
        return PictureBits(self.base + other.base, self.gfv + other.gfv, self.hash + other.hash)


def _message_bits(payload_type: int, payload: bytes) -> int:
    """Bits of one sei_message( ): payloadType and payloadSize bytes (0xFF runs) and the payload."""
    return 8 * (payload_type // 255 + 1 + len(payload) // 255 + 1 + len(payload))


def _is_hash(payload_type: int, payload: bytes) -> bool:
    return payload_type == USER_DATA_UNREGISTERED and is_generated_picture_md5(payload)


def picture_bits(au) -> PictureBits:
    """The base layer / GFV SEI / hash SEI bits of one access unit (CommonLib.syntax.access_units.AccessUnit); they add
    up to its size exactly."""
    base = gfv = hsh = 0
    for nal, t, unit in zip(au.nal_units, au.types, au.units):
        n = 8 * len(unit)
        if t not in (nu.PREFIX_SEI[au.codec], nu.SUFFIX_SEI[au.codec]):
            base += n
            continue
        _, messages = parse_sei_nal_unit(nal, au.codec)
        has_gfv = any(pt == GENERATIVE_FACE_VIDEO for pt, _ in messages)
        has_hash = any(_is_hash(pt, p) for pt, p in messages)
        if not (has_gfv or has_hash):
            base += n
            continue
        g = sum(_message_bits(pt, p) for pt, p in messages if pt == GENERATIVE_FACE_VIDEO)
        h = sum(_message_bits(pt, p) for pt, p in messages if _is_hash(pt, p))
        rest = n - g - h                 # framing and any other message of the NAL unit
        if has_gfv:
            gfv, hsh = gfv + g + rest, hsh + h
        else:
            gfv, hsh = gfv, hsh + h + rest
    return PictureBits(base, gfv, hsh)

PARTS = ("key", "base", "gfv_payload", "sei_framing", "other")
PART_LABEL = {"key": "key picture", "base": "base-layer P pictures", "gfv_payload": "GFV SEI payload",
              "sei_framing": "GFV SEI framing", "other": "other"}


def _empty() -> dict:
    return {p: 0 for p in PARTS}


def access_unit_bits(au, out: dict | None = None) -> dict:
    """Add the bits of one access unit (CommonLib.syntax.access_units.AccessUnit) to ``out`` per part."""
    out = _empty() if out is None else out
    irap = au.is_irap
    for nal, t, unit in zip(au.nal_units, au.types, au.units):
        n = 8 * len(unit)
        if nu.is_vcl(t, au.codec):
            out["key" if irap else "base"] += n
        elif t in (nu.PREFIX_SEI[au.codec], nu.SUFFIX_SEI[au.codec]):
            _, messages = parse_sei_nal_unit(nal, au.codec)
            gfv = sum(8 * len(p) for pt, p in messages if pt == GENERATIVE_FACE_VIDEO)
            if gfv:
                others = sum(8 * len(p) for pt, p in messages if pt != GENERATIVE_FACE_VIDEO)
                out["gfv_payload"] += gfv
                out["other"] += others
                out["sei_framing"] += n - gfv - others
            else:
                out["other"] += n
        else:
            out["other"] += n
    return out


def stream_bits(data: bytes, codec: str) -> dict:
    """Bits per part of a whole Annex-B stream."""
    out = _empty()
    for au in split_access_units(data, codec):
        access_unit_bits(au, out)
    return out
