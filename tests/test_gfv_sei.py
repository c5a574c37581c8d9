import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from CommonLib.syntax.bit_io import SyntaxWriter
from Utilities.errors import BitstreamError
from CommonLib.syntax.gfv_sei import (
    GfvMatrixType,
    GfvSei,
    GfvSyntaxContext,
    matrix_dims,
    read_gfv_sei,
    write_gfv_sei,
)
from CommonLib.syntax.sei_message import finish_payload

SETTINGS = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

flag = st.integers(0, 1)
text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)


def _signed_list(draw, n, mag):
    return draw(st.lists(st.integers(-mag, mag), min_size=n, max_size=n))


def _draw_kps(draw, m, params=None):
    """Fill the keypoint part of m; params = inherited (prec, nkm1, z, zmax) or None."""
    if params is None:
        m.gfv_coordinate_precision_factor_minus1 = draw(st.integers(0, 31))
        m.gfv_num_kps_minus1 = draw(st.integers(0, 11))
        m.gfv_coordinate_z_present_flag = draw(flag)
        m.gfv_coordinate_z_max_value_minus1 = (draw(st.integers(0, 65535))
                                               if m.gfv_coordinate_z_present_flag else 0)
    else:
        (m.gfv_coordinate_precision_factor_minus1, m.gfv_num_kps_minus1,
         m.gfv_coordinate_z_present_flag, m.gfv_coordinate_z_max_value_minus1) = params
    n = m.gfv_num_kps_minus1 + 1
    mag = draw(st.sampled_from([1, 300, 2 ** 32 - 2]))
    m.gfv_coordinate_x = _signed_list(draw, n, mag)
    m.gfv_coordinate_y = _signed_list(draw, n, mag)
    m.gfv_coordinate_z = _signed_list(draw, n, mag) if m.gfv_coordinate_z_present_flag else []


def _draw_matrix(draw, m):
    m.gfv_matrix_element_precision_factor_minus1 = draw(st.integers(0, 31))
    ntypes = draw(st.integers(1, 3))
    m.gfv_num_matrix_types_minus1 = ntypes - 1
    allowed = list(range(2, 10)) + [63] + ([0, 1] if m.gfv_coordinate_present_flag else [])
    m.gfv_matrix_types = []
    for _ in range(ntypes):
        mt = GfvMatrixType(gfv_matrix_type_idx=draw(st.sampled_from(allowed)))
        t = mt.gfv_matrix_type_idx
        if t in (0, 1):
            mt.gfv_num_matrices_equal_to_num_kps_flag = draw(flag)
            if not mt.gfv_num_matrices_equal_to_num_kps_flag:
                mt.gfv_num_matrices_info = draw(st.integers(0, 14))
        elif t in (2, 3) or t >= 7:
            if t >= 7:
                mt.gfv_num_matrices_minus1 = draw(st.integers(0, 2))
            mt.gfv_matrix_width_minus1 = draw(st.integers(0, 2))
            mt.gfv_matrix_height_minus1 = draw(st.integers(0, 2))
        else:
            if m.gfv_coordinate_present_flag:
                mt.gfv_matrix_3d_space_flag = m.gfv_coordinate_z_present_flag
            else:
                mt.gfv_matrix_3d_space_flag = draw(flag)
        m.gfv_matrix_types.append(mt)
    _draw_matrix_elements(draw, m, matrix_dims(m), pred=False)


def _draw_matrix_elements(draw, m, dims, pred):
    prec = m.gfv_matrix_element_precision_factor_minus1 + 1
    el = st.tuples(st.integers(0, 70), st.integers(0, 300 if pred else (1 << prec) - 1), flag).map(
        lambda t: (t[0], t[1], t[2] if (t[0] or t[1]) else 0))
    m.gfv_matrix_elements = [draw(st.lists(el, min_size=d.count, max_size=d.count)) for d in dims]


