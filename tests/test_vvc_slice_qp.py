"""SliceQpY from VVC parameter sets, picture headers and slice headers (CommonLib.syntax.vvc_slice_qp).

* Streams of VTM 23.13 and VVenC 1.15 (../shared/jvet-tools; skipped without it): SliceQpY, slice type, POC
  and NAL unit type of every access unit equal what the encoder prints, in coding order (low delay P / B with
  CRA refresh, 8 and 10 bit, GCI and sub-profiles; a PH NAL unit with the QP, the reference picture lists and
  the weights in it, tiles and rectangular slices; raster-scan slices with weights in the slice header;
  VVenC's presets in low delay, its random access with reordering and leading pictures, and QPA).
* Constructed parameter sets and headers for the syntax the encoders do not write (long-term and inter-layer
  reference entries, explicit lists in the headers, subpicture IDs, extra PH / SH bits, POC MSB, tiles with
  several slices in a tile and tile index deltas, ALF / LMCS / scaling lists / virtual boundaries in the
  headers, partition overrides, extensions): the parser's trace equals the writer's element by element.
* Errors are BitstreamErrors with a clear message, also for damaged streams.
"""
import re
import subprocess

import numpy as np
import pytest

from CommonLib.syntax import nal_unit as nu
from CommonLib.syntax.access_units import split_access_units
from CommonLib.syntax.bit_io import SyntaxWriter
from CommonLib.syntax.vvc_slice_qp import SliceQpParser, ceil_log2, parse_pps, parse_sps
from Utilities.errors import BitstreamError

NAL_NAMES = {0: "TRAIL", 1: "STSA", 2: "RADL", 3: "RASL", 7: "IDR_W_RADL", 8: "IDR_N_LP", 9: "CRA", 10: "GDR"}
#: one line per picture in coding order: VTM "POC    1 LId:  0 TId: 0 ( TRAIL, P-SLICE, QP 58 )",
#: VVenC "POC     1 TId: 0 (     TRAIL, B-SLICE, QP 57)"
POC_LINE = re.compile(r"^POC\s+(\d+)\b.*?\(\s*(\w+),\s*([IPB])-SLICE,\s*QP\s+(-?\d+)")


# --- streams of the JVET encoders ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def yuv(tmp_path_factory, example_clip):
    """The first 17 pictures of the embedded clip, 256x256 and a 64x64 crop, as 8-bit I420 files."""
    from Utilities.video_io import VideoReader
    d = tmp_path_factory.mktemp("vvc_qp_yuv")
    pics = list(VideoReader(example_clip).frames(0, 17))
    with open(d / "in256.yuv", "wb") as f:
        for p in pics:
            f.write(p.packed().tobytes())
    with open(d / "in64.yuv", "wb") as f:
        for p in pics:
            for plane, (y0, x0, n) in zip(p.planes(), ((64, 96, 64), (32, 48, 32), (32, 48, 32))):
                f.write(np.ascontiguousarray(plane[y0:y0 + n, x0:x0 + n]).tobytes())
    return {256: str(d / "in256.yuv"), 64: str(d / "in64.yuv")}


def _run(args):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=300)


def _vtm(jvet_tools, yuv, tmp_path, cfg, frames, *extra, size=64):
    out = str(tmp_path / "vtm.bin")
    r = _run([jvet_tools["bin"]["EncoderAppStatic"], "-c", jvet_tools["cfg"][cfg], "-i", yuv[size],
              "-wdt", str(size), "-hgt", str(size), "-fr", "30", "-f", str(frames), "-q", "50", "--IntraQPOffset=-13",
              "--Level=3.1", "-b", out, "-o", "", "--SEIDecodedPictureHash=1", "--OutputBitDepth=8", *extra])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    return open(out, "rb").read(), _printed(r.stdout)


def _vvenc(jvet_tools, yuv, tmp_path, frames, *extra):
    out = str(tmp_path / "vvenc.bin")
    r = _run([jvet_tools["bin"]["vvencFFapp"], "-i", yuv[256], "-s", "256x256", "--InputBitDepth", "8",
              "--OutputBitDepth", "8", "-fr", "30", "-f", str(frames), "-q", "50", "--Threads", "1", "-b", out, *extra])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    return open(out, "rb").read(), _printed(r.stdout)


def _printed(stdout):
    """[(POC, NAL unit type name, slice type letter, QP)] of the encoder's per-picture lines."""
    return [(int(m[1]), m[2], m[3], int(m[4])) for m in map(POC_LINE.match, stdout.splitlines()) if m]


def _parse(data, trace=None):
    """The parser, the SliceHeaderStart of each access unit's first slice and the access units."""
    parser = SliceQpParser(trace)
    aus = split_access_units(data, nu.VVC)
    headers = []
    for i, au in enumerate(aus):
        qp = parser.access_unit(au.nal_units, i)
        ph, parser.trace = None, None                      # the headers again, untraced
        for nal, t in zip(au.nal_units, au.types):
            if t == nu.VVC_PH:
                ph = parser.picture_header(nal)
            elif nu.is_vcl(t, nu.VVC):
                headers.append(parser.slice_header(nal, ph))
                break
        parser.trace = trace
        assert headers[-1].slice_qp_y == qp
    return parser, headers, aus


def _check(data, printed, trace=None):
    """The parser gives what the encoder printed, picture by picture in coding order."""
    parser, headers, aus = _parse(data, trace)
    (sps,) = parser.sps.values()
    max_poc = 1 << sps.log2_max_pic_order_cnt_lsb
    ours = [(h.ph_pic_order_cnt_lsb, NAL_NAMES[au.vcl_types[0]], "BPI"[h.slice_type], h.slice_qp_y)
            for h, au in zip(headers, aus)]
    assert ours == [(poc % max_poc, nal, st, qp) for poc, nal, st, qp in printed]
    assert len(ours) == len(printed) > 0
    return parser, headers, aus


@pytest.mark.parametrize("cfg, bit_depth, intra_period, extra", [
    ("vtm_encoder_lowdelay_P_vtm.cfg", 8, 8, ()),
    ("vtm_encoder_lowdelay_vtm.cfg", 10, 8, ("--GciPresentFlag=1", "--SubProfile=5",
                                              "--EnableDecodingCapabilityInformation=1")),
    ("vtm_encoder_lowdelay_vtm.cfg", 8, 16, ()),
])
def test_vtm_low_delay(cfg, bit_depth, intra_period, extra, jvet_tools, yuv, tmp_path):
    data, printed = _vtm(jvet_tools, yuv, tmp_path, cfg, 9, f"--IntraPeriod={intra_period}",
                         "--DecodingRefreshType=1", f"--InternalBitDepth={bit_depth}", *extra)
    parser, headers, aus = _check(data, printed)
    (sps,) = parser.sps.values()
    assert sps.qp_bd_offset_y == 6 * (bit_depth - 8)
    assert len({h.slice_qp_y for h in headers}) >= 3                 # IRAP, and the QP offsets of the GOP
    assert [p[1] for p in printed].count("CRA") == (1 if intra_period == 8 else 0)
    assert {h.sh_picture_header_in_slice_header_flag for h in headers} == {1}      # VTM's default
    assert {h.qp_delta_in_ph for h in headers} == {0}


