import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from Utilities.errors import BitstreamError, InputError
from CommonLib.syntax.gfv_sei import GfvSei, GfvSyntaxContext, write_gfv_sei
from CommonLib.syntax.keypoint_coding import GfvState, dequantise, quantise_keypoints
from EncoderLib.gfv_message_writer import build_gfv_message, encode_gfv_payload

P_VALUES = st.integers(1, 32)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 32))  # P = 1: 2.5 / 2 > 1 is clipped
def test_half_way_points_round_away_from_zero(P):
    s = 2.0 ** -P
    v = np.array([0.5 * s, -0.5 * s, 1.5 * s, -1.5 * s, 2.5 * s, -2.5 * s])
    assert quantise_keypoints(v, P).tolist() == [1, -1, 2, -2, 3, -3]


@pytest.mark.parametrize("P", [1, 4, 8, 10, 16, 31, 32])
def test_negative_values_not_truncated_like_vtm(P):
    # VTM: (int)(v * 2^P + 0.5) gives (int)(-1.5 + 0.5) = -1; the rule gives -2.
    v = -3.0 / 2 ** (P + 1)
    assert quantise_keypoints(np.array([v]), P).tolist() == [-2]
    assert quantise_keypoints(np.array([-0.4 / 2 ** P]), P).tolist() == [0]
    assert quantise_keypoints(np.array([-0.6 / 2 ** P]), P).tolist() == [-1]


def test_exact_just_below_half():
    # a + 0.5 would round up to 1.0 in float64; the exact rule gives 0
    below_half = np.nextafter(0.5, 0.0)
    for P in (1, 8, 20):
        v = np.array([below_half / 2 ** P, -below_half / 2 ** P])
        assert quantise_keypoints(v, P).tolist() == [0, 0]


def test_clipping_and_errors():
    assert quantise_keypoints(np.array([1.0, -1.0, 3.5, -np.inf, np.inf]), 8).tolist() == \
        [256, -256, 256, -256, 256]
    with pytest.raises(InputError):
        quantise_keypoints(np.array([np.nan]), 8)
    with pytest.raises(InputError):
        quantise_keypoints(np.zeros(2), 0)
    with pytest.raises(InputError):
        quantise_keypoints(np.zeros(2), 33)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=20), P_VALUES)
