import io

import pytest
from hypothesis import given, settings, strategies as st

from CommonLib.syntax.bit_io import SyntaxReader, SyntaxWriter, UE_MAX, format_trace_line
from Utilities.errors import BitstreamError, HdacError


def test_bitstream_error_is_hdac_error():
    assert issubclass(BitstreamError, HdacError)


def test_known_codes():
    w = SyntaxWriter()
    w.ue("a", 0)      # 1
    w.ue("b", 1)      # 010
    w.ue("c", 2)      # 011
    w.ue("d", 3)      # 00100
    w.flag("e", 1)    # 1
    w.u("f", 4, 5)    # 0101  -> total 1+3+3+5+1+4 = 17 bits
    w.u("pad", 7, 0)
    assert w.getvalue() == bytes([0b10100110, 0b01001010, 0b10000000])
    r = SyntaxReader(w.getvalue())
    assert [r.ue("a"), r.ue("b"), r.ue("c"), r.ue("d"), r.flag("e"), r.u("f", 4)] == [0, 1, 2, 3, 1, 5]


def test_se_values():
    w = SyntaxWriter()
    for v in (0, 1, -1, 2, -2, 1000, -1000):
        w.se("x", v)
    while not w.byte_aligned():
        w.flag("z", 0)
    r = SyntaxReader(w.getvalue())
    assert [r.se("x") for _ in range(7)] == [0, 1, -1, 2, -2, 1000, -1000]


def test_trace_format_and_identity():
    wt, rt = [], []
    w = SyntaxWriter(wt)
    w.ue("gfv_num_kps_minus1", 9)
    w.flag("some_flag", True)
    w.st("gfv_uri", "urn:é")
    w.f("fixed", 3, 5)
    w.u("x", 12, 4095)
    while not w.byte_aligned():
        w.f("payload_bit_equal_to_zero", 1, 0)
    r = SyntaxReader(w.getvalue(), rt)
    r.ue("gfv_num_kps_minus1")
    r.flag("some_flag")
    assert r.st("gfv_uri") == "urn:é"
    r.f("fixed", 3, 5)
    r.u("x", 12)
    while not r.byte_aligned():
        r.f("payload_bit_equal_to_zero", 1, 0)
    assert wt == rt
    assert wt[0] == "gfv_num_kps_minus1" + " " * (56 - 18) + "ue(v)  : 9"
    assert wt[1].endswith("u(1)   : 1")
    assert wt[2].endswith("st(v)  : urn:é")
    assert wt[3].endswith("f(3)   : 5")
    assert format_trace_line("a", "u(8)", 3) == f"{'a':<56}{'u(8)':<7}: 3"


def test_trace_to_text_file():
    f = io.StringIO()
    w = SyntaxWriter(f)
    w.ue("a", 3)
    w.flag("b", 0)
    lines = f.getvalue().splitlines()
    assert lines == [format_trace_line("a", "ue(v)", 3), format_trace_line("b", "u(1)", 0)]


def test_writer_range_errors():
    w = SyntaxWriter()
    with pytest.raises(BitstreamError):
        w.u("x", 3, 8)
    with pytest.raises(BitstreamError):
        w.u("x", 3, -1)
    with pytest.raises(BitstreamError):
        w.ue("x", -1)
    with pytest.raises(BitstreamError):
        w.ue("x", UE_MAX + 1)
    with pytest.raises(BitstreamError):
        w.st("x", "a\x00b")
    with pytest.raises(BitstreamError):
        w.st("x", 5)
    w.flag("y", 1)
    with pytest.raises(BitstreamError, match="not byte aligned"):
        w.getvalue()


def test_ue_max_round_trip():
    w = SyntaxWriter()
    w.ue("big", UE_MAX)
    while not w.byte_aligned():
        w.flag("z", 0)
    assert SyntaxReader(w.getvalue()).ue("big") == UE_MAX


def test_reader_errors_name_element():
    r = SyntaxReader(b"\x00", label="GFV SEI payload")
    with pytest.raises(BitstreamError, match="GFV SEI payload truncated reading gfv_id"):
        r.ue("gfv_id")
    r = SyntaxReader(b"\xff")
    with pytest.raises(BitstreamError, match="truncated reading foo"):
        r.u("foo", 9)
    # 40 leading zero bits
    r = SyntaxReader(b"\x00" * 5 + b"\xff" * 6)
    with pytest.raises(BitstreamError, match="leading zero"):
        r.ue("too_long")
    # fixed pattern mismatch
    r = SyntaxReader(b"\x80")
    with pytest.raises(BitstreamError, match="shall be 0"):
        r.f("alignment_zero_bit", 1, 0)
    # unterminated / invalid strings
    with pytest.raises(BitstreamError, match="truncated reading s"):
        SyntaxReader(b"abc").st("s")
    with pytest.raises(BitstreamError, match="UTF-8"):
        SyntaxReader(b"\xff\xfe\x00").st("s")


def test_more_data_in_payload():
    assert not SyntaxReader(b"").more_data_in_payload()
    r = SyntaxReader(b"\x80")
    assert not r.more_data_in_payload()
    r = SyntaxReader(b"\xa0")
    r.flag("a")
    r.flag("b")
    assert not r.more_data_in_payload()  # remaining 100000
    r = SyntaxReader(b"\x81")
    assert r.more_data_in_payload()
    assert r.bits_left() == 8 and r.bytes_left() == 1


ELEMENT = st.one_of(
    st.tuples(st.just("u"), st.integers(1, 40)).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, (1 << t[1]) - 1))),
    st.tuples(st.just("ue"), st.just(0), st.integers(0, UE_MAX)),
    st.tuples(st.just("se"), st.just(0), st.integers(-(2 ** 31 - 1), 2 ** 31 - 1)),
    st.tuples(st.just("flag"), st.just(0), st.integers(0, 1)),
    st.tuples(st.just("st"), st.just(0), st.text(st.characters(blacklist_characters="\x00",
                                                                blacklist_categories=("Cs",)), max_size=8)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(ELEMENT, max_size=25))
def test_round_trip_random_elements(elements):
    wt, rt = [], []
    w = SyntaxWriter(wt)
    for i, (kind, n, v) in enumerate(elements):
        name = f"e{i}"
        if kind == "u":
            w.u(name, n, v)
        else:
            getattr(w, kind)(name, v)
    while not w.byte_aligned():
        w.f("pad", 1, 0)
    r = SyntaxReader(w.getvalue(), rt)
    for i, (kind, n, v) in enumerate(elements):
        name = f"e{i}"
        got = r.u(name, n) if kind == "u" else getattr(r, kind)(name)
        assert got == v
    while not r.byte_aligned():
        r.f("pad", 1, 0)
    assert r.bits_left() == 0
    assert wt == rt


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=16), st.lists(st.sampled_from(["ue", "se", "flag", "st", "u13"]), max_size=30))
def test_random_bytes_only_bitstream_errors(data, kinds):
    r = SyntaxReader(data)
    try:
        for k in kinds:
            if k == "u13":
                r.u("x", 13)
            else:
                getattr(r, k)("x")
    except BitstreamError:
        pass
