"""Splitting an Annex-B byte stream into access units (HEVC 7.4.2.4.4, VVC 7.4.2.4.3).

A new access unit starts, after at least one VCL NAL unit of the current one,
at a NAL unit that may only precede the first VCL NAL unit of a picture
(parameter sets, AUD, prefix SEI, reserved prefix types; VVC also the
picture header and prefix APS), or at a VCL NAL unit that starts a picture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from CommonLib.syntax import nal_unit as nu
from Utilities.errors import BitstreamError

_HEVC_LEADING = {nu.HEVC_VPS, nu.HEVC_SPS, nu.HEVC_PPS, nu.HEVC_AUD, nu.HEVC_PREFIX_SEI,
                 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54, 55}
_VVC_LEADING = {nu.VVC_OPI, nu.VVC_DCI, nu.VVC_VPS, nu.VVC_SPS, nu.VVC_PPS, nu.VVC_PREFIX_APS,
                nu.VVC_PH, nu.VVC_AUD, nu.VVC_PREFIX_SEI, 26, 27}


@dataclass
class AccessUnit:
    index: int
    codec: str
    nal_units: list = field(default_factory=list)     # NAL units without start codes
    types: list = field(default_factory=list)         # their nal_unit_type
    units: list = field(default_factory=list)         # their byte_stream_nal_unit( ) bytes as in the stream

    def annexb(self) -> bytes:
        """The access unit's bytes exactly as they are in the stream."""
        return b"".join(self.units)

    @property
    def vcl_types(self) -> list[int]:
        return [t for t in self.types if nu.is_vcl(t, self.codec)]

    @property
    def has_vcl(self) -> bool:
        return bool(self.vcl_types)

    @property
    def is_irap(self) -> bool:
        """The coded picture is an IRAP picture (its VCL NAL units have an IRAP nal_unit_type)."""
        return any(nu.is_irap(t, self.codec) for t in self.vcl_types)

    def num_bytes(self) -> int:
        """Bytes of the access unit in the byte stream (start codes as they are)."""
        return sum(len(u) for u in self.units)


def split_access_units(data: bytes, codec: str) -> list[AccessUnit]:
    """The access units of an Annex-B byte stream of ``codec`` ('hevc' or 'vvc'), in decoding order."""
    if not data:
        raise BitstreamError("the bitstream is empty")
    units = nu.annexb_units(data)
    leading = _HEVC_LEADING if codec == nu.HEVC else _VVC_LEADING
    aus: list[AccessUnit] = []
    cur = AccessUnit(0, codec)
    seen_vcl = False
    for nal, unit in units:
        if len(nal) < 2:
            raise BitstreamError(f"NAL unit of {len(nal)} byte(s) in access unit {cur.index}: truncated")
        hdr = nu.parse_nal_header(nal, codec)
        t = hdr.nal_unit_type
        vcl = nu.is_vcl(t, codec)
        if seen_vcl and ((not vcl and t in leading) or (vcl and nu.starts_new_picture(nal, codec))):
            aus.append(cur)
            cur = AccessUnit(len(aus), codec)
            seen_vcl = False
        cur.nal_units.append(nal)
        cur.types.append(t)
        cur.units.append(unit)
        seen_vcl |= vcl
    aus.append(cur)
    return aus
