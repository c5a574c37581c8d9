import pytest
from hypothesis import given, settings, strategies as st

from CommonLib.syntax import nal_unit as nu
from Utilities.errors import BitstreamError


def _escaped_ok(e: bytes) -> bool:
    """Standard constraints on an emulation-prevented byte sequence."""
    for i in range(len(e) - 2):
        if e[i] == 0 and e[i + 1] == 0:
            if e[i + 2] in (0, 1, 2):
                return False
            if e[i + 2] == 3 and i + 3 < len(e) and e[i + 3] > 3:
                return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_emulation_prevention_round_trip(rbsp):
    e = nu.add_emulation_prevention(rbsp)
    assert nu.remove_emulation_prevention(e) == rbsp
    assert _escaped_ok(e)
    for pat in (b"\x00\x00\x00", b"\x00\x00\x01", b"\x00\x00\x02"):
        assert pat not in e


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\xff"]), max_size=40))
def test_emulation_prevention_zero_heavy(chunks):
    rbsp = b"".join(chunks)
    e = nu.add_emulation_prevention(rbsp)
    assert nu.remove_emulation_prevention(e) == rbsp
    assert _escaped_ok(e)
    assert b"\x00\x00\x00" not in e and b"\x00\x00\x01" not in e and b"\x00\x00\x02" not in e


def test_emulation_prevention_known():
    assert nu.add_emulation_prevention(b"\x00\x00\x01") == b"\x00\x00\x03\x01"
    assert nu.add_emulation_prevention(b"\x00\x00\x00\x00") == b"\x00\x00\x03\x00\x00\x03"
    assert nu.add_emulation_prevention(b"\x00\x00\x04") == b"\x00\x00\x04"
    assert nu.add_emulation_prevention(b"\x00\x00\x03") == b"\x00\x00\x03\x03"
    assert nu.remove_emulation_prevention(b"\x00\x00\x03\x01") == b"\x00\x00\x01"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=32))
def test_remove_emulation_prevention_only_bitstream_errors(data):
    try:
        nu.remove_emulation_prevention(data)
    except BitstreamError:
        pass


def test_remove_rejects_start_code_inside():
    with pytest.raises(BitstreamError, match="forbidden sequence"):
        nu.remove_emulation_prevention(b"\x05\x00\x00\x01\x05")


@pytest.mark.parametrize("codec", ["hevc", "vvc"])
@settings(max_examples=100, deadline=None)
@given(nut=st.integers(0, 63), layer=st.integers(0, 63), tid=st.integers(1, 7))
def test_nal_header_round_trip(codec, nut, layer, tid):
    if codec == "vvc":
        nut %= 32
    h = nu.NalHeader(nut, layer, tid)
    b = nu.write_nal_header(h, codec)
    assert len(b) == 2
    assert nu.parse_nal_header(b, codec) == h


def test_vvc_header_bit_layout():
    # forbidden 0, reserved 0, layer 5, type SUFFIX_SEI 24, tid+1 = 1
    b = nu.write_nal_header(nu.NalHeader(24, 5, 1), "vvc")
    assert b == bytes([0b00000101, (24 << 3) | 1])
    b = nu.write_nal_header(nu.NalHeader(40, 0, 1), "hevc")
    assert b == bytes([40 << 1, 1])


def test_header_errors():
    with pytest.raises(BitstreamError, match="forbidden_zero_bit"):
        nu.parse_nal_header(b"\x80\x01", "hevc")
    with pytest.raises(BitstreamError, match="nuh_reserved_zero_bit"):
        nu.parse_nal_header(b"\x40\x01", "vvc")
    with pytest.raises(BitstreamError, match="temporal_id_plus1"):
        nu.parse_nal_header(b"\x4e\x00", "hevc")
    with pytest.raises(BitstreamError, match="shorter"):
        nu.parse_nal_header(b"\x4e", "hevc")
    with pytest.raises(BitstreamError):
        nu.write_nal_header(nu.NalHeader(32, 0, 1), "vvc")
    with pytest.raises(BitstreamError):
        nu.parse_nal_header(b"\x4e\x01", "avc")