def _ctu32():
    return ["--CTUSize=32", "--Log2MaxTbSize=5"] + [f"--Max{k}{s}=32" for k in ("BT", "TT")
                                                      for s in ("LumaISlice", "ChromaISlice", "NonISlice")]


def test_vtm_picture_header_nal_with_qp_lists_and_weights(jvet_tools, yuv, tmp_path):
    """A PH NAL unit (EnablePictureHeaderInSliceHeader 0) carrying ph_qp_delta, the reference picture lists
    and the weights (SliceLevel* 0, which needs picture partitioning: 2x2 tiles, one rectangular slice each),
    with explicit scaling lists."""
    data, printed = _vtm(jvet_tools, yuv, tmp_path, "vtm_encoder_lowdelay_P_vtm.cfg", 5, "--IntraPeriod=8",
                         "--EnablePictureHeaderInSliceHeader=0", "--SliceLevelRpl=0", "--SliceLevelSao=0",
                         "--SliceLevelAlf=0", "--SliceLevelWeightedPrediction=0", "--SliceLevelDeltaQp=0",
                         "--EnablePicPartitioning=1", *_ctu32(), "--TileColumnWidthArray=1", "--TileRowHeightArray=1",
                         "--RectSliceFixedWidth=1", "--RectSliceFixedHeight=1", "-wpP", "1", "--ScalingList=1")
    trace = []
    parser, headers, aus = _check(data, printed, trace)
    (pps,) = parser.pps.values()
    assert (pps.num_tiles_in_pic, pps.num_slices_in_pic, pps.pps_rect_slice_flag) == (4, 4, 1)
    assert pps.pps_qp_delta_info_in_ph_flag == pps.pps_rpl_info_in_ph_flag == pps.pps_wp_info_in_ph_flag == 1
    assert all(nu.VVC_PH in au.types and au.types.count(0) + au.types.count(8) == 4 for au in aus)
    assert {(h.sh_picture_header_in_slice_header_flag, h.qp_delta_in_ph) for h in headers} == {(0, 1)}
    assert sum(line.startswith("num_l0_weights ") for line in trace) == 4
    assert not any(line.startswith("sh_qp_delta ") for line in trace)


def test_vtm_raster_scan_slices_and_weights_in_the_slice_header(jvet_tools, yuv, tmp_path):
    data, printed = _vtm(jvet_tools, yuv, tmp_path, "vtm_encoder_lowdelay_vtm.cfg", 5, "--IntraPeriod=8", "-wpP", "1",
                         "-wpB", "1", "--EnablePicPartitioning=1", *_ctu32(), "--TileColumnWidthArray=1",
                         "--TileRowHeightArray=1", "--RasterScanSlices=1")
    trace = []
    parser, headers, _ = _check(data, printed, trace)
    (pps,) = parser.pps.values()
    assert (pps.num_tiles_in_pic, pps.pps_rect_slice_flag, pps.pps_weighted_bipred_flag) == (4, 0, 1)
    assert any(line.startswith("luma_weight_l1_flag[1] ") for line in trace)
    assert any(line.startswith("sh_num_tiles_in_slice_minus1 ") for line in trace)
    assert [h.num_ref_idx_active for h in headers[1:3]] == [[1, 1], [2, 2]]


def test_vtm_slice_level_deblocking_without_override_writes_a_picture_header_vtm_cannot_read(jvet_tools, yuv,
                                                                                          tmp_path):
    """VTM 23.13 with SliceLevelDblk 0 but the deblocking override not enabled (so no pps_dbf_info_in_ph_flag)
    writes one bit more into the picture header than it declares; its own decoder stops at the PH's
    rbsp_stop_one_bit, and so does the parser."""
    data, _ = _vtm(jvet_tools, yuv, tmp_path, "vtm_encoder_lowdelay_P_vtm.cfg", 2, "--IntraPeriod=8",
                   "--EnablePictureHeaderInSliceHeader=0", "--SliceLevelDblk=0", "--EnablePicPartitioning=1",
                   *_ctu32(), "--TileColumnWidthArray=1", "--TileRowHeightArray=1")
    au = split_access_units(data, nu.VVC)[0]
    err = SliceQpParser().access_unit_or_error(au.nal_units)
    assert isinstance(err, BitstreamError) and "picture header: rbsp_stop_one_bit = 0" in str(err)
    path = tmp_path / "dblk.bin"
    path.write_bytes(data)
    r = _run([jvet_tools["bin"]["DecoderAppStatic"], "-b", str(path)])
    assert "Trailing bit not '1'" in r.stdout + r.stderr


LOW_DELAY = ("--PicReordering", "0", "--GOPSize", "8", "--IntraPeriod", "16", "--DecodingRefreshType", "none",
             "--QPA", "0", "--GOPQPA", "0", "--IntraQPOffset", "-13")


@pytest.mark.parametrize("preset, extra", [("faster", ("--InternalBitDepth", "8")), ("medium", ()), ("slow", ())])
def test_vvenc_low_delay(preset, extra, jvet_tools, yuv, tmp_path):
    data, printed = _vvenc(jvet_tools, yuv, tmp_path, 9, "--preset", preset, *LOW_DELAY, *extra)
    parser, headers, _ = _check(data, printed)
    (sps,) = parser.sps.values()
    assert sps.qp_bd_offset_y == (0 if extra else 12)                # VVenC codes 10 bit unless told
    assert len({h.slice_qp_y for h in headers}) >= 3
    assert [h.ph_pic_order_cnt_lsb for h in headers] == list(range(9))


@pytest.mark.parametrize("preset, qpa", [("medium", "0"), ("faster", "1")])
def test_vvenc_random_access(preset, qpa, jvet_tools, yuv, tmp_path):
    """The default random access (GOP 32, hierarchical B, an IDR with leading pictures); with QPA 1 the CUs
    carry QP deltas, and SliceQpY is still the slice's."""
    data, printed = _vvenc(jvet_tools, yuv, tmp_path, 17, "--preset", preset, "--QPA", qpa)
    parser, headers, aus = _check(data, printed)
    pocs = [h.ph_pic_order_cnt_lsb for h in headers]
    assert pocs != sorted(pocs) and sorted(pocs) == list(range(17))
    assert "RADL" in {p[1] for p in printed}
    (sps,), (pps,) = parser.sps.values(), parser.pps.values()
    assert len(sps.rpl_structs[0]) > 0 and sps.sps_temporal_mvp_enabled_flag
    if qpa == "1":
        assert pps.pps_cu_qp_delta_enabled_flag
    assert len({h.slice_qp_y for h in headers}) >= 4


# --- constructed parameter sets and headers -------------------------------------------------------------

GCI_1 = ["gci_intra_only_constraint_flag", "gci_all_layers_independent_constraint_flag",
         "gci_one_au_only_constraint_flag"]
GCI_2 = [f"gci_{n}_constraint_flag" for n in (
    "no_mixed_nalu_types_in_pic no_trail no_stsa no_rasl no_radl no_idr no_cra no_gdr no_aps no_idr_rpl "
    "one_tile_per_pic pic_header_in_slice_header one_slice_per_pic no_rectangular_slice one_slice_per_subpic "
    "no_subpic_info").split()]
