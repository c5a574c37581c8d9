import pytest
from hypothesis import given, settings, strategies as st

from CommonLib.syntax.bit_io import SyntaxReader, SyntaxWriter
from Utilities.errors import BitstreamError
from CommonLib.syntax.sei_message import (
    check_payload_end,
    finish_payload,
    make_sei_nal_unit,
    parse_sei_nal_unit,
    parse_sei_rbsp,
    write_sei_rbsp,
)


@pytest.mark.parametrize("value,coded", [
    (0, b"\x00"),
    (254, b"\xfe"),
    (255, b"\xff\x00"),
    (256, b"\xff\x01"),
    (509, b"\xff\xfe"),
    (510, b"\xff\xff\x00"),
    (511, b"\xff\xff\x01"),
])
def test_ff_extension_of_type_and_size(value, coded):
    payload = bytes(range(256)) * 2
    payload = payload[:value]
    rbsp = write_sei_rbsp([(value, payload)])
    # payloadType coded, then payloadSize coded, then payload, then 0x80
    assert rbsp[:len(coded)] == coded
    assert rbsp[len(coded):2 * len(coded)] == coded
    assert rbsp[2 * len(coded):-1] == payload
    assert rbsp[-1] == 0x80
    assert parse_sei_rbsp(rbsp) == [(value, payload)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.binary(max_size=600)), min_size=1, max_size=4))
def test_rbsp_round_trip(msgs):
    rbsp = write_sei_rbsp(msgs)
    assert parse_sei_rbsp(rbsp) == msgs


def test_rbsp_tolerates_trailing_zero_bytes():
    rbsp = write_sei_rbsp([(223, b"\x12\x80")]) + b"\x00\x00"
    assert parse_sei_rbsp(rbsp) == [(223, b"\x12\x80")]


def test_payload_type_128_is_not_mistaken_for_trailing_bits():
    # type 128 (0x80) with size 0, then trailing bits
    rbsp = write_sei_rbsp([(128, b""), (5, b"\x01")])
    assert parse_sei_rbsp(rbsp) == [(128, b""), (5, b"\x01")]


def test_isolation_of_payloads():
    msgs = [(223, b"\xff\xff\xff"), (132, bytes(49))]
    assert parse_sei_rbsp(write_sei_rbsp(msgs))[1] == (132, bytes(49))


def test_rbsp_errors():
    with pytest.raises(BitstreamError, match="missing rbsp_trailing_bits"):
        parse_sei_rbsp(b"")
    with pytest.raises(BitstreamError, match="missing rbsp_trailing_bits"):
        parse_sei_rbsp(b"\x00\x00")
    with pytest.raises(BitstreamError, match="rbsp_trailing_bits invalid"):
        parse_sei_rbsp(b"\x05\x01\x07")
    with pytest.raises(BitstreamError, match="payloadSize 10"):
        parse_sei_rbsp(b"\x05\x0a\x01\x02\x80")
    with pytest.raises(BitstreamError, match="reading payloadSize"):
        parse_sei_rbsp(b"\x05\x80")
    with pytest.raises(BitstreamError, match="reading payloadType"):
        parse_sei_rbsp(b"\xff\x80")
    with pytest.raises(BitstreamError, match="no sei_message"):
        parse_sei_rbsp(b"\x80")
    with pytest.raises(BitstreamError):
        write_sei_rbsp([])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_random_rbsp_only_bitstream_errors(data):
    try:
        msgs = parse_sei_rbsp(data)
        assert all(isinstance(t, int) and isinstance(p, bytes) for t, p in msgs)
    except BitstreamError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.binary(max_size=40)), min_size=1, max_size=3))
def test_truncated_rbsp_only_bitstream_errors(msgs):
    rbsp = write_sei_rbsp(msgs)
    for n in range(len(rbsp)):
        try:
            parse_sei_rbsp(rbsp[:n])
        except BitstreamError:
            pass


@pytest.mark.parametrize("nbits", range(0, 17))
def test_payload_padding_round_trip(nbits):
    wt, rt = [], []
    w = SyntaxWriter(wt)
    for i in range(nbits):
        w.flag(f"b{i}", i % 2)
    finish_payload(w)
    data = w.getvalue()
    assert len(data) == (nbits + 7) // 8
    if nbits % 8:
        # payload_bit_equal_to_one directly after the syntax
        assert (data[-1] >> (7 - nbits % 8)) & 1 == 1
    r = SyntaxReader(data, rt)
    for i in range(nbits):
        assert r.flag(f"b{i}") == i % 2
    check_payload_end(r)
    assert wt == rt


def test_check_payload_end_accepts_whole_padding_byte_and_rejects_garbage():
    r = SyntaxReader(b"\x80")
    check_payload_end(r)  # byte-aligned syntax followed by a padding byte 0x80
    r = SyntaxReader(b"\x81")
    with pytest.raises(BitstreamError, match="unparsed"):
        check_payload_end(r)
    r = SyntaxReader(b"\x80\x00")
    with pytest.raises(BitstreamError, match="unparsed"):
        check_payload_end(r)
    r = SyntaxReader(b"\xf0")
    r.u("x", 3)
    check_payload_end(r)  # remaining 10000: payload_bit_equal_to_one + zeros
    r = SyntaxReader(b"\xf8")
    r.u("x", 3)
    with pytest.raises(BitstreamError, match="unparsed"):
        check_payload_end(r)  # remaining 11000


@pytest.mark.parametrize("codec,nut", [("hevc", 40), ("vvc", 24)])
def test_sei_nal_unit_round_trip(codec, nut):
    msgs = [(223, b"\x00\x00\x01\x02"), (5, bytes(20))]
    nal = make_sei_nal_unit(codec, msgs, suffix=True)
    hdr, got = parse_sei_nal_unit(nal, codec)
    assert hdr.nal_unit_type == nut
    assert got == msgs
    prefix = make_sei_nal_unit(codec, msgs, suffix=False)
    assert parse_sei_nal_unit(prefix, codec)[0].nal_unit_type == nut - 1
