"""Generative Face Video (GFV) SEI message, payloadType 223, in the two syntax versions of JVET software.

One syntax function, :func:`gfv_sei_syntax`, serves the writer and the
reader: every syntax element goes through one ``c.<descriptor>(name, value)``
call of a :class:`~CommonLib.syntax.bit_io.SyntaxWriter` or
:class:`~CommonLib.syntax.bit_io.SyntaxReader`, so both directions use the same
element names and produce the same trace. It is split into one function per
syntax block of ``doc/bitstream_syntax.md`` clause 3.1.

Syntax versions (``version``; doc/bitstream_syntax.md clause 3.2):

* ``vtm`` (default): the syntax after JVET-AM0334, as VTM 23.13 reads and writes it:
  ``gfv_fusion_pic_flag`` only in a non-base message with ``gfv_cnt == 0``;
  chroma key with ``gfv_chroma_key_purpose_idc`` and one
  ``gfv_chroma_key_thr_lower`` / ``gfv_chroma_key_thr_upper_delta_minus1`` pair;
* ``hm18``: the earlier syntax of HM 18.0's ``JVET_AJ0207_GFV`` port:
  ``gfv_drive_picture_fusion_flag`` in every non-base message; chroma key
  thresholds as ``gfv_chroma_key_thr_present_flag[i]`` /
  ``gfv_chroma_key_thr_value[i]``, i = 0, 1.

Elements that are not present
-----------------------------
An element that is not present takes its inferred value in the reader, and
the writer checks that the message holds that value.  The fusion flag is
``GfvSei.gfv_fusion_pic_flag`` in both versions (element name
``gfv_drive_picture_fusion_flag`` in hm18); where it is not present
(base-picture messages; in ``vtm`` also non-base messages with
``gfv_cnt > 0``) it is ``None`` (the reader sets ``None``, the writer
requires ``None``).  The fusion indication of every non-base message is the
derived variable FusionFlag, ``DecodedGfvPicture.fusion_flag`` of
:mod:`CommonLib.syntax.keypoint_coding`.

Coded keypoint values
---------------------
``GfvSei.gfv_coordinate_x/y/z`` hold, per keypoint, the *signed coded
integer*: ``(1 - 2 * gfv_coordinate_x_sign_flag[i]) * gfv_coordinate_x_abs[i]``
when ``gfv_kps_pred_flag == 0`` and ``(1 - 2 * gfv_coordinate_dx_sign_flag[i])
* gfv_coordinate_dx_abs[i]`` when ``gfv_kps_pred_flag == 1`` (the sign flag is
present only when the magnitude is non-zero).  Prediction and reconstruction
are in :mod:`CommonLib.syntax.keypoint_coding`.

Matrix elements are kept as coded: per matrix type a flat list (order j, k, l)
of ``(int, dec, sign_flag)`` triplets, i.e. ``gfv_matrix_element_int``,
``gfv_matrix_element_dec``, ``gfv_matrix_element_sign_flag`` (or the
``delta`` elements when ``gfv_matrix_pred_flag == 1``); sign_flag is 0 when
int and dec are both 0 (not present).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from CommonLib.syntax.bit_io import SyntaxReader, SyntaxWriter, as_int
from Utilities.errors import BitstreamError
from CommonLib.syntax.sei_message import check_payload_end, finish_payload

__all__ = [
    "GFV_SYNTAX_VERSIONS",
    "MAX_NUM_KPS_MINUS1",
    "MAX_PRECISION_FACTOR_MINUS1",
    "MAX_Z_MAX_VALUE_MINUS1",
    "MAX_MATRIX_SIZE_MINUS1",
    "MAX_NN_MODE_IDC",
    "MAX_CHROMA_KEY_PURPOSE_IDC",
    "MAX_CHROMA_KEY_SAMPLE_VALUE",
    "GfvMatrixType",
    "GfvSei",
    "KpsParams",
    "GfvMatrixDims",
    "GfvBaseMatrixParams",
    "GfvSyntaxContext",
    "gfv_sei_syntax",
    "write_gfv_sei",
    "read_gfv_sei",
    "matrix_dims",
]

#: The GFV SEI syntax versions (module docstring): VTM 23.13's (JVET-AM0334) and HM 18.0's.
GFV_SYNTAX_VERSIONS = ("vtm", "hm18")

#: gfv_num_kps_minus1 shall be in 0..1023 (project constraint).
MAX_NUM_KPS_MINUS1 = 1023
#: gfv_coordinate_precision_factor_minus1 / gfv_matrix_element_precision_factor_minus1: 0..31.
MAX_PRECISION_FACTOR_MINUS1 = 31
#: gfv_coordinate_z_max_value_minus1: 0..2**16 - 1.
MAX_Z_MAX_VALUE_MINUS1 = (1 << 16) - 1
#: gfv_num_matrices_info, gfv_num_matrices_minus1, gfv_matrix_width_minus1,
#: gfv_matrix_height_minus1: 0..2**10 - 1.
MAX_MATRIX_SIZE_MINUS1 = (1 << 10) - 1
#: gfv_num_matrix_types_minus1: 0..63, one per value of the u(6) gfv_matrix_type_idx (project constraint).
MAX_NUM_MATRIX_TYPES_MINUS1 = 63
#: gfv_nn_mode_idc: 0 (NN carried in the payload) or 1 (NN identified by URI).
MAX_NN_MODE_IDC = 1
#: gfv_chroma_key_purpose_idc: 0..1023 (project constraint; HDAC-HF does not
#: interpret the value).
MAX_CHROMA_KEY_PURPOSE_IDC = 1023
#: gfv_chroma_key_value[c], gfv_chroma_key_thr_lower (u(8)) and the upper
#: threshold gfv_chroma_key_thr_lower + gfv_chroma_key_thr_upper_delta_minus1 + 1
#: are at most 255 (vtm); gfv_chroma_key_thr_value[i] (hm18) too.
MAX_CHROMA_KEY_SAMPLE_VALUE = 255


@dataclass
class GfvMatrixType:
    """Syntax elements of one matrix type (index t of the matrix-type loop)."""

    gfv_matrix_type_idx: int = 0
    gfv_num_matrices_equal_to_num_kps_flag: int = 0
    gfv_num_matrices_info: int = 0
    gfv_num_matrices_minus1: int = 0
    gfv_matrix_width_minus1: int = 0
    gfv_matrix_height_minus1: int = 0
    gfv_matrix_3d_space_flag: int = 0


@dataclass
class GfvSei:
    """All syntax elements of one GFV SEI message (names as in the syntax).

    ``gfv_fusion_pic_flag`` (hm18: ``gfv_drive_picture_fusion_flag``) is ``None`` in every message
    where it is not present; for the fusion indication see ``DecodedGfvPicture.fusion_flag``
    (FusionFlag) in :mod:`CommonLib.syntax.keypoint_coding`."""

    gfv_id: int = 0
    gfv_cnt: int = 0
    gfv_base_picture_flag: int = 0
    # base picture only
    gfv_nn_present_flag: int = 0
    gfv_nn_mode_idc: int = 0
    gfv_uri_tag: str = ""
    gfv_uri: str = ""
    gfv_chroma_key_info_present_flag: int = 0
    gfv_chroma_key_purpose_idc: int = 0                       # vtm
    gfv_chroma_key_value_present_flag: List[int] = field(default_factory=lambda: [0, 0, 0])
    gfv_chroma_key_value: List[int] = field(default_factory=lambda: [0, 0, 0])
    gfv_chroma_key_thr_present_flag: int = 0                  # vtm: one flag
    gfv_chroma_key_thr_lower: int = 0                         # vtm
    gfv_chroma_key_thr_upper_delta_minus1: int = 0            # vtm
    gfv_chroma_key_thr_present_flags: List[int] = field(default_factory=lambda: [0, 0])   # hm18 [i]
    gfv_chroma_key_thr_value: List[int] = field(default_factory=lambda: [0, 0])           # hm18 [i]
    # non-base messages where present, else None
    gfv_fusion_pic_flag: Optional[int] = None
    gfv_low_confidence_face_parameter_flag: int = 0
    # keypoints
    gfv_coordinate_present_flag: int = 0
    gfv_kps_pred_flag: int = 0
    gfv_coordinate_precision_factor_minus1: int = 0
    gfv_num_kps_minus1: int = 0
    gfv_coordinate_z_present_flag: int = 0
    gfv_coordinate_z_max_value_minus1: int = 0
    gfv_coordinate_x: List[int] = field(default_factory=list)
    gfv_coordinate_y: List[int] = field(default_factory=list)
    gfv_coordinate_z: List[int] = field(default_factory=list)
    # matrices
    gfv_matrix_present_flag: int = 0
    gfv_matrix_pred_flag: int = 0
    gfv_matrix_element_precision_factor_minus1: int = 0
    gfv_num_matrix_types_minus1: int = 0
    gfv_matrix_types: List[GfvMatrixType] = field(default_factory=list)
    gfv_matrix_elements: List[List[Tuple[int, int, int]]] = field(default_factory=list)
    # NN carried in the payload (gfv_nn_mode_idc == 0)
    gfv_nn_payload_byte: bytes = b""

    @property
    def num_kps(self) -> int:
        """NumKps = gfv_num_kps_minus1 + 1 (meaningful when coordinates are present)."""
        return self.gfv_num_kps_minus1 + 1

    @property
    def precision(self) -> int:
        """P = gfv_coordinate_precision_factor_minus1 + 1."""
        return self.gfv_coordinate_precision_factor_minus1 + 1


@dataclass(frozen=True)
class KpsParams:
    """Keypoint coding parameters of a message (coded, or inherited from the base picture when
    gfv_kps_pred_flag = 1): P - 1, NumKps - 1, z present, z maximum - 1."""

    precision_factor_minus1: int
    num_kps_minus1: int
    z_present_flag: int
    z_max_value_minus1: int = 0

    @property
    def P(self) -> int:
        return self.precision_factor_minus1 + 1

    @property
    def num_kps(self) -> int:
        return self.num_kps_minus1 + 1

    @property
    def dims(self) -> int:
        return 3 if self.z_present_flag else 2

    @staticmethod
    def of(m: GfvSei) -> "KpsParams":
        return KpsParams(m.gfv_coordinate_precision_factor_minus1, m.gfv_num_kps_minus1,
                         m.gfv_coordinate_z_present_flag,
                         m.gfv_coordinate_z_max_value_minus1 if m.gfv_coordinate_z_present_flag else 0)


@dataclass(frozen=True)
class GfvMatrixDims:
    """Derived size of one matrix type: NumMatrices, MatrixHeight, MatrixWidth."""

    num_matrices: int
    height: int
    width: int

    @property
    def count(self) -> int:
        return self.num_matrices * self.height * self.width


@dataclass(frozen=True)
class GfvBaseMatrixParams:
    """Matrix parameters of a base picture, inherited by gfv_matrix_pred_flag = 1."""

    precision_factor_minus1: int
    dims: Tuple[GfvMatrixDims, ...]


class GfvSyntaxContext:
    """What the GFV SEI syntax needs from earlier messages: per gfv_id, the parameters of the most
    recent base-picture message (the one home of these parameters; CommonLib.syntax.keypoint_coding's state
    keeps one). A base-picture message replaces both entries of its gfv_id (``None`` when that base
    picture carried no keypoints / no matrices)."""

    def __init__(self) -> None:
        self.base_kps: Dict[int, Optional[KpsParams]] = {}
        self.base_matrix: Dict[int, Optional[GfvBaseMatrixParams]] = {}

    def copy(self) -> "GfvSyntaxContext":
        c = GfvSyntaxContext()
        c.base_kps = dict(self.base_kps)
        c.base_matrix = dict(self.base_matrix)
        return c

    def record(self, m: GfvSei) -> None:
        """Update the context after message ``m`` (idempotent)."""
        if not m.gfv_base_picture_flag:
            return
        self.base_kps[m.gfv_id] = KpsParams.of(m) if m.gfv_coordinate_present_flag else None
        self.base_matrix[m.gfv_id] = GfvBaseMatrixParams(
            m.gfv_matrix_element_precision_factor_minus1, tuple(matrix_dims(m))) if m.gfv_matrix_present_flag else None


# --- helpers ------------------------------------------------------------------

def _err(msg: str) -> BitstreamError:
    return BitstreamError(f"GFV SEI: {msg}")


def _check_max(name: str, value: int, hi: int) -> None:
    if value > hi:
        raise _err(f"{name} = {value} exceeds {hi}")


def _infer(c: Any, m: GfvSei, name: str, value: Any) -> None:
    """An element that is not present and inferred: the reader sets it, the
    writer checks that the message agrees."""
    if c.is_reader:
        setattr(m, name, value)
    elif value is None:
        if getattr(m, name) is not None:
            raise _err(f"{name} = {getattr(m, name)} but it is not present here (the value shall be None)")
    elif getattr(m, name) is None or getattr(m, name) != value:
        raise _err(f"{name} = {getattr(m, name)} but it is not present here and inferred to be {value}")


def _check_len(c: Any, name: str, seq: Any, n: int) -> None:
    if not c.is_reader and len(seq) != n:
        raise _err(f"{name} has {len(seq)} entries, the syntax needs {n}")


def _abs_sign(c: Any, abs_name: str, sign_name: str, value: Optional[int]) -> int:
    """<x>_abs ue(v) followed by <x>_sign_flag u(1) when abs != 0; returns the
    signed value (sign_flag = 1 means negative)."""
    if c.is_reader:
        a = c.ue(abs_name)
        if a == 0:
            return 0
        return -a if c.flag(sign_name) else a
    v = as_int(abs_name, value)
    c.ue(abs_name, abs(v))
    if v:
        c.flag(sign_name, int(v < 0))
    return v


def _derive_dims(mt: GfvMatrixType, num_kps: int, coord_present: int, z_present: int) -> GfvMatrixDims:
    """NumMatrices / MatrixHeight / MatrixWidth of one matrix type (as the JVET
    reference decoder derives them)."""
    t = mt.gfv_matrix_type_idx
    if t in (0, 1):
        if mt.gfv_num_matrices_equal_to_num_kps_flag:
            n = num_kps
        elif coord_present:
            info = mt.gfv_num_matrices_info
            n = info + 1 if info < num_kps - 1 else info + 2
        else:  # not reachable in a conforming message (type 0/1 needs coordinates)
            n = mt.gfv_num_matrices_info + 1
        return GfvMatrixDims(n, z_present + 2, z_present + 2)
    if t in (2, 3):
        return GfvMatrixDims(1, mt.gfv_matrix_height_minus1 + 1, mt.gfv_matrix_width_minus1 + 1)
    if t == 4:
        return GfvMatrixDims(1, mt.gfv_matrix_3d_space_flag + 2, mt.gfv_matrix_3d_space_flag + 2)
    if t in (5, 6):
        return GfvMatrixDims(1, mt.gfv_matrix_3d_space_flag + 2, 1)
    return GfvMatrixDims(mt.gfv_num_matrices_minus1 + 1,
                         mt.gfv_matrix_height_minus1 + 1, mt.gfv_matrix_width_minus1 + 1)


def matrix_dims(m: GfvSei) -> List[GfvMatrixDims]:
    """Derived sizes of the matrix types sent in ``m`` (gfv_matrix_pred_flag = 0)."""
    return [_derive_dims(mt, m.num_kps, m.gfv_coordinate_present_flag, m.gfv_coordinate_z_present_flag)
            for mt in m.gfv_matrix_types]


# --- the syntax, one function per block of doc/bitstream_syntax.md clause 3.1 --------------------------

def gfv_sei_syntax(c: Any, m: GfvSei, ctx: GfvSyntaxContext, version: str = "vtm") -> GfvSei:
    """generative_face_video( payloadSize ) -- shared by writer and reader.

    ``c``: SyntaxWriter (writes ``m``) or SyntaxReader (fills ``m``, which
    should be a fresh :class:`GfvSei`).  ``ctx``: parameters inherited from
    the base picture of the same gfv_id.  ``version``: 'vtm' or 'hm18'. Returns ``m``."""
    if version not in GFV_SYNTAX_VERSIONS:
        raise ValueError(f"unknown GFV SEI syntax version {version!r}")
    m.gfv_id = c.ue("gfv_id", m.gfv_id)
    m.gfv_cnt = c.ue("gfv_cnt", m.gfv_cnt)
    if m.gfv_cnt == 0:
        m.gfv_base_picture_flag = c.flag("gfv_base_picture_flag", m.gfv_base_picture_flag)
    else:
        _infer(c, m, "gfv_base_picture_flag", 0)
    if m.gfv_base_picture_flag:
        _base_picture_info(c, m, version)
        _infer(c, m, "gfv_fusion_pic_flag", None)
    else:
        _infer(c, m, "gfv_nn_present_flag", 0)
        _infer(c, m, "gfv_chroma_key_info_present_flag", 0)
        _fusion_flag(c, m, version)
    m.gfv_low_confidence_face_parameter_flag = c.flag(
        "gfv_low_confidence_face_parameter_flag", m.gfv_low_confidence_face_parameter_flag)
    _coordinates(c, m, ctx)
    _matrices(c, m, ctx)
    if m.gfv_nn_present_flag and m.gfv_nn_mode_idc == 0:
        _nn_payload(c, m)
    return m


def _base_picture_info(c: Any, m: GfvSei, version: str) -> None:
    """The base-picture block: the network (URI or payload) and the chroma key information."""
    m.gfv_nn_present_flag = c.flag("gfv_nn_present_flag", m.gfv_nn_present_flag)
    if m.gfv_nn_present_flag:
        m.gfv_nn_mode_idc = c.ue("gfv_nn_mode_idc", m.gfv_nn_mode_idc)
        _check_max("gfv_nn_mode_idc", m.gfv_nn_mode_idc, MAX_NN_MODE_IDC)
        if m.gfv_nn_mode_idc == 1:
            while not c.byte_aligned():
                c.f("gfv_nn_alignment_zero_bit_a", 1, 0)
            m.gfv_uri_tag = c.st("gfv_uri_tag", m.gfv_uri_tag)
            m.gfv_uri = c.st("gfv_uri", m.gfv_uri)
    m.gfv_chroma_key_info_present_flag = c.flag(
        "gfv_chroma_key_info_present_flag", m.gfv_chroma_key_info_present_flag)
    if m.gfv_chroma_key_info_present_flag:
        if version == "vtm":
            m.gfv_chroma_key_purpose_idc = c.ue("gfv_chroma_key_purpose_idc", m.gfv_chroma_key_purpose_idc)
            _check_max("gfv_chroma_key_purpose_idc", m.gfv_chroma_key_purpose_idc, MAX_CHROMA_KEY_PURPOSE_IDC)
        _chroma_key_values(c, m)
        if version == "vtm":
            _chroma_key_thresholds_vtm(c, m)
        else:
            _chroma_key_thresholds_hm18(c, m)


def _chroma_key_values(c: Any, m: GfvSei) -> None:
    _check_len(c, "gfv_chroma_key_value_present_flag", m.gfv_chroma_key_value_present_flag, 3)
    _check_len(c, "gfv_chroma_key_value", m.gfv_chroma_key_value, 3)
    if c.is_reader:
        m.gfv_chroma_key_value_present_flag = [0, 0, 0]
        m.gfv_chroma_key_value = [0, 0, 0]
    for k in range(3):
        m.gfv_chroma_key_value_present_flag[k] = c.flag(
            f"gfv_chroma_key_value_present_flag[{k}]", m.gfv_chroma_key_value_present_flag[k])
        if m.gfv_chroma_key_value_present_flag[k]:
            m.gfv_chroma_key_value[k] = c.u(f"gfv_chroma_key_value[{k}]", 8, m.gfv_chroma_key_value[k])


def _chroma_key_thresholds_vtm(c: Any, m: GfvSei) -> None:
    m.gfv_chroma_key_thr_present_flag = c.flag("gfv_chroma_key_thr_present_flag", m.gfv_chroma_key_thr_present_flag)
    if m.gfv_chroma_key_thr_present_flag:
        m.gfv_chroma_key_thr_lower = c.u("gfv_chroma_key_thr_lower", 8, m.gfv_chroma_key_thr_lower)
        m.gfv_chroma_key_thr_upper_delta_minus1 = c.ue(
            "gfv_chroma_key_thr_upper_delta_minus1", m.gfv_chroma_key_thr_upper_delta_minus1)
        upper = m.gfv_chroma_key_thr_lower + m.gfv_chroma_key_thr_upper_delta_minus1 + 1
        if upper > MAX_CHROMA_KEY_SAMPLE_VALUE:
            raise _err(f"gfv_chroma_key_thr_lower + gfv_chroma_key_thr_upper_delta_minus1 + 1 = "
                       f"{m.gfv_chroma_key_thr_lower} + {m.gfv_chroma_key_thr_upper_delta_minus1} + 1 "
                       f"= {upper} exceeds {MAX_CHROMA_KEY_SAMPLE_VALUE}")


def _chroma_key_thresholds_hm18(c: Any, m: GfvSei) -> None:
    _check_len(c, "gfv_chroma_key_thr_present_flags", m.gfv_chroma_key_thr_present_flags, 2)
    _check_len(c, "gfv_chroma_key_thr_value", m.gfv_chroma_key_thr_value, 2)
    if c.is_reader:
        m.gfv_chroma_key_thr_present_flags, m.gfv_chroma_key_thr_value = [0, 0], [0, 0]
    for i in range(2):
        m.gfv_chroma_key_thr_present_flags[i] = c.flag(
            f"gfv_chroma_key_thr_present_flag[{i}]", m.gfv_chroma_key_thr_present_flags[i])
        if m.gfv_chroma_key_thr_present_flags[i]:
            m.gfv_chroma_key_thr_value[i] = c.ue(f"gfv_chroma_key_thr_value[{i}]", m.gfv_chroma_key_thr_value[i])
            _check_max(f"gfv_chroma_key_thr_value[{i}]", m.gfv_chroma_key_thr_value[i], MAX_CHROMA_KEY_SAMPLE_VALUE)


def _fusion_flag(c: Any, m: GfvSei, version: str) -> None:
    """The fusion flag of a non-base message: vtm ``gfv_fusion_pic_flag`` when gfv_cnt == 0; hm18
    ``gfv_drive_picture_fusion_flag`` in every non-base message."""
    if version == "hm18":
        m.gfv_fusion_pic_flag = c.flag("gfv_drive_picture_fusion_flag", m.gfv_fusion_pic_flag)
    elif m.gfv_cnt == 0:
        m.gfv_fusion_pic_flag = c.flag("gfv_fusion_pic_flag", m.gfv_fusion_pic_flag)
    else:
        _infer(c, m, "gfv_fusion_pic_flag", None)


def _coordinates(c: Any, m: GfvSei, ctx: GfvSyntaxContext) -> None:
    """gfv_coordinate_present_flag and the keypoint block (parameters, then NumKps coordinates)."""
    m.gfv_coordinate_present_flag = c.flag("gfv_coordinate_present_flag", m.gfv_coordinate_present_flag)
    if not m.gfv_coordinate_present_flag:
        _infer(c, m, "gfv_kps_pred_flag", 0)
        return
    m.gfv_kps_pred_flag = c.flag("gfv_kps_pred_flag", m.gfv_kps_pred_flag)
    if m.gfv_base_picture_flag or not m.gfv_kps_pred_flag:
        _coordinate_params(c, m)
    else:
        bp = ctx.base_kps.get(m.gfv_id)
        if bp is None:
            raise _err(f"gfv_kps_pred_flag = 1 in a non-base message of gfv_id {m.gfv_id} "
                       f"but no base picture with keypoints precedes it")
        _infer(c, m, "gfv_coordinate_precision_factor_minus1", bp.precision_factor_minus1)
        _infer(c, m, "gfv_num_kps_minus1", bp.num_kps_minus1)
        _infer(c, m, "gfv_coordinate_z_present_flag", bp.z_present_flag)
        _infer(c, m, "gfv_coordinate_z_max_value_minus1", bp.z_max_value_minus1)
    num_kps, zp = m.gfv_num_kps_minus1 + 1, m.gfv_coordinate_z_present_flag
    if c.is_reader:
        m.gfv_coordinate_x, m.gfv_coordinate_y = [0] * num_kps, [0] * num_kps
        m.gfv_coordinate_z = [0] * num_kps if zp else []
    else:
        _check_len(c, "gfv_coordinate_x", m.gfv_coordinate_x, num_kps)
        _check_len(c, "gfv_coordinate_y", m.gfv_coordinate_y, num_kps)
        _check_len(c, "gfv_coordinate_z", m.gfv_coordinate_z, num_kps if zp else 0)
    d = "d" if m.gfv_kps_pred_flag else ""
    axes = [("x", m.gfv_coordinate_x), ("y", m.gfv_coordinate_y)] + ([("z", m.gfv_coordinate_z)] if zp else [])
    for i in range(num_kps):
        for a, col in axes:
            col[i] = _abs_sign(c, f"gfv_coordinate_{d}{a}_abs[{i}]", f"gfv_coordinate_{d}{a}_sign_flag[{i}]", col[i])


def _coordinate_params(c: Any, m: GfvSei) -> None:
    m.gfv_coordinate_precision_factor_minus1 = c.ue(
        "gfv_coordinate_precision_factor_minus1", m.gfv_coordinate_precision_factor_minus1)
    _check_max("gfv_coordinate_precision_factor_minus1", m.gfv_coordinate_precision_factor_minus1,
               MAX_PRECISION_FACTOR_MINUS1)
    m.gfv_num_kps_minus1 = c.ue("gfv_num_kps_minus1", m.gfv_num_kps_minus1)
    _check_max("gfv_num_kps_minus1", m.gfv_num_kps_minus1, MAX_NUM_KPS_MINUS1)
    m.gfv_coordinate_z_present_flag = c.flag("gfv_coordinate_z_present_flag", m.gfv_coordinate_z_present_flag)
    if m.gfv_coordinate_z_present_flag:
        m.gfv_coordinate_z_max_value_minus1 = c.ue(
            "gfv_coordinate_z_max_value_minus1", m.gfv_coordinate_z_max_value_minus1)
        _check_max("gfv_coordinate_z_max_value_minus1", m.gfv_coordinate_z_max_value_minus1, MAX_Z_MAX_VALUE_MINUS1)
    else:
        _infer(c, m, "gfv_coordinate_z_max_value_minus1", 0)


def _matrices(c: Any, m: GfvSei, ctx: GfvSyntaxContext) -> None:
    """gfv_matrix_present_flag, the matrix types (or the base picture's, when predicted) and the elements."""
    m.gfv_matrix_present_flag = c.flag("gfv_matrix_present_flag", m.gfv_matrix_present_flag)
    if not (m.gfv_coordinate_present_flag or m.gfv_matrix_present_flag):
        raise _err("gfv_coordinate_present_flag and gfv_matrix_present_flag are both 0")
    if not m.gfv_matrix_present_flag:
        _infer(c, m, "gfv_matrix_pred_flag", 0)
        return
    if not m.gfv_base_picture_flag:
        m.gfv_matrix_pred_flag = c.flag("gfv_matrix_pred_flag", m.gfv_matrix_pred_flag)
    else:
        _infer(c, m, "gfv_matrix_pred_flag", 0)
    if not m.gfv_matrix_pred_flag:
        m.gfv_matrix_element_precision_factor_minus1 = c.ue(
            "gfv_matrix_element_precision_factor_minus1", m.gfv_matrix_element_precision_factor_minus1)
        _check_max("gfv_matrix_element_precision_factor_minus1", m.gfv_matrix_element_precision_factor_minus1,
                   MAX_PRECISION_FACTOR_MINUS1)
        m.gfv_num_matrix_types_minus1 = c.ue("gfv_num_matrix_types_minus1", m.gfv_num_matrix_types_minus1)
        _check_max("gfv_num_matrix_types_minus1", m.gfv_num_matrix_types_minus1, MAX_NUM_MATRIX_TYPES_MINUS1)
        num_types = m.gfv_num_matrix_types_minus1 + 1
        if c.is_reader:
            m.gfv_matrix_types = [GfvMatrixType() for _ in range(num_types)]
        else:
            _check_len(c, "gfv_matrix_types", m.gfv_matrix_types, num_types)
        dims = [_matrix_type(c, m, t) for t in range(num_types)]
    else:
        bm = ctx.base_matrix.get(m.gfv_id)
        if bm is None:
            raise _err(f"gfv_matrix_pred_flag = 1 in a message of gfv_id {m.gfv_id} "
                       f"but no base picture with matrices precedes it")
        _infer(c, m, "gfv_matrix_element_precision_factor_minus1", bm.precision_factor_minus1)
        _infer(c, m, "gfv_num_matrix_types_minus1", len(bm.dims) - 1)
        if c.is_reader:
            m.gfv_matrix_types = []
        dims = list(bm.dims)
    _matrix_elements(c, m, dims)


def _matrix_type(c: Any, m: GfvSei, t: int) -> GfvMatrixDims:
    """The elements of matrix type t and its derived size."""
    mt = m.gfv_matrix_types[t]
    mt.gfv_matrix_type_idx = c.u(f"gfv_matrix_type_idx[{t}]", 6, mt.gfv_matrix_type_idx)
    ti = mt.gfv_matrix_type_idx
    if ti in (0, 1):
        if not m.gfv_coordinate_present_flag:
            raise _err(f"gfv_matrix_type_idx[{t}] = {ti} needs gfv_coordinate_present_flag = 1")
        mt.gfv_num_matrices_equal_to_num_kps_flag = c.flag(
            f"gfv_num_matrices_equal_to_num_kps_flag[{t}]", mt.gfv_num_matrices_equal_to_num_kps_flag)
        if not mt.gfv_num_matrices_equal_to_num_kps_flag:
            mt.gfv_num_matrices_info = c.ue(f"gfv_num_matrices_info[{t}]", mt.gfv_num_matrices_info)
            _check_max(f"gfv_num_matrices_info[{t}]", mt.gfv_num_matrices_info, MAX_MATRIX_SIZE_MINUS1)
    elif ti in (2, 3) or ti >= 7:
        if ti >= 7:
            mt.gfv_num_matrices_minus1 = c.ue(f"gfv_num_matrices_minus1[{t}]", mt.gfv_num_matrices_minus1)
            _check_max(f"gfv_num_matrices_minus1[{t}]", mt.gfv_num_matrices_minus1, MAX_MATRIX_SIZE_MINUS1)
        mt.gfv_matrix_width_minus1 = c.ue(f"gfv_matrix_width_minus1[{t}]", mt.gfv_matrix_width_minus1)
        _check_max(f"gfv_matrix_width_minus1[{t}]", mt.gfv_matrix_width_minus1, MAX_MATRIX_SIZE_MINUS1)
        mt.gfv_matrix_height_minus1 = c.ue(f"gfv_matrix_height_minus1[{t}]", mt.gfv_matrix_height_minus1)
        _check_max(f"gfv_matrix_height_minus1[{t}]", mt.gfv_matrix_height_minus1, MAX_MATRIX_SIZE_MINUS1)
    elif not m.gfv_coordinate_present_flag:  # types 4..6
        mt.gfv_matrix_3d_space_flag = c.flag(f"gfv_matrix_3d_space_flag[{t}]", mt.gfv_matrix_3d_space_flag)
    elif c.is_reader:
        mt.gfv_matrix_3d_space_flag = m.gfv_coordinate_z_present_flag
    elif mt.gfv_matrix_3d_space_flag != m.gfv_coordinate_z_present_flag:
        raise _err(f"gfv_matrix_3d_space_flag[{t}] is inferred to be "
                   f"gfv_coordinate_z_present_flag = {m.gfv_coordinate_z_present_flag}")
    return _derive_dims(mt, m.gfv_num_kps_minus1 + 1, m.gfv_coordinate_present_flag, m.gfv_coordinate_z_present_flag)


def _matrix_elements(c: Any, m: GfvSei, dims: List[GfvMatrixDims]) -> None:
    prec = m.gfv_matrix_element_precision_factor_minus1 + 1
    pred = m.gfv_matrix_pred_flag
    dd = "delta_" if pred else ""
    if c.is_reader:
        m.gfv_matrix_elements = [[] for _ in dims]
    else:
        _check_len(c, "gfv_matrix_elements", m.gfv_matrix_elements, len(dims))
    for t, dm in enumerate(dims):
        if not c.is_reader:
            _check_len(c, f"gfv_matrix_elements[{t}]", m.gfv_matrix_elements[t], dm.count)
        els = m.gfv_matrix_elements[t]
        hw = dm.height * dm.width
        for e in range(dm.count):
            j, r = divmod(e, hw)
            k, l = divmod(r, dm.width)
            idx = f"[{t}][{j}][{k}][{l}]"
            vi, vd, vs = (0, 0, 0) if c.is_reader else els[e]
            vi = c.ue(f"gfv_matrix_{dd}element_int{idx}", vi)
            if pred:
                vd = c.ue(f"gfv_matrix_{dd}element_dec{idx}", vd)
            else:
                vd = c.u(f"gfv_matrix_{dd}element_dec{idx}", prec, vd)
            if vi or vd:
                vs = c.flag(f"gfv_matrix_{dd}element_sign_flag{idx}", vs)
            elif vs and not c.is_reader:
                raise _err(f"gfv_matrix_{dd}element_sign_flag{idx} = 1 for a zero element")
            if c.is_reader:
                els.append((vi, vd, vs))


def _nn_payload(c: Any, m: GfvSei) -> None:
    """The network carried in the payload (gfv_nn_mode_idc == 0): byte aligned, to the end of the payload."""
    while not c.byte_aligned():
        c.f("gfv_nn_alignment_zero_bit_b", 1, 0)
    n = c.bytes_left() if c.is_reader else len(m.gfv_nn_payload_byte)
    src = m.gfv_nn_payload_byte
    m.gfv_nn_payload_byte = bytes(c.u(f"gfv_nn_payload_byte[{i}]", 8, 0 if c.is_reader else src[i])
                                  for i in range(n))


# --- public API -------------------------------------------------------------------

def write_gfv_sei(m: GfvSei, ctx: GfvSyntaxContext, trace: Any = None, update_ctx: bool = True,
                  version: str = "vtm") -> bytes:
    """Serialise ``m`` into a GFV SEI payload (whole bytes, padded as in
    H.274).  With ``update_ctx`` the context records ``m`` afterwards."""
    w = SyntaxWriter(trace)
    gfv_sei_syntax(w, copy.deepcopy(m), ctx, version)
    finish_payload(w)
    data = w.getvalue()
    if update_ctx:
        ctx.record(m)
    return data


def read_gfv_sei(payload: bytes, ctx: GfvSyntaxContext, trace: Any = None, update_ctx: bool = True,
                 version: str = "vtm") -> GfvSei:
    """Parse a GFV SEI payload.  Raises :class:`BitstreamError` on any
    error.  With ``update_ctx`` the context records the message afterwards
    (only when parsing succeeded)."""
    r = SyntaxReader(payload, trace, label="GFV SEI payload")
    m = gfv_sei_syntax(r, GfvSei(), ctx, version)
    check_payload_end(r)
    if update_ctx:
        ctx.record(m)
    return m
