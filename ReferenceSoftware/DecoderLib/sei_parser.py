"""Parsing the SEI messages of one access unit (each payload in isolation).

Recognised payloads: Generative Face Video (223), the generated-picture MD5
in user_data_unregistered (5, project UUID), decoded picture hash (132).
Every other payload is skipped (and traced as skipped).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from CommonLib import nal_unit as nu
from CommonLib.gfv_sei import GFV_PAYLOAD_TYPE
from CommonLib.keypoint_coding import GfvDecodingState
from CommonLib.picture_hash_sei import (is_generated_picture_md5, read_decoded_picture_hash,
                                        read_generated_picture_md5)
from CommonLib.sei_message import parse_sei_nal_unit

USER_DATA_UNREGISTERED = 5
DECODED_PICTURE_HASH = 132


@dataclass
class AccessUnitSei:
    gfv: list = field(default_factory=list)            # DecodedGfvPicture
    generated_md5: list | None = None                  # [R, G, B] digests
    base_hash: tuple | None = None                     # (hash_type, digests)
    skipped: list = field(default_factory=list)        # payloadTypes skipped
    gfv_nal_bits: int = 0                              # bits (start code included) of SEI NAL units with GFV


def trace_line(trace, line: str) -> None:
    if trace is None:
        return
    if isinstance(trace, list):
        trace.append(line)
    else:
        trace.write(line + "\n")


def sei_header_trace(trace, picture: int, payload_type: int, size: int) -> None:
    trace_line(trace, f"=== picture {picture}: sei_message payloadType {payload_type} payloadSize {size}")


def parse_sei_payloads(messages, codec: str, picture: int, state: GfvDecodingState | None,
                       out: AccessUnitSei, trace=None) -> None:
    for pt, payload in messages:
        sei_header_trace(trace, picture, pt, len(payload))
        if pt == GFV_PAYLOAD_TYPE and state is not None:
            out.gfv.append(state.decode_payload(payload, trace))
        elif pt == USER_DATA_UNREGISTERED and is_generated_picture_md5(payload):
            out.generated_md5 = read_generated_picture_md5(payload, trace)
        elif pt == DECODED_PICTURE_HASH:
            out.base_hash = read_decoded_picture_hash(payload, codec, trace)
        else:
            out.skipped.append(pt)
            trace_line(trace, f"    (payloadType {pt} skipped)")


def parse_access_unit_sei(nal_units, types, codec: str, picture: int, state: GfvDecodingState | None,
                          trace=None) -> AccessUnitSei:
    out = AccessUnitSei()
    for nal, t in zip(nal_units, types):
        if t in (nu.PREFIX_SEI[codec], nu.SUFFIX_SEI[codec]):
            _, messages = parse_sei_nal_unit(nal, codec)
            parse_sei_payloads(messages, codec, picture, state, out, trace)
            if any(pt == GFV_PAYLOAD_TYPE for pt, _ in messages):
                out.gfv_nal_bits += 8 * (len(nal) + 4)
    return out
