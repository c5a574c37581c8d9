"""NAL unit layer of HEVC (H.265) and VVC (H.266): Annex-B byte streams,
emulation prevention and the two-byte NAL unit header.

Annex-B byte stream (H.265 / H.266 Annex B)::

    byte_stream_nal_unit:  [leading_zero_8bits]* [zero_byte] start_code_prefix_one_3bytes
                           nal_unit  [trailing_zero_8bits]*

NAL unit header::

    HEVC  forbidden_zero_bit f(1)  nal_unit_type u(6)  nuh_layer_id u(6)  nuh_temporal_id_plus1 u(3)
    VVC   forbidden_zero_bit f(1)  nuh_reserved_zero_bit u(1)  nuh_layer_id u(6)
          nal_unit_type u(5)  nuh_temporal_id_plus1 u(3)

All errors caused by corrupt data are :class:`BitstreamError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Tuple

from Utilities.errors import BitstreamError

__all__ = [
    "HEVC", "VVC", "CODECS",
    "PREFIX_SEI", "SUFFIX_SEI",
    "HEVC_PREFIX_SEI", "HEVC_SUFFIX_SEI", "VVC_PREFIX_SEI", "VVC_SUFFIX_SEI",
    "HEVC_IDR_W_RADL", "HEVC_IDR_N_LP", "HEVC_VPS", "HEVC_SPS", "HEVC_PPS", "HEVC_AUD",
    "VVC_OPI", "VVC_DCI", "VVC_VPS", "VVC_SPS", "VVC_PPS", "VVC_PREFIX_APS",
    "VVC_PH", "VVC_AUD",
    "VVC_IDR_W_RADL", "VVC_CRA",
    "NalHeader", "parse_nal_header", "write_nal_header", "looks_like", "check_stream_codec",
    "annexb_units", "split_annexb", "annexb", "add_emulation_prevention", "remove_emulation_prevention",
    "make_nal_unit", "nal_payload_rbsp",
    "is_vcl", "is_irap", "starts_new_picture",
]

HEVC = "hevc"
VVC = "vvc"
CODECS = (HEVC, VVC)

# --- HEVC nal_unit_type values (H.265 Table 7-1) ------------------------------
HEVC_IDR_W_RADL = 19
HEVC_IDR_N_LP = 20
HEVC_VPS = 32
HEVC_SPS = 33
HEVC_PPS = 34
HEVC_AUD = 35
HEVC_PREFIX_SEI = 39
HEVC_SUFFIX_SEI = 40

# --- VVC nal_unit_type values (H.266 Table 5) ---------------------------------
VVC_IDR_W_RADL = 7
VVC_CRA = 9
VVC_OPI = 12
VVC_DCI = 13
VVC_VPS = 14
VVC_SPS = 15
VVC_PPS = 16
VVC_PREFIX_APS = 17
VVC_PH = 19
VVC_AUD = 20
VVC_PREFIX_SEI = 23
VVC_SUFFIX_SEI = 24

#: nal_unit_type of prefix / suffix SEI NAL units per codec.
PREFIX_SEI = {HEVC: HEVC_PREFIX_SEI, VVC: VVC_PREFIX_SEI}
SUFFIX_SEI = {HEVC: HEVC_SUFFIX_SEI, VVC: VVC_SUFFIX_SEI}

START_CODE = b"\x00\x00\x00\x01"


def _check_codec(codec: str) -> str:
    if codec not in CODECS:
        raise BitstreamError(f"unknown codec {codec!r} (expected 'hevc' or 'vvc')")
    return codec


@dataclass
class NalHeader:
    """Fields of the two-byte NAL unit header."""

    nal_unit_type: int
    nuh_layer_id: int = 0
    temporal_id_plus1: int = 1


def parse_nal_header(nal: bytes, codec: str) -> NalHeader:
    """Parse the 2-byte NAL unit header of ``nal`` (no start code)."""
    _check_codec(codec)
    if len(nal) < 2:
        raise BitstreamError(f"NAL unit of {len(nal)} byte(s) is shorter than its 2-byte header")
    b0, b1 = nal[0], nal[1]
    if b0 & 0x80:
        raise BitstreamError("NAL unit header: forbidden_zero_bit = 1")
    if codec == HEVC:
        nut = (b0 >> 1) & 0x3F
        layer = ((b0 & 1) << 5) | (b1 >> 3)
    else:
        if b0 & 0x40:
            raise BitstreamError("NAL unit header: nuh_reserved_zero_bit = 1")
        layer = b0 & 0x3F
        nut = b1 >> 3
    tid1 = b1 & 0x07
    if tid1 == 0:
        raise BitstreamError("NAL unit header: nuh_temporal_id_plus1 = 0")
    return NalHeader(nal_unit_type=nut, nuh_layer_id=layer, temporal_id_plus1=tid1)


def write_nal_header(hdr: NalHeader, codec: str) -> bytes:
    """Return the 2-byte NAL unit header for ``hdr``."""
    _check_codec(codec)
    nut, layer, tid1 = hdr.nal_unit_type, hdr.nuh_layer_id, hdr.temporal_id_plus1
    if not 0 <= layer <= 63:
        raise BitstreamError(f"nuh_layer_id = {layer} outside 0..63")
    if not 1 <= tid1 <= 7:
        raise BitstreamError(f"nuh_temporal_id_plus1 = {tid1} outside 1..7")
    if codec == HEVC:
        if not 0 <= nut <= 63:
            raise BitstreamError(f"HEVC nal_unit_type = {nut} outside 0..63")
        b0 = (nut << 1) | (layer >> 5)
        b1 = ((layer & 0x1F) << 3) | tid1
    else:
        if not 0 <= nut <= 31:
            raise BitstreamError(f"VVC nal_unit_type = {nut} outside 0..31")
        b0 = layer
        b1 = (nut << 3) | tid1
    return bytes((b0, b1))


#: the NAL unit types a conforming stream may begin with (its first access unit's first NAL unit: parameter sets,
#: AUD, prefix SEI, or the slice of an IRAP picture; H.265 7.4.2.4.4, H.266 7.4.2.4.3)
_FIRST_TYPES = {HEVC: {HEVC_VPS, HEVC_SPS, HEVC_PPS, HEVC_AUD, HEVC_PREFIX_SEI} | set(range(16, 22)),
                VVC: {VVC_OPI, VVC_DCI, VVC_VPS, VVC_SPS, VVC_PPS, VVC_PREFIX_APS, VVC_PH, VVC_AUD,
                      VVC_PREFIX_SEI, VVC_IDR_W_RADL, 8, VVC_CRA}}


def looks_like(first_nal: bytes, codec: str) -> bool:
    """True when ``first_nal`` (the first NAL unit of a stream, without start code) is a plausible first NAL unit
    of a ``codec`` stream: its header parses with nuh_layer_id 0 and a type a stream may begin with. The two
    header layouts differ enough that an HEVC stream never looks like VVC and the reverse (an HEVC VPS, SPS or
    IRAP slice has nuh_reserved_zero_bit 1 or nuh_layer_id > 0 when read as VVC; a VVC one has nuh_layer_id > 0
    when read as HEVC)."""
    try:
        h = parse_nal_header(first_nal, codec)
    except BitstreamError:
        return False
    return h.nuh_layer_id == 0 and h.nal_unit_type in _FIRST_TYPES[codec]


def check_stream_codec(data: bytes, codec: str) -> None:
    """BitstreamError when the Annex-B stream ``data`` begins like a stream of the other codec (a VVC stream given
    as HEVC, or the reverse); nothing when it looks like ``codec`` or like neither (the parsers then say what is
    wrong)."""
    _check_codec(codec)
    m = re.search(b"\x00\x00\x01", data[:64])
    if m is None:
        return
    first = data[m.end():m.end() + 2]
    other = VVC if codec == HEVC else HEVC
    if not looks_like(first, codec) and looks_like(first, other):
        raise BitstreamError(f"the bitstream is {other.upper()}, not {codec.upper()} (its first NAL unit reads as "
                             f"{other.upper()}): set BaseLayerCodec {other}")


# --- emulation prevention -----------------------------------------------------

def add_emulation_prevention(rbsp: bytes) -> bytes:
    """RBSP -> EBSP: insert emulation_prevention_three_byte (0x03) after every
    two zero bytes that are followed by a byte <= 0x03, and after two trailing
    zero bytes at the end (H.265 / H.266 clause 7.4.2)."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    if zeros >= 2:
        out.append(3)
    return bytes(out)