GCI_3 = [f"gci_{n}_constraint_flag" for n in (
    "no_partition_constraints_override no_mtt no_qtbtt_dual_tree_intra no_palette no_ibc no_isp no_mrl no_mip "
    "no_cclm no_ref_pic_resampling no_res_change_in_clvs no_weighted_prediction no_ref_wraparound "
    "no_temporal_mvp no_sbtmvp no_amvr no_bdof no_smvd no_dmvr no_mmvd no_affine_motion no_prof no_bcw no_ciip "
    "no_gpm no_luma_transform_size_64 no_transform_skip no_bdpcm no_mts no_lfnst no_joint_cbcr no_sbt no_act "
    "no_explicit_scaling_list no_dep_quant no_sign_data_hiding no_cu_qp_delta no_chroma_qp_offset no_sao "
    "no_alf no_ccalf no_lmcs no_ladf no_virtual_boundaries").split()]
GCI_4 = [f"gci_{n}_constraint_flag" for n in (
    "all_rap_pictures no_extended_precision_processing no_ts_residual_coding_rice no_rrc_rice_extension "
    "no_persistent_rice_adaptation no_reverse_last_sig_coeff").split()]

#: the reference picture list structures of the SPS: ("st", abs_delta_poc_st, strp_entry_sign_flag),
#: ("lt", rpls_poc_lsb_lt or None), ("il", ilrp_idx); and ltrp_in_header_flag
SPS_RPLS = [[([("st", 0, 1)], 0),
             ([("st", 0, 1), ("lt", 7), ("st", 0, None)], 0),     # AbsDeltaPocSt 0 (weighted, i > 0): no sign
             ([("st", 0, 1), ("st", 2, 1), ("lt", None)], 1)],
            [([("st", 0, 0), ("il", 0)], 0)]]


def _trailing(w):
    w.f("rbsp_stop_one_bit", 1, 1)
    while not w.byte_aligned():
        w.f("rbsp_alignment_zero_bit", 1, 0)


def _nal(nal_type, write, *args):
    """(NAL unit, the writer's trace) of an RBSP written by ``write(w, *args)``."""
    trace = []
    w = SyntaxWriter(trace)
    write(w, *args)
    _trailing(w)
    return nu.make_nal_unit(nu.VVC, nal_type, w.getvalue()), trace


def _rpl_struct(w, lx, idx, entries, in_sps, ltrp_in_header=0):
    """ref_pic_list_struct( lx, idx ) of the constructed SPS (long-term, inter-layer and weighted prediction
    enabled)."""
    s = f"[{lx}][{idx}]"
    w.ue(f"num_ref_entries{s}", len(entries))
    if in_sps and entries:
        w.u(f"ltrp_in_header_flag{s}", 1, ltrp_in_header)
    j = 0
    for i, e in enumerate(entries):
        w.u(f"inter_layer_ref_pic_flag{s}[{i}]", 1, e[0] == "il")
        if e[0] == "il":
            w.ue(f"ilrp_idx{s}[{i}]", e[1])
            continue
        w.u(f"st_ref_pic_flag{s}[{i}]", 1, e[0] == "st")
        if e[0] == "st":
            w.ue(f"abs_delta_poc_st{s}[{i}]", e[1])
            if i == 0 or e[1] > 0:
                w.u(f"strp_entry_sign_flag{s}[{i}]", 1, e[2])
        elif in_sps and not ltrp_in_header:
            w.u(f"rpls_poc_lsb_lt{s}[{j}]", 8, e[1])
            j += 1


