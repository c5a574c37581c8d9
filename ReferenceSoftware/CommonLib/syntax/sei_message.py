"""SEI RBSP framing shared by HEVC and VVC (H.265 7.3.5 / H.266 7.3.6, and the
payload padding of H.274 / H.265 D.2.1).

::

    sei_rbsp( ) {
      do
        sei_message( )
      while( more_rbsp_data( ) )
      rbsp_trailing_bits( )                       // 0x80 here (always byte aligned)
    }

    sei_message( ) {
      payloadType = 0
      do { payload_type_byte  u(8); payloadType += payload_type_byte } while( payload_type_byte == 0xFF )
      payloadSize = 0
      do { payload_size_byte  u(8); payloadSize += payload_size_byte } while( payload_size_byte == 0xFF )
      sei_payload( payloadType, payloadSize )
    }

Each payload is isolated by its payloadSize: :func:`parse_sei_rbsp` returns the
payload bytes, and a payload parser works on those bytes only, so a corrupt
payload cannot damage the next one.

Payload padding: a payload syntax that ends in the middle of a byte is
followed by ``payload_bit_equal_to_one f(1)`` and ``payload_bit_equal_to_zero
f(1)`` bits up to the byte boundary (:func:`finish_payload`).  The reader
accepts, after the payload syntax, either nothing or exactly that padding
(one 1 bit, then 0 bits to the end; a whole 0x80 byte after a byte-aligned
syntax is accepted too, as H.274 allows it) (:func:`check_payload_end`).
"""

from __future__ import annotations

from typing import Iterable, List, Sequence, Tuple

from CommonLib.syntax.bit_io import SyntaxReader, SyntaxWriter
from Utilities.errors import BitstreamError
from CommonLib.syntax import nal_unit as _nal

__all__ = [
    "write_sei_rbsp",
    "parse_sei_rbsp",
    "finish_payload",
    "check_payload_end",
    "make_sei_nal_unit",
    "parse_sei_nal_unit",
    "USER_DATA_UNREGISTERED",
    "DECODED_PICTURE_HASH",
    "GENERATIVE_FACE_VIDEO",
]

#: payloadType values (H.274 Table 1 / H.265 Table D.1) of the SEI messages this software writes or reads.
USER_DATA_UNREGISTERED = 5        # the generated-picture MD5 (CommonLib.syntax.picture_hash_sei)
DECODED_PICTURE_HASH = 132        # the base layer's picture hash (CommonLib.syntax.picture_hash_sei)
GENERATIVE_FACE_VIDEO = 223       # the GFV SEI message (CommonLib.syntax.gfv_sei)


def _ff_coded(value: int) -> bytes:
    out = bytearray()
    while value >= 0xFF:
        out.append(0xFF)
        value -= 0xFF
    out.append(value)
    return bytes(out)


def write_sei_rbsp(messages: Iterable[Tuple[int, bytes]]) -> bytes:
    """Build an SEI RBSP from ``(payloadType, payload bytes)`` pairs."""
    out = bytearray()
    count = 0
    for ptype, payload in messages:
        if isinstance(ptype, bool) or not isinstance(ptype, int) or ptype < 0:
            raise BitstreamError(f"invalid SEI payloadType {ptype!r}")
        payload = bytes(payload)
        out += _ff_coded(ptype)
        out += _ff_coded(len(payload))
        out += payload
        count += 1
    if count == 0:
        raise BitstreamError("an SEI RBSP needs at least one sei_message")
    out.append(0x80)  # rbsp_stop_one_bit + rbsp_alignment_zero_bits
    return bytes(out)


def parse_sei_rbsp(rbsp: bytes) -> List[Tuple[int, bytes]]:
    """Split an SEI RBSP into ``(payloadType, payload bytes)`` pairs."""
    rbsp = bytes(rbsp)
    # The rbsp_stop_one_bit is the last bit equal to 1 of the RBSP; SEI
    # messages are whole bytes, so the byte carrying it shall be 0x80.
    end = len(rbsp)
    while end > 0 and rbsp[end - 1] == 0:
        end -= 1
    if end == 0:
        raise BitstreamError("SEI RBSP: missing rbsp_trailing_bits")
    if rbsp[end - 1] != 0x80:
        raise BitstreamError(
            f"SEI RBSP: rbsp_trailing_bits invalid (last non-zero byte 0x{rbsp[end - 1]:02x}, shall be 0x80)"
        )
    end -= 1  # index of the trailing-bits byte = end of the sei_message() data
    if end == 0:
        raise BitstreamError("SEI RBSP contains no sei_message")
    msgs: List[Tuple[int, bytes]] = []
    pos = 0
    while pos < end:
        vals = []
        for what in ("payloadType", "payloadSize"):
            v = 0
            while True:
                if pos >= end:
                    raise BitstreamError(f"SEI RBSP truncated reading {what} of SEI message {len(msgs)}")
                b = rbsp[pos]
                pos += 1
                v += b
                if b != 0xFF:
                    break
            vals.append(v)
        ptype, psize = vals
        if pos + psize > end:
            raise BitstreamError(
                f"SEI payload truncated: SEI message {len(msgs)} (payloadType {ptype}) has "
                f"payloadSize {psize} but only {end - pos} bytes remain before rbsp_trailing_bits"
            )
        msgs.append((ptype, rbsp[pos:pos + psize]))
        pos += psize
    return msgs


def finish_payload(writer: SyntaxWriter) -> None:
    """Pad a payload that ends mid-byte: payload_bit_equal_to_one f(1), then
    payload_bit_equal_to_zero f(1) up to the byte boundary."""
    if not writer.byte_aligned():
        writer.f("payload_bit_equal_to_one", 1, 1)
        while not writer.byte_aligned():
            writer.f("payload_bit_equal_to_zero", 1, 0)


def check_payload_end(reader: SyntaxReader) -> None:
    """Reader counterpart of :func:`finish_payload`: after the payload
    syntax, only the padding may remain; anything else is an error."""
    left = reader.bits_left()
    if left == 0:
        return
    if left > 8 or reader.peek_remaining().uint != 1 << (left - 1):
        raise BitstreamError(
            f"{reader.label}: {left} bits of unparsed data at the end of the payload"
        )
    reader.f("payload_bit_equal_to_one", 1, 1)
    while reader.bits_left():
        reader.f("payload_bit_equal_to_zero", 1, 0)


def make_sei_nal_unit(codec: str, messages: Sequence[Tuple[int, bytes]], suffix: bool = True,
                      temporal_id_plus1: int = 1) -> bytes:
    """A prefix or suffix SEI NAL unit (no start code) carrying ``messages``."""
    nut = (_nal.SUFFIX_SEI if suffix else _nal.PREFIX_SEI)[codec] if codec in _nal.CODECS else None
    if nut is None:
        raise BitstreamError(f"unknown codec {codec!r}")
    return _nal.make_nal_unit(codec, nut, write_sei_rbsp(messages), temporal_id_plus1)


def parse_sei_nal_unit(nal: bytes, codec: str) -> Tuple[_nal.NalHeader, List[Tuple[int, bytes]]]:
    """Header and SEI messages of a prefix or suffix SEI NAL unit."""
    hdr = _nal.parse_nal_header(nal, codec)
    if hdr.nal_unit_type not in (_nal.PREFIX_SEI[codec], _nal.SUFFIX_SEI[codec]):
        raise BitstreamError(f"NAL unit type {hdr.nal_unit_type} is not an SEI NAL unit")
    return hdr, parse_sei_rbsp(_nal.remove_emulation_prevention(nal[2:]))