def test_quantise_matches_exact_rational_rule(vals, P):
    from fractions import Fraction
    q = quantise_keypoints(np.array(vals), P)
    for v, got in zip(vals, q.tolist()):
        a = abs(Fraction(v)) * 2 ** P + Fraction(1, 2)
        want = int(a.numerator // a.denominator) * (1 if v >= 0 else -1)
        assert got == max(-2 ** P, min(2 ** P, want))
    # reconstruction error at most half a step
    assert np.all(np.abs(dequantise(q, P) - np.array(vals)) <= 2.0 ** -(P + 1))
    assert q.dtype == np.int64


def test_dequantise_exact():
    q = np.array([[-256, 255], [1, -1]], dtype=np.int64)
    d = dequantise(q, 8)
    assert d.dtype == np.float64
    assert d.tolist() == [[-1.0, 255 / 256], [1 / 256, -1 / 256]]


def _kps(rng, K=10, P=8):
    return quantise_keypoints(rng.uniform(-1, 1, (K, 2)), P)


def _pair():
    return GfvState(), GfvState()


def _send(enc, dec, *args, **kw):
    payload, m = encode_gfv_payload(enc, *args, **kw)
    return m, dec.decode_payload(payload)


def test_prediction_chain_base_run_newbase():
    rng = np.random.default_rng(1)
    enc, dec = _pair()
    k0 = _kps(rng)
    m, out = _send(enc, dec, 0, k0, 8, base_picture=True, uri_tag="sha256:abc", uri="urn:hdac-hf:model")
    assert (m.gfv_cnt, m.gfv_base_picture_flag, m.gfv_nn_present_flag, m.gfv_nn_mode_idc) == (0, 1, 1, 1)
    assert m.gfv_kps_pred_flag == 1
    # intra-message prediction: keypoint i from keypoint i - 1
    assert m.gfv_coordinate_x[0] == k0[0, 0]
    assert m.gfv_coordinate_x[3] == k0[3, 0] - k0[2, 0]
    assert out.base_picture and out.fusion_flag is None and m.gfv_fusion_pic_flag is None
    assert np.array_equal(out.keypoints, k0)

    k1 = np.clip(k0 + 3, -256, 256)
    m, out = _send(enc, dec, 0, k1, 8, base_picture=False, fusion_flag=1)
    assert m.gfv_cnt == 0 and m.gfv_kps_pred_flag == 1 and m.gfv_fusion_pic_flag == 1
    assert m.gfv_coordinate_x == (k1[:, 0] - k0[:, 0]).tolist()        # from the base picture
    assert out.fusion_flag == 1 and np.array_equal(out.keypoints, k1)

    k2 = np.clip(k1 - 2, -256, 256)
    m, out = _send(enc, dec, 0, k2, 8, base_picture=False, fusion_flag=1)
    assert m.gfv_cnt == 1 and m.gfv_fusion_pic_flag is None             # not present, persists
    assert m.gfv_coordinate_y == (k2[:, 1] - k1[:, 1]).tolist()        # from the previous message
    assert out.fusion_flag == 1 and np.array_equal(out.keypoints, k2)

    k3 = np.clip(k2 + 1, -256, 256)
    m, out = _send(enc, dec, 0, k3, 8, base_picture=False, fusion_flag=1)
    assert m.gfv_cnt == 2 and np.array_equal(out.keypoints, k3)

    # new base picture resets the run; next non-base message predicts from the new base
    k4 = _kps(rng)
    m, out = _send(enc, dec, 0, k4, 8, base_picture=True, uri="urn:x")
    assert m.gfv_cnt == 0 and m.gfv_base_picture_flag == 1
    k5 = np.clip(k4 - 1, -256, 256)
    m, out = _send(enc, dec, 0, k5, 8, base_picture=False, fusion_flag=1)
    assert m.gfv_cnt == 0
    assert m.gfv_coordinate_x == (k5[:, 0] - k4[:, 0]).tolist()
    assert np.array_equal(out.keypoints, k5)


def test_fusion_flag_persistence_and_new_runs():
    rng = np.random.default_rng(2)
    enc, dec = _pair()
    k = _kps(rng)
    _send(enc, dec, 0, k, 8, base_picture=True)
    cnts, coded, flags = [], [], []
    for f in [0, 0, 0, 1, 1, 0]:
        m, out = _send(enc, dec, 0, k, 8, base_picture=False, fusion_flag=f)
        cnts.append(m.gfv_cnt)
        coded.append(m.gfv_fusion_pic_flag)
        flags.append(out.fusion_flag)
        assert out.sei.gfv_fusion_pic_flag == m.gfv_fusion_pic_flag    # parsed message: None when absent
    assert cnts == [0, 1, 2, 0, 1, 0]
    # the encoder starts a new run (gfv_cnt = 0) whenever the fusion decision changes, since
    # gfv_fusion_pic_flag is coded only with gfv_cnt = 0
    assert coded == [0, None, None, 1, None, 0]
    assert flags == [0, 0, 0, 1, 1, 0]
    # a base picture ends the run; the next non-base message starts a new one
    _send(enc, dec, 0, k, 8, base_picture=True)
    m, out = _send(enc, dec, 0, k, 8, base_picture=False, fusion_flag=0)
    assert (m.gfv_cnt, m.gfv_fusion_pic_flag, out.fusion_flag) == (0, 0, 0)


def _payload_msg(gfv_id, cnt, fusion, base=0):
    return GfvSei(gfv_id=gfv_id, gfv_cnt=cnt, gfv_base_picture_flag=base, gfv_fusion_pic_flag=fusion,
                  gfv_coordinate_present_flag=1, gfv_num_kps_minus1=0, gfv_coordinate_precision_factor_minus1=7,
                  gfv_coordinate_x=[cnt], gfv_coordinate_y=[-cnt])


def test_fusion_flag_persists_per_gfv_id_from_payloads():
    # hand-written bitstream: FusionFlag of a message with gfv_cnt > 0 is the gfv_fusion_pic_flag of the
    # last non-base message with gfv_cnt = 0 of the same gfv_id
    ctx = GfvSyntaxContext()
    seq = [_payload_msg(0, 0, None, base=1), _payload_msg(1, 0, None, base=1),
           _payload_msg(0, 0, 1), _payload_msg(1, 0, 0), _payload_msg(0, 1, None), _payload_msg(1, 1, None),
           _payload_msg(0, 0, 0), _payload_msg(0, 1, None), _payload_msg(1, 2, None),
           _payload_msg(0, 0, 1), _payload_msg(0, 1, None), _payload_msg(0, 2, None)]
    payloads = [write_gfv_sei(m, ctx) for m in seq]
    dec = GfvState()
    got = []
    for p in payloads:
        out = dec.decode_payload(p)
        assert out.sei.gfv_fusion_pic_flag == (None if out.base_picture or out.gfv_cnt else out.fusion_flag)
        got.append((out.gfv_id, out.gfv_cnt, out.fusion_flag))
    assert got == [(0, 0, None), (1, 0, None), (0, 0, 1), (1, 0, 0), (0, 1, 1), (1, 1, 0),
                   (0, 0, 0), (0, 1, 0), (1, 2, 0), (0, 0, 1), (0, 1, 1), (0, 2, 1)]


def _msg(gfv_id, cnt, fusion, x, y, P=8, pred=1, base=0):
    return GfvSei(gfv_id=gfv_id, gfv_cnt=cnt, gfv_base_picture_flag=base, gfv_fusion_pic_flag=fusion,
                  gfv_coordinate_present_flag=1, gfv_kps_pred_flag=pred,
                  gfv_coordinate_precision_factor_minus1=P - 1, gfv_num_kps_minus1=len(x) - 1,
                  gfv_coordinate_x=list(x), gfv_coordinate_y=list(y))


def test_decoder_state_errors():
    dec = GfvState()
    with pytest.raises(BitstreamError, match="no base picture"):
        dec.decode_message(_msg(0, 0, 0, [1], [1], pred=0))
    dec.decode_message(_msg(0, 0, None, [10, 1], [10, 1], base=1))
    with pytest.raises(BitstreamError, match="expected 1"):
        dec.decode_message(_msg(0, 2, None, [1, 1], [1, 1]))    # the base picture's run goes on at gfv_cnt 1
    with pytest.raises(BitstreamError, match="gfv_cnt = 0 needs 0 or 1"):
        dec.decode_message(_msg(0, 0, None, [1, 1], [-1, -1]))   # flag missing where it is present
    out = dec.decode_message(_msg(0, 0, 1, [1, 1], [-1, -1]))
    assert out.keypoints.tolist() == [[11, 9], [12, 10]] and out.fusion_flag == 1
    with pytest.raises(BitstreamError, match="expected 1"):
        dec.decode_message(_msg(0, 2, None, [0, 0], [0, 0]))    # lost message
    # failed messages left the state unchanged; FusionFlag persists from gfv_cnt = 0
    out = dec.decode_message(_msg(0, 1, None, [0, 1], [0, 0]))
    assert out.keypoints.tolist() == [[11, 9], [13, 10]] and out.fusion_flag == 1
    # prediction across precisions is not allowed
    dec.decode_message(_msg(0, 2, None, [3, 3], [3, 3], P=9, pred=0))
    with pytest.raises(BitstreamError, match="precisions"):
        dec.decode_message(_msg(0, 3, None, [0, 0], [0, 0], P=8))
    # out-of-range reconstruction
    with pytest.raises(BitstreamError, match="outside"):
        dec.decode_message(_msg(0, 3, None, [600, 0], [0, 0], P=9, pred=0))
    # new base picture: it starts a run (FusionFlag 0), which a message with gfv_cnt 1 may continue
    dec.decode_message(_msg(0, 0, None, [0, 0], [0, 0], base=1))
    with pytest.raises(BitstreamError, match="expected 1"):
        dec.decode_message(_msg(0, 3, None, [0, 0], [0, 0]))
    snapshot = dec.id_state(0)
    out = dec.decode_message(_msg(0, 1, None, [2, 0], [0, 0]))
    assert out.fusion_flag == 0 and out.keypoints.tolist() == [[2, 0], [0, 0]]   # predicted from the base picture
    dec._ids[0] = snapshot
    # other gfv_id has its own state
    with pytest.raises(BitstreamError, match="no base picture"):
        dec.decode_message(_msg(1, 0, 0, [0, 0], [0, 0], pred=0))
    # a new run after the base picture sets FusionFlag again
    out = dec.decode_message(_msg(0, 0, 0, [0, 0], [0, 0]))
    assert out.fusion_flag == 0
    assert dec.decode_message(_msg(0, 1, None, [0, 0], [0, 0])).fusion_flag == 0


def test_encoder_switches_off_prediction_when_parameters_change():
    rng = np.random.default_rng(3)
    enc, dec = _pair()
    _send(enc, dec, 0, _kps(rng, P=8), 8, base_picture=True)
    k = _kps(rng, P=10)
    m, out = _send(enc, dec, 0, k, 10, base_picture=False, fusion_flag=0)
    assert m.gfv_kps_pred_flag == 0 and m.gfv_coordinate_precision_factor_minus1 == 9
    assert np.array_equal(out.keypoints, k) and out.precision == 10
    k2 = _kps(rng, P=8)
    m, out = _send(enc, dec, 0, k2, 8, base_picture=False, fusion_flag=0)
    assert m.gfv_cnt == 1 and m.gfv_kps_pred_flag == 0   # previous message has another precision
    m, out = _send(enc, dec, 0, k2, 8, base_picture=False, fusion_flag=0)
    assert m.gfv_cnt == 2 and m.gfv_kps_pred_flag == 1
    assert m.gfv_coordinate_x == [0] * 10


def test_encoder_needs_base_picture():
    enc = GfvState()
    with pytest.raises(BitstreamError):
        build_gfv_message(enc, 0, np.zeros((10, 2), dtype=np.int64), 8, base_picture=False)
    with pytest.raises(InputError):
        build_gfv_message(enc, 0, np.zeros((10, 2)), 8, base_picture=True)


def test_z_coordinates_round_trip():
    rng = np.random.default_rng(4)
    enc, dec = _pair()
    k = quantise_keypoints(rng.uniform(-1, 1, (5, 3)), 6)
    m, out = _send(enc, dec, 7, k, 6, base_picture=True, z_max_value_minus1=0)
    assert m.gfv_coordinate_z_present_flag == 1 and np.array_equal(out.keypoints, k)
    k2 = np.clip(k + 1, -64, 64)
    m, out = _send(enc, dec, 7, k2, 6, base_picture=False, fusion_flag=1)
    assert m.gfv_kps_pred_flag == 1 and np.array_equal(out.keypoints, k2)
    assert out.keypoints_float().tolist() == (k2 / 64).tolist()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_sequences_encoder_decoder_agree(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    enc, dec = _pair()
    K = data.draw(st.integers(1, 12))
    n = data.draw(st.integers(1, 12))
    wt, rt = [], []
    for i in range(n):
        base = i == 0 or data.draw(st.booleans())
        P = data.draw(st.sampled_from([6, 8, 10]))
        k = quantise_keypoints(rng.uniform(-1, 1, (K, 2)), P)
        fusion = data.draw(st.integers(0, 1))
        payload, m = encode_gfv_payload(enc, 0, k, P, trace=wt, base_picture=base, fusion_flag=fusion,
                                        kps_pred=data.draw(st.booleans()))
        out = dec.decode_payload(payload, trace=rt)
        assert np.array_equal(out.keypoints, k) and out.precision == P
        assert (m.gfv_fusion_pic_flag is None) == (base or m.gfv_cnt > 0)
        assert out.fusion_flag == (None if base else fusion)
    assert wt == rt
