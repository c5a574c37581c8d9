import hashlib
import uuid

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from Utilities.errors import BitstreamError
from CommonLib.syntax.picture_hash_sei import (
    GENERATED_PICTURE_MD5_UUID,
    format_md5_check,
    is_generated_picture_md5,
    md5_planes,
    read_decoded_picture_hash,
    read_generated_picture_md5,
    decoded_picture_hash_syntax,
    write_generated_picture_md5,
)
from CommonLib.syntax.bit_io import SyntaxWriter
from CommonLib.syntax.sei_message import finish_payload, parse_sei_rbsp, write_sei_rbsp


def test_uuid_is_fixed_version4():
    assert GENERATED_PICTURE_MD5_UUID == uuid.UUID("ac396d21-55ea-46a2-b801-da46aac61edb")
    assert GENERATED_PICTURE_MD5_UUID.version == 4


def test_md5_planes_row_major():
    planes = [np.arange(12, dtype=np.uint8).reshape(3, 4), np.zeros((2, 2), np.uint8),
              np.full((1, 3), 255, np.uint8)]
    d = md5_planes(planes)
    assert d[0] == hashlib.md5(bytes(range(12))).digest()
    assert d[1] == hashlib.md5(bytes(4)).digest()
    # non-contiguous (transposed) input hashes its raster order
    t = np.arange(12, dtype=np.uint8).reshape(4, 3).T
    assert md5_planes([t])[0] == hashlib.md5(t.copy().tobytes()).digest()
    # 10-bit: two bytes little endian per sample
    assert md5_planes([np.array([[1, 256]])], bit_depth=10)[0] == hashlib.md5(b"\x01\x00\x00\x01").digest()
    with pytest.raises(ValueError):
        md5_planes([np.array([[256]])])


def test_generated_picture_md5_round_trip():
    rng = np.random.default_rng(0)
    planes = [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(3)]
    digests = md5_planes(planes)
    wt, rt = [], []
    payload = write_generated_picture_md5(digests, trace=wt)
    assert len(payload) == 16 + 1 + 48
    assert payload[:16] == GENERATED_PICTURE_MD5_UUID.bytes
    assert payload[16] == 0
    assert is_generated_picture_md5(payload)
    assert read_generated_picture_md5(payload, trace=rt) == digests
    assert wt == rt
    assert wt[0].startswith("uuid_iso_iec_11578") and "u(128)" in wt[0]
    assert wt[1].startswith("gpm_hash_type")
    # inside an SEI RBSP as user_data_unregistered
    assert parse_sei_rbsp(write_sei_rbsp([(5, payload)])) == [(5, payload)]


def test_generated_picture_md5_errors():
    payload = write_generated_picture_md5([bytes(16)] * 3)
    other = uuid.uuid4().bytes + payload[16:]
    assert not is_generated_picture_md5(other)
    with pytest.raises(BitstreamError, match="uuid"):
        read_generated_picture_md5(other)
    with pytest.raises(BitstreamError, match="gpm_hash_type"):
        read_generated_picture_md5(payload[:16] + b"\x01" + payload[17:])
    with pytest.raises(BitstreamError, match="truncated"):
        read_generated_picture_md5(payload[:-1])
    with pytest.raises(BitstreamError, match="unparsed"):
        read_generated_picture_md5(payload + b"\x00")
    with pytest.raises(BitstreamError):
        write_generated_picture_md5([bytes(16)] * 2)


@pytest.mark.parametrize("codec", ["hevc", "vvc"])
@pytest.mark.parametrize("hash_type,size", [(0, 16), (1, 2), (2, 4)])
@pytest.mark.parametrize("ncomp", [1, 3])
def test_decoded_picture_hash_round_trip(codec, hash_type, size, ncomp):
    digests = [bytes((i * 7 + c) % 256 for i in range(size)) for c in range(ncomp)]
    wt, rt = [], []
    w = SyntaxWriter(wt)           # the project reads decoded picture hash SEI (HM / VTM / x265 write it)
    decoded_picture_hash_syntax(w, hash_type, digests, codec, ncomp)
    finish_payload(w)
    payload = w.getvalue()
    assert len(payload) == (1 if codec == "hevc" else 2) + ncomp * size
    assert read_decoded_picture_hash(payload, codec, trace=rt) == (hash_type, digests)
    assert wt == rt


def test_decoded_picture_hash_hevc_layout():
    md5 = [hashlib.md5(bytes([c])).digest() for c in range(3)]
    payload = b"\x00" + b"".join(md5)
    assert read_decoded_picture_hash(payload, "hevc") == (0, md5)
    vvc = b"\x00\x00" + b"".join(md5)  # dph_sei_single_component_flag 0 + reserved zero bits
    assert read_decoded_picture_hash(vvc, "vvc") == (0, md5)


def test_decoded_picture_hash_errors():
    with pytest.raises(BitstreamError, match="reserved hash_type"):
        read_decoded_picture_hash(b"\x05" + bytes(48), "hevc")
    with pytest.raises(BitstreamError, match="payloadSize"):
        read_decoded_picture_hash(b"\x00" + bytes(20), "hevc")
    with pytest.raises(BitstreamError):
        read_decoded_picture_hash(b"", "hevc")
    with pytest.raises(BitstreamError, match="truncated"):
        read_decoded_picture_hash(b"\x00\x00" + bytes(20), "vvc")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60), st.sampled_from(["hevc", "vvc"]))
def test_random_payloads_only_bitstream_errors(data, codec):
    for fn in (lambda: read_decoded_picture_hash(data, codec), lambda: read_generated_picture_md5(data)):
        try:
            fn()
        except BitstreamError:
            pass


def test_format_md5_check():
    d = [bytes(16), b"\x01" * 16, b"\xff" * 16]
    s, ok = format_md5_check(d, d)
    assert ok and s == f"[MD5:{'00' * 16},{'01' * 16},{'ff' * 16},(OK)]"
    s, ok = format_md5_check(d, d[::-1])
    assert not ok and s.endswith("(***ERROR***)]")