@st.composite
def base_messages(draw):
    m = GfvSei(gfv_id=draw(st.integers(0, 5)), gfv_cnt=0, gfv_base_picture_flag=1)
    m.gfv_nn_present_flag = draw(flag)
    if m.gfv_nn_present_flag:
        m.gfv_nn_mode_idc = draw(flag)
        if m.gfv_nn_mode_idc == 1:
            m.gfv_uri_tag = draw(text)
            m.gfv_uri = draw(text)
        else:
            m.gfv_nn_payload_byte = draw(st.binary(max_size=40))
    m.gfv_chroma_key_info_present_flag = draw(flag)
    if m.gfv_chroma_key_info_present_flag:
        m.gfv_chroma_key_purpose_idc = draw(st.integers(0, 1023))
        for k in range(3):
            m.gfv_chroma_key_value_present_flag[k] = draw(flag)
            if m.gfv_chroma_key_value_present_flag[k]:
                m.gfv_chroma_key_value[k] = draw(st.integers(0, 255))
        m.gfv_chroma_key_thr_present_flag = draw(flag)
        if m.gfv_chroma_key_thr_present_flag:
            m.gfv_chroma_key_thr_lower = draw(st.integers(0, 254))
            m.gfv_chroma_key_thr_upper_delta_minus1 = draw(st.integers(0, 254 - m.gfv_chroma_key_thr_lower))
    m.gfv_low_confidence_face_parameter_flag = draw(flag)
    m.gfv_coordinate_present_flag = draw(flag)
    m.gfv_matrix_present_flag = 1 if not m.gfv_coordinate_present_flag else draw(flag)
    if m.gfv_coordinate_present_flag:
        m.gfv_kps_pred_flag = draw(flag)
        _draw_kps(draw, m)
    if m.gfv_matrix_present_flag:
        _draw_matrix(draw, m)
    return m


def nonbase_message(draw, ctx, gfv_id):
    m = GfvSei(gfv_id=gfv_id, gfv_cnt=draw(st.one_of(st.just(0), st.integers(1, 3000))), gfv_base_picture_flag=0)
    # gfv_fusion_pic_flag is present only with gfv_cnt == 0 (None where not present)
    m.gfv_fusion_pic_flag = draw(flag) if m.gfv_cnt == 0 else None
    m.gfv_low_confidence_face_parameter_flag = draw(flag)
    m.gfv_coordinate_present_flag = draw(flag)
    m.gfv_matrix_present_flag = 1 if not m.gfv_coordinate_present_flag else draw(flag)
    if m.gfv_coordinate_present_flag:
        bp = ctx.base_kps.get(gfv_id)
        m.gfv_kps_pred_flag = draw(flag) if bp is not None else 0
        if m.gfv_kps_pred_flag:
            _draw_kps(draw, m, (bp.precision_factor_minus1, bp.num_kps_minus1, bp.z_present_flag,
                                bp.z_max_value_minus1))
        else:
            _draw_kps(draw, m)
    if m.gfv_matrix_present_flag:
        bm = ctx.base_matrix.get(gfv_id)
        m.gfv_matrix_pred_flag = draw(flag) if bm is not None else 0
        if m.gfv_matrix_pred_flag:
            m.gfv_matrix_element_precision_factor_minus1 = bm.precision_factor_minus1
            m.gfv_num_matrix_types_minus1 = len(bm.dims) - 1
            _draw_matrix_elements(draw, m, bm.dims, pred=True)
        else:
            _draw_matrix(draw, m)
    return m


def _round_trip(m, wctx, rctx):
    wt, rt = [], []
    data = write_gfv_sei(m, wctx, trace=wt)
    got = read_gfv_sei(data, rctx, trace=rt)
    assert got == m
    assert wt == rt
    return data


@settings(**SETTINGS)
@given(base_messages(), st.data())
def test_round_trip_base_then_nonbase(base, data):
    wctx, rctx = GfvSyntaxContext(), GfvSyntaxContext()
    _round_trip(base, wctx, rctx)
    assert wctx.base_kps == rctx.base_kps and wctx.base_matrix == rctx.base_matrix
    for _ in range(2):
        m = nonbase_message(data.draw, wctx, base.gfv_id)
        _round_trip(m, wctx, rctx)


