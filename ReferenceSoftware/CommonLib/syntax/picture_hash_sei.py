"""Picture hash SEI messages.

(a) Decoded picture hash SEI (payloadType 132) of the base layer, as written
    by HM / VTM / x265:

    HEVC (H.265 D.2.19)::

        hash_type                                   u(8)
        for( cIdx = 0; cIdx < ( chroma_format_idc == 0 ? 1 : 3 ); cIdx++ )
          if( hash_type == 0 )       for( i = 0; i < 16; i++ ) picture_md5[ cIdx ][ i ]  u(8)
          else if( hash_type == 1 )  picture_crc[ cIdx ]                                 u(16)
          else if( hash_type == 2 )  picture_checksum[ cIdx ]                            u(32)

    VVC (H.274 decoded picture hash)::

        dph_sei_hash_type                           u(8)
        dph_sei_single_component_flag               u(1)
        dph_sei_reserved_zero_7bits                 u(7)
        for( cIdx = 0; cIdx < ( dph_sei_single_component_flag ? 1 : 3 ); cIdx++ )
          (dph_sei_picture_md5 / dph_sei_picture_crc / dph_sei_picture_checksum as above)

    The number of components of an HEVC message (1 or 3) follows from the
    payload size.  Digests are returned as bytes (MD5: 16 bytes; CRC: 2
    bytes, checksum: 4 bytes, big-endian).

(b) Generated-picture MD5, carried in user_data_unregistered (payloadType 5)::

        uuid_iso_iec_11578                          u(128)   = GENERATED_PICTURE_MD5_UUID
        gpm_hash_type                               u(8)     = 0 (MD5)
        for( cIdx = 0; cIdx < 3; cIdx++ )                   (R, G, B)
          for( i = 0; i < 16; i++ )
            gpm_picture_md5[ cIdx ][ i ]            u(8)
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, List, Sequence, Tuple

import numpy as np

from CommonLib.syntax.bit_io import SyntaxReader, SyntaxWriter
from Utilities.errors import BitstreamError
from CommonLib.syntax.sei_message import check_payload_end, finish_payload

__all__ = [
    "GENERATED_PICTURE_MD5_UUID",
    "HASH_MD5", "HASH_CRC", "HASH_CHECKSUM",
    "decoded_picture_hash_syntax",
    "read_decoded_picture_hash",
    "generated_picture_md5_syntax",
    "write_generated_picture_md5",
    "read_generated_picture_md5",
    "is_generated_picture_md5",
    "md5_planes",
    "format_md5_check",
]

#: uuid_iso_iec_11578 of the HDAC-HF generated-picture MD5 message
#: (generated once with uuid4 for this project).
GENERATED_PICTURE_MD5_UUID = uuid.UUID("ac396d21-55ea-46a2-b801-da46aac61edb")

HASH_MD5 = 0
HASH_CRC = 1
HASH_CHECKSUM = 2
_DIGEST_BITS = {HASH_MD5: 128, HASH_CRC: 16, HASH_CHECKSUM: 32}


# --- (a) decoded picture hash ---------------------------------------------------

def decoded_picture_hash_syntax(c: Any, hash_type: int, digests: List[bytes], codec: str,
                                num_components: int) -> Tuple[int, List[bytes]]:
    """decoded_picture_hash( ) for ``codec`` 'hevc' or 'vvc' (writer or
    reader).  For HEVC ``num_components`` (1 or 3) is not coded."""
    rd = c.is_reader
    if codec == "hevc":
        hash_type = c.u("hash_type", 8, hash_type)
        prefix = "picture_"
    elif codec == "vvc":
        hash_type = c.u("dph_sei_hash_type", 8, hash_type)
        single = c.flag("dph_sei_single_component_flag", int(num_components == 1))
        c.u("dph_sei_reserved_zero_7bits", 7, 0)
        num_components = 1 if single else 3
        prefix = "dph_sei_picture_"
    else:
        raise BitstreamError(f"unknown codec {codec!r}")
    if hash_type not in _DIGEST_BITS:
        raise BitstreamError(f"decoded picture hash SEI: reserved hash_type {hash_type}")
    if not rd and len(digests) != num_components:
        raise BitstreamError(f"decoded picture hash SEI: {len(digests)} digests for {num_components} components")
    out: List[bytes] = []
    for ci in range(num_components):
        if hash_type == HASH_MD5:
            src = b"" if rd else bytes(digests[ci])
            if not rd and len(src) != 16:
                raise BitstreamError("decoded picture hash SEI: an MD5 digest has 16 bytes")
            out.append(bytes(c.u(f"{prefix}md5[{ci}][{i}]", 8, 0 if rd else src[i]) for i in range(16)))
        else:
            nbits = _DIGEST_BITS[hash_type]
            name = f"{prefix}crc[{ci}]" if hash_type == HASH_CRC else f"{prefix}checksum[{ci}]"
            val = 0 if rd else int.from_bytes(bytes(digests[ci]), "big")
            if not rd and len(digests[ci]) != nbits // 8:
                raise BitstreamError(f"decoded picture hash SEI: {name} needs {nbits // 8} bytes")
            out.append(c.u(name, nbits, val).to_bytes(nbits // 8, "big"))
    return hash_type, out


def read_decoded_picture_hash(payload: bytes, codec: str = "hevc", trace: Any = None) -> Tuple[int, List[bytes]]:
    """Parse a decoded picture hash SEI payload -> (hash_type, per-component digests)."""
    payload = bytes(payload)
    num = 3
    if codec == "hevc":
        if not payload:
            raise BitstreamError("decoded picture hash SEI payload truncated reading hash_type")
        ht = payload[0]
        if ht not in _DIGEST_BITS:
            raise BitstreamError(f"decoded picture hash SEI: reserved hash_type {ht}")
        per = _DIGEST_BITS[ht] // 8
        n, rem = divmod(len(payload) - 1, per)
        if rem or n not in (1, 3):
            raise BitstreamError(
                f"decoded picture hash SEI: payloadSize {len(payload)} does not fit 1 or 3 "
                f"components of hash_type {ht}")
        num = n
    r = SyntaxReader(payload, trace, label="decoded picture hash SEI payload")
    ht, digests = decoded_picture_hash_syntax(r, 0, [], codec, num)
    check_payload_end(r)
    return ht, digests


# --- (b) generated-picture MD5 (user_data_unregistered) ---------------------------------

def generated_picture_md5_syntax(c: Any, digests: List[bytes]) -> List[bytes]:
    """user_data_unregistered payload of the generated-picture MD5 message."""
    rd = c.is_reader
    u = c.u("uuid_iso_iec_11578", 128, GENERATED_PICTURE_MD5_UUID.int)
    if rd and u != GENERATED_PICTURE_MD5_UUID.int:
        raise BitstreamError(
            f"generated picture MD5 SEI: uuid_iso_iec_11578 {uuid.UUID(int=u)} is not "
            f"{GENERATED_PICTURE_MD5_UUID}")
    ht = c.u("gpm_hash_type", 8, HASH_MD5)
    if ht != HASH_MD5:
        raise BitstreamError(f"generated picture MD5 SEI: gpm_hash_type = {ht}, only 0 (MD5) is specified")
    if not rd and (len(digests) != 3 or any(len(d) != 16 for d in digests)):
        raise BitstreamError("generated picture MD5 SEI: needs 3 MD5 digests of 16 bytes")
    out = []
    for ci in range(3):
        src = b"" if rd else bytes(digests[ci])
        out.append(bytes(c.u(f"gpm_picture_md5[{ci}][{i}]", 8, 0 if rd else src[i]) for i in range(16)))
    return out


def write_generated_picture_md5(digests: Sequence[bytes], trace: Any = None) -> bytes:
    """user_data_unregistered payload carrying the MD5 of the R, G, B planes
    of one generated picture."""
    w = SyntaxWriter(trace)
    generated_picture_md5_syntax(w, list(digests))
    finish_payload(w)
    return w.getvalue()


def read_generated_picture_md5(payload: bytes, trace: Any = None) -> List[bytes]:
    """Parse the generated-picture MD5 payload -> [md5_R, md5_G, md5_B]."""
    r = SyntaxReader(payload, trace, label="generated picture MD5 SEI payload")
    d = generated_picture_md5_syntax(r, [])
    check_payload_end(r)
    return d


def is_generated_picture_md5(payload: bytes) -> bool:
    """True when a user_data_unregistered payload starts with GENERATED_PICTURE_MD5_UUID."""
    return bytes(payload[:16]) == GENERATED_PICTURE_MD5_UUID.bytes


# --- hashing helpers ------------------------------------------------------------------------

def md5_planes(planes: Sequence[Any], bit_depth: int = 8) -> List[bytes]:
    """MD5 of each plane's samples in raster order, as HM / VTM compute the
    picture MD5: one byte per sample for bit depth <= 8, two bytes
    (little-endian) otherwise."""
    out = []
    for p in planes:
        a = np.asarray(p)
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError("md5_planes takes integer sample arrays")
        if a.size and (a.min() < 0 or a.max() >= (1 << bit_depth)):
            raise ValueError(f"sample values outside 0..{(1 << bit_depth) - 1}")
        a = np.ascontiguousarray(a, dtype=np.uint8 if bit_depth <= 8 else np.dtype("<u2"))
        out.append(hashlib.md5(a.tobytes()).digest())
    return out


def format_md5_check(expected: Sequence[bytes], computed: Sequence[bytes]) -> Tuple[str, bool]:
    """JVET-style check string ``[MD5:<hex>,<hex>,<hex>,(OK)]`` or
    ``(***ERROR***)``; returns (string, ok)."""
    ok = [bytes(e) for e in expected] == [bytes(c) for c in computed]
    hexes = ",".join(bytes(c).hex() for c in computed)
    return f"[MD5:{hexes},{'(OK)' if ok else '(***ERROR***)'}]", ok
