"""SliceQpY of VVC pictures: the parameter-set, picture-header and slice-header syntax up to
``sh_qp_delta`` (H.266 (V3) 7.3.2.4, 7.3.2.5, 7.3.2.8, 7.3.2.9, 7.3.3.1, 7.3.3.2, 7.3.4, 7.3.7.1, 7.3.8,
7.3.9, 7.3.10; semantics 7.4.3.8 and 7.4.8.1).

The residual scaling of the generated pictures (doc/decoding_process.md,
clause "Residual scaling") depends on the QP of the base-layer picture::

    SliceQpY = 26 + pps_init_qp_minus26 + ( pps_qp_delta_info_in_ph_flag ? ph_qp_delta : sh_qp_delta )

taken from the first slice of the picture. Only what that needs is parsed:
the SPS up to the virtual boundaries (profile_tier_level( ), the general
constraints information and dpb_parameters( ) on the way; timing/HRD, VUI and
extensions come after and are not read), the PPS to
``pps_slice_header_extension_present_flag`` (tiles and rectangular slices
included, then its rbsp_trailing_bits( ) when ``pps_extension_flag`` is 0),
the picture header (a PH NAL unit, nal_unit_type 19, with its trailing bits,
or picture_header_structure( ) inside the slice header when
``sh_picture_header_in_slice_header_flag`` is 1) and the slice header up to
``sh_qp_delta``, with ref_pic_lists( ), ref_pic_list_struct( ) and
pred_weight_table( ). The picture header is read completely, since the slice
header follows it when it is in the slice header. Refused: subpictures
(``sps_num_subpics_minus1`` > 0, where the slice address needs the slices of
each subpicture). NAL units with nuh_layer_id > 0 are ignored (the base layer
of a multi-layer stream parses, inter-layer reference entries included).

Element names are those of H.266 (where VTM's reader names an element
differently, e.g. ``sps_internal_bit_depth_minus_input_bit_depth`` for
``sps_min_qp_prime_ts`` or ``ref_pic_list_sps_flag[0]`` for ``rpl_sps_flag[0]``,
H.266's name is used), so a trace can be diffed against VTM's.
All errors on bad data are :class:`BitstreamError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.bit_io import SyntaxReader, trace_line
from CommonLib.syntax.slice_qp import SliceQpParserBase
from Utilities.errors import BitstreamError

__all__ = ["Sps", "Pps", "RefPicListStruct", "PictureHeader", "SliceHeaderStart", "SliceQpParser", "parse_sps",
           "parse_pps", "ceil_log2"]

B_SLICE, P_SLICE, I_SLICE = 0, 1, 2
VVC_IDR_N_LP = 8
VVC_GDR = 10

#: bounds of the counts that drive loops: H.266's value ranges where it gives one, else generous bounds (a
#: stream beyond them is refused, not misread)
MAX_REF_ENTRIES = 29             # num_ref_entries: 0 .. MaxDpbSize + 13
MAX_NUM_REF_PIC_LISTS = 64       # sps_num_ref_pic_lists[ i ]: 0 .. 64
MAX_TILE_COLUMNS = 30
MAX_TILES = 1000
MAX_SLICES = 1000
MAX_QP = 63


def ceil_log2(n: int) -> int:
    """Ceil( Log2( n ) ) for n >= 1."""
    return (n - 1).bit_length()


@dataclass
class RefPicListStruct:
    """What the slice header needs of one ref_pic_list_struct( listIdx, rplsIdx ) (7.3.10)."""
    num_ref_entries: int = 0
    ltrp_in_header_flag: int = 0
    num_ltrp_entries: int = 0            # NumLtrpEntries[ listIdx ][ rplsIdx ]


@dataclass
class Sps:
    sps_seq_parameter_set_id: int
    sps_chroma_format_idc: int           # = ChromaArrayType
    sps_log2_ctu_size_minus5: int
    sps_subpic_info_present_flag: int
    sps_subpic_id_len_minus1: int
    sps_log2_max_pic_order_cnt_lsb_minus4: int
    sps_poc_msb_cycle_flag: int
    sps_poc_msb_cycle_len_minus1: int
    num_extra_ph_bits: int               # NumExtraPhBits
    num_extra_sh_bits: int               # NumExtraShBits
    sps_partition_constraints_override_enabled_flag: int
    sps_qtbtt_dual_tree_intra_flag: int
    sps_joint_cbcr_enabled_flag: int
    sps_sao_enabled_flag: int
    sps_alf_enabled_flag: int
    sps_ccalf_enabled_flag: int
    sps_lmcs_enabled_flag: int
    sps_weighted_pred_flag: int
    sps_weighted_bipred_flag: int
    sps_long_term_ref_pics_flag: int
    sps_inter_layer_prediction_enabled_flag: int
    sps_idr_rpl_present_flag: int
    rpl_structs: list                    # [ list 0 structures, list 1 structures ] of RefPicListStruct
    sps_temporal_mvp_enabled_flag: int
    sps_mmvd_fullpel_only_enabled_flag: int
    sps_bdof_control_present_in_ph_flag: int
    sps_dmvr_control_present_in_ph_flag: int
    sps_prof_control_present_in_ph_flag: int
    sps_explicit_scaling_list_enabled_flag: int
    sps_virtual_boundaries_enabled_flag: int
    sps_virtual_boundaries_present_flag: int
    qp_bd_offset_y: int                  # QpBdOffset = 6 * sps_bitdepth_minus8

    @property
    def log2_max_pic_order_cnt_lsb(self) -> int:
        return self.sps_log2_max_pic_order_cnt_lsb_minus4 + 4

    @property
    def sps_num_ref_pic_lists(self) -> list:
        return [len(self.rpl_structs[0]), len(self.rpl_structs[1])]


@dataclass
class Pps:
    pps_pic_parameter_set_id: int
    pps_seq_parameter_set_id: int
    pps_pic_width_in_luma_samples: int
    pps_pic_height_in_luma_samples: int
    pps_output_flag_present_flag: int
    pps_no_pic_partition_flag: int
    pps_rect_slice_flag: int
    num_tiles_in_pic: int                # NumTilesInPic
    num_slices_in_pic: int               # NumSlicesInPic (rectangular slices; one subpicture)
    pps_cabac_init_present_flag: int
    pps_num_ref_idx_default_active_minus1: list
    pps_rpl1_idx_present_flag: int
    pps_weighted_pred_flag: int
    pps_weighted_bipred_flag: int
    pps_init_qp_minus26: int
    pps_cu_qp_delta_enabled_flag: int
    pps_chroma_tool_offsets_present_flag: int
    pps_cu_chroma_qp_offset_list_enabled_flag: int
    pps_deblocking_filter_disabled_flag: int
    pps_dbf_info_in_ph_flag: int
    pps_rpl_info_in_ph_flag: int
    pps_sao_info_in_ph_flag: int
    pps_alf_info_in_ph_flag: int
    pps_wp_info_in_ph_flag: int
    pps_qp_delta_info_in_ph_flag: int
    pps_picture_header_extension_present_flag: int
    pps_slice_header_extension_present_flag: int


@dataclass
class PictureHeader:
    """What the slice header and SliceQpY need of picture_header_structure( ) (7.3.2.9)."""
    ph_gdr_or_irap_pic_flag: int
    ph_inter_slice_allowed_flag: int
    ph_intra_slice_allowed_flag: int
    ph_pic_parameter_set_id: int
    ph_pic_order_cnt_lsb: int
    ph_lmcs_enabled_flag: int = 0
    ph_explicit_scaling_list_enabled_flag: int = 0
    ph_temporal_mvp_enabled_flag: int = 0
    rpls: Optional[list] = None          # the two RefPicListStruct of ref_pic_lists( ) when pps_rpl_info_in_ph_flag
    ph_qp_delta: Optional[int] = None    # when pps_qp_delta_info_in_ph_flag
    sps: Optional[Sps] = field(default=None, repr=False)    # the parameter sets the header was parsed with
    pps: Optional[Pps] = field(default=None, repr=False)


@dataclass
class SliceHeaderStart:
    """What the slice header carries up to sh_qp_delta that callers use."""
    slice_type: int                      # sh_slice_type (I when ph_inter_slice_allowed_flag is 0)
    ph_pic_order_cnt_lsb: int
    slice_qp_y: int                      # SliceQpY (7.4.8.1)
    sh_picture_header_in_slice_header_flag: int
    qp_delta_in_ph: int                  # pps_qp_delta_info_in_ph_flag: ph_qp_delta gave SliceQpY
    num_ref_idx_active: list = field(default_factory=lambda: [0, 0])   # NumRefIdxActive[ 0 .. 1 ]


def _rbsp_trailing_bits(r: SyntaxReader) -> None:
    """rbsp_trailing_bits( ) after a PH or PPS parsed to its end: a syntax error in it shows as a wrong stop bit."""
    r.f("rbsp_stop_one_bit", 1, 1)
    while not r.byte_aligned():
        r.f("rbsp_alignment_zero_bit", 1, 0)


def _general_constraints_info(r: SyntaxReader) -> None:
    """7.3.3.2 (values not kept)."""
    if r.flag("gci_present_flag"):
        for name in ("gci_intra_only_constraint_flag", "gci_all_layers_independent_constraint_flag",
                     "gci_one_au_only_constraint_flag"):
            r.flag(name)
        r.u("gci_sixteen_minus_max_bitdepth_constraint_idc", 4)
        r.u("gci_three_minus_max_chroma_format_constraint_idc", 2)
        for name in ("no_mixed_nalu_types_in_pic", "no_trail", "no_stsa", "no_rasl", "no_radl", "no_idr", "no_cra",
                     "no_gdr", "no_aps", "no_idr_rpl", "one_tile_per_pic", "pic_header_in_slice_header",
                     "one_slice_per_pic", "no_rectangular_slice", "one_slice_per_subpic", "no_subpic_info"):
            r.flag(f"gci_{name}_constraint_flag")
        r.u("gci_three_minus_max_log2_ctu_size_constraint_idc", 2)
        for name in ("no_partition_constraints_override", "no_mtt", "no_qtbtt_dual_tree_intra", "no_palette",
                     "no_ibc", "no_isp", "no_mrl", "no_mip", "no_cclm", "no_ref_pic_resampling",
                     "no_res_change_in_clvs", "no_weighted_prediction", "no_ref_wraparound", "no_temporal_mvp",
                     "no_sbtmvp", "no_amvr", "no_bdof", "no_smvd", "no_dmvr", "no_mmvd", "no_affine_motion",
                     "no_prof", "no_bcw", "no_ciip", "no_gpm", "no_luma_transform_size_64", "no_transform_skip",
                     "no_bdpcm", "no_mts", "no_lfnst", "no_joint_cbcr", "no_sbt", "no_act",
                     "no_explicit_scaling_list", "no_dep_quant", "no_sign_data_hiding", "no_cu_qp_delta",
                     "no_chroma_qp_offset", "no_sao", "no_alf", "no_ccalf", "no_lmcs", "no_ladf",
                     "no_virtual_boundaries"):
            r.flag(f"gci_{name}_constraint_flag")
        num_additional_bits = r.u("gci_num_additional_bits", 8)
        used = 0
        if num_additional_bits > 5:
            for name in ("all_rap_pictures", "no_extended_precision_processing", "no_ts_residual_coding_rice",
                         "no_rrc_rice_extension", "no_persistent_rice_adaptation", "no_reverse_last_sig_coeff"):
                r.flag(f"gci_{name}_constraint_flag")
            used = 6
        for i in range(num_additional_bits - used):
            r.flag(f"gci_reserved_bit[{i}]")
    while not r.byte_aligned():
        r.f("gci_alignment_zero_bit", 1, 0)


def _profile_tier_level(r: SyntaxReader, profile_tier_present_flag: int, max_num_sub_layers_minus1: int) -> None:
    """7.3.3.1 (values not kept)."""
    if profile_tier_present_flag:
        r.u("general_profile_idc", 7)
        r.flag("general_tier_flag")
    r.u("general_level_idc", 8)
    r.flag("ptl_frame_only_constraint_flag")
    r.flag("ptl_multilayer_enabled_flag")
    if profile_tier_present_flag:
        _general_constraints_info(r)
    present = {}
    for i in range(max_num_sub_layers_minus1 - 1, -1, -1):
        present[i] = r.flag(f"ptl_sublayer_level_present_flag[{i}]")
    while not r.byte_aligned():
        r.f("ptl_reserved_zero_bit", 1, 0)
    for i in range(max_num_sub_layers_minus1 - 1, -1, -1):
        if present[i]:
            r.u(f"sublayer_level_idc[{i}]", 8)
    if profile_tier_present_flag:
        for i in range(r.u("ptl_num_sub_profiles", 8)):
            r.u(f"general_sub_profile_idc[{i}]", 32)


def _dpb_parameters(r: SyntaxReader, max_sub_layers_minus1: int, sub_layer_info_flag: int) -> None:
    """7.3.4 (values not kept)."""
    for i in range(0 if sub_layer_info_flag else max_sub_layers_minus1, max_sub_layers_minus1 + 1):
        r.ue(f"dpb_max_dec_pic_buffering_minus1[{i}]")
        r.ue(f"dpb_max_num_reorder_pics[{i}]")
        r.ue(f"dpb_max_latency_increase_plus1[{i}]")


def _ref_pic_list_struct(r: SyntaxReader, list_idx: int, rpls_idx: int, num_in_sps: int, long_term: int,
                         inter_layer: int, weighted: int, poc_lsb_bits: int) -> RefPicListStruct:
    """ref_pic_list_struct( listIdx, rplsIdx ) (7.3.10); rplsIdx == sps_num_ref_pic_lists[ listIdx ] is the
    structure of a picture or slice header."""
    s = f"[{list_idx}][{rpls_idx}]"
    rpl = RefPicListStruct()
    rpl.num_ref_entries = r.ue(f"num_ref_entries{s}")
    if rpl.num_ref_entries > MAX_REF_ENTRIES:
        raise BitstreamError(f"num_ref_entries{s} {rpl.num_ref_entries} > {MAX_REF_ENTRIES}")
    if long_term and rpls_idx < num_in_sps and rpl.num_ref_entries > 0:
        rpl.ltrp_in_header_flag = r.flag(f"ltrp_in_header_flag{s}")
    elif long_term and rpls_idx == num_in_sps:
        rpl.ltrp_in_header_flag = 1
    for i in range(rpl.num_ref_entries):
        if inter_layer and r.flag(f"inter_layer_ref_pic_flag{s}[{i}]"):
            r.ue(f"ilrp_idx{s}[{i}]")
            continue
        if not long_term or r.flag(f"st_ref_pic_flag{s}[{i}]"):
            abs_delta = r.ue(f"abs_delta_poc_st{s}[{i}]")
            if abs_delta > (1 << 15) - 1:
                raise BitstreamError(f"abs_delta_poc_st{s}[{i}] {abs_delta} > 32767")
            if not (weighted and i != 0) or abs_delta > 0:              # AbsDeltaPocSt > 0
                r.flag(f"strp_entry_sign_flag{s}[{i}]")
        else:
            if not rpl.ltrp_in_header_flag:
                r.u(f"rpls_poc_lsb_lt{s}[{rpl.num_ltrp_entries}]", poc_lsb_bits)
            rpl.num_ltrp_entries += 1
    return rpl


def parse_sps(rbsp: bytes, trace=None) -> Sps:
    """seq_parameter_set_rbsp( ) (7.3.2.4) up to the virtual boundaries."""
    r = SyntaxReader(rbsp, trace, "VVC SPS")
    sps_id = r.u("sps_seq_parameter_set_id", 4)
    vps_id = r.u("sps_video_parameter_set_id", 4)
    max_sub_layers_minus1 = r.u("sps_max_sublayers_minus1", 3)
    if max_sub_layers_minus1 > 6:
        raise BitstreamError(f"VVC SPS: sps_max_sublayers_minus1 {max_sub_layers_minus1} > 6")
    chroma_format_idc = r.u("sps_chroma_format_idc", 2)
    log2_ctu_minus5 = r.u("sps_log2_ctu_size_minus5", 2)
    if log2_ctu_minus5 > 2:
        raise BitstreamError(f"VVC SPS: sps_log2_ctu_size_minus5 {log2_ctu_minus5} > 2")
    ctb_log2 = log2_ctu_minus5 + 5
    ptl_dpb_hrd = r.flag("sps_ptl_dpb_hrd_params_present_flag")
    if ptl_dpb_hrd:
        _profile_tier_level(r, 1, max_sub_layers_minus1)
    r.flag("sps_gdr_enabled_flag")
    if r.flag("sps_ref_pic_resampling_enabled_flag"):
        r.flag("sps_res_change_in_clvs_allowed_flag")
    width = r.ue("sps_pic_width_max_in_luma_samples")
    height = r.ue("sps_pic_height_max_in_luma_samples")
    if width == 0 or height == 0:
        raise BitstreamError(f"VVC SPS: picture size {width}x{height}")
    if r.flag("sps_conformance_window_flag"):
        for name in ("sps_conf_win_left_offset", "sps_conf_win_right_offset", "sps_conf_win_top_offset",
                     "sps_conf_win_bottom_offset"):
            r.ue(name)
    subpic_info = r.flag("sps_subpic_info_present_flag")
    subpic_id_len_minus1 = 0
    if subpic_info:
        num_subpics_minus1 = r.ue("sps_num_subpics_minus1")
        if num_subpics_minus1 > 0:
            raise BitstreamError(f"VVC SPS: {num_subpics_minus1 + 1} subpictures (sps_num_subpics_minus1 > 0) "
                                 "are not supported")
        subpic_id_len_minus1 = r.ue("sps_subpic_id_len_minus1")
        if subpic_id_len_minus1 > 15:
            raise BitstreamError(f"VVC SPS: sps_subpic_id_len_minus1 {subpic_id_len_minus1} > 15")
        if r.flag("sps_subpic_id_mapping_explicitly_signalled_flag"):
            if r.flag("sps_subpic_id_mapping_present_flag"):
                r.u("sps_subpic_id[0]", subpic_id_len_minus1 + 1)
    bitdepth_minus8 = r.ue("sps_bitdepth_minus8")
    if bitdepth_minus8 > 8:
        raise BitstreamError(f"VVC SPS: sps_bitdepth_minus8 {bitdepth_minus8} > 8")
    qp_bd_offset = 6 * bitdepth_minus8
    r.flag("sps_entropy_coding_sync_enabled_flag")
    r.flag("sps_entry_point_offsets_present_flag")
    log2_poc_minus4 = r.u("sps_log2_max_pic_order_cnt_lsb_minus4", 4)
    if log2_poc_minus4 > 12:
        raise BitstreamError(f"VVC SPS: sps_log2_max_pic_order_cnt_lsb_minus4 {log2_poc_minus4} > 12")
    poc_msb_cycle = r.flag("sps_poc_msb_cycle_flag")
    poc_msb_len_minus1 = 0
    if poc_msb_cycle:
        poc_msb_len_minus1 = r.ue("sps_poc_msb_cycle_len_minus1")
        if poc_msb_len_minus1 > 32 - log2_poc_minus4 - 5:
            raise BitstreamError(f"VVC SPS: sps_poc_msb_cycle_len_minus1 {poc_msb_len_minus1} out of range")
    extra = []
    for kind in ("ph", "sh"):
        n = r.u(f"sps_num_extra_{kind}_bytes", 2)
        extra.append(sum(r.flag(f"sps_extra_{kind}_bit_present_flag[{i}]") for i in range(8 * n)))
    if ptl_dpb_hrd:
        sub_layer_dpb = r.flag("sps_sublayer_dpb_params_flag") if max_sub_layers_minus1 > 0 else 0
        _dpb_parameters(r, max_sub_layers_minus1, sub_layer_dpb)
    min_cb_log2 = r.ue("sps_log2_min_luma_coding_block_size_minus2") + 2
    if min_cb_log2 > min(6, ctb_log2):
        raise BitstreamError(f"VVC SPS: MinCbLog2SizeY {min_cb_log2} > Min( 6, CtbLog2SizeY {ctb_log2} )")
    override = r.flag("sps_partition_constraints_override_enabled_flag")
    r.ue("sps_log2_diff_min_qt_min_cb_intra_slice_luma")
    if r.ue("sps_max_mtt_hierarchy_depth_intra_slice_luma"):
        r.ue("sps_log2_diff_max_bt_min_qt_intra_slice_luma")
        r.ue("sps_log2_diff_max_tt_min_qt_intra_slice_luma")
    dual_tree = r.flag("sps_qtbtt_dual_tree_intra_flag") if chroma_format_idc else 0
    if dual_tree:
        r.ue("sps_log2_diff_min_qt_min_cb_intra_slice_chroma")
        if r.ue("sps_max_mtt_hierarchy_depth_intra_slice_chroma"):
            r.ue("sps_log2_diff_max_bt_min_qt_intra_slice_chroma")
            r.ue("sps_log2_diff_max_tt_min_qt_intra_slice_chroma")
    r.ue("sps_log2_diff_min_qt_min_cb_inter_slice")
    if r.ue("sps_max_mtt_hierarchy_depth_inter_slice"):
        r.ue("sps_log2_diff_max_bt_min_qt_inter_slice")
        r.ue("sps_log2_diff_max_tt_min_qt_inter_slice")
    tb64 = r.flag("sps_max_luma_transform_size_64_flag") if ctb_log2 > 5 else 0
    transform_skip = r.flag("sps_transform_skip_enabled_flag")
    if transform_skip:
        r.ue("sps_log2_transform_skip_max_size_minus2")
        r.flag("sps_bdpcm_enabled_flag")
    if r.flag("sps_mts_enabled_flag"):
        r.flag("sps_explicit_mts_intra_enabled_flag")
        r.flag("sps_explicit_mts_inter_enabled_flag")
    lfnst = r.flag("sps_lfnst_enabled_flag")
    joint_cbcr = 0
    if chroma_format_idc:
        joint_cbcr = r.flag("sps_joint_cbcr_enabled_flag")
        same = r.flag("sps_same_qp_table_for_chroma_flag")
        for i in range(1 if same else (3 if joint_cbcr else 2)):
            start = r.se(f"sps_qp_table_start_minus26[{i}]")
            if not -26 - qp_bd_offset <= start <= 36:
                raise BitstreamError(f"VVC SPS: sps_qp_table_start_minus26[{i}] {start} out of range")
            points = r.ue(f"sps_num_points_in_qp_table_minus1[{i}]")
            if points > 36 - start:
                raise BitstreamError(f"VVC SPS: sps_num_points_in_qp_table_minus1[{i}] {points} > {36 - start}")
            for j in range(points + 1):
                r.ue(f"sps_delta_qp_in_val_minus1[{i}][{j}]")
                r.ue(f"sps_delta_qp_diff_val[{i}][{j}]")
    sao = r.flag("sps_sao_enabled_flag")
    alf = r.flag("sps_alf_enabled_flag")
    ccalf = r.flag("sps_ccalf_enabled_flag") if alf and chroma_format_idc else 0
    lmcs = r.flag("sps_lmcs_enabled_flag")
    wp = r.flag("sps_weighted_pred_flag")
    wbp = r.flag("sps_weighted_bipred_flag")
    long_term = r.flag("sps_long_term_ref_pics_flag")
    inter_layer = r.flag("sps_inter_layer_prediction_enabled_flag") if vps_id > 0 else 0
    idr_rpl = r.flag("sps_idr_rpl_present_flag")
    rpl1_same = r.flag("sps_rpl1_same_as_rpl0_flag")
    structs: list = [[], []]
    for i in range(1 if rpl1_same else 2):
        n = r.ue(f"sps_num_ref_pic_lists[{i}]")
        if n > MAX_NUM_REF_PIC_LISTS:
            raise BitstreamError(f"VVC SPS: sps_num_ref_pic_lists[{i}] {n} > {MAX_NUM_REF_PIC_LISTS}")
        for j in range(n):
            structs[i].append(_ref_pic_list_struct(r, i, j, n, long_term, inter_layer, wp or wbp,
                                                   log2_poc_minus4 + 4))
    if rpl1_same:
        structs[1] = list(structs[0])
    r.flag("sps_ref_wraparound_enabled_flag")
    tmvp = r.flag("sps_temporal_mvp_enabled_flag")
    sbtmvp = r.flag("sps_sbtmvp_enabled_flag") if tmvp else 0
    amvr = r.flag("sps_amvr_enabled_flag")
    bdof_ph = r.flag("sps_bdof_control_present_in_ph_flag") if r.flag("sps_bdof_enabled_flag") else 0
    r.flag("sps_smvd_enabled_flag")
    dmvr_ph = r.flag("sps_dmvr_control_present_in_ph_flag") if r.flag("sps_dmvr_enabled_flag") else 0
    fullpel = r.flag("sps_mmvd_fullpel_only_enabled_flag") if r.flag("sps_mmvd_enabled_flag") else 0
    six_minus = r.ue("sps_six_minus_max_num_merge_cand")
    if six_minus > 5:
        raise BitstreamError(f"VVC SPS: sps_six_minus_max_num_merge_cand {six_minus} > 5")
    max_num_merge_cand = 6 - six_minus
    r.flag("sps_sbt_enabled_flag")
    prof_ph = 0
    if r.flag("sps_affine_enabled_flag"):
        five_minus = r.ue("sps_five_minus_max_num_subblock_merge_cand")
        if five_minus > 5 - sbtmvp:
            raise BitstreamError(f"VVC SPS: sps_five_minus_max_num_subblock_merge_cand {five_minus} out of range")
        r.flag("sps_6param_affine_enabled_flag")
        if amvr:
            r.flag("sps_affine_amvr_enabled_flag")
        if r.flag("sps_affine_prof_enabled_flag"):
            prof_ph = r.flag("sps_prof_control_present_in_ph_flag")
    r.flag("sps_bcw_enabled_flag")
    r.flag("sps_ciip_enabled_flag")
    if max_num_merge_cand >= 2:
        if r.flag("sps_gpm_enabled_flag") and max_num_merge_cand >= 3:
            r.ue("sps_max_num_merge_cand_minus_max_num_gpm_cand")
    r.ue("sps_log2_parallel_merge_level_minus2")
    r.flag("sps_isp_enabled_flag")
    r.flag("sps_mrl_enabled_flag")
    r.flag("sps_mip_enabled_flag")
    if chroma_format_idc:
        r.flag("sps_cclm_enabled_flag")
    if chroma_format_idc == 1:
        r.flag("sps_chroma_horizontal_collocated_flag")
        r.flag("sps_chroma_vertical_collocated_flag")
    palette = r.flag("sps_palette_enabled_flag")
    act = r.flag("sps_act_enabled_flag") if chroma_format_idc == 3 and not tb64 else 0
    if transform_skip or palette:
        r.ue("sps_min_qp_prime_ts")
    if r.flag("sps_ibc_enabled_flag"):
        r.ue("sps_six_minus_max_num_ibc_merge_cand")
    if r.flag("sps_ladf_enabled_flag"):
        n = r.u("sps_num_ladf_intervals_minus2", 2)
        r.se("sps_ladf_lowest_interval_qp_offset")
        for i in range(n + 1):
            r.se(f"sps_ladf_qp_offset[{i}]")
            r.ue(f"sps_ladf_delta_threshold_minus1[{i}]")
    scaling = r.flag("sps_explicit_scaling_list_enabled_flag")
    if lfnst and scaling:
        r.flag("sps_scaling_matrix_for_lfnst_disabled_flag")
    if act and scaling:
        if r.flag("sps_scaling_matrix_for_alternative_colour_space_disabled_flag"):
            r.flag("sps_scaling_matrix_designated_colour_space_flag")
    r.flag("sps_dep_quant_enabled_flag")
    r.flag("sps_sign_data_hiding_enabled_flag")
    vb_enabled = r.flag("sps_virtual_boundaries_enabled_flag")
    vb_present = 0
    if vb_enabled:
        vb_present = r.flag("sps_virtual_boundaries_present_flag")
        if vb_present:
            for d in ("ver", "hor"):
                n = r.ue(f"sps_num_{d}_virtual_boundaries")
                if n > 3:
                    raise BitstreamError(f"VVC SPS: sps_num_{d}_virtual_boundaries {n} > 3")
                for i in range(n):
                    r.ue(f"sps_virtual_boundary_pos_{'x' if d == 'ver' else 'y'}_minus1[{i}]")
    return Sps(sps_id, chroma_format_idc, log2_ctu_minus5, subpic_info, subpic_id_len_minus1, log2_poc_minus4,
               poc_msb_cycle, poc_msb_len_minus1, extra[0], extra[1], override, dual_tree, joint_cbcr, sao, alf,
               ccalf, lmcs, wp, wbp, long_term, inter_layer, idr_rpl, structs, tmvp, fullpel, bdof_ph, dmvr_ph,
               prof_ph, scaling, vb_enabled, vb_present, qp_bd_offset)


def _tile_sizes(r: SyntaxReader, kind: str, num_exp: int, size_in_ctbs: int, max_tiles: int) -> list:
    """pps_tile_column_width_minus1[ i ] (or pps_tile_row_height_minus1[ i ]) and the derivation of ColWidthVal
    (RowHeightVal) of 6.5.1."""
    what = "column_width" if kind == "columns" else "row_height"
    if num_exp > min(size_in_ctbs, max_tiles):
        raise BitstreamError(f"VVC PPS: pps_num_exp_tile_{kind}_minus1 {num_exp - 1} out of range")
    sizes, remaining = [], size_in_ctbs
    for i in range(num_exp):
        s = r.ue(f"pps_tile_{what}_minus1[{i}]") + 1
        if s > remaining:
            raise BitstreamError(f"VVC PPS: pps_tile_{what}_minus1[{i}] {s - 1}: the tiles exceed the picture")
        sizes.append(s)
        remaining -= s
    uniform = sizes[-1]
    while remaining > 0:
        if len(sizes) >= max_tiles:
            raise BitstreamError(f"VVC PPS: more than {max_tiles} tile {kind}")
        sizes.append(min(uniform, remaining))
        remaining -= sizes[-1]
    return sizes


def _rect_slices(r: SyntaxReader, cols: list, rows: list) -> int:
    """The rectangular slice layout of the PPS (7.3.2.5 from pps_num_slices_in_pic_minus1, with
    SliceTopLeftTileIdx and NumSlicesInTile of 6.5.1); returns NumSlicesInPic."""
    n_cols, n_rows, n_tiles = len(cols), len(rows), len(cols) * len(rows)
    num_minus1 = r.ue("pps_num_slices_in_pic_minus1")
    if num_minus1 >= MAX_SLICES:
        raise BitstreamError(f"VVC PPS: pps_num_slices_in_pic_minus1 {num_minus1} >= {MAX_SLICES}")
    delta_present = r.flag("pps_tile_idx_delta_present_flag") if num_minus1 > 1 else 0
    tile_idx, height_minus1, i = 0, 0, 0
    while i < num_minus1:
        tx, ty = tile_idx % n_cols, tile_idx // n_cols
        width_minus1 = 0
        if tx != n_cols - 1:
            width_minus1 = r.ue(f"pps_slice_width_in_tiles_minus1[{i}]")
            if width_minus1 > n_cols - 1 - tx:
                raise BitstreamError(f"VVC PPS: pps_slice_width_in_tiles_minus1[{i}] {width_minus1} out of range")
        if ty != n_rows - 1 and (delta_present or tx == 0):
            height_minus1 = r.ue(f"pps_slice_height_in_tiles_minus1[{i}]")
            if height_minus1 > n_rows - 1 - ty:
                raise BitstreamError(f"VVC PPS: pps_slice_height_in_tiles_minus1[{i}] {height_minus1} out of range")
        elif ty == n_rows - 1:
            height_minus1 = 0
        # otherwise inferred equal to pps_slice_height_in_tiles_minus1[ i - 1 ]
        if height_minus1 > n_rows - 1 - ty:
            raise BitstreamError(f"VVC PPS: slice {i} extends below the picture")
        if width_minus1 == 0 and height_minus1 == 0 and rows[ty] > 1:
            num_exp = r.ue(f"pps_num_exp_slices_in_tile[{i}]")
            if num_exp > min(rows[ty] - 1, num_minus1 + 1 - i):
                raise BitstreamError(f"VVC PPS: pps_num_exp_slices_in_tile[{i}] {num_exp} out of range")
            num_in_tile = 1
            if num_exp:
                remaining, h = rows[ty], 0
                for j in range(num_exp):
                    h = r.ue(f"pps_exp_slice_height_in_ctus_minus1[{i}][{j}]") + 1
                    if h > remaining:
                        raise BitstreamError(f"VVC PPS: pps_exp_slice_height_in_ctus_minus1[{i}][{j}] {h - 1}: the "
                                             "slices exceed the tile")
                    remaining -= h
                num_in_tile = num_exp + (remaining + h - 1) // h            # uniform slices, then the rest
            if i + num_in_tile - 1 > num_minus1:
                raise BitstreamError(f"VVC PPS: the slices of tile {tile_idx} exceed pps_num_slices_in_pic_minus1 "
                                     f"{num_minus1}")
            i += num_in_tile - 1
        if i < num_minus1:
            if delta_present:
                delta = r.se(f"pps_tile_idx_delta_val[{i}]")
                if not 0 <= tile_idx + delta < n_tiles:
                    raise BitstreamError(f"VVC PPS: pps_tile_idx_delta_val[{i}] {delta} leaves the picture")
                tile_idx += delta
            else:
                tile_idx += width_minus1 + 1
                if tile_idx % n_cols == 0:
                    tile_idx += height_minus1 * n_cols
                if tile_idx >= n_tiles:
                    raise BitstreamError(f"VVC PPS: slice {i + 1} starts after the last tile")
        i += 1
    return num_minus1 + 1


def parse_pps(rbsp: bytes, trace=None) -> Pps:
    """pic_parameter_set_rbsp( ) (7.3.2.5) to pps_slice_header_extension_present_flag, then rbsp_trailing_bits( )
    when pps_extension_flag is 0."""
    r = SyntaxReader(rbsp, trace, "VVC PPS")
    pps_id = r.u("pps_pic_parameter_set_id", 6)
    sps_id = r.u("pps_seq_parameter_set_id", 4)
    r.flag("pps_mixed_nalu_types_in_pic_flag")
    width = r.ue("pps_pic_width_in_luma_samples")
    height = r.ue("pps_pic_height_in_luma_samples")
    if width == 0 or height == 0:
        raise BitstreamError(f"VVC PPS: picture size {width}x{height}")
    if r.flag("pps_conformance_window_flag"):
        for name in ("pps_conf_win_left_offset", "pps_conf_win_right_offset", "pps_conf_win_top_offset",
                     "pps_conf_win_bottom_offset"):
            r.ue(name)
    if r.flag("pps_scaling_window_explicit_signalling_flag"):
        for name in ("pps_scaling_win_left_offset", "pps_scaling_win_right_offset", "pps_scaling_win_top_offset",
                     "pps_scaling_win_bottom_offset"):
            r.se(name)
    output_flag = r.flag("pps_output_flag_present_flag")
    no_partition = r.flag("pps_no_pic_partition_flag")
    if r.flag("pps_subpic_id_mapping_present_flag"):
        num_subpics_minus1 = 0 if no_partition else r.ue("pps_num_subpics_minus1")
        if num_subpics_minus1 > 0:
            raise BitstreamError(f"VVC PPS: {num_subpics_minus1 + 1} subpictures (pps_num_subpics_minus1 > 0) "
                                 "are not supported")
        id_len_minus1 = r.ue("pps_subpic_id_len_minus1")
        if id_len_minus1 > 15:
            raise BitstreamError(f"VVC PPS: pps_subpic_id_len_minus1 {id_len_minus1} > 15")
        r.u("pps_subpic_id[0]", id_len_minus1 + 1)
    rect, num_tiles, num_slices = 1, 1, 1
    if not no_partition:
        log2_ctu = r.u("pps_log2_ctu_size_minus5", 2) + 5
        if log2_ctu > 7:
            raise BitstreamError(f"VVC PPS: pps_log2_ctu_size_minus5 {log2_ctu - 5} > 2")
        num_exp_cols = r.ue("pps_num_exp_tile_columns_minus1") + 1
        num_exp_rows = r.ue("pps_num_exp_tile_rows_minus1") + 1
        cols = _tile_sizes(r, "columns", num_exp_cols, (width + (1 << log2_ctu) - 1) >> log2_ctu, MAX_TILE_COLUMNS)
        rows = _tile_sizes(r, "rows", num_exp_rows, (height + (1 << log2_ctu) - 1) >> log2_ctu, MAX_TILES)
        num_tiles = len(cols) * len(rows)
        if num_tiles > MAX_TILES:
            raise BitstreamError(f"VVC PPS: {len(cols)} x {len(rows)} tiles")
        if num_tiles > 1:
            r.flag("pps_loop_filter_across_tiles_enabled_flag")
            rect = r.flag("pps_rect_slice_flag")
        single = r.flag("pps_single_slice_per_subpic_flag") if rect else 0
        if rect and not single:
            num_slices = _rect_slices(r, cols, rows)
        if not rect or single or num_slices > 1:
            r.flag("pps_loop_filter_across_slices_enabled_flag")
    cabac_init = r.flag("pps_cabac_init_present_flag")
    default_active = [r.ue(f"pps_num_ref_idx_default_active_minus1[{i}]") for i in range(2)]
    if max(default_active) > 14:
        raise BitstreamError(f"VVC PPS: pps_num_ref_idx_default_active_minus1 {default_active} > 14")
    rpl1_idx = r.flag("pps_rpl1_idx_present_flag")
    wp = r.flag("pps_weighted_pred_flag")
    wbp = r.flag("pps_weighted_bipred_flag")
    if r.flag("pps_ref_wraparound_enabled_flag"):
        r.ue("pps_pic_width_minus_wraparound_offset")
    init_qp_minus26 = r.se("pps_init_qp_minus26")
    if not -(26 + 48) <= init_qp_minus26 <= MAX_QP - 26:
        raise BitstreamError(f"VVC PPS: pps_init_qp_minus26 {init_qp_minus26} out of range")
    cu_qp_delta = r.flag("pps_cu_qp_delta_enabled_flag")
    chroma_tool = r.flag("pps_chroma_tool_offsets_present_flag")
    cu_chroma_list = 0
    if chroma_tool:
        r.se("pps_cb_qp_offset")
        r.se("pps_cr_qp_offset")
        joint = r.flag("pps_joint_cbcr_qp_offset_present_flag")
        if joint:
            r.se("pps_joint_cbcr_qp_offset_value")
        r.flag("pps_slice_chroma_qp_offsets_present_flag")
        cu_chroma_list = r.flag("pps_cu_chroma_qp_offset_list_enabled_flag")
        if cu_chroma_list:
            n = r.ue("pps_chroma_qp_offset_list_len_minus1")
            if n > 5:
                raise BitstreamError(f"VVC PPS: pps_chroma_qp_offset_list_len_minus1 {n} > 5")
            for i in range(n + 1):
                r.se(f"pps_cb_qp_offset_list[{i}]")
                r.se(f"pps_cr_qp_offset_list[{i}]")
                if joint:
                    r.se(f"pps_joint_cbcr_qp_offset_list[{i}]")
    dbf_disabled, dbf_in_ph = 0, 0
    if r.flag("pps_deblocking_filter_control_present_flag"):
        dbf_override = r.flag("pps_deblocking_filter_override_enabled_flag")
        dbf_disabled = r.flag("pps_deblocking_filter_disabled_flag")
        if not no_partition and dbf_override:
            dbf_in_ph = r.flag("pps_dbf_info_in_ph_flag")
        if not dbf_disabled:
            r.se("pps_luma_beta_offset_div2")
            r.se("pps_luma_tc_offset_div2")
            if chroma_tool:
                for name in ("pps_cb_beta_offset_div2", "pps_cb_tc_offset_div2", "pps_cr_beta_offset_div2",
                             "pps_cr_tc_offset_div2"):
                    r.se(name)
    rpl_in_ph = sao_in_ph = alf_in_ph = wp_in_ph = qp_in_ph = 0
    if not no_partition:
        rpl_in_ph = r.flag("pps_rpl_info_in_ph_flag")
        sao_in_ph = r.flag("pps_sao_info_in_ph_flag")
        alf_in_ph = r.flag("pps_alf_info_in_ph_flag")
        if (wp or wbp) and rpl_in_ph:
            wp_in_ph = r.flag("pps_wp_info_in_ph_flag")
        qp_in_ph = r.flag("pps_qp_delta_info_in_ph_flag")
    ph_ext = r.flag("pps_picture_header_extension_present_flag")
    sh_ext = r.flag("pps_slice_header_extension_present_flag")
    if not r.flag("pps_extension_flag"):
        _rbsp_trailing_bits(r)
    return Pps(pps_id, sps_id, width, height, output_flag, no_partition, rect, num_tiles, num_slices, cabac_init,
               default_active, rpl1_idx, wp, wbp, init_qp_minus26, cu_qp_delta, chroma_tool, cu_chroma_list,
               dbf_disabled, dbf_in_ph, rpl_in_ph, sao_in_ph, alf_in_ph, wp_in_ph, qp_in_ph, ph_ext, sh_ext)


def _ref_pic_lists(r: SyntaxReader, sps: Sps, pps: Pps) -> list:
    """ref_pic_lists( ) (7.3.9): the two ref_pic_list_struct( ) of the picture or slice, each from the SPS
    (rpl_sps_flag[ i ], rpl_idx[ i ]) or explicit, and the long-term POC information."""
    nums = sps.sps_num_ref_pic_lists
    rpls, rpl_sps_flag, rpl_idx = [], [0, 0], [0, 0]
    for i in range(2):
        signalled = i == 0 or pps.pps_rpl1_idx_present_flag
        if nums[i] > 0 and signalled:
            rpl_sps_flag[i] = r.flag(f"rpl_sps_flag[{i}]")
        elif nums[i] > 0:
            rpl_sps_flag[i] = rpl_sps_flag[0]                             # i == 1 without pps_rpl1_idx_present_flag
        if rpl_sps_flag[i]:
            if nums[i] > 1 and signalled:
                rpl_idx[i] = r.u(f"rpl_idx[{i}]", ceil_log2(nums[i]))
            elif nums[i] > 1:
                rpl_idx[i] = rpl_idx[0]
            if rpl_idx[i] >= nums[i]:
                raise BitstreamError(f"rpl_idx[{i}] {rpl_idx[i]} >= sps_num_ref_pic_lists[{i}] {nums[i]}")
            rpl = sps.rpl_structs[i][rpl_idx[i]]
        else:
            rpl = _ref_pic_list_struct(r, i, nums[i], nums[i], sps.sps_long_term_ref_pics_flag,
                                       sps.sps_inter_layer_prediction_enabled_flag,
                                       sps.sps_weighted_pred_flag or sps.sps_weighted_bipred_flag,
                                       sps.log2_max_pic_order_cnt_lsb)
        for j in range(rpl.num_ltrp_entries):
            if rpl.ltrp_in_header_flag:
                r.u(f"poc_lsb_lt[{i}][{j}]", sps.log2_max_pic_order_cnt_lsb)
            if r.flag(f"delta_poc_msb_cycle_present_flag[{i}][{j}]"):
                r.ue(f"delta_poc_msb_cycle_lt[{i}][{j}]")
        rpls.append(rpl)
    return rpls


def _pred_weight_table(r: SyntaxReader, sps: Sps, pps: Pps, num_weights: list, rpls: Optional[list]) -> None:
    """pred_weight_table( ) (7.3.8). In a slice header ``num_weights`` is NumRefIdxActive (NumWeightsL0 / L1);
    in a picture header (pps_wp_info_in_ph_flag) num_l0_weights / num_l1_weights are read and ``rpls`` are the
    picture's two lists."""
    r.ue("luma_log2_weight_denom")
    chroma = sps.sps_chroma_format_idc != 0
    if chroma:
        r.se("delta_chroma_log2_weight_denom")
    for lx in range(2):
        if pps.pps_wp_info_in_ph_flag:
            entries = rpls[lx].num_ref_entries
            n = 0
            if lx == 0 or (pps.pps_weighted_bipred_flag and entries > 0):
                n = r.ue(f"num_l{lx}_weights")
                if n > min(15, entries):
                    raise BitstreamError(f"num_l{lx}_weights {n} > Min( 15, num_ref_entries {entries} )")
        else:
            n = num_weights[lx]
        luma = [r.flag(f"luma_weight_l{lx}_flag[{i}]") for i in range(n)]
        chroma_flags = [r.flag(f"chroma_weight_l{lx}_flag[{i}]") for i in range(n)] if chroma else [0] * n
        for i in range(n):
            if luma[i]:
                r.se(f"delta_luma_weight_l{lx}[{i}]")
                r.se(f"luma_offset_l{lx}[{i}]")
            if chroma_flags[i]:
                for j in range(2):
                    r.se(f"delta_chroma_weight_l{lx}[{i}][{j}]")
                    r.se(f"delta_chroma_offset_l{lx}[{i}][{j}]")