@settings(**dict(SETTINGS, max_examples=50))
@given(base_messages(), st.data())
def test_truncations_and_corruptions_only_bitstream_errors(base, data):
    wctx = GfvSyntaxContext()
    payloads = [write_gfv_sei(base, wctx)]
    payloads.append(write_gfv_sei(nonbase_message(data.draw, wctx, base.gfv_id), wctx))
    for p in payloads:
        rctx = GfvSyntaxContext()
        read_gfv_sei(payloads[0], rctx)
        cuts = {0, 1, len(p) - 1} | set(data.draw(st.lists(st.integers(0, len(p) - 1), max_size=6)))
        for n in sorted(cuts):
            try:
                read_gfv_sei(p[:n], rctx.copy())
            except BitstreamError:
                pass
        pos = data.draw(st.integers(0, 8 * len(p) - 1))
        flipped = bytearray(p)
        flipped[pos // 8] ^= 0x80 >> (pos % 8)
        try:
            read_gfv_sei(bytes(flipped), rctx.copy())
        except BitstreamError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=48), st.booleans())
def test_random_bytes_only_bitstream_errors(payload, with_base):
    ctx = GfvSyntaxContext()
    if with_base:
        b = GfvSei(gfv_id=0, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
                   gfv_num_kps_minus1=2, gfv_coordinate_x=[1, 2, 3], gfv_coordinate_y=[0, 0, -1],
                   gfv_matrix_present_flag=1, gfv_num_matrix_types_minus1=0,
                   gfv_matrix_types=[GfvMatrixType(gfv_matrix_type_idx=2)],
                   gfv_matrix_elements=[[(0, 1, 1)]])
        write_gfv_sei(b, ctx)
    try:
        m = read_gfv_sei(payload, ctx)
        assert isinstance(m, GfvSei)
    except BitstreamError:
        pass


def _simple_base():
    return GfvSei(gfv_id=0, gfv_cnt=0, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
                  gfv_coordinate_precision_factor_minus1=0, gfv_num_kps_minus1=0,
                  gfv_coordinate_x=[1], gfv_coordinate_y=[-1])


def test_known_bits():
    # gfv_id 1 | gfv_cnt 1 | base 1 | nn 0 | chroma 0 | low 0 | coord 1 | pred 0 | prec 1 | nkps 1 |
    # z 0 | x_abs 010 | x_sign 0 | y_abs 010 | y_sign 1 | matrix 0 | padding 1000
    assert write_gfv_sei(_simple_base(), GfvSyntaxContext()) == bytes([0b11100010, 0b11001000, 0b10101000])