def _sps(w, subpic=True):
    u, ue, se = w.u, w.ue, w.se
    u("sps_seq_parameter_set_id", 4, 2)
    u("sps_video_parameter_set_id", 4, 1)                  # > 0: sps_inter_layer_prediction_enabled_flag
    u("sps_max_sublayers_minus1", 3, 2)
    u("sps_chroma_format_idc", 2, 1)
    u("sps_log2_ctu_size_minus5", 2, 0)                    # CTUs of 32: 4 x 3 in 128 x 96
    u("sps_ptl_dpb_hrd_params_present_flag", 1, 1)
    u("general_profile_idc", 7, 1)
    u("general_tier_flag", 1, 0)
    u("general_level_idc", 8, 51)
    u("ptl_frame_only_constraint_flag", 1, 1)
    u("ptl_multilayer_enabled_flag", 1, 0)
    u("gci_present_flag", 1, 1)
    for name in GCI_1:
        u(name, 1, 0)
    u("gci_sixteen_minus_max_bitdepth_constraint_idc", 4, 6)
    u("gci_three_minus_max_chroma_format_constraint_idc", 2, 2)
    for name in GCI_2:
        u(name, 1, 0)
    u("gci_three_minus_max_log2_ctu_size_constraint_idc", 2, 1)
    for name in GCI_3:
        u(name, 1, name.endswith("no_palette_constraint_flag"))
    u("gci_num_additional_bits", 8, 9)
    for name in GCI_4:
        u(name, 1, 0)
    for i in range(3):
        u(f"gci_reserved_bit[{i}]", 1, i == 1)
    while not w.byte_aligned():
        w.f("gci_alignment_zero_bit", 1, 0)
    u("ptl_sublayer_level_present_flag[1]", 1, 1)
    u("ptl_sublayer_level_present_flag[0]", 1, 0)
    while not w.byte_aligned():
        w.f("ptl_reserved_zero_bit", 1, 0)
    u("sublayer_level_idc[1]", 8, 48)
    u("ptl_num_sub_profiles", 8, 1)
    u("general_sub_profile_idc[0]", 32, 0x12345678)
    u("sps_gdr_enabled_flag", 1, 1)
    u("sps_ref_pic_resampling_enabled_flag", 1, 1)
    u("sps_res_change_in_clvs_allowed_flag", 1, 0)
    ue("sps_pic_width_max_in_luma_samples", 128)
    ue("sps_pic_height_max_in_luma_samples", 96)
    u("sps_conformance_window_flag", 1, 1)
    for name, v in (("left", 0), ("right", 2), ("top", 1), ("bottom", 3)):
        ue(f"sps_conf_win_{name}_offset", v)
    u("sps_subpic_info_present_flag", 1, subpic)
    if subpic:
        ue("sps_num_subpics_minus1", 0)
        ue("sps_subpic_id_len_minus1", 3)
        u("sps_subpic_id_mapping_explicitly_signalled_flag", 1, 1)
        u("sps_subpic_id_mapping_present_flag", 1, 1)
        u("sps_subpic_id[0]", 4, 9)
    ue("sps_bitdepth_minus8", 2)                           # 10 bit: SliceQpY down to -12
    u("sps_entropy_coding_sync_enabled_flag", 1, 1)
    u("sps_entry_point_offsets_present_flag", 1, 1)
    u("sps_log2_max_pic_order_cnt_lsb_minus4", 4, 4)       # 8-bit POC LSBs
    u("sps_poc_msb_cycle_flag", 1, 1)
    ue("sps_poc_msb_cycle_len_minus1", 3)
    u("sps_num_extra_ph_bytes", 2, 1)
    for i, f in enumerate((1, 0, 0, 1, 0, 0, 0, 1)):       # NumExtraPhBits 3
        u(f"sps_extra_ph_bit_present_flag[{i}]", 1, f)
    u("sps_num_extra_sh_bytes", 2, 1)
    for i, f in enumerate((0, 1, 0, 0, 0, 0, 1, 0)):       # NumExtraShBits 2
        u(f"sps_extra_sh_bit_present_flag[{i}]", 1, f)
    u("sps_sublayer_dpb_params_flag", 1, 1)
    for i in range(3):
        ue(f"dpb_max_dec_pic_buffering_minus1[{i}]", 5)
        ue(f"dpb_max_num_reorder_pics[{i}]", i)
        ue(f"dpb_max_latency_increase_plus1[{i}]", 0)
    ue("sps_log2_min_luma_coding_block_size_minus2", 0)
    u("sps_partition_constraints_override_enabled_flag", 1, 1)
    for name, v in (("log2_diff_min_qt_min_cb_intra_slice_luma", 1), ("max_mtt_hierarchy_depth_intra_slice_luma", 2),
                    ("log2_diff_max_bt_min_qt_intra_slice_luma", 1), ("log2_diff_max_tt_min_qt_intra_slice_luma", 1)):
        ue(f"sps_{name}", v)
    u("sps_qtbtt_dual_tree_intra_flag", 1, 1)
    for name, v in (("log2_diff_min_qt_min_cb_intra_slice_chroma", 1),
                    ("max_mtt_hierarchy_depth_intra_slice_chroma", 1),
                    ("log2_diff_max_bt_min_qt_intra_slice_chroma", 1),
                    ("log2_diff_max_tt_min_qt_intra_slice_chroma", 0),
                    ("log2_diff_min_qt_min_cb_inter_slice", 1), ("max_mtt_hierarchy_depth_inter_slice", 0)):
        ue(f"sps_{name}", v)
    u("sps_transform_skip_enabled_flag", 1, 1)             # CTU 32: no sps_max_luma_transform_size_64_flag
    ue("sps_log2_transform_skip_max_size_minus2", 1)
    u("sps_bdpcm_enabled_flag", 1, 1)
    u("sps_mts_enabled_flag", 1, 1)
    u("sps_explicit_mts_intra_enabled_flag", 1, 1)
    u("sps_explicit_mts_inter_enabled_flag", 1, 0)
    u("sps_lfnst_enabled_flag", 1, 1)
    u("sps_joint_cbcr_enabled_flag", 1, 1)
    u("sps_same_qp_table_for_chroma_flag", 1, 0)           # three tables
    for i in range(3):
        se(f"sps_qp_table_start_minus26[{i}]", -5 - i)
        ue(f"sps_num_points_in_qp_table_minus1[{i}]", 1)
        for j in range(2):
            ue(f"sps_delta_qp_in_val_minus1[{i}][{j}]", 3)
            ue(f"sps_delta_qp_diff_val[{i}][{j}]", 1)
    for name in ("sao", "alf", "ccalf", "lmcs"):
        u(f"sps_{name}_enabled_flag", 1, 1)
    for name in ("weighted_pred", "weighted_bipred", "long_term_ref_pics", "inter_layer_prediction_enabled",
                 "idr_rpl_present"):
        u(f"sps_{name}_flag", 1, 1)
    u("sps_rpl1_same_as_rpl0_flag", 1, 0)
    for lx in range(2):
        ue(f"sps_num_ref_pic_lists[{lx}]", len(SPS_RPLS[lx]))
        for idx, (entries, ltrp) in enumerate(SPS_RPLS[lx]):
            _rpl_struct(w, lx, idx, entries, True, ltrp)
    u("sps_ref_wraparound_enabled_flag", 1, 0)
    for name in ("temporal_mvp_enabled", "sbtmvp_enabled", "amvr_enabled", "bdof_enabled", "bdof_control_present_in_ph",
                 "smvd_enabled", "dmvr_enabled", "dmvr_control_present_in_ph", "mmvd_enabled",
                 "mmvd_fullpel_only_enabled"):
        u(f"sps_{name}_flag", 1, 1)
    ue("sps_six_minus_max_num_merge_cand", 1)
    u("sps_sbt_enabled_flag", 1, 1)
    u("sps_affine_enabled_flag", 1, 1)
    ue("sps_five_minus_max_num_subblock_merge_cand", 0)
    for name in ("6param_affine_enabled", "affine_amvr_enabled", "affine_prof_enabled", "prof_control_present_in_ph",
                 "bcw_enabled", "ciip_enabled", "gpm_enabled"):
        u(f"sps_{name}_flag", 1, 1)
    ue("sps_max_num_merge_cand_minus_max_num_gpm_cand", 1)
    ue("sps_log2_parallel_merge_level_minus2", 0)
    for name, v in (("isp_enabled", 1), ("mrl_enabled", 1), ("mip_enabled", 0), ("cclm_enabled", 1),
                    ("chroma_horizontal_collocated", 1), ("chroma_vertical_collocated", 0), ("palette_enabled", 0)):
        u(f"sps_{name}_flag", 1, v)
    ue("sps_min_qp_prime_ts", 2)
    u("sps_ibc_enabled_flag", 1, 1)
    ue("sps_six_minus_max_num_ibc_merge_cand", 1)
    u("sps_ladf_enabled_flag", 1, 1)
    u("sps_num_ladf_intervals_minus2", 2, 1)
    se("sps_ladf_lowest_interval_qp_offset", -3)
    for i in range(2):
        se(f"sps_ladf_qp_offset[{i}]", i + 1)
        ue(f"sps_ladf_delta_threshold_minus1[{i}]", 100)
    u("sps_explicit_scaling_list_enabled_flag", 1, 1)
    u("sps_scaling_matrix_for_lfnst_disabled_flag", 1, 1)
    u("sps_dep_quant_enabled_flag", 1, 1)
    u("sps_sign_data_hiding_enabled_flag", 1, 0)
    u("sps_virtual_boundaries_enabled_flag", 1, 1)
    u("sps_virtual_boundaries_present_flag", 1, 0)         # in the picture headers
    # after the parsed part
    u("sps_timing_hrd_params_present_flag", 1, 0)
    u("sps_field_seq_flag", 1, 0)
    u("sps_vui_parameters_present_flag", 1, 0)
    u("sps_extension_flag", 1, 0)