class SliceQpParser(SliceQpParserBase):
    """Keeps the SPSs and PPSs of a VVC stream and gives SliceQpY of each picture.

    Feed every NAL unit of an access unit (without start code) in decoding order
    to :meth:`access_unit`; it returns SliceQpY of the picture's first slice.
    """

    def access_unit(self, nal_units: list[bytes], picture: int = 0) -> int:
        """SliceQpY of the picture of an access unit; SPSs / PPSs in it are kept. Traced, each syntax
        structure after a line ``=== picture N: <structure>`` (doc/bitstream_syntax.md clause 6)."""
        qp, ph = None, None
        for nal in nal_units:
            t = nu.parse_nal_header(nal, nu.VVC)
            if t.nuh_layer_id != 0:
                continue
            if t.nal_unit_type == nu.VVC_SPS:
                trace_line(self.trace, f"=== picture {picture}: seq_parameter_set_rbsp")
                s = parse_sps(nu.nal_payload_rbsp(nal, nu.VVC), self.trace)
                self.sps[s.sps_seq_parameter_set_id] = s
            elif t.nal_unit_type == nu.VVC_PPS:
                trace_line(self.trace, f"=== picture {picture}: pic_parameter_set_rbsp")
                p = parse_pps(nu.nal_payload_rbsp(nal, nu.VVC), self.trace)
                self.pps[p.pps_pic_parameter_set_id] = p
            elif t.nal_unit_type == nu.VVC_PH and qp is None:
                trace_line(self.trace, f"=== picture {picture}: picture_header_rbsp")
                ph = self.picture_header(nal)
            elif nu.is_vcl(t.nal_unit_type, nu.VVC) and qp is None:
                trace_line(self.trace, f"=== picture {picture}: slice_header (to sh_qp_delta)")
                qp = self.slice_header(nal, ph).slice_qp_y
        if qp is None:
            raise BitstreamError("access unit without a slice")
        return qp

    def _parameter_sets(self, pps_id: int) -> tuple[Sps, Pps]:
        if pps_id not in self.pps:
            raise BitstreamError(f"picture header refers to PPS {pps_id}, which was not received")
        pps = self.pps[pps_id]
        if pps.pps_seq_parameter_set_id not in self.sps:
            raise BitstreamError(f"PPS {pps_id} refers to SPS {pps.pps_seq_parameter_set_id}, which was not received")
        return self.sps[pps.pps_seq_parameter_set_id], pps

    def picture_header(self, nal: bytes) -> PictureHeader:
        """picture_header_rbsp( ) (7.3.2.8) of a PH NAL unit."""
        if nu.parse_nal_header(nal, nu.VVC).nal_unit_type != nu.VVC_PH:
            raise BitstreamError("not a picture header NAL unit")
        r = SyntaxReader(nu.nal_payload_rbsp(nal, nu.VVC), self.trace, "VVC picture header")
        ph = self._picture_header_structure(r)
        _rbsp_trailing_bits(r)
        return ph

    def _picture_header_structure(self, r: SyntaxReader) -> PictureHeader:
        """picture_header_structure( ) (7.3.2.9), read to its end."""
        gdr_or_irap = r.flag("ph_gdr_or_irap_pic_flag")
        non_ref = r.flag("ph_non_ref_pic_flag")
        gdr = r.flag("ph_gdr_pic_flag") if gdr_or_irap else 0
        inter = r.flag("ph_inter_slice_allowed_flag")
        intra = r.flag("ph_intra_slice_allowed_flag") if inter else 1
        pps_id = r.ue("ph_pic_parameter_set_id")
        if pps_id > 63:
            raise BitstreamError(f"ph_pic_parameter_set_id {pps_id} > 63")
        sps, pps = self._parameter_sets(pps_id)
        chroma = sps.sps_chroma_format_idc != 0
        ph = PictureHeader(gdr_or_irap, inter, intra, pps_id,
                           r.u("ph_pic_order_cnt_lsb", sps.log2_max_pic_order_cnt_lsb), sps=sps, pps=pps)
        if gdr:
            r.ue("ph_recovery_poc_cnt")
        for i in range(sps.num_extra_ph_bits):
            r.flag(f"ph_extra_bit[{i}]")
        if sps.sps_poc_msb_cycle_flag:
            if r.flag("ph_poc_msb_cycle_present_flag"):
                r.u("ph_poc_msb_cycle_val", sps.sps_poc_msb_cycle_len_minus1 + 1)
        if sps.sps_alf_enabled_flag and pps.pps_alf_info_in_ph_flag:
            self._alf(r, sps, "ph")
        if sps.sps_lmcs_enabled_flag:
            ph.ph_lmcs_enabled_flag = r.flag("ph_lmcs_enabled_flag")
            if ph.ph_lmcs_enabled_flag:
                r.u("ph_lmcs_aps_id", 2)
                if chroma:
                    r.flag("ph_chroma_residual_scale_flag")
        if sps.sps_explicit_scaling_list_enabled_flag:
            ph.ph_explicit_scaling_list_enabled_flag = r.flag("ph_explicit_scaling_list_enabled_flag")
            if ph.ph_explicit_scaling_list_enabled_flag:
                r.u("ph_scaling_list_aps_id", 3)
        if sps.sps_virtual_boundaries_enabled_flag and not sps.sps_virtual_boundaries_present_flag:
            if r.flag("ph_virtual_boundaries_present_flag"):
                for d, c in (("ver", "x"), ("hor", "y")):
                    n = r.ue(f"ph_num_{d}_virtual_boundaries")
                    if n > 3:
                        raise BitstreamError(f"ph_num_{d}_virtual_boundaries {n} > 3")
                    for i in range(n):
                        r.ue(f"ph_virtual_boundary_pos_{c}_minus1[{i}]")
        if pps.pps_output_flag_present_flag and not non_ref:
            r.flag("ph_pic_output_flag")
        if pps.pps_rpl_info_in_ph_flag:
            ph.rpls = _ref_pic_lists(r, sps, pps)
        override = r.flag("ph_partition_constraints_override_flag") \
            if sps.sps_partition_constraints_override_enabled_flag else 0
        if intra:
            if override:
                r.ue("ph_log2_diff_min_qt_min_cb_intra_slice_luma")
                if r.ue("ph_max_mtt_hierarchy_depth_intra_slice_luma"):
                    r.ue("ph_log2_diff_max_bt_min_qt_intra_slice_luma")
                    r.ue("ph_log2_diff_max_tt_min_qt_intra_slice_luma")
                if sps.sps_qtbtt_dual_tree_intra_flag:
                    r.ue("ph_log2_diff_min_qt_min_cb_intra_slice_chroma")
                    if r.ue("ph_max_mtt_hierarchy_depth_intra_slice_chroma"):
                        r.ue("ph_log2_diff_max_bt_min_qt_intra_slice_chroma")
                        r.ue("ph_log2_diff_max_tt_min_qt_intra_slice_chroma")
            if pps.pps_cu_qp_delta_enabled_flag:
                r.ue("ph_cu_qp_delta_subdiv_intra_slice")
            if pps.pps_cu_chroma_qp_offset_list_enabled_flag:
                r.ue("ph_cu_chroma_qp_offset_subdiv_intra_slice")
        if inter:
            if override:
                r.ue("ph_log2_diff_min_qt_min_cb_inter_slice")
                if r.ue("ph_max_mtt_hierarchy_depth_inter_slice"):
                    r.ue("ph_log2_diff_max_bt_min_qt_inter_slice")
                    r.ue("ph_log2_diff_max_tt_min_qt_inter_slice")
            if pps.pps_cu_qp_delta_enabled_flag:
                r.ue("ph_cu_qp_delta_subdiv_inter_slice")
            if pps.pps_cu_chroma_qp_offset_list_enabled_flag:
                r.ue("ph_cu_chroma_qp_offset_subdiv_inter_slice")
            entries = [rpl.num_ref_entries for rpl in ph.rpls] if ph.rpls else None
            if sps.sps_temporal_mvp_enabled_flag:
                ph.ph_temporal_mvp_enabled_flag = r.flag("ph_temporal_mvp_enabled_flag")
                if ph.ph_temporal_mvp_enabled_flag and entries:
                    from_l0 = r.flag("ph_collocated_from_l0_flag") if entries[1] > 0 else 1
                    if entries[0 if from_l0 else 1] > 1:
                        r.ue("ph_collocated_ref_idx")
            if sps.sps_mmvd_fullpel_only_enabled_flag:
                r.flag("ph_mmvd_fullpel_only_flag")
            if not entries or entries[1] > 0:                                # presenceFlag
                r.flag("ph_mvd_l1_zero_flag")
                if sps.sps_bdof_control_present_in_ph_flag:
                    r.flag("ph_bdof_disabled_flag")
                if sps.sps_dmvr_control_present_in_ph_flag:
                    r.flag("ph_dmvr_disabled_flag")
            if sps.sps_prof_control_present_in_ph_flag:
                r.flag("ph_prof_disabled_flag")
            if (pps.pps_weighted_pred_flag or pps.pps_weighted_bipred_flag) and pps.pps_wp_info_in_ph_flag:
                _pred_weight_table(r, sps, pps, [0, 0], ph.rpls)
        if pps.pps_qp_delta_info_in_ph_flag:
            ph.ph_qp_delta = r.se("ph_qp_delta")
        if sps.sps_joint_cbcr_enabled_flag:
            r.flag("ph_joint_cbcr_sign_flag")
        if sps.sps_sao_enabled_flag and pps.pps_sao_info_in_ph_flag:
            r.flag("ph_sao_luma_enabled_flag")
            if chroma:
                r.flag("ph_sao_chroma_enabled_flag")
        if pps.pps_dbf_info_in_ph_flag:
            if r.flag("ph_deblocking_params_present_flag"):
                disabled = r.flag("ph_deblocking_filter_disabled_flag") \
                    if not pps.pps_deblocking_filter_disabled_flag else 0
                if not disabled:
                    r.se("ph_luma_beta_offset_div2")
                    r.se("ph_luma_tc_offset_div2")
                    if pps.pps_chroma_tool_offsets_present_flag:
                        for name in ("ph_cb_beta_offset_div2", "ph_cb_tc_offset_div2", "ph_cr_beta_offset_div2",
                                     "ph_cr_tc_offset_div2"):
                            r.se(name)
        if pps.pps_picture_header_extension_present_flag:
            n = r.ue("ph_extension_length")
            if n > 256:
                raise BitstreamError(f"ph_extension_length {n} > 256")
            for i in range(n):
                r.u(f"ph_extension_data_byte[{i}]", 8)
        return ph

    @staticmethod
    def _alf(r: SyntaxReader, sps: Sps, p: str) -> None:
        """The ALF part of the picture header (p = "ph") or slice header (p = "sh")."""
        if not r.flag(f"{p}_alf_enabled_flag"):
            return
        for i in range(r.u(f"{p}_num_alf_aps_ids_luma", 3)):
            r.u(f"{p}_alf_aps_id_luma[{i}]", 3)
        if sps.sps_chroma_format_idc:
            cb = r.flag(f"{p}_alf_cb_enabled_flag")
            cr = r.flag(f"{p}_alf_cr_enabled_flag")
            if cb or cr:
                r.u(f"{p}_alf_aps_id_chroma", 3)
        if sps.sps_ccalf_enabled_flag:
            for c in ("cb", "cr"):
                if r.flag(f"{p}_alf_cc_{c}_enabled_flag"):
                    r.u(f"{p}_alf_cc_{c}_aps_id", 3)

    def slice_header(self, nal: bytes, ph: Optional[PictureHeader] = None) -> SliceHeaderStart:
        """Slice header (7.3.7.1) of the first slice of a picture, up to sh_qp_delta. ``ph`` is the picture
        header of the picture's PH NAL unit, needed when sh_picture_header_in_slice_header_flag is 0."""
        nal_type = nu.parse_nal_header(nal, nu.VVC).nal_unit_type
        if not nu.is_vcl(nal_type, nu.VVC):
            raise BitstreamError(f"nal_unit_type {nal_type} is not a slice")
        r = SyntaxReader(nu.nal_payload_rbsp(nal, nu.VVC), self.trace, "VVC slice header")
        ph_in_sh = r.flag("sh_picture_header_in_slice_header_flag")
        if ph_in_sh:
            ph = self._picture_header_structure(r)
        elif ph is None:
            raise BitstreamError("slice with sh_picture_header_in_slice_header_flag 0 and no picture header NAL "
                                 "unit before it")
        sps, pps = ph.sps, ph.pps              # those of the picture header, even if a PPS came in between
        if sps.sps_subpic_info_present_flag:
            r.u("sh_subpic_id", sps.sps_subpic_id_len_minus1 + 1)
        address = 0
        if pps.pps_rect_slice_flag and pps.num_slices_in_pic > 1:               # one subpicture
            address = r.u("sh_slice_address", ceil_log2(pps.num_slices_in_pic))
        elif not pps.pps_rect_slice_flag and pps.num_tiles_in_pic > 1:
            address = r.u("sh_slice_address", ceil_log2(pps.num_tiles_in_pic))
        if address != 0:
            raise BitstreamError(f"the first slice of a picture has sh_slice_address {address}, not 0")
        for i in range(sps.num_extra_sh_bits):
            r.flag(f"sh_extra_bit[{i}]")
        if not pps.pps_rect_slice_flag and pps.num_tiles_in_pic - address > 1:
            r.ue("sh_num_tiles_in_slice_minus1")
        slice_type = I_SLICE
        if ph.ph_inter_slice_allowed_flag:
            slice_type = r.ue("sh_slice_type")
            if slice_type > 2 or (slice_type == I_SLICE and not ph.ph_intra_slice_allowed_flag):
                raise BitstreamError(f"sh_slice_type {slice_type} not allowed")
        if nu.VVC_IDR_W_RADL <= nal_type <= VVC_GDR:
            r.flag("sh_no_output_of_prior_pics_flag")
        if sps.sps_alf_enabled_flag and not pps.pps_alf_info_in_ph_flag:
            self._alf(r, sps, "sh")
        if ph.ph_lmcs_enabled_flag and not ph_in_sh:
            r.flag("sh_lmcs_used_flag")
        if ph.ph_explicit_scaling_list_enabled_flag and not ph_in_sh:
            r.flag("sh_explicit_scaling_list_used_flag")
        if pps.pps_rpl_info_in_ph_flag:
            rpls = ph.rpls
        elif nal_type in (nu.VVC_IDR_W_RADL, VVC_IDR_N_LP) and not sps.sps_idr_rpl_present_flag:
            rpls = [RefPicListStruct(), RefPicListStruct()]
        else:
            rpls = _ref_pic_lists(r, sps, pps)
        entries = [rpl.num_ref_entries for rpl in rpls]
        lists = {I_SLICE: 0, P_SLICE: 1, B_SLICE: 2}[slice_type]
        active = [0, 0]
        override = 1
        if (lists and entries[0] > 1) or (lists == 2 and entries[1] > 1):
            override = r.flag("sh_num_ref_idx_active_override_flag")
        for i in range(lists):                                                 # NumRefIdxActive (7.4.8.1)
            if override:
                active[i] = 1
                if entries[i] > 1:
                    active[i] = r.ue(f"sh_num_ref_idx_active_minus1[{i}]") + 1
                    if active[i] > 15:
                        raise BitstreamError(f"sh_num_ref_idx_active_minus1[{i}] {active[i] - 1} > 14")
            else:
                active[i] = min(entries[i], pps.pps_num_ref_idx_default_active_minus1[i] + 1)
            if active[i] > entries[i]:
                raise BitstreamError(f"{'P' if slice_type == P_SLICE else 'B'} slice with {entries[i]} entries in "
                                     f"reference picture list {i} and NumRefIdxActive[{i}] {active[i]}")
        if slice_type != I_SLICE:
            if pps.pps_cabac_init_present_flag:
                r.flag("sh_cabac_init_flag")
            if ph.ph_temporal_mvp_enabled_flag and not pps.pps_rpl_info_in_ph_flag:
                from_l0 = r.flag("sh_collocated_from_l0_flag") if slice_type == B_SLICE else 1
                if active[0 if from_l0 else 1] > 1:
                    r.ue("sh_collocated_ref_idx")
            if not pps.pps_wp_info_in_ph_flag and ((pps.pps_weighted_pred_flag and slice_type == P_SLICE) or
                                                   (pps.pps_weighted_bipred_flag and slice_type == B_SLICE)):
                _pred_weight_table(r, sps, pps, active, rpls)
        if pps.pps_qp_delta_info_in_ph_flag:
            qp_delta = ph.ph_qp_delta
        else:
            qp_delta = r.se("sh_qp_delta")
        qp = 26 + pps.pps_init_qp_minus26 + qp_delta
        if not -sps.qp_bd_offset_y <= qp <= MAX_QP:
            raise BitstreamError(f"SliceQpY {qp} outside -{sps.qp_bd_offset_y}..{MAX_QP}")
        return SliceHeaderStart(slice_type, ph.ph_pic_order_cnt_lsb, qp, ph_in_sh, pps.pps_qp_delta_info_in_ph_flag,
                                active)