def test_element_order_matches_vtm_master_table():
    m = GfvSei(gfv_id=3, gfv_cnt=0, gfv_base_picture_flag=1, gfv_nn_present_flag=1, gfv_nn_mode_idc=1,
               gfv_uri_tag="tag", gfv_uri="uri", gfv_chroma_key_info_present_flag=1,
               gfv_chroma_key_purpose_idc=2,
               gfv_chroma_key_value_present_flag=[1, 0, 0], gfv_chroma_key_value=[7, 0, 0],
               gfv_chroma_key_thr_present_flag=1, gfv_chroma_key_thr_lower=48,
               gfv_chroma_key_thr_upper_delta_minus1=26,
               gfv_coordinate_present_flag=1, gfv_kps_pred_flag=1, gfv_num_kps_minus1=0,
               gfv_coordinate_z_present_flag=1, gfv_coordinate_z_max_value_minus1=4,
               gfv_coordinate_x=[0], gfv_coordinate_y=[2], gfv_coordinate_z=[-3],
               gfv_matrix_present_flag=1, gfv_num_matrix_types_minus1=0,
               gfv_matrix_types=[GfvMatrixType(gfv_matrix_type_idx=5, gfv_matrix_3d_space_flag=1)],
               gfv_matrix_elements=[[(1, 0, 1), (0, 0, 0), (0, 1, 0)]])
    tr = []
    write_gfv_sei(m, GfvSyntaxContext(), trace=tr)
    names = [line[:56].strip() for line in tr]
    i_mode = names.index("gfv_nn_mode_idc")
    n_align = names.count("gfv_nn_alignment_zero_bit_a")
    assert names[i_mode + 1:i_mode + 1 + n_align] == ["gfv_nn_alignment_zero_bit_a"] * n_align
    assert names[i_mode + 1 + n_align] == "gfv_uri_tag"
    i_pad = names.index("payload_bit_equal_to_one")
    assert set(names[i_pad + 1:]) <= {"payload_bit_equal_to_zero"}
    core = [n for n in names[:i_pad] if n != "gfv_nn_alignment_zero_bit_a"]
    assert core == [
        "gfv_id", "gfv_cnt", "gfv_base_picture_flag", "gfv_nn_present_flag", "gfv_nn_mode_idc",
        "gfv_uri_tag", "gfv_uri",
        "gfv_chroma_key_info_present_flag", "gfv_chroma_key_purpose_idc",
        "gfv_chroma_key_value_present_flag[0]", "gfv_chroma_key_value[0]",
        "gfv_chroma_key_value_present_flag[1]", "gfv_chroma_key_value_present_flag[2]",
        "gfv_chroma_key_thr_present_flag", "gfv_chroma_key_thr_lower",
        "gfv_chroma_key_thr_upper_delta_minus1",
        "gfv_low_confidence_face_parameter_flag", "gfv_coordinate_present_flag", "gfv_kps_pred_flag",
        "gfv_coordinate_precision_factor_minus1", "gfv_num_kps_minus1", "gfv_coordinate_z_present_flag",
        "gfv_coordinate_z_max_value_minus1",
        "gfv_coordinate_dx_abs[0]", "gfv_coordinate_dy_abs[0]", "gfv_coordinate_dy_sign_flag[0]",
        "gfv_coordinate_dz_abs[0]", "gfv_coordinate_dz_sign_flag[0]",
        "gfv_matrix_present_flag", "gfv_matrix_element_precision_factor_minus1",
        "gfv_num_matrix_types_minus1", "gfv_matrix_type_idx[0]",
        "gfv_matrix_element_int[0][0][0][0]", "gfv_matrix_element_dec[0][0][0][0]",
        "gfv_matrix_element_sign_flag[0][0][0][0]",
        "gfv_matrix_element_int[0][0][1][0]", "gfv_matrix_element_dec[0][0][1][0]",
        "gfv_matrix_element_int[0][0][2][0]", "gfv_matrix_element_dec[0][0][2][0]",
        "gfv_matrix_element_sign_flag[0][0][2][0]",
    ]
    # type 5 with coordinates present: MatrixWidth 1, MatrixHeight = z_present + 2 = 3
    assert matrix_dims(m)[0].count == 3


def test_nonbase_with_kps_pred_inherits_from_base():
    wctx, rctx = GfvSyntaxContext(), GfvSyntaxContext()
    base = GfvSei(gfv_id=2, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
                  gfv_coordinate_precision_factor_minus1=9, gfv_num_kps_minus1=1,
                  gfv_coordinate_x=[5, 6], gfv_coordinate_y=[7, 8])
    _round_trip(base, wctx, rctx)
    m = GfvSei(gfv_id=2, gfv_cnt=4, gfv_coordinate_present_flag=1, gfv_kps_pred_flag=1,
               gfv_coordinate_precision_factor_minus1=9, gfv_num_kps_minus1=1,
               gfv_coordinate_x=[-1, 0], gfv_coordinate_y=[0, 2])
    data = _round_trip(m, wctx, rctx)
    # gfv_id 2 = 011, gfv_cnt 4 = 00101, (no gfv_fusion_pic_flag: gfv_cnt > 0), low 0, coord 1, pred 1,
    # dx0 = 010 1, dy0 = 1, dx1 = 1, dy1 = 011 0, matrix 0 -> then padding 10
    assert data == bytes([0b01100101, 0b01101011, 0b10110010])
    # another gfv_id has no base picture
    m2 = copy.deepcopy(m)
    m2.gfv_id = 1
    with pytest.raises(BitstreamError, match="no base picture"):
        write_gfv_sei(m2, wctx)
    data2 = bytearray(data)
    data2[0] = 0b00100010  # gfv_id 1 ... (rest reinterpreted)
    with pytest.raises(BitstreamError):
        read_gfv_sei(bytes(data2), rctx)