def _pps(w, in_ph, subpic=True):
    """PPS 5 of SPS 2: 3 x 2 tiles (columns of 1, 2, 1 CTUs, rows of 2 and 1) and four rectangular slices (tile 0
    split into two slices, tiles 1, 2, 4, 5, tile 3); with ``in_ph`` the RPL, SAO, ALF, weights, QP and
    deblocking information are in the picture header."""
    u, ue, se = w.u, w.ue, w.se
    u("pps_pic_parameter_set_id", 6, 5)
    u("pps_seq_parameter_set_id", 4, 2)
    u("pps_mixed_nalu_types_in_pic_flag", 1, 0)
    ue("pps_pic_width_in_luma_samples", 128)
    ue("pps_pic_height_in_luma_samples", 96)
    u("pps_conformance_window_flag", 1, 0)
    u("pps_scaling_window_explicit_signalling_flag", 1, 1)
    for name, v in (("left", -2), ("right", 3), ("top", 0), ("bottom", 1)):
        se(f"pps_scaling_win_{name}_offset", v)
    u("pps_output_flag_present_flag", 1, 1)
    u("pps_no_pic_partition_flag", 1, 0)
    u("pps_subpic_id_mapping_present_flag", 1, subpic)
    if subpic:
        ue("pps_num_subpics_minus1", 0)
        ue("pps_subpic_id_len_minus1", 3)
        u("pps_subpic_id[0]", 4, 9)
    u("pps_log2_ctu_size_minus5", 2, 0)
    ue("pps_num_exp_tile_columns_minus1", 1)
    ue("pps_num_exp_tile_rows_minus1", 0)
    ue("pps_tile_column_width_minus1[0]", 0)
    ue("pps_tile_column_width_minus1[1]", 1)
    ue("pps_tile_row_height_minus1[0]", 1)
    u("pps_loop_filter_across_tiles_enabled_flag", 1, 1)
    u("pps_rect_slice_flag", 1, 1)
    u("pps_single_slice_per_subpic_flag", 1, 0)
    ue("pps_num_slices_in_pic_minus1", 3)
    u("pps_tile_idx_delta_present_flag", 1, 1)
    ue("pps_slice_width_in_tiles_minus1[0]", 0)
    ue("pps_slice_height_in_tiles_minus1[0]", 0)
    ue("pps_num_exp_slices_in_tile[0]", 1)
    ue("pps_exp_slice_height_in_ctus_minus1[0][0]", 0)
    se("pps_tile_idx_delta_val[1]", 1)
    ue("pps_slice_width_in_tiles_minus1[2]", 1)
    ue("pps_slice_height_in_tiles_minus1[2]", 1)
    se("pps_tile_idx_delta_val[2]", 2)
    u("pps_loop_filter_across_slices_enabled_flag", 1, 0)
    u("pps_cabac_init_present_flag", 1, 1)
    ue("pps_num_ref_idx_default_active_minus1[0]", 1)
    ue("pps_num_ref_idx_default_active_minus1[1]", 0)
    for name in ("rpl1_idx_present", "weighted_pred", "weighted_bipred"):
        u(f"pps_{name}_flag", 1, 1)
    u("pps_ref_wraparound_enabled_flag", 1, 0)
    se("pps_init_qp_minus26", -6)
    u("pps_cu_qp_delta_enabled_flag", 1, 1)
    u("pps_chroma_tool_offsets_present_flag", 1, 1)
    se("pps_cb_qp_offset", -1)
    se("pps_cr_qp_offset", 1)
    u("pps_joint_cbcr_qp_offset_present_flag", 1, 1)
    se("pps_joint_cbcr_qp_offset_value", 0)
    u("pps_slice_chroma_qp_offsets_present_flag", 1, 1)
    u("pps_cu_chroma_qp_offset_list_enabled_flag", 1, 1)
    ue("pps_chroma_qp_offset_list_len_minus1", 1)
    for i in range(2):
        for c in ("cb", "cr", "joint_cbcr"):
            se(f"pps_{c}_qp_offset_list[{i}]", i - 1)
    u("pps_deblocking_filter_control_present_flag", 1, 1)
    u("pps_deblocking_filter_override_enabled_flag", 1, 1)
    u("pps_deblocking_filter_disabled_flag", 1, 0)
    u("pps_dbf_info_in_ph_flag", 1, in_ph)
    for i, c in enumerate(("luma", "cb", "cr")):
        se(f"pps_{c}_beta_offset_div2", -i)
        se(f"pps_{c}_tc_offset_div2", i)
    for name in ("rpl", "sao", "alf", "wp", "qp_delta"):
        if name != "wp" or in_ph:                          # pps_wp_info_in_ph_flag only with the RPL in the PH
            u(f"pps_{name}_info_in_ph_flag", 1, in_ph)
    u("pps_picture_header_extension_present_flag", 1, 1)
    u("pps_slice_header_extension_present_flag", 1, 1)
    u("pps_extension_flag", 1, 0)


def _pred_weight_table(w, counts, in_ph):
    w.ue("luma_log2_weight_denom", 6)
    w.se("delta_chroma_log2_weight_denom", -1)
    for lx, n in enumerate(counts):
        if in_ph:
            w.ue(f"num_l{lx}_weights", n)
        luma = [(i + lx) % 2 == 0 for i in range(n)]
        chroma = [(i + lx) % 3 == 1 for i in range(n)]
        for i in range(n):
            w.u(f"luma_weight_l{lx}_flag[{i}]", 1, luma[i])
        for i in range(n):
            w.u(f"chroma_weight_l{lx}_flag[{i}]", 1, chroma[i])
        for i in range(n):
            if luma[i]:
                w.se(f"delta_luma_weight_l{lx}[{i}]", -5 + i)
                w.se(f"luma_offset_l{lx}[{i}]", 7)
            if chroma[i]:
                for j in range(2):
                    w.se(f"delta_chroma_weight_l{lx}[{i}][{j}]", 3)
                    w.se(f"delta_chroma_offset_l{lx}[{i}][{j}]", -20)