def test_constants_and_classification():
    assert nu.PREFIX_SEI == {"hevc": 39, "vvc": 23}
    assert nu.SUFFIX_SEI == {"hevc": 40, "vvc": 24}
    assert nu.is_vcl(0, "hevc") and nu.is_vcl(21, "hevc") and not nu.is_vcl(32, "hevc")
    assert nu.is_vcl(9, "vvc") and nu.is_vcl(11, "vvc") and not nu.is_vcl(12, "vvc")
    assert [t for t in range(64) if nu.is_irap(t, "hevc")] == list(range(16, 24))
    assert [t for t in range(32) if nu.is_irap(t, "vvc")] == [7, 8, 9]
    assert nu.VVC_PH == 19


def test_split_annexb():
    a = nu.make_nal_unit("hevc", 32, b"\x0c\x01\x80")
    b = nu.make_nal_unit("hevc", 40, b"\x00\x00\x01\x80")
    c = nu.make_nal_unit("hevc", 1, b"\xaa\x80")
    stream = (b"\x00" + nu.annexb(a) + b"\x00\x00\x01" + b + b"\x00\x00" + nu.annexb(c) + b"\x00\x00")
    assert nu.split_annexb(stream) == [a, b, c]
    assert nu.nal_payload_rbsp(b, "hevc") == b"\x00\x00\x01\x80"
    assert nu.split_annexb(b"") == []


def test_split_annexb_errors():
    with pytest.raises(BitstreamError, match="start code"):
        nu.split_annexb(b"\x01\x02\x03")
    with pytest.raises(BitstreamError, match="start code"):
        nu.split_annexb(b"\x00\x01\x40\x01")
    with pytest.raises(BitstreamError, match="empty NAL"):
        nu.split_annexb(b"\x00\x00\x01\x00\x00\x01\x40\x01")
    with pytest.raises(BitstreamError):
        nu.split_annexb(b"\x00\x00\x01\x40\x01\x00\x00\x01")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=5),
       st.sampled_from(["hevc", "vvc"]))
def test_annexb_round_trip(payloads, codec):
    nals = []
    for p in payloads:
        rbsp = p + b"\x80"  # like rbsp_trailing_bits
        nals.append(nu.make_nal_unit(codec, nu.SUFFIX_SEI[codec], rbsp))
    stream = b"".join(nu.annexb(n) for n in nals)
    assert nu.split_annexb(stream) == nals
    for n, p in zip(nals, payloads):
        assert nu.nal_payload_rbsp(n, codec) == p + b"\x80"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_split_annexb_random_only_bitstream_errors(data):
    try:
        for nal in nu.split_annexb(data):
            for codec in ("hevc", "vvc"):
                try:
                    nu.starts_new_picture(nal, codec)
                except BitstreamError:
                    pass
    except BitstreamError:
        pass


def test_make_nal_unit_trailing_zero_rejected():
    with pytest.raises(BitstreamError):
        nu.make_nal_unit("vvc", 24, b"\x80\x00")


def test_picture_start_detection():
    hevc_first = nu.make_nal_unit("hevc", 19, b"\x80\x12\x80")
    hevc_next = nu.make_nal_unit("hevc", 1, b"\x40\x80")
    assert nu.starts_new_picture(hevc_first, "hevc")
    assert not nu.starts_new_picture(hevc_next, "hevc")
    assert not nu.starts_new_picture(nu.make_nal_unit("hevc", 40, b"\x80"), "hevc")
    assert nu.starts_new_picture(nu.make_nal_unit("vvc", 19, b"\x80"), "vvc")
    assert nu.starts_new_picture(nu.make_nal_unit("vvc", 8, b"\xc0\x80"), "vvc")
    assert not nu.starts_new_picture(nu.make_nal_unit("vvc", 0, b"\x40\x80"), "vvc")
    assert not nu.starts_new_picture(nu.make_nal_unit("vvc", 24, b"\x80"), "vvc")