def _payload(elements):
    w = SyntaxWriter()
    for kind, name, *rest in elements:
        getattr(w, kind)(name, *rest)
    finish_payload(w)
    return w.getvalue()


HEAD = [("ue", "gfv_id", 0), ("ue", "gfv_cnt", 0), ("flag", "gfv_base_picture_flag", 1),
        ("flag", "gfv_nn_present_flag", 0), ("flag", "gfv_chroma_key_info_present_flag", 0),
        ("flag", "gfv_low_confidence_face_parameter_flag", 0)]


def test_range_errors_are_named():
    p = _payload(HEAD + [("flag", "c", 1), ("flag", "p", 0), ("ue", "prec", 7), ("ue", "n", 70000)])
    with pytest.raises(BitstreamError, match="GFV SEI: gfv_num_kps_minus1 = 70000 exceeds 1023"):
        read_gfv_sei(p, GfvSyntaxContext())
    p = _payload(HEAD + [("flag", "c", 1), ("flag", "p", 0), ("ue", "prec", 32)])
    with pytest.raises(BitstreamError, match="gfv_coordinate_precision_factor_minus1 = 32 exceeds 31"):
        read_gfv_sei(p, GfvSyntaxContext())
    p = _payload(HEAD[:3] + [("flag", "nn", 1), ("ue", "mode", 2)])
    with pytest.raises(BitstreamError, match="gfv_nn_mode_idc = 2 exceeds 1"):
        read_gfv_sei(p, GfvSyntaxContext())
    p = _payload(HEAD + [("flag", "c", 0), ("flag", "m", 0)])
    with pytest.raises(BitstreamError, match="both 0"):
        read_gfv_sei(p, GfvSyntaxContext())
    p = _payload(HEAD + [("flag", "c", 0), ("flag", "m", 1), ("ue", "prec", 0), ("ue", "nt", 0),
                         ("u", "type", 6, 0)])
    with pytest.raises(BitstreamError, match="needs gfv_coordinate_present_flag = 1"):
        read_gfv_sei(p, GfvSyntaxContext())
    # found by the fuzzer: a count read as ue(v) sized a list before any check (gigabytes)
    p = _payload(HEAD + [("flag", "c", 0), ("flag", "m", 1), ("ue", "prec", 0), ("ue", "nt", 223666187)])
    with pytest.raises(BitstreamError, match="gfv_num_matrix_types_minus1 = 223666187 exceeds 63"):
        read_gfv_sei(p, GfvSyntaxContext())


def test_truncation_names_element():
    data = write_gfv_sei(GfvSei(gfv_id=0, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
                                gfv_coordinate_precision_factor_minus1=4, gfv_num_kps_minus1=9,
                                gfv_coordinate_x=[100] * 10, gfv_coordinate_y=[100] * 10),
                         GfvSyntaxContext())
    with pytest.raises(BitstreamError, match=r"SEI payload truncated reading gfv_coordinate_[xy]_"):
        read_gfv_sei(data[:6], GfvSyntaxContext())


def test_trailing_garbage_rejected():
    data = write_gfv_sei(_simple_base(), GfvSyntaxContext())
    with pytest.raises(BitstreamError, match="unparsed"):
        read_gfv_sei(data + b"\x11", GfvSyntaxContext())