def _picture_header(w, in_ph, poc, qp_delta=None, inter=1, irap=0, tmvp=1):
    """picture_header_structure( ) for the constructed SPS / PPS; with ``in_ph`` it holds the reference picture
    lists (SPS list 2 of L0 with its long-term entry, an explicit L1 of two entries), the weights and the QP."""
    u, ue, se = w.u, w.ue, w.se
    u("ph_gdr_or_irap_pic_flag", 1, irap)
    u("ph_non_ref_pic_flag", 1, 0)
    if irap:
        u("ph_gdr_pic_flag", 1, 0)
    u("ph_inter_slice_allowed_flag", 1, inter)
    if inter:
        u("ph_intra_slice_allowed_flag", 1, 1)
    ue("ph_pic_parameter_set_id", 5)
    u("ph_pic_order_cnt_lsb", 8, poc)
    for i in range(3):
        u(f"ph_extra_bit[{i}]", 1, i % 2)
    u("ph_poc_msb_cycle_present_flag", 1, 1)
    u("ph_poc_msb_cycle_val", 4, 3)
    if in_ph:
        u("ph_alf_enabled_flag", 1, 1)
        u("ph_num_alf_aps_ids_luma", 3, 2)
        for i in range(2):
            u(f"ph_alf_aps_id_luma[{i}]", 3, i + 1)
        u("ph_alf_cb_enabled_flag", 1, 1)
        u("ph_alf_cr_enabled_flag", 1, 1)
        u("ph_alf_aps_id_chroma", 3, 3)
        u("ph_alf_cc_cb_enabled_flag", 1, 1)
        u("ph_alf_cc_cb_aps_id", 3, 4)
        u("ph_alf_cc_cr_enabled_flag", 1, 0)
    u("ph_lmcs_enabled_flag", 1, 1)
    u("ph_lmcs_aps_id", 2, 1)
    u("ph_chroma_residual_scale_flag", 1, 1)
    u("ph_explicit_scaling_list_enabled_flag", 1, 1)
    u("ph_scaling_list_aps_id", 3, 2)
    u("ph_virtual_boundaries_present_flag", 1, 1)
    ue("ph_num_ver_virtual_boundaries", 1)
    ue("ph_virtual_boundary_pos_x_minus1[0]", 7)
    ue("ph_num_hor_virtual_boundaries", 2)
    ue("ph_virtual_boundary_pos_y_minus1[0]", 3)
    ue("ph_virtual_boundary_pos_y_minus1[1]", 8)
    u("ph_pic_output_flag", 1, 1)
    if in_ph:
        u("rpl_sps_flag[0]", 1, 1)
        u("rpl_idx[0]", 2, 2)
        u("poc_lsb_lt[0][0]", 8, 17)
        u("delta_poc_msb_cycle_present_flag[0][0]", 1, 1)
        ue("delta_poc_msb_cycle_lt[0][0]", 2)
        u("rpl_sps_flag[1]", 1, 0)
        _rpl_struct(w, 1, 1, [("st", 0, 0), ("st", 1, 1)], False)
    u("ph_partition_constraints_override_flag", 1, 1)
    for name, v in (("log2_diff_min_qt_min_cb_intra_slice_luma", 1), ("max_mtt_hierarchy_depth_intra_slice_luma", 1),
                    ("log2_diff_max_bt_min_qt_intra_slice_luma", 1), ("log2_diff_max_tt_min_qt_intra_slice_luma", 0),
                    ("log2_diff_min_qt_min_cb_intra_slice_chroma", 0),
                    ("max_mtt_hierarchy_depth_intra_slice_chroma", 0), ("cu_qp_delta_subdiv_intra_slice", 2),
                    ("cu_chroma_qp_offset_subdiv_intra_slice", 1)):
        ue(f"ph_{name}", v)
    if inter:
        for name, v in (("log2_diff_min_qt_min_cb_inter_slice", 1), ("max_mtt_hierarchy_depth_inter_slice", 2),
                        ("log2_diff_max_bt_min_qt_inter_slice", 1), ("log2_diff_max_tt_min_qt_inter_slice", 1),
                        ("cu_qp_delta_subdiv_inter_slice", 2), ("cu_chroma_qp_offset_subdiv_inter_slice", 1)):
            ue(f"ph_{name}", v)
        u("ph_temporal_mvp_enabled_flag", 1, tmvp)
        if in_ph and tmvp:                                          # num_ref_entries 3 and 2
            u("ph_collocated_from_l0_flag", 1, 1)
            ue("ph_collocated_ref_idx", 2)
        u("ph_mmvd_fullpel_only_flag", 1, 0)
        u("ph_mvd_l1_zero_flag", 1, 0)
        u("ph_bdof_disabled_flag", 1, 0)
        u("ph_dmvr_disabled_flag", 1, 1)
        u("ph_prof_disabled_flag", 1, 0)
        if in_ph:
            _pred_weight_table(w, [3, 2], True)
    if in_ph:
        se("ph_qp_delta", qp_delta)
    u("ph_joint_cbcr_sign_flag", 1, 1)
    if in_ph:
        u("ph_sao_luma_enabled_flag", 1, 1)
        u("ph_sao_chroma_enabled_flag", 1, 0)
        u("ph_deblocking_params_present_flag", 1, 1)
        u("ph_deblocking_filter_disabled_flag", 1, 0)
        for i, c in enumerate(("luma", "cb", "cr")):
            se(f"ph_{c}_beta_offset_div2", i)
            se(f"ph_{c}_tc_offset_div2", -i)
    ue("ph_extension_length", 2)
    u("ph_extension_data_byte[0]", 8, 0xA5)
    u("ph_extension_data_byte[1]", 8, 0)


def _after_qp(w):
    """Slice header elements after the QP (not parsed) and a few bits of slice data."""
    w.se("sh_cb_qp_offset", 1)
    w.se("sh_cr_qp_offset", -1)
    w.u("slice_data_for_the_test", 8, 0x5A)


def _slice_ph_mode(w):
    """A B slice of the picture of ``_picture_header(w, True, ...)``: all picture-level information in the PH."""
    w.u("sh_picture_header_in_slice_header_flag", 1, 0)
    w.u("sh_subpic_id", 4, 9)
    w.u("sh_slice_address", 2, 0)
    w.u("sh_extra_bit[0]", 1, 1)
    w.u("sh_extra_bit[1]", 1, 0)
    w.ue("sh_slice_type", 0)
    w.u("sh_lmcs_used_flag", 1, 1)
    w.u("sh_explicit_scaling_list_used_flag", 1, 0)
    w.u("sh_num_ref_idx_active_override_flag", 1, 0)       # NumRefIdxActive: Min( 3, 2 ), Min( 2, 1 )
    w.u("sh_cabac_init_flag", 1, 1)
    _after_qp(w)


def _slice_sh_mode(w, qp_delta):
    """A B slice with the ALF, an explicit L0 (short-term, inter-layer, long-term), L1 from the SPS, active
    reference overrides, the collocated picture and the weights in the slice header."""
    u, ue = w.u, w.ue
    u("sh_picture_header_in_slice_header_flag", 1, 0)
    u("sh_subpic_id", 4, 9)
    u("sh_slice_address", 2, 0)
    u("sh_extra_bit[0]", 1, 0)
    u("sh_extra_bit[1]", 1, 1)
    ue("sh_slice_type", 0)
    u("sh_alf_enabled_flag", 1, 1)
    u("sh_num_alf_aps_ids_luma", 3, 1)
    u("sh_alf_aps_id_luma[0]", 3, 5)
    u("sh_alf_cb_enabled_flag", 1, 0)
    u("sh_alf_cr_enabled_flag", 1, 1)
    u("sh_alf_aps_id_chroma", 3, 6)
    u("sh_alf_cc_cb_enabled_flag", 1, 0)
    u("sh_alf_cc_cr_enabled_flag", 1, 1)
    u("sh_alf_cc_cr_aps_id", 3, 7)
    u("sh_lmcs_used_flag", 1, 0)
    u("sh_explicit_scaling_list_used_flag", 1, 1)
    u("rpl_sps_flag[0]", 1, 0)
    _rpl_struct(w, 0, 3, [("st", 0, 1), ("il", 0), ("lt", None)], False)
    u("poc_lsb_lt[0][0]", 8, 200)
    u("delta_poc_msb_cycle_present_flag[0][0]", 1, 0)
    u("rpl_sps_flag[1]", 1, 1)                             # the one L1 structure of the SPS: no rpl_idx[1]
    u("sh_num_ref_idx_active_override_flag", 1, 1)
    ue("sh_num_ref_idx_active_minus1[0]", 2)
    ue("sh_num_ref_idx_active_minus1[1]", 1)
    u("sh_cabac_init_flag", 1, 0)
    u("sh_collocated_from_l0_flag", 1, 0)
    ue("sh_collocated_ref_idx", 1)
    _pred_weight_table(w, [3, 2], False)
    w.se("sh_qp_delta", qp_delta)
    _after_qp(w)


