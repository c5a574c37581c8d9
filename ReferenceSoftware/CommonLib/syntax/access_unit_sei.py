"""Parsing the SEI messages of one access unit (each payload in isolation), for decoder and encoder.

Recognised payloads: Generative Face Video (223), the generated-picture MD5
in user_data_unregistered (5, project UUID), decoded picture hash (132).
Every other payload is skipped (and traced as skipped). The trace of each
message starts with the line of :func:`sei_header_trace`; the encoder writes
the same lines for the messages it makes, so the two traces can be diffed
(doc/bitstream_syntax.md clause 6).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.bit_io import trace_line
from CommonLib.syntax.keypoint_coding import GfvState
from CommonLib.syntax.picture_hash_sei import (is_generated_picture_md5, read_decoded_picture_hash,
                                        read_generated_picture_md5)
from CommonLib.syntax.sei_message import (DECODED_PICTURE_HASH, GENERATIVE_FACE_VIDEO, USER_DATA_UNREGISTERED,
                                   parse_sei_nal_unit)

__all__ = ["AccessUnitSei", "gfv_syntax_trace", "sei_header_trace", "skipped_payload_trace", "parse_access_unit_sei"]


@dataclass
class AccessUnitSei:
    gfv: list = field(default_factory=list)            # DecodedGfvPicture
    generated_md5: list | None = None                  # [R, G, B] digests
    base_hash: tuple | None = None                     # (hash_type, digests)
    skipped: list = field(default_factory=list)        # payloadTypes skipped


def gfv_syntax_trace(syntax: str) -> str:
    """The first line of a trace: the GFV SEI syntax version it was written / parsed in."""
    return f"=== GFV SEI syntax {syntax}"


def sei_header_trace(trace, picture: int, payload_type: int, size: int) -> None:
    trace_line(trace, f"=== picture {picture}: sei_message payloadType {payload_type} payloadSize {size}")


def skipped_payload_trace(payload_type: int) -> str:
    return f"    (payloadType {payload_type} skipped)"


def parse_sei_payloads(messages, codec: str, picture: int, state: GfvState | None, out: AccessUnitSei,
                       trace=None) -> None:
    for pt, payload in messages:
        sei_header_trace(trace, picture, pt, len(payload))
        if pt == GENERATIVE_FACE_VIDEO and state is not None:
            out.gfv.append(state.decode_payload(payload, trace))
        elif pt == USER_DATA_UNREGISTERED and is_generated_picture_md5(payload):
            out.generated_md5 = read_generated_picture_md5(payload, trace)
        elif pt == DECODED_PICTURE_HASH:
            out.base_hash = read_decoded_picture_hash(payload, codec, trace)
        else:
            out.skipped.append(pt)
            trace_line(trace, skipped_payload_trace(pt))


def parse_access_unit_sei(au, picture: int, state: GfvState | None, trace=None) -> AccessUnitSei:
    """The SEI of one access unit (CommonLib.syntax.access_units.AccessUnit); ``state`` None: GFV SEI messages are
    skipped (a base layer's own SEI)."""
    out = AccessUnitSei()
    codec = au.codec
    for nal, t in zip(au.nal_units, au.types):
        if t in (nu.PREFIX_SEI[codec], nu.SUFFIX_SEI[codec]):
            _, messages = parse_sei_nal_unit(nal, codec)
            parse_sei_payloads(messages, codec, picture, state, out, trace)
    return out