def test_writer_checks_inferred_and_lengths():
    m = _simple_base()
    m.gfv_fusion_pic_flag = 1  # not present in a base message
    with pytest.raises(BitstreamError, match="gfv_fusion_pic_flag"):
        write_gfv_sei(m, GfvSyntaxContext())
    m = _simple_base()
    m.gfv_coordinate_x = [1, 2]
    with pytest.raises(BitstreamError, match="gfv_coordinate_x has 2 entries"):
        write_gfv_sei(m, GfvSyntaxContext())
    m = GfvSei(gfv_cnt=3, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
               gfv_coordinate_x=[0], gfv_coordinate_y=[0])
    with pytest.raises(BitstreamError, match="gfv_base_picture_flag"):
        write_gfv_sei(m, GfvSyntaxContext())


def test_nn_payload_bytes_to_end_of_payload():
    m = GfvSei(gfv_base_picture_flag=1, gfv_nn_present_flag=1, gfv_nn_mode_idc=0,
               gfv_coordinate_present_flag=1, gfv_coordinate_x=[0], gfv_coordinate_y=[0],
               gfv_nn_payload_byte=b"\x80\x00\x01\x80")
    ctx = GfvSyntaxContext()
    data = write_gfv_sei(m, ctx)
    assert data.endswith(b"\x80\x00\x01\x80")
    assert read_gfv_sei(data, GfvSyntaxContext()).gfv_nn_payload_byte == b"\x80\x00\x01\x80"


def test_payload_type_constant():
    from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO
    assert GENERATIVE_FACE_VIDEO == 223


def test_matrix_types_0_1_sizes_and_prediction_round_trip():
    # NumKps = 4; type 0 with NumMatrices = NumKps, type 1 with info 3 = NumKps - 1 -> info + 2 = 5
    # (as the JVET decoder derives it), type 1 with info 1 -> 2, z present -> 3x3 matrices
    types = [GfvMatrixType(gfv_matrix_type_idx=0, gfv_num_matrices_equal_to_num_kps_flag=1),
             GfvMatrixType(gfv_matrix_type_idx=1, gfv_num_matrices_info=3),
             GfvMatrixType(gfv_matrix_type_idx=1, gfv_num_matrices_info=1),
             GfvMatrixType(gfv_matrix_type_idx=4, gfv_matrix_3d_space_flag=1),
             GfvMatrixType(gfv_matrix_type_idx=9, gfv_num_matrices_minus1=1,
                           gfv_matrix_width_minus1=2, gfv_matrix_height_minus1=0)]
    base = GfvSei(gfv_id=1, gfv_base_picture_flag=1, gfv_coordinate_present_flag=1,
                  gfv_coordinate_precision_factor_minus1=5, gfv_num_kps_minus1=3,
                  gfv_coordinate_z_present_flag=1, gfv_coordinate_z_max_value_minus1=2,
                  gfv_coordinate_x=[1, -2, 3, 0], gfv_coordinate_y=[0, 0, 0, 0], gfv_coordinate_z=[5, 5, -5, 0],
                  gfv_matrix_present_flag=1, gfv_matrix_element_precision_factor_minus1=3,
                  gfv_num_matrix_types_minus1=len(types) - 1, gfv_matrix_types=types)
    dims = matrix_dims(base)
    assert [(d.num_matrices, d.height, d.width) for d in dims] == [(4, 3, 3), (5, 3, 3), (2, 3, 3),
                                                                    (1, 3, 3), (2, 1, 3)]
    base.gfv_matrix_elements = [[(e % 3, e % 16, e % 2 if (e % 3 or e % 16) else 0) for e in range(d.count)]
                                for d in dims]
    wctx, rctx = GfvSyntaxContext(), GfvSyntaxContext()
    _round_trip(base, wctx, rctx)
    nb = GfvSei(gfv_id=1, gfv_cnt=0, gfv_fusion_pic_flag=1, gfv_coordinate_present_flag=1, gfv_kps_pred_flag=1,
                gfv_coordinate_precision_factor_minus1=5, gfv_num_kps_minus1=3,
                gfv_coordinate_z_present_flag=1, gfv_coordinate_z_max_value_minus1=2,
                gfv_coordinate_x=[0, 1, 0, -1], gfv_coordinate_y=[0, 0, 7, 0], gfv_coordinate_z=[0, 0, 0, 1],
                gfv_matrix_present_flag=1, gfv_matrix_pred_flag=1,
                gfv_matrix_element_precision_factor_minus1=3, gfv_num_matrix_types_minus1=len(types) - 1,
                gfv_matrix_elements=[[(0, e, 1 if e else 0) for e in range(d.count)] for d in dims])
    tr = []
    _round_trip(nb, wctx, rctx)
    write_gfv_sei(nb, wctx, trace=tr)
    assert any(line.startswith("gfv_matrix_delta_element_dec[4][1][0][2]") and "ue(v)" in line for line in tr)
    assert not any(line.startswith("gfv_matrix_type_idx") for line in tr)