def _slice_idr_with_ph(w, qp_delta):
    """An IDR_N_LP I slice with its picture header in the slice header, and reference picture lists
    (sps_idr_rpl_present_flag)."""
    w.u("sh_picture_header_in_slice_header_flag", 1, 1)
    _picture_header(w, False, 0, inter=0, irap=1)
    w.u("sh_slice_address", 2, 0)
    w.u("sh_extra_bit[0]", 1, 0)
    w.u("sh_extra_bit[1]", 1, 0)
    w.u("sh_no_output_of_prior_pics_flag", 1, 1)
    w.u("sh_alf_enabled_flag", 1, 0)
    w.u("rpl_sps_flag[0]", 1, 1)
    w.u("rpl_idx[0]", 2, 0)
    w.u("rpl_sps_flag[1]", 1, 1)
    w.se("sh_qp_delta", qp_delta)
    _after_qp(w)


def _slice_p_with_ph(w, qp_delta, slice_type=1):
    """A P slice with its picture header in the slice header, L0 from the SPS (list 1: its long-term entry has
    rpls_poc_lsb_lt in the SPS), an empty explicit L1, and the weights of L0."""
    w.u("sh_picture_header_in_slice_header_flag", 1, 1)
    _picture_header(w, False, 1, tmvp=0)
    w.u("sh_slice_address", 2, 0)
    w.u("sh_extra_bit[0]", 1, 1)
    w.u("sh_extra_bit[1]", 1, 1)
    w.ue("sh_slice_type", slice_type)
    w.u("sh_alf_enabled_flag", 1, 0)
    w.u("rpl_sps_flag[0]", 1, 1)
    w.u("rpl_idx[0]", 2, 1)
    w.u("delta_poc_msb_cycle_present_flag[0][0]", 1, 1)
    w.ue("delta_poc_msb_cycle_lt[0][0]", 0)
    w.u("rpl_sps_flag[1]", 1, 0)
    _rpl_struct(w, 1, 1, [], False)
    w.u("sh_num_ref_idx_active_override_flag", 1, 0)       # Min( 3, 2 )
    w.u("sh_cabac_init_flag", 1, 1)
    _pred_weight_table(w, [2, 0], False)
    w.se("sh_qp_delta", qp_delta)
    _after_qp(w)


def _stream(mode, qp_delta=0):
    """[(NAL unit, writer trace)] of one constructed access unit: mode "ph" (PH NAL unit, everything in it),
    "sh" (PH NAL unit, everything in the slice header), "idr" / "p" (picture header in the slice header)."""
    subpic = mode in ("ph", "sh")
    units = [_nal(nu.VVC_SPS, _sps, subpic), _nal(nu.VVC_PPS, _pps, int(mode == "ph"), subpic)]
    if mode == "ph":
        units += [_nal(nu.VVC_PH, _picture_header, True, 37, qp_delta), _nal(1, _slice_ph_mode)]
    elif mode == "sh":
        units += [_nal(nu.VVC_PH, _picture_header, False, 38), _nal(0, _slice_sh_mode, qp_delta)]
    elif mode == "idr":
        units += [_nal(8, _slice_idr_with_ph, qp_delta)]
    else:
        units += [_nal(0, _slice_p_with_ph, qp_delta)]
    return units


def _sections(trace):
    """{structure name: its trace lines} of a parser trace of one access unit."""
    out, cur = {}, None
    for line in trace:
        if line.startswith("=== "):
            cur = out.setdefault(line.split(": ", 1)[1], [])
        else:
            cur.append(line)
    return out


@pytest.mark.parametrize("mode, qp_delta, expect", [
    ("ph", 17, (0, 37, 0, 1, [2, 1])),
    ("sh", -31, (0, 38, 0, 0, [3, 2])),                    # SliceQpY -11: above -QpBdOffset = -12 (10 bit)
    ("idr", 43, (2, 0, 1, 0, [0, 0])),                     # SliceQpY 63, the largest
    ("p", 5, (1, 1, 1, 0, [2, 0])),
])
def test_constructed_syntax(mode, qp_delta, expect):
    units = _stream(mode, qp_delta)
    trace = []
    parser = SliceQpParser(trace)
    assert parser.access_unit([n for n, _ in units], 3) == 20 + qp_delta
    sections = _sections(trace)
    names = {nu.VVC_SPS: "seq_parameter_set_rbsp", nu.VVC_PPS: "pic_parameter_set_rbsp",
             nu.VVC_PH: "picture_header_rbsp"}
    for nal, written in units:
        t = nu.parse_nal_header(nal, nu.VVC).nal_unit_type
        parsed = sections[names.get(t, "slice_header (to sh_qp_delta)")]
        if t in (nu.VVC_PPS, nu.VVC_PH):
            assert parsed == written                       # to the rbsp_trailing_bits( )
        else:                                              # the SPS to the virtual boundaries, the slice to the QP
            assert parsed == written[:len(parsed)] and len(parsed) < len(written)
    assert sections["seq_parameter_set_rbsp"][-1].startswith("sps_virtual_boundaries_present_flag ")
    last = sections["slice_header (to sh_qp_delta)"][-1]
    assert last.startswith("sh_cabac_init_flag " if mode == "ph" else "sh_qp_delta ")
    ph = parser.picture_header(units[2][0]) if mode in ("ph", "sh") else None
    h = parser.slice_header(units[-1][0], ph)
    assert (h.slice_type, h.ph_pic_order_cnt_lsb, h.sh_picture_header_in_slice_header_flag, h.qp_delta_in_ph,
            h.num_ref_idx_active) == expect
    sps, pps = parser.sps[2], parser.pps[5]
    assert (sps.qp_bd_offset_y, sps.num_extra_ph_bits, sps.num_extra_sh_bits, sps.sps_num_ref_pic_lists) == \
        (12, 3, 2, [3, 1])
    assert [(r.num_ref_entries, r.num_ltrp_entries, r.ltrp_in_header_flag) for r in sps.rpl_structs[0]] == \
        [(1, 0, 0), (3, 1, 0), (3, 1, 1)]
    assert (pps.num_tiles_in_pic, pps.num_slices_in_pic, pps.pps_init_qp_minus26) == (6, 4, -6)


def test_parameter_set_functions_and_ceil_log2():
    sps = parse_sps(nu.nal_payload_rbsp(_nal(nu.VVC_SPS, _sps)[0], nu.VVC))
    assert (sps.sps_seq_parameter_set_id, sps.sps_log2_ctu_size_minus5, sps.log2_max_pic_order_cnt_lsb) == (2, 0, 8)
    pps = parse_pps(nu.nal_payload_rbsp(_nal(nu.VVC_PPS, _pps, 1)[0], nu.VVC))
    assert (pps.pps_pic_parameter_set_id, pps.pps_seq_parameter_set_id, pps.pps_qp_delta_info_in_ph_flag) == (5, 2, 1)
    assert [ceil_log2(n) for n in (1, 2, 3, 4, 5, 25, 64, 65)] == [0, 1, 2, 2, 3, 5, 6, 7]


