"""Where the bits of a stream go: every byte of an access unit in one of five parts.

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

from CommonLib import nal_unit as nu
from CommonLib.access_units import split_access_units
from CommonLib.sei_message import GENERATIVE_FACE_VIDEO, parse_sei_nal_unit

__all__ = ["PARTS", "PART_LABEL", "access_unit_bits", "stream_bits"]

PARTS = ("key", "base", "gfv_payload", "sei_framing", "other")
PART_LABEL = {"key": "key picture", "base": "base-layer P pictures", "gfv_payload": "GFV SEI payload",
              "sei_framing": "GFV SEI framing", "other": "other"}


def _empty() -> dict:
    return {p: 0 for p in PARTS}


def access_unit_bits(au, out: dict | None = None) -> dict:
    """Add the bits of one access unit (CommonLib.access_units.AccessUnit) to ``out`` per part."""
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