def _nonbase(cnt, fusion, gfv_id=0):
    return GfvSei(gfv_id=gfv_id, gfv_cnt=cnt, gfv_fusion_pic_flag=fusion, gfv_coordinate_present_flag=1,
                  gfv_coordinate_x=[1], gfv_coordinate_y=[-1])


def test_fusion_pic_flag_only_in_nonbase_message_with_gfv_cnt_0():
    wctx, rctx = GfvSyntaxContext(), GfvSyntaxContext()
    base = _simple_base()
    assert base.gfv_fusion_pic_flag is None
    tr = []
    _round_trip(base, wctx, rctx)
    write_gfv_sei(base, wctx, trace=tr)
    assert not any(line.startswith("gfv_fusion_pic_flag") for line in tr)
    for fusion in (0, 1):
        tr = []
        data = _round_trip(_nonbase(0, fusion), wctx, rctx)
        write_gfv_sei(_nonbase(0, fusion), wctx, trace=tr)
        assert tr[2].startswith("gfv_base_picture_flag") and tr[2].endswith(": 0")
        assert tr[3].startswith("gfv_fusion_pic_flag") and tr[3].endswith(f": {fusion}")
        # gfv_id 0 = 1 | gfv_cnt 0 = 1 | base 0 | fusion | low 0 | coord 1 | pred 0 | prec 0 = 1 | nkps 0 = 1 |
        # z 0 | x 010 0 | y 010 1 | matrix 0 | padding 1000
        assert data == bytes([0b11000101 | (fusion << 4), 0b10010001, 0b01010000])
    tr = []
    data = _round_trip(_nonbase(7, None), wctx, rctx)
    write_gfv_sei(_nonbase(7, None), wctx, trace=tr)
    assert not any(line.startswith("gfv_fusion_pic_flag") for line in tr)
    assert read_gfv_sei(data, rctx).gfv_fusion_pic_flag is None
    # gfv_id 0 = 1 | gfv_cnt 7 = 0001000 | (no fusion) low 0 | coord 1 | pred 0 | prec 1 | nkps 1 | z 0 | x 010 ...
    assert data[:2] == bytes([0b10001000, 0b01011001])


def test_writer_checks_fusion_pic_flag_presence():
    ctx = GfvSyntaxContext()
    write_gfv_sei(_simple_base(), ctx)
    for cnt, fusion in ((3, 0), (3, 1)):
        with pytest.raises(BitstreamError, match="gfv_fusion_pic_flag .* not present here .*None"):
            write_gfv_sei(_nonbase(cnt, fusion), ctx)
    with pytest.raises(BitstreamError, match="cannot write gfv_fusion_pic_flag"):
        write_gfv_sei(_nonbase(0, None), ctx)
    base = _simple_base()
    base.gfv_fusion_pic_flag = 0
    with pytest.raises(BitstreamError, match="gfv_fusion_pic_flag = 0 but it is not present here"):
        write_gfv_sei(base, ctx)


