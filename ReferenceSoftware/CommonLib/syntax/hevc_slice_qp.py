"""SliceQpY of HEVC pictures: the parameter-set and slice-segment-header syntax
up to ``slice_qp_delta`` (H.265 (V10) 7.3.2.2.1, 7.3.2.3.1, 7.3.3, 7.3.4,
7.3.6.1, 7.3.6.2, 7.3.6.3, 7.3.7; semantics 7.4.7.1 eq. 7-54).

The residual scaling of the generated pictures (doc/decoding_process.md,
clause "Residual scaling") depends on the QP of the base-layer picture::

    SliceQpY = 26 + init_qp_minus26 + slice_qp_delta

taken from the first slice segment of the picture. Only what that needs is
parsed: the SPS up to ``sps_temporal_mvp_enabled_flag``, the PPS up to
``slice_segment_header_extension_present_flag`` and the slice segment header
up to ``slice_qp_delta``. Profiles: Main, Main 10, Main Still Picture and the
range extensions (a screen-content coding profile, where
``use_integer_mv_flag`` may precede ``slice_qp_delta``, is refused).

Element names are those of H.265, so a trace can be diffed against HM's.
All errors on bad data are :class:`BitstreamError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.bit_io import SyntaxReader, trace_line
from CommonLib.syntax.slice_qp import SliceQpParserBase
from Utilities.errors import BitstreamError

__all__ = ["Sps", "Pps", "StRefPicSet", "SliceHeaderStart", "SliceQpParser", "ceil_log2"]

P_SLICE, B_SLICE, I_SLICE = 1, 0, 2


def ceil_log2(n: int) -> int:
    """Ceil( Log2( n ) ) for n >= 1."""
    return (n - 1).bit_length()


@dataclass
class StRefPicSet:
    """Derived variables of one st_ref_pic_set( ) (7.4.8, eqs. 7-61 .. 7-64)."""
    delta_poc_s0: list = field(default_factory=list)
    used_s0: list = field(default_factory=list)
    delta_poc_s1: list = field(default_factory=list)
    used_s1: list = field(default_factory=list)

    @property
    def num_delta_pocs(self) -> int:
        return len(self.delta_poc_s0) + len(self.delta_poc_s1)

    @property
    def num_used(self) -> int:
        return sum(self.used_s0) + sum(self.used_s1)


@dataclass
class Sps:
    sps_seq_parameter_set_id: int
    chroma_array_type: int
    separate_colour_plane_flag: int
    pic_size_in_ctbs_y: int
    log2_max_pic_order_cnt_lsb: int
    sample_adaptive_offset_enabled_flag: int
    st_rps: list
    long_term_ref_pics_present_flag: int
    num_long_term_ref_pics_sps: int
    used_by_curr_pic_lt_sps_flag: list
    sps_temporal_mvp_enabled_flag: int
    qp_bd_offset_y: int


@dataclass
class Pps:
    pps_pic_parameter_set_id: int
    pps_seq_parameter_set_id: int
    dependent_slice_segments_enabled_flag: int
    output_flag_present_flag: int
    num_extra_slice_header_bits: int
    cabac_init_present_flag: int
    num_ref_idx_l0_default_active_minus1: int
    num_ref_idx_l1_default_active_minus1: int
    init_qp_minus26: int
    weighted_pred_flag: int
    weighted_bipred_flag: int
    lists_modification_present_flag: int


@dataclass
class SliceHeaderStart:
    """What the slice segment header carries up to slice_qp_delta that callers use."""
    slice_type: int
    slice_pic_order_cnt_lsb: int          # 0 for IDR pictures
    slice_qp_y: int                       # eq. 7-54


def _profile_tier_level(r: SyntaxReader, max_sub_layers_minus1: int) -> None:
    """7.3.3 with profilePresentFlag = 1: 88 bits of general profile, the level, sub-layer parts."""
    r.u("general_profile_space", 2)
    r.flag("general_tier_flag")
    profile_idc = r.u("general_profile_idc", 5)
    compat = r.u("general_profile_compatibility_flags", 32)
    if profile_idc == 9 or compat & (1 << (31 - 9)):
        raise BitstreamError("HEVC SPS: screen-content coding profiles are not supported (use_integer_mv_flag)")
    r.u("general_constraint_flags", 48)        # progressive .. inbld / reserved: 4 + 43 + 1 bits
    r.u("general_level_idc", 8)
    prof, lev = [], []
    for i in range(max_sub_layers_minus1):
        prof.append(r.flag(f"sub_layer_profile_present_flag[{i}]"))
        lev.append(r.flag(f"sub_layer_level_present_flag[{i}]"))
    if max_sub_layers_minus1 > 0:
        for i in range(max_sub_layers_minus1, 8):
            r.u(f"reserved_zero_2bits[{i}]", 2)
    for i in range(max_sub_layers_minus1):
        if prof[i]:
            r.u(f"sub_layer_profile[{i}]", 88)
        if lev[i]:
            r.u(f"sub_layer_level_idc[{i}]", 8)


def _scaling_list_data(r: SyntaxReader) -> None:
    """7.3.4 (values not kept: they do not affect SliceQpY)."""
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            if not r.flag(f"scaling_list_pred_mode_flag[{size_id}][{matrix_id}]"):
                r.ue(f"scaling_list_pred_matrix_id_delta[{size_id}][{matrix_id}]")
                continue
            if size_id > 1:
                r.se(f"scaling_list_dc_coef_minus8[{size_id - 2}][{matrix_id}]")
            for i in range(min(64, 1 << (4 + (size_id << 1)))):
                r.se("scaling_list_delta_coef")


def _st_ref_pic_set(r: SyntaxReader, idx: int, num_sets: int, sets: list) -> StRefPicSet:
    """7.3.7 and the derivation of DeltaPocS0/S1, UsedByCurrPicS0/S1 (eqs. 7-61 .. 7-64).

    ``sets`` holds the sets 0 .. idx-1 of the SPS; idx == num_sets is the set of a slice header."""
    pred = r.flag("inter_ref_pic_set_prediction_flag") if idx != 0 else 0
    rps = StRefPicSet()
    if pred:
        delta_idx_minus1 = r.ue("delta_idx_minus1") if idx == num_sets else 0
        if delta_idx_minus1 + 1 > idx:
            raise BitstreamError(f"delta_idx_minus1 {delta_idx_minus1} refers before the first st_ref_pic_set")
        sign = r.flag("delta_rps_sign")
        abs_minus1 = r.ue("abs_delta_rps_minus1")
        if abs_minus1 > (1 << 15) - 1:
            raise BitstreamError(f"abs_delta_rps_minus1 {abs_minus1} out of range")
        delta_rps = (1 - 2 * sign) * (abs_minus1 + 1)
        ref = sets[idx - (delta_idx_minus1 + 1)]
        n_ref = ref.num_delta_pocs
        used, use_delta = [], []
        for j in range(n_ref + 1):
            u = r.flag(f"used_by_curr_pic_flag[{j}]")
            used.append(u)
            use_delta.append(1 if u else r.flag(f"use_delta_flag[{j}]"))
        n_neg = len(ref.delta_poc_s0)
        for j in range(len(ref.delta_poc_s1) - 1, -1, -1):           # eq. 7-61
            d = ref.delta_poc_s1[j] + delta_rps
            if d < 0 and use_delta[n_neg + j]:
                rps.delta_poc_s0.append(d)
                rps.used_s0.append(used[n_neg + j])
        if delta_rps < 0 and use_delta[n_ref]:
            rps.delta_poc_s0.append(delta_rps)
            rps.used_s0.append(used[n_ref])
        for j in range(n_neg):
            d = ref.delta_poc_s0[j] + delta_rps
            if d < 0 and use_delta[j]:
                rps.delta_poc_s0.append(d)
                rps.used_s0.append(used[j])
        for j in range(n_neg - 1, -1, -1):                           # eq. 7-62
            d = ref.delta_poc_s0[j] + delta_rps
            if d > 0 and use_delta[j]:
                rps.delta_poc_s1.append(d)
                rps.used_s1.append(used[j])
        if delta_rps > 0 and use_delta[n_ref]:
            rps.delta_poc_s1.append(delta_rps)
            rps.used_s1.append(used[n_ref])
        for j in range(len(ref.delta_poc_s1)):
            d = ref.delta_poc_s1[j] + delta_rps
            if d > 0 and use_delta[n_neg + j]:
                rps.delta_poc_s1.append(d)
                rps.used_s1.append(used[n_neg + j])
    else:
        num_neg = r.ue("num_negative_pics")
        num_pos = r.ue("num_positive_pics")
        if num_neg > 16 or num_pos > 16 - num_neg:
            raise BitstreamError(f"st_ref_pic_set with {num_neg} negative and {num_pos} positive pictures")
        poc = 0
        for i in range(num_neg):                                     # eqs. 7-63, 7-65
            poc -= r.ue(f"delta_poc_s0_minus1[{i}]") + 1
            rps.delta_poc_s0.append(poc)
            rps.used_s0.append(r.flag(f"used_by_curr_pic_s0_flag[{i}]"))
        poc = 0
        for i in range(num_pos):                                     # eqs. 7-64, 7-66
            poc += r.ue(f"delta_poc_s1_minus1[{i}]") + 1
            rps.delta_poc_s1.append(poc)
            rps.used_s1.append(r.flag(f"used_by_curr_pic_s1_flag[{i}]"))
    return rps


def parse_sps(rbsp: bytes, trace=None) -> Sps:
    """seq_parameter_set_rbsp( ) (7.3.2.2.1) up to sps_temporal_mvp_enabled_flag."""
    r = SyntaxReader(rbsp, trace, "HEVC SPS")
    r.u("sps_video_parameter_set_id", 4)
    max_sub_layers_minus1 = r.u("sps_max_sub_layers_minus1", 3)
    if max_sub_layers_minus1 > 6:
        raise BitstreamError(f"HEVC SPS: sps_max_sub_layers_minus1 {max_sub_layers_minus1} > 6")
    r.flag("sps_temporal_id_nesting_flag")
    _profile_tier_level(r, max_sub_layers_minus1)
    sps_id = r.ue("sps_seq_parameter_set_id")
    if sps_id > 15:
        raise BitstreamError(f"HEVC SPS: sps_seq_parameter_set_id {sps_id} > 15")
    chroma_format_idc = r.ue("chroma_format_idc")
    if chroma_format_idc > 3:
        raise BitstreamError(f"HEVC SPS: chroma_format_idc {chroma_format_idc} > 3")
    separate = r.flag("separate_colour_plane_flag") if chroma_format_idc == 3 else 0
    width = r.ue("pic_width_in_luma_samples")
    height = r.ue("pic_height_in_luma_samples")
    if r.flag("conformance_window_flag"):
        for name in ("conf_win_left_offset", "conf_win_right_offset", "conf_win_top_offset", "conf_win_bottom_offset"):
            r.ue(name)
    bit_depth_luma = r.ue("bit_depth_luma_minus8") + 8
    r.ue("bit_depth_chroma_minus8")
    log2_max_poc_lsb = r.ue("log2_max_pic_order_cnt_lsb_minus4") + 4
    if log2_max_poc_lsb > 16:
        raise BitstreamError(f"HEVC SPS: log2_max_pic_order_cnt_lsb_minus4 {log2_max_poc_lsb - 4} > 12")
    ordering = r.flag("sps_sub_layer_ordering_info_present_flag")
    for i in range(0 if ordering else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        r.ue(f"sps_max_dec_pic_buffering_minus1[{i}]")
        r.ue(f"sps_max_num_reorder_pics[{i}]")
        r.ue(f"sps_max_latency_increase_plus1[{i}]")
    log2_min_cb = r.ue("log2_min_luma_coding_block_size_minus3") + 3
    log2_ctb = log2_min_cb + r.ue("log2_diff_max_min_luma_coding_block_size")
    if not 4 <= log2_ctb <= 6 or width == 0 or height == 0:
        raise BitstreamError(f"HEVC SPS: CTB size 2^{log2_ctb} or picture size {width}x{height} not allowed")
    r.ue("log2_min_luma_transform_block_size_minus2")
    r.ue("log2_diff_max_min_luma_transform_block_size")
    r.ue("max_transform_hierarchy_depth_inter")
    r.ue("max_transform_hierarchy_depth_intra")
    if r.flag("scaling_list_enabled_flag"):
        if r.flag("sps_scaling_list_data_present_flag"):
            _scaling_list_data(r)
    r.flag("amp_enabled_flag")
    sao = r.flag("sample_adaptive_offset_enabled_flag")
    if r.flag("pcm_enabled_flag"):
        r.u("pcm_sample_bit_depth_luma_minus1", 4)
        r.u("pcm_sample_bit_depth_chroma_minus1", 4)
        r.ue("log2_min_pcm_luma_coding_block_size_minus3")
        r.ue("log2_diff_max_min_pcm_luma_coding_block_size")
        r.flag("pcm_loop_filter_disabled_flag")
    num_sets = r.ue("num_short_term_ref_pic_sets")
    if num_sets > 64:
        raise BitstreamError(f"HEVC SPS: num_short_term_ref_pic_sets {num_sets} > 64")
    sets: list = []
    for i in range(num_sets):
        sets.append(_st_ref_pic_set(r, i, num_sets, sets))
    lt_present = r.flag("long_term_ref_pics_present_flag")
    num_lt, used_lt = 0, []
    if lt_present:
        num_lt = r.ue("num_long_term_ref_pics_sps")
        if num_lt > 32:
            raise BitstreamError(f"HEVC SPS: num_long_term_ref_pics_sps {num_lt} > 32")
        for i in range(num_lt):
            r.u(f"lt_ref_pic_poc_lsb_sps[{i}]", log2_max_poc_lsb)
            used_lt.append(r.flag(f"used_by_curr_pic_lt_sps_flag[{i}]"))
    tmvp = r.flag("sps_temporal_mvp_enabled_flag")
    ctb = 1 << log2_ctb
    size_in_ctbs = ((width + ctb - 1) >> log2_ctb) * ((height + ctb - 1) >> log2_ctb)
    return Sps(sps_id, 0 if separate else chroma_format_idc, separate, size_in_ctbs, log2_max_poc_lsb, sao, sets,
               lt_present, num_lt, used_lt, tmvp, 6 * (bit_depth_luma - 8))


def parse_pps(rbsp: bytes, trace=None) -> Pps:
    """pic_parameter_set_rbsp( ) (7.3.2.3.1) up to lists_modification_present_flag."""
    r = SyntaxReader(rbsp, trace, "HEVC PPS")
    pps_id = r.ue("pps_pic_parameter_set_id")
    sps_id = r.ue("pps_seq_parameter_set_id")
    if pps_id > 63 or sps_id > 15:
        raise BitstreamError(f"HEVC PPS: pps_pic_parameter_set_id {pps_id} / pps_seq_parameter_set_id {sps_id} "
                             "out of range")
    dep = r.flag("dependent_slice_segments_enabled_flag")
    out_flag = r.flag("output_flag_present_flag")
    extra_bits = r.u("num_extra_slice_header_bits", 3)
    r.flag("sign_data_hiding_enabled_flag")
    cabac_init = r.flag("cabac_init_present_flag")
    l0 = r.ue("num_ref_idx_l0_default_active_minus1")
    l1 = r.ue("num_ref_idx_l1_default_active_minus1")
    if l0 > 14 or l1 > 14:
        raise BitstreamError(f"HEVC PPS: num_ref_idx_l0/l1_default_active_minus1 {l0}/{l1} > 14")
    init_qp_minus26 = r.se("init_qp_minus26")
    r.flag("constrained_intra_pred_flag")
    r.flag("transform_skip_enabled_flag")
    if r.flag("cu_qp_delta_enabled_flag"):
        r.ue("diff_cu_qp_delta_depth")
    r.se("pps_cb_qp_offset")
    r.se("pps_cr_qp_offset")
    r.flag("pps_slice_chroma_qp_offsets_present_flag")
    wp = r.flag("weighted_pred_flag")
    wbp = r.flag("weighted_bipred_flag")
    r.flag("transquant_bypass_enabled_flag")
    tiles = r.flag("tiles_enabled_flag")
    r.flag("entropy_coding_sync_enabled_flag")
    if tiles:
        cols = r.ue("num_tile_columns_minus1")
        rows = r.ue("num_tile_rows_minus1")
        if cols > 19 or rows > 21:
            raise BitstreamError(f"HEVC PPS: {cols + 1} x {rows + 1} tiles")
        if not r.flag("uniform_spacing_flag"):
            for i in range(cols):
                r.ue(f"column_width_minus1[{i}]")
            for i in range(rows):
                r.ue(f"row_height_minus1[{i}]")
        r.flag("loop_filter_across_tiles_enabled_flag")
    r.flag("pps_loop_filter_across_slices_enabled_flag")
    if r.flag("deblocking_filter_control_present_flag"):
        r.flag("deblocking_filter_override_enabled_flag")
        if not r.flag("pps_deblocking_filter_disabled_flag"):
            r.se("pps_beta_offset_div2")
            r.se("pps_tc_offset_div2")
    if r.flag("pps_scaling_list_data_present_flag"):
        _scaling_list_data(r)
    lists_mod = r.flag("lists_modification_present_flag")
    return Pps(pps_id, sps_id, dep, out_flag, extra_bits, cabac_init, l0, l1, init_qp_minus26, wp, wbp, lists_mod)


def _pred_weight_table(r: SyntaxReader, sps: Sps, slice_type: int, n_l0: int, n_l1: int) -> None:
    """7.3.6.3 (single layer: every reference picture has another POC, so every flag is present)."""
    r.ue("luma_log2_weight_denom")
    if sps.chroma_array_type:
        r.se("delta_chroma_log2_weight_denom")
    for lx, n in (("l0", n_l0), ("l1", n_l1 if slice_type == B_SLICE else 0)):
        luma = [r.flag(f"luma_weight_{lx}_flag[{i}]") for i in range(n)]
        chroma = [r.flag(f"chroma_weight_{lx}_flag[{i}]") for i in range(n)] if sps.chroma_array_type else [0] * n
        for i in range(n):
            if luma[i]:
                r.se(f"delta_luma_weight_{lx}[{i}]")
                r.se(f"luma_offset_{lx}[{i}]")
            if chroma[i]:
                for j in range(2):
                    r.se(f"delta_chroma_weight_{lx}[{i}][{j}]")
                    r.se(f"delta_chroma_offset_{lx}[{i}][{j}]")


class SliceQpParser(SliceQpParserBase):
    """Keeps the SPSs and PPSs of an HEVC stream and gives SliceQpY of each picture.

    Feed every NAL unit of an access unit (without start code) in decoding order
    to :meth:`access_unit`; it returns SliceQpY of the picture's first slice segment.
    """

    def access_unit(self, nal_units: list[bytes], picture: int = 0) -> int:
        """SliceQpY of the picture of an access unit; SPSs / PPSs in it are kept. Traced, each syntax
        structure after a line ``=== picture N: <structure>`` (doc/bitstream_syntax.md clause 6)."""
        qp = None
        for nal in nal_units:
            t = nu.parse_nal_header(nal, nu.HEVC)
            if t.nuh_layer_id != 0:
                continue
            if t.nal_unit_type == nu.HEVC_SPS:
                trace_line(self.trace, f"=== picture {picture}: seq_parameter_set_rbsp")
                s = parse_sps(nu.nal_payload_rbsp(nal, nu.HEVC), self.trace)
                self.sps[s.sps_seq_parameter_set_id] = s
            elif t.nal_unit_type == nu.HEVC_PPS:
                trace_line(self.trace, f"=== picture {picture}: pic_parameter_set_rbsp")
                p = parse_pps(nu.nal_payload_rbsp(nal, nu.HEVC), self.trace)
                self.pps[p.pps_pic_parameter_set_id] = p
            elif nu.is_vcl(t.nal_unit_type, nu.HEVC) and qp is None:
                trace_line(self.trace, f"=== picture {picture}: slice_segment_header (to slice_qp_delta)")
                qp = self.slice_header(nal).slice_qp_y
        if qp is None:
            raise BitstreamError("access unit without a slice segment")
        return qp

    def slice_header(self, nal: bytes) -> SliceHeaderStart:
        """Slice segment header (7.3.6.1) of a NAL unit with first_slice_segment_in_pic_flag = 1,
        up to slice_qp_delta."""
        nal_type = nu.parse_nal_header(nal, nu.HEVC).nal_unit_type
        r = SyntaxReader(nu.nal_payload_rbsp(nal, nu.HEVC), self.trace, "HEVC slice segment header")
        if not r.flag("first_slice_segment_in_pic_flag"):
            raise BitstreamError("the first slice segment of a picture has first_slice_segment_in_pic_flag 0")
        if nu.is_irap(nal_type, nu.HEVC):
            r.flag("no_output_of_prior_pics_flag")
        pps_id = r.ue("slice_pic_parameter_set_id")
        if pps_id not in self.pps:
            raise BitstreamError(f"slice refers to PPS {pps_id}, which was not received")
        pps = self.pps[pps_id]
        if pps.pps_seq_parameter_set_id not in self.sps:
            raise BitstreamError(f"PPS {pps_id} refers to SPS {pps.pps_seq_parameter_set_id}, which was not received")
        sps = self.sps[pps.pps_seq_parameter_set_id]
        for i in range(pps.num_extra_slice_header_bits):
            r.flag(f"slice_reserved_flag[{i}]")
        slice_type = r.ue("slice_type")
        if slice_type > 2:
            raise BitstreamError(f"slice_type {slice_type} > 2")
        if pps.output_flag_present_flag:
            r.flag("pic_output_flag")
        if sps.separate_colour_plane_flag:
            r.u("colour_plane_id", 2)
        temporal_mvp, num_pic_total_curr, poc_lsb = 0, 0, 0
        if nal_type not in (nu.HEVC_IDR_W_RADL, nu.HEVC_IDR_N_LP):
            poc_lsb = r.u("slice_pic_order_cnt_lsb", sps.log2_max_pic_order_cnt_lsb)
            num_sets = len(sps.st_rps)
            if not r.flag("short_term_ref_pic_set_sps_flag"):
                rps = _st_ref_pic_set(r, num_sets, num_sets, sps.st_rps)
            else:
                if num_sets == 0:
                    raise BitstreamError("short_term_ref_pic_set_sps_flag 1 with no st_ref_pic_set in the SPS")
                idx = r.u("short_term_ref_pic_set_idx", ceil_log2(num_sets)) if num_sets > 1 else 0
                if idx >= num_sets:
                    raise BitstreamError(f"short_term_ref_pic_set_idx {idx} >= {num_sets}")
                rps = sps.st_rps[idx]
            num_pic_total_curr = rps.num_used                          # eq. 7-55
            if sps.long_term_ref_pics_present_flag:
                num_lt_sps = r.ue("num_long_term_sps") if sps.num_long_term_ref_pics_sps > 0 else 0
                num_lt_pics = r.ue("num_long_term_pics")
                if num_lt_sps > sps.num_long_term_ref_pics_sps or num_lt_sps + num_lt_pics > 32:
                    raise BitstreamError(f"num_long_term_sps {num_lt_sps} / num_long_term_pics {num_lt_pics} "
                                         "out of range")
                for i in range(num_lt_sps + num_lt_pics):
                    if i < num_lt_sps:
                        idx = (r.u(f"lt_idx_sps[{i}]", ceil_log2(sps.num_long_term_ref_pics_sps))
                               if sps.num_long_term_ref_pics_sps > 1 else 0)
                        if idx >= sps.num_long_term_ref_pics_sps:
                            raise BitstreamError(f"lt_idx_sps[{i}] {idx} out of range")
                        num_pic_total_curr += sps.used_by_curr_pic_lt_sps_flag[idx]
                    else:
                        r.u(f"poc_lsb_lt[{i}]", sps.log2_max_pic_order_cnt_lsb)
                        num_pic_total_curr += r.flag(f"used_by_curr_pic_lt_flag[{i}]")
                    if r.flag(f"delta_poc_msb_present_flag[{i}]"):
                        r.ue(f"delta_poc_msb_cycle_lt[{i}]")
            if sps.sps_temporal_mvp_enabled_flag:
                temporal_mvp = r.flag("slice_temporal_mvp_enabled_flag")
        if sps.sample_adaptive_offset_enabled_flag:
            r.flag("slice_sao_luma_flag")
            if sps.chroma_array_type:
                r.flag("slice_sao_chroma_flag")
        if slice_type in (P_SLICE, B_SLICE):
            n_l0 = pps.num_ref_idx_l0_default_active_minus1 + 1
            n_l1 = pps.num_ref_idx_l1_default_active_minus1 + 1
            if r.flag("num_ref_idx_active_override_flag"):
                n_l0 = r.ue("num_ref_idx_l0_active_minus1") + 1
                if slice_type == B_SLICE:
                    n_l1 = r.ue("num_ref_idx_l1_active_minus1") + 1
                if n_l0 > 15 or n_l1 > 15:
                    raise BitstreamError(f"{n_l0} / {n_l1} active reference indices")
            if pps.lists_modification_present_flag and num_pic_total_curr > 1:
                bits = ceil_log2(num_pic_total_curr)
                for lx, n in (("l0", n_l0), ("l1", n_l1 if slice_type == B_SLICE else 0)):
                    if n and r.flag(f"ref_pic_list_modification_flag_{lx}"):
                        for i in range(n):
                            r.u(f"list_entry_{lx}[{i}]", bits)
            if slice_type == B_SLICE:
                r.flag("mvd_l1_zero_flag")
            if pps.cabac_init_present_flag:
                r.flag("cabac_init_flag")
            if temporal_mvp:
                from_l0 = r.flag("collocated_from_l0_flag") if slice_type == B_SLICE else 1
                if (from_l0 and n_l0 > 1) or (not from_l0 and n_l1 > 1):
                    r.ue("collocated_ref_idx")
            if (pps.weighted_pred_flag and slice_type == P_SLICE) or \
                    (pps.weighted_bipred_flag and slice_type == B_SLICE):
                _pred_weight_table(r, sps, slice_type, n_l0, n_l1)
            r.ue("five_minus_max_num_merge_cand")
        qp = 26 + pps.init_qp_minus26 + r.se("slice_qp_delta")
        if not -sps.qp_bd_offset_y <= qp <= 51:
            raise BitstreamError(f"SliceQpY {qp} outside -{sps.qp_bd_offset_y}..51")
        return SliceHeaderStart(slice_type, poc_lsb, qp)