def remove_emulation_prevention(ebsp: bytes) -> bytes:
    """EBSP -> RBSP: remove every 0x03 that follows two zero bytes.

    Raises :class:`BitstreamError` for the sequences 0x000000, 0x000001 and
    0x000002, which shall not occur inside a NAL unit."""
    out = bytearray()
    zeros = 0
    for i, b in enumerate(ebsp):
        if zeros >= 2:
            if b == 3:
                zeros = 0
                continue
            if b <= 2:
                raise BitstreamError(
                    f"NAL unit contains the forbidden sequence 0x0000{b:02x} at byte {i - 2}"
                )
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


# --- Annex-B ------------------------------------------------------------------

def annexb_units(data: bytes) -> List[Tuple[bytes, bytes]]:
    """Split an Annex-B byte stream into (NAL unit without start code, the byte_stream_nal_unit( ) as it
    is in the stream): each unit's bytes run from the zero bytes before its start code prefix
    (zero_byte / leading_zero_8bits) to the next unit's, so the units concatenate to ``data``.

    Accepts 3- and 4-byte start codes, leading_zero_8bits and
    trailing_zero_8bits.  Raises :class:`BitstreamError` when the stream does
    not begin with a start code or contains an empty NAL unit.  An empty input
    gives an empty list."""
    data = bytes(data)
    n = len(data)
    if n == 0:
        return []
    i = 0
    while i < n and data[i] == 0:
        i += 1
    if i < 2 or i >= n or data[i] != 1:
        raise BitstreamError("byte stream does not start with a start code prefix (0x000001)")
    unit_start, pos = 0, i + 1
    out: List[Tuple[bytes, bytes]] = []
    while True:
        nxt = data.find(b"\x00\x00\x01", pos)
        end = n if nxt < 0 else nxt
        nal = data[pos:end].rstrip(b"\x00")
        if not nal:
            raise BitstreamError(f"empty NAL unit after the start code ending at byte {pos - 1}")
        # zeros between this NAL unit and the next prefix: the last one is the next unit's zero_byte,
        # the others this unit's trailing_zero_8bits
        unit_end = n if nxt < 0 else (nxt - 1 if nxt > pos + len(nal) else nxt)
        out.append((nal, data[unit_start:unit_end]))
        if nxt < 0:
            break
        unit_start, pos = unit_end, nxt + 3
        if pos >= n:
            raise BitstreamError("byte stream ends with a start code and no NAL unit")
    return out