def test_trace_of_an_access_unit():
    trace = []
    SliceQpParser(trace).access_unit([n for n, _ in _stream("sh", 0)], 7)
    heads = [line for line in trace if line.startswith("===")]
    assert heads == ["=== picture 7: seq_parameter_set_rbsp", "=== picture 7: pic_parameter_set_rbsp",
                     "=== picture 7: picture_header_rbsp", "=== picture 7: slice_header (to sh_qp_delta)"]
    text = "\n".join(trace)
    for name in ("general_sub_profile_idc[0]", "gci_no_virtual_boundaries_constraint_flag",
                 "dpb_max_dec_pic_buffering_minus1[2]", "ltrp_in_header_flag[0][1]", "rpls_poc_lsb_lt[0][1][0]",
                 "pps_exp_slice_height_in_ctus_minus1[0][0]", "pps_tile_idx_delta_val[2]", "pps_init_qp_minus26",
                 "ph_virtual_boundary_pos_y_minus1[1]", "ilrp_idx[0][3][1]", "poc_lsb_lt[0][0]",
                 "delta_chroma_offset_l1[0][1]", "sh_qp_delta"):
        assert f"\n{name} " in text, name
    assert "sh_qp_delta                                             se(v)  : 0" in trace
    assert "sh_cb_qp_offset" not in text


# --- errors ------------------------------------------------------------------------------------------

def _units(mode="sh", qp_delta=0):
    return [n for n, _ in _stream(mode, qp_delta)]


def _sps_with(**changes):
    """The constructed SPS NAL unit with some elements written with other values (by name)."""
    def write(w):
        orig_u, orig_ue = w.u, w.ue
        w.u = lambda name, n, v=None: orig_u(name, n, changes.get(name, v))
        w.ue = lambda name, v=None: orig_ue(name, changes.get(name, v))
        _sps(w)
    return _nal(nu.VVC_SPS, write)[0]


def test_errors_are_bitstream_errors():
    sps, pps, ph, sl = _units()
    sps_p, pps_p, sl_p = _units("p")
    ph_long = _nal(nu.VVC_PH, lambda w: (_picture_header(w, False, 38), w.u("one_bit_too_many", 1, 0)))[0]
    cases = [
        ([sps[:20]], "VVC SPS truncated reading"),
        ([sps, pps, ph, sl[:9]], "VVC slice header truncated reading"),
        ([sps, ph, sl], "picture header refers to PPS 5, which was not received"),
        ([pps, ph, sl], "PPS 5 refers to SPS 2, which was not received"),
        ([sps, pps, sl], "no picture header NAL unit before it"),
        ([sps, pps, ph], "access unit without a slice"),
        ([sps, pps, ph, _nal(0, _slice_sh_mode, -33)[0]], "SliceQpY -13 outside -12..63"),
        ([sps, pps, ph, _nal(0, _slice_sh_mode, 44)[0]], "SliceQpY 64 outside -12..63"),
        ([_sps_with(sps_log2_ctu_size_minus5=3)], "sps_log2_ctu_size_minus5 3 > 2"),
        ([_sps_with(sps_num_subpics_minus1=1)], "2 subpictures (sps_num_subpics_minus1 > 0) are not supported"),
        ([_sps_with(sps_bitdepth_minus8=9)], "sps_bitdepth_minus8 9 > 8"),
        ([_sps_with(**{"num_ref_entries[0][0]": 30})], "num_ref_entries[0][0] 30 > 29"),
        ([_sps_with(**{"sps_num_ref_pic_lists[1]": 65})], "sps_num_ref_pic_lists[1] 65 > 64"),
        ([sps, pps, ph_long, sl], "VVC picture header: rbsp_stop_one_bit = 0, shall be 1"),
        ([sps_p, pps_p, _nal(0, lambda w: _slice_p_with_ph(w, 0, slice_type=5))[0]], "sh_slice_type 5 not allowed"),
        ([sps_p, sl_p], "picture header refers to PPS 5"),
        ([_nal(nu.VVC_PH, _picture_header, False, 38)[0]], "PPS 5"),
    ]
    for units, message in cases:
        with pytest.raises(BitstreamError) as e:
            SliceQpParser().access_unit(units)
        assert message in str(e.value), (message, str(e.value))
        assert isinstance(SliceQpParser().access_unit_or_error(units), BitstreamError)


def test_bad_tile_and_slice_layouts():
    def pps_with(**changes):
        def write(w):
            orig_ue, orig_se = w.ue, w.se
            w.ue = lambda name, v=None: orig_ue(name, changes.get(name, v))
            w.se = lambda name, v=None: orig_se(name, changes.get(name, v))
            _pps(w, 0)
        return nu.nal_payload_rbsp(_nal(nu.VVC_PPS, write)[0], nu.VVC)
    for changes, message in [({"pps_tile_column_width_minus1[1]": 3}, "the tiles exceed the picture"),
                             ({"pps_num_exp_tile_rows_minus1": 3}, "pps_num_exp_tile_rows_minus1 3 out of range"),
                             ({"pps_tile_idx_delta_val[2]": 9}, "pps_tile_idx_delta_val[2] 9 leaves the picture"),
                             ({"pps_slice_width_in_tiles_minus1[2]": 2}, "pps_slice_width_in_tiles_minus1[2] 2"),
                             ({"pps_num_exp_slices_in_tile[0]": 2}, "pps_num_exp_slices_in_tile[0] 2 out of range"),
                             ({"pps_num_slices_in_pic_minus1": 1000}, "pps_num_slices_in_pic_minus1 1000"),
                             ({"pps_num_ref_idx_default_active_minus1[1]": 15}, "> 14")]:
        with pytest.raises(BitstreamError, match=re.escape(message)):
            parse_pps(pps_with(**changes))


def test_damaged_streams_give_only_bitstream_errors():
    """Bit flips, truncations and random payloads in every NAL unit of the constructed access units: the parser
    returns a QP or a BitstreamError, nothing else, and reads each unit at most once."""
    rng = np.random.default_rng(5)
    streams = [_units(m, d) for m, d in (("ph", 3), ("sh", 3), ("idr", 3), ("p", 3))]
    results = set()
    for _ in range(600):
        units = list(streams[rng.integers(len(streams))])
        k = int(rng.integers(len(units)))
        b = bytearray(units[k])
        what = rng.integers(3)
        if what == 0:
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(2 * 8, 8 * len(b)))           # not the NAL unit header
                b[pos // 8] ^= 0x80 >> (pos % 8)
        elif what == 1:
            b = b[:int(rng.integers(2, len(b)))]
        else:
            b = b[:2] + bytearray(rng.integers(0, 256, int(rng.integers(1, 40)), dtype=np.uint8).tobytes())
        units[k] = bytes(b)
        r = SliceQpParser().access_unit_or_error(units)
        assert isinstance(r, (int, BitstreamError))
        results.add(type(r).__name__)
    assert results == {"int", "BitstreamError"}