def _chroma_base(**kw):
    m = _simple_base()
    m.gfv_chroma_key_info_present_flag = 1
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def test_chroma_key_info_bits():
    m = _chroma_base(gfv_chroma_key_purpose_idc=1, gfv_chroma_key_value_present_flag=[0, 1, 0],
                     gfv_chroma_key_value=[0, 0xA5, 0], gfv_chroma_key_thr_present_flag=1,
                     gfv_chroma_key_thr_lower=0x30, gfv_chroma_key_thr_upper_delta_minus1=2)
    tr = []
    data = write_gfv_sei(m, GfvSyntaxContext(), trace=tr)
    # gfv_id 1 | gfv_cnt 1 | base 1 | nn 0 | chroma 1 | purpose 010 | vp0 0 | vp1 1 | v1 10100101 | vp2 0 |
    # thr 1 | lower 00110000 | delta 011 | low 0 | coord 1 | pred 0 | prec 1 | nkps 1 | z 0 | x 010 0 |
    # y 010 1 | matrix 0 | padding 1
    bits = ("1" "1" "1" "0" "1" "010" "0" "1" "10100101" "0" "1" "00110000" "011" "0" "1" "0" "1" "1" "0"
            "0100" "0101" "0" "1")
    bits += "0" * (-len(bits) % 8)
    assert data == int(bits, 2).to_bytes(len(bits) // 8, "big")
    got = read_gfv_sei(data, GfvSyntaxContext())
    assert got == m
    assert (got.gfv_chroma_key_thr_lower, got.gfv_chroma_key_thr_upper_delta_minus1) == (48, 2)
    names = [line[:56].strip() for line in tr]
    assert names[4:13] == ["gfv_chroma_key_info_present_flag", "gfv_chroma_key_purpose_idc",
                           "gfv_chroma_key_value_present_flag[0]", "gfv_chroma_key_value_present_flag[1]",
                           "gfv_chroma_key_value[1]", "gfv_chroma_key_value_present_flag[2]",
                           "gfv_chroma_key_thr_present_flag", "gfv_chroma_key_thr_lower",
                           "gfv_chroma_key_thr_upper_delta_minus1"]
    # thresholds not present: neither lower nor delta is coded
    m = _chroma_base()
    tr = []
    _round_trip(m, GfvSyntaxContext(), GfvSyntaxContext())
    write_gfv_sei(m, GfvSyntaxContext(), trace=tr)
    assert not any("thr_lower" in line or "thr_upper" in line for line in tr)


def test_chroma_key_range_errors():
    # upper threshold = lower + delta_minus1 + 1 <= 255
    write_gfv_sei(_chroma_base(gfv_chroma_key_thr_present_flag=1, gfv_chroma_key_thr_lower=200,
                               gfv_chroma_key_thr_upper_delta_minus1=54), GfvSyntaxContext())
    with pytest.raises(BitstreamError, match=r"200 \+ 55 \+ 1 = 256 exceeds 255"):
        write_gfv_sei(_chroma_base(gfv_chroma_key_thr_present_flag=1, gfv_chroma_key_thr_lower=200,
                                   gfv_chroma_key_thr_upper_delta_minus1=55), GfvSyntaxContext())
    with pytest.raises(BitstreamError, match="gfv_chroma_key_purpose_idc = 1024 exceeds 1023"):
        write_gfv_sei(_chroma_base(gfv_chroma_key_purpose_idc=1024), GfvSyntaxContext())
    with pytest.raises(BitstreamError, match="gfv_chroma_key_value\\[2\\] = 256"):
        write_gfv_sei(_chroma_base(gfv_chroma_key_value_present_flag=[0, 0, 1],
                                   gfv_chroma_key_value=[0, 0, 256]), GfvSyntaxContext())
    head = HEAD[:4] + [("flag", "gfv_chroma_key_info_present_flag", 1)]
    p = _payload(head + [("ue", "purpose", 5000)])
    with pytest.raises(BitstreamError, match="gfv_chroma_key_purpose_idc = 5000 exceeds 1023"):
        read_gfv_sei(p, GfvSyntaxContext())
    p = _payload(head + [("ue", "purpose", 0), ("flag", "v0", 0), ("flag", "v1", 0), ("flag", "v2", 0),
                         ("flag", "thr", 1), ("u", "lower", 8, 255), ("ue", "delta", 0)])
    with pytest.raises(BitstreamError, match="= 256 exceeds 255"):
        read_gfv_sei(p, GfvSyntaxContext())