def split_annexb(data: bytes) -> List[bytes]:
    """The NAL units (without start codes) of an Annex-B byte stream (see :func:`annexb_units`)."""
    return [nal for nal, _ in annexb_units(data)]


def annexb(nal: bytes, zero_byte: bool = True) -> bytes:
    """byte_stream_nal_unit( ): a NAL unit after a 4-byte start code (zero_byte + start_code_prefix_one_3bytes),
    or a 3-byte one with ``zero_byte`` False, which Annex B allows for every NAL unit but parameter sets and
    the first NAL unit of an access unit."""
    return (START_CODE if zero_byte else START_CODE[1:]) + bytes(nal)


def make_nal_unit(codec: str, nal_unit_type: int, rbsp: bytes,
                  temporal_id_plus1: int = 1, nuh_layer_id: int = 0) -> bytes:
    """NAL unit = header + emulation-prevented RBSP (no start code)."""
    hdr = write_nal_header(NalHeader(nal_unit_type, nuh_layer_id, temporal_id_plus1), codec)
    ebsp = add_emulation_prevention(rbsp)
    if ebsp.endswith(b"\x00"):
        raise BitstreamError("RBSP ends with a zero byte: not representable in a NAL unit")
    # the header never ends in 0x00 (temporal_id_plus1 >= 1), so escaping the
    # payload separately is the same as escaping header + payload.
    return hdr + ebsp


def nal_payload_rbsp(nal: bytes, codec: str) -> bytes:
    """RBSP of a NAL unit: the bytes after the header, emulation prevention removed."""
    parse_nal_header(nal, codec)
    return remove_emulation_prevention(nal[2:])


# --- classification -----------------------------------------------------------

def is_vcl(nal_type: int, codec: str) -> bool:
    """True for VCL NAL unit types (HEVC 0..31, VVC 0..11)."""
    _check_codec(codec)
    return 0 <= nal_type <= (31 if codec == HEVC else 11)


def is_irap(nal_type: int, codec: str) -> bool:
    """True for IRAP NAL unit types (HEVC 16..23 incl. reserved IRAP types;
    VVC IDR_W_RADL..CRA_NUT = 7..9)."""
    _check_codec(codec)
    if codec == HEVC:
        return 16 <= nal_type <= 23
    return VVC_IDR_W_RADL <= nal_type <= VVC_CRA


def starts_new_picture(nal: bytes, codec: str) -> bool:
    """Best-effort detection of the first NAL unit of a coded picture's VCL
    data: HEVC: a VCL NAL unit with first_slice_segment_in_pic_flag = 1;
    VVC: a picture header NAL unit (PH_NUT) or a VCL NAL unit whose slice
    header starts with sh_picture_header_in_slice_header_flag = 1."""
    hdr = parse_nal_header(nal, codec)
    if codec == HEVC:
        return is_vcl(hdr.nal_unit_type, HEVC) and len(nal) >= 3 and bool(nal[2] >> 7)
    if hdr.nal_unit_type == VVC_PH:
        return True
    if is_vcl(hdr.nal_unit_type, VVC):
        if len(nal) < 3:
            raise BitstreamError("VVC VCL NAL unit has no slice header")
        return bool(nal[2] >> 7)
    return False
