"""SliceQpY from HEVC parameter sets and slice segment headers (CommonLib.syntax.hevc_slice_qp)."""
from fractions import Fraction

import numpy as np
import pytest

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.bit_io import SyntaxWriter
from Utilities.errors import BitstreamError
from CommonLib.syntax.hevc_slice_qp import SliceQpParser, ceil_log2, parse_sps
from Utilities.video_io import YuvPicture
from CommonLib.syntax.access_units import split_access_units


def _pictures(n, w=64, h=64, seed=1):
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 255, (h + 8, w + 8), dtype=np.uint8)
    for i in range(n):
        yield YuvPicture(texture[i % 8:i % 8 + h, i % 5:i % 5 + w].copy(), np.full((h // 2, w // 2), 128, np.uint8),
                         np.full((h // 2, w // 2), 120, np.uint8))


def _qps(data):
    parser = SliceQpParser()
    return [parser.access_unit(au.nal_units) for au in split_access_units(data, nu.HEVC)]


def _x265(n, **kw):
    from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
    enc = X265BaseLayerEncoder(64, 64, Fraction(25), 27, 44, 4, **kw)
    data = b"".join(b"".join(enc.encode(p)) for p in _pictures(n))
    return data + b"".join(enc.flush())


def test_constant_qp_stream_of_the_base_layer_encoder():
    # IntraPeriod 4: IRAP pictures at IntraQP 27, the others at BaseLayerQP 44
    assert _qps(_x265(8)) == [27, 44, 44, 44, 27, 44, 44, 44]


def test_per_picture_qps_of_the_cascade():
    qps = [22, 40, 41, 39, 45, 33, 44, 50]
    assert _qps(_x265(8, picture_qps=qps)) == qps


def test_b_slices_weighted_prediction_scaling_lists_and_reference_sets():
    """x265 with B pictures (reordered), weighted prediction, scaling lists and 3 references; one zone per
    picture sets QPs that rise by 3 in coding order (zone j + 1 governs the j-th coded picture, the last
    picture takes the rate-control QP 30), so a slice header parsed one bit off would show up."""
    import av
    cc = av.CodecContext.create("libx265", "w")
    cc.width = cc.height = 64
    cc.pix_fmt = "yuv420p"
    cc.time_base = Fraction(1, 25)
    zones = "/".join(f"{i},{i},q={20 + 3 * i}" for i in range(10))
    cc.options = {"x265-params": "qp=30:ipratio=1:pbratio=1:bframes=3:b-adapt=0:weightp=1:weightb=1:"
                                 f"scaling-list=default:ref=3:keyint=8:zones={zones}:log-level=error",
                  "preset": "medium"}
    cc.open()
    data = b""
    for i, p in enumerate(_pictures(10)):
        f = av.VideoFrame.from_ndarray(p.packed().reshape(-1, 64), format="yuv420p")
        f.pts = i
        data += b"".join(bytes(x) for x in cc.encode(f))
    data += b"".join(bytes(x) for x in cc.encode(None))
    parser = SliceQpParser()
    headers = []
    for au in split_access_units(data, nu.HEVC):
        parser.access_unit(au.nal_units)
        vcl = [n for n in au.nal_units if nu.is_vcl(nu.parse_nal_header(n, nu.HEVC).nal_unit_type, nu.HEVC)]
        headers.append(parser.slice_header(vcl[0]))
    assert [h.slice_qp_y for h in headers] == [23, 26, 29, 32, 35, 38, 41, 44, 47, 30]
    assert 0 in {h.slice_type for h in headers}                                   # B slices were parsed
    assert [h.slice_pic_order_cnt_lsb for h in headers] != sorted(h.slice_pic_order_cnt_lsb for h in headers)


# --- constructed parameter sets: the syntax x265 does not use ---------------------------------------

def _nal(nal_type, write):
    w = SyntaxWriter()
    write(w)
    w.u("rbsp_stop_one_bit", 1, 1)
    while not w.byte_aligned():
        w.u("rbsp_alignment_zero_bit", 1, 0)
    return nu.make_nal_unit(nu.HEVC, nal_type, w.getvalue())


def _ptl(w, profile_idc=1):
    w.u("general_profile_space", 2, 0)
    w.u("general_tier_flag", 1, 0)
    w.u("general_profile_idc", 5, profile_idc)
    w.u("general_profile_compatibility_flags", 32, 1 << (31 - profile_idc))
    w.u("general_constraint_flags", 48, 0)
    w.u("general_level_idc", 8, 93)


def _sps(w, profile_idc=1):
    w.u("sps_video_parameter_set_id", 4, 0)
    w.u("sps_max_sub_layers_minus1", 3, 1)           # two sub-layers: sub-layer PTL syntax
    w.u("sps_temporal_id_nesting_flag", 1, 1)
    _ptl(w, profile_idc)
    w.u("sub_layer_profile_present_flag", 1, 1)
    w.u("sub_layer_level_present_flag", 1, 1)
    for _ in range(1, 8):
        w.u("reserved_zero_2bits", 2, 0)
    w.u("sub_layer_profile", 88, 0)
    w.u("sub_layer_level_idc", 8, 90)
    w.ue("sps_seq_parameter_set_id", 3)
    w.ue("chroma_format_idc", 1)
    w.ue("pic_width_in_luma_samples", 416)
    w.ue("pic_height_in_luma_samples", 240)
    w.u("conformance_window_flag", 1, 0)
    w.ue("bit_depth_luma_minus8", 2)                 # 10 bit: SliceQpY may go down to -12
    w.ue("bit_depth_chroma_minus8", 2)
    w.ue("log2_max_pic_order_cnt_lsb_minus4", 4)     # 8-bit POC LSBs
    w.u("sps_sub_layer_ordering_info_present_flag", 1, 1)
    for _ in range(2):
        w.ue("sps_max_dec_pic_buffering_minus1", 4)
        w.ue("sps_max_num_reorder_pics", 0)
        w.ue("sps_max_latency_increase_plus1", 0)
    w.ue("log2_min_luma_coding_block_size_minus3", 0)
    w.ue("log2_diff_max_min_luma_coding_block_size", 3)   # CTB 64: 7 x 4 = 28 CTBs
    w.ue("log2_min_luma_transform_block_size_minus2", 0)
    w.ue("log2_diff_max_min_luma_transform_block_size", 3)
    w.ue("max_transform_hierarchy_depth_inter", 1)
    w.ue("max_transform_hierarchy_depth_intra", 1)
    w.u("scaling_list_enabled_flag", 1, 1)
    w.u("sps_scaling_list_data_present_flag", 1, 1)
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            explicit = (size_id + matrix_id) % 2
            w.u("scaling_list_pred_mode_flag", 1, explicit)
            if not explicit:
                w.ue("scaling_list_pred_matrix_id_delta", 0)
                continue
            if size_id > 1:
                w.se("scaling_list_dc_coef_minus8", -3)
            for i in range(min(64, 1 << (4 + (size_id << 1)))):
                w.se("scaling_list_delta_coef", (i % 3) - 1)
    w.u("amp_enabled_flag", 1, 1)
    w.u("sample_adaptive_offset_enabled_flag", 1, 1)
    w.u("pcm_enabled_flag", 1, 1)
    w.u("pcm_sample_bit_depth_luma_minus1", 4, 7)
    w.u("pcm_sample_bit_depth_chroma_minus1", 4, 7)
    w.ue("log2_min_pcm_luma_coding_block_size_minus3", 0)
    w.ue("log2_diff_max_min_pcm_luma_coding_block_size", 1)
    w.u("pcm_loop_filter_disabled_flag", 1, 0)
    w.ue("num_short_term_ref_pic_sets", 3)
    # set 0: explicit, negative -1 (used), -3 (not used), positive +2 (used)
    w.ue("num_negative_pics", 2)
    w.ue("num_positive_pics", 1)
    w.ue("delta_poc_s0_minus1", 0)
    w.u("used_by_curr_pic_s0_flag", 1, 1)
    w.ue("delta_poc_s0_minus1", 1)
    w.u("used_by_curr_pic_s0_flag", 1, 0)
    w.ue("delta_poc_s1_minus1", 1)
    w.u("used_by_curr_pic_s1_flag", 1, 1)
    # set 1: predicted from set 0 with deltaRps = -1
    w.u("inter_ref_pic_set_prediction_flag", 1, 1)
    w.u("delta_rps_sign", 1, 1)
    w.ue("abs_delta_rps_minus1", 0)
    for used, use_delta in ((1, 1), (0, 1), (1, 1), (0, 0)):     # entries -1, -3, +2 and set 0's own picture
        w.u("used_by_curr_pic_flag", 1, used)
        if not used:
            w.u("use_delta_flag", 1, use_delta)
    # set 2: explicit, one negative picture
    w.u("inter_ref_pic_set_prediction_flag", 1, 0)
    w.ue("num_negative_pics", 1)
    w.ue("num_positive_pics", 0)
    w.ue("delta_poc_s0_minus1", 0)
    w.u("used_by_curr_pic_s0_flag", 1, 1)
    w.u("long_term_ref_pics_present_flag", 1, 1)
    w.ue("num_long_term_ref_pics_sps", 3)
    for i in range(3):
        w.u("lt_ref_pic_poc_lsb_sps", 8, 10 * i)
        w.u("used_by_curr_pic_lt_sps_flag", 1, i % 2)
    w.u("sps_temporal_mvp_enabled_flag", 1, 1)
    w.u("strong_intra_smoothing_enabled_flag", 1, 1)
    w.u("vui_parameters_present_flag", 1, 0)
    w.u("sps_extension_present_flag", 1, 0)


def _pps(w, init_qp_minus26=-4):
    w.ue("pps_pic_parameter_set_id", 5)
    w.ue("pps_seq_parameter_set_id", 3)
    w.u("dependent_slice_segments_enabled_flag", 1, 1)
    w.u("output_flag_present_flag", 1, 1)
    w.u("num_extra_slice_header_bits", 3, 2)
    w.u("sign_data_hiding_enabled_flag", 1, 0)
    w.u("cabac_init_present_flag", 1, 1)
    w.ue("num_ref_idx_l0_default_active_minus1", 1)
    w.ue("num_ref_idx_l1_default_active_minus1", 0)
    w.se("init_qp_minus26", init_qp_minus26)
    w.u("constrained_intra_pred_flag", 1, 0)
    w.u("transform_skip_enabled_flag", 1, 1)
    w.u("cu_qp_delta_enabled_flag", 1, 1)
    w.ue("diff_cu_qp_delta_depth", 1)
    w.se("pps_cb_qp_offset", -2)
    w.se("pps_cr_qp_offset", 3)
    w.u("pps_slice_chroma_qp_offsets_present_flag", 1, 0)
    w.u("weighted_pred_flag", 1, 1)
    w.u("weighted_bipred_flag", 1, 1)
    w.u("transquant_bypass_enabled_flag", 1, 0)
    w.u("tiles_enabled_flag", 1, 1)
    w.u("entropy_coding_sync_enabled_flag", 1, 0)
    w.ue("num_tile_columns_minus1", 1)
    w.ue("num_tile_rows_minus1", 1)
    w.u("uniform_spacing_flag", 1, 0)
    w.ue("column_width_minus1", 2)
    w.ue("row_height_minus1", 1)
    w.u("loop_filter_across_tiles_enabled_flag", 1, 1)
    w.u("pps_loop_filter_across_slices_enabled_flag", 1, 1)
    w.u("deblocking_filter_control_present_flag", 1, 1)
    w.u("deblocking_filter_override_enabled_flag", 1, 1)
    w.u("pps_deblocking_filter_disabled_flag", 1, 0)
    w.se("pps_beta_offset_div2", -1)
    w.se("pps_tc_offset_div2", 2)
    w.u("pps_scaling_list_data_present_flag", 1, 0)
    w.u("lists_modification_present_flag", 1, 1)
    w.ue("log2_parallel_merge_level_minus2", 0)
    w.u("slice_segment_header_extension_present_flag", 1, 0)
    w.u("pps_extension_present_flag", 1, 0)


def _b_slice(w, slice_qp_delta):
    """A TRAIL_R B slice: inline st_ref_pic_set predicted from SPS set 2, long-term pictures from the
    SPS and explicit, list modification, weighted bi-prediction."""
    w.u("first_slice_segment_in_pic_flag", 1, 1)
    w.ue("slice_pic_parameter_set_id", 5)
    w.u("slice_reserved_flag", 1, 0)
    w.u("slice_reserved_flag", 1, 1)
    w.ue("slice_type", 0)
    w.u("pic_output_flag", 1, 1)
    w.u("slice_pic_order_cnt_lsb", 8, 37)
    w.u("short_term_ref_pic_set_sps_flag", 1, 0)
    w.u("inter_ref_pic_set_prediction_flag", 1, 1)
    w.ue("delta_idx_minus1", 2)                      # RefRpsIdx = 3 - 3 = 0: set 0 (-1, -3, +2)
    w.u("delta_rps_sign", 1, 0)
    w.ue("abs_delta_rps_minus1", 0)                  # deltaRps = +1: -1 -> 0 (dropped), -3 -> -2, +2 -> +3, own -> +1
    for used in (1, 1, 1, 1):
        w.u("used_by_curr_pic_flag", 1, used)
    w.ue("num_long_term_sps", 2)
    w.ue("num_long_term_pics", 1)
    w.u("lt_idx_sps", 2, 1)                          # used_by_curr_pic_lt_sps_flag[1] = 1
    w.u("delta_poc_msb_present_flag", 1, 0)
    w.u("lt_idx_sps", 2, 2)                          # flag 0
    w.u("delta_poc_msb_present_flag", 1, 1)
    w.ue("delta_poc_msb_cycle_lt", 1)
    w.u("poc_lsb_lt", 8, 200)
    w.u("used_by_curr_pic_lt_flag", 1, 1)
    w.u("delta_poc_msb_present_flag", 1, 0)
    w.u("slice_temporal_mvp_enabled_flag", 1, 1)
    w.u("slice_sao_luma_flag", 1, 1)
    w.u("slice_sao_chroma_flag", 1, 0)
    w.u("num_ref_idx_active_override_flag", 1, 1)
    w.ue("num_ref_idx_l0_active_minus1", 2)
    w.ue("num_ref_idx_l1_active_minus1", 1)
    # NumPicTotalCurr = 3 short-term (-2, +1, +3) + 2 long-term = 5: list_entry has 3 bits
    w.u("ref_pic_list_modification_flag_l0", 1, 1)
    for v in (4, 0, 2):
        w.u("list_entry_l0", 3, v)
    w.u("ref_pic_list_modification_flag_l1", 1, 0)
    w.u("mvd_l1_zero_flag", 1, 0)
    w.u("cabac_init_flag", 1, 1)
    w.u("collocated_from_l0_flag", 1, 0)
    w.ue("collocated_ref_idx", 1)
    w.ue("luma_log2_weight_denom", 6)
    w.se("delta_chroma_log2_weight_denom", -1)
    for n, lx in ((3, "l0"), (2, "l1")):
        luma = [1, 0, 1][:n]
        chroma = [0, 1, 1][:n]
        for f in luma:
            w.u(f"luma_weight_{lx}_flag", 1, f)
        for f in chroma:
            w.u(f"chroma_weight_{lx}_flag", 1, f)
        for i in range(n):
            if luma[i]:
                w.se("delta_luma_weight", -5)
                w.se("luma_offset", 7)
            if chroma[i]:
                for _ in range(2):
                    w.se("delta_chroma_weight", 3)
                    w.se("delta_chroma_offset", -20)
    w.ue("five_minus_max_num_merge_cand", 2)
    w.se("slice_qp_delta", slice_qp_delta)
    w.u("slice_loop_filter_across_slices_enabled_flag", 1, 1)   # after the QP: not parsed


def test_constructed_parameter_sets_and_b_slice_header():
    sps, pps = _nal(nu.HEVC_SPS, _sps), _nal(nu.HEVC_PPS, _pps)
    s = parse_sps(nu.nal_payload_rbsp(sps, nu.HEVC))
    assert s.pic_size_in_ctbs_y == 28 and s.qp_bd_offset_y == 12 and s.num_long_term_ref_pics_sps == 3
    assert [(r.delta_poc_s0, r.used_s0, r.delta_poc_s1, r.used_s1) for r in s.st_rps] == [
        ([-1, -3], [1, 0], [2], [1]),
        ([-2, -4], [1, 0], [1], [1]),     # set 0 shifted by -1; set 0's own picture (use_delta 0) dropped
        ([-1], [1], [], [])]
    parser = SliceQpParser()
    for delta in (-30, 0, 17):
        slice_nal = _nal(1, lambda w: _b_slice(w, delta))
        assert parser.access_unit([sps, pps, slice_nal]) == 22 + delta
    hdr = parser.slice_header(_nal(1, lambda w: _b_slice(w, 5)))
    assert (hdr.slice_type, hdr.slice_pic_order_cnt_lsb, hdr.slice_qp_y) == (0, 37, 27)


def test_errors_are_bitstream_errors():
    sps, pps = _nal(nu.HEVC_SPS, _sps), _nal(nu.HEVC_PPS, _pps)
    slice_nal = _nal(1, lambda w: _b_slice(w, 0))
    with pytest.raises(BitstreamError, match="PPS 5"):
        SliceQpParser().access_unit([slice_nal])
    with pytest.raises(BitstreamError, match="truncated"):
        SliceQpParser().access_unit([sps[:20]])
    with pytest.raises(BitstreamError, match="truncated"):
        SliceQpParser().access_unit([sps, pps, slice_nal[:12]])
    with pytest.raises(BitstreamError, match="SliceQpY -14"):      # below -QpBdOffsetY = -12
        SliceQpParser().access_unit([sps, pps, _nal(1, lambda w: _b_slice(w, -36))])
    with pytest.raises(BitstreamError, match="screen-content"):
        SliceQpParser().access_unit([_nal(nu.HEVC_SPS, lambda w: _sps(w, profile_idc=9))])
    with pytest.raises(BitstreamError, match="without a slice"):
        SliceQpParser().access_unit([sps, pps])


def test_ceil_log2():
    assert [ceil_log2(n) for n in (1, 2, 3, 4, 5, 28, 64, 65)] == [0, 1, 2, 2, 3, 5, 6, 7]
