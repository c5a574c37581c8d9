"""Integer keypoint quantisation, prediction and reconstruction for the GFV SEI
message, and the per-gfv_id state machine shared by encoder and decoder.

Everything on the decoding path is integer arithmetic (Python ``int`` /
``numpy.int64``); floats appear only in :func:`quantise_keypoints` (encoder
input from the float keypoint detector) and :func:`dequantise` (exact
conversion to the network input).  See ``doc/bitstream_syntax.md`` clause 4.

Quantisation (encoder), P = gfv_coordinate_precision_factor_minus1 + 1::

    q = Clip3(-2^P, 2^P, Sign(v) * Floor(Abs(v) * 2^P + 1/2))      (round half away from zero)

computed exactly: with a = Abs(v) * 2^P (exact in float64, a power-of-two
scaling), f = Floor(a) and r = a - f (exact: the fractional part of a double
is a double), q_abs = f + (r >= 1/2).  ``np.floor(a + 0.5)`` is *not* exact
(a = 0.49999999999999994 gives a + 0.5 == 1.0 after rounding); VTM's
``(int)(v * 2^P + 0.5)`` truncates towards zero and rounds negative values
wrongly (-3/2^(P+1) gives -1 instead of -2).

Reconstruction: keypoint value = q / 2^P (:func:`dequantise`, exact).

FusionFlag (``doc/bitstream_syntax.md`` clause 3.4.4): gfv_fusion_pic_flag is
present only in a non-base message with gfv_cnt = 0, which starts a *run*.
FusionFlag of a non-base message is the gfv_fusion_pic_flag of the last
non-base message with gfv_cnt = 0 of the same gfv_id (the message that
started its run); it persists until the next message with gfv_cnt = 0.  In
a message where gfv_fusion_pic_flag is not present (base-picture messages,
non-base messages with gfv_cnt > 0) the field ``GfvSei.gfv_fusion_pic_flag``
is ``None``, both in parsed messages and in messages built by
:meth:`GfvDecodingState.encode_message`; the persisted value is reported as
``DecodedGfvPicture.fusion_flag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from CommonLib.errors import BitstreamError, InputError
from CommonLib.gfv_sei import (
    GfvSei,
    GfvSyntaxContext,
    MAX_NUM_KPS_MINUS1,
    MAX_PRECISION_FACTOR_MINUS1,
    MAX_Z_MAX_VALUE_MINUS1,
    read_gfv_sei,
    write_gfv_sei,
)

__all__ = [
    "quantise_keypoints",
    "dequantise",
    "KpsParams",
    "DecodedGfvPicture",
    "GfvDecodingState",
]


def _check_precision(P: int) -> int:
    P = int(P)
    if not 1 <= P <= MAX_PRECISION_FACTOR_MINUS1 + 1:
        raise InputError(f"keypoint precision P = {P} outside 1..{MAX_PRECISION_FACTOR_MINUS1 + 1}")
    return P


def quantise_keypoints(kp_float: Any, precision_P: int) -> np.ndarray:
    """Quantise float keypoints (any shape, nominally K x 2 in [-1, 1]) to
    integers q = Sign(v) * Floor(Abs(v) * 2^P + 1/2), clipped to
    [-2^P, 2^P].  Returns ``int64``.  NaN raises :class:`InputError`."""
    P = _check_precision(precision_P)
    v = np.asarray(kp_float, dtype=np.float64)
    if np.isnan(v).any():
        raise InputError("keypoint quantisation: NaN keypoint coordinate")
    # Clipping v to [-1, 1] first gives the same result as clipping q (q is
    # monotone in v and +-1 maps to +-2^P) and keeps a = |v| 2^P <= 2^32.
    a = np.abs(np.clip(v, -1.0, 1.0)) * float(1 << P)      # exact (power-of-two scaling)
    f = np.floor(a)
    r = a - f                                               # exact fractional part
    q_abs = f.astype(np.int64) + (r >= 0.5).astype(np.int64)
    q = np.where(v < 0, -q_abs, q_abs)
    lim = 1 << P
    return np.clip(q, -lim, lim).astype(np.int64)


def dequantise(q: Any, P: int) -> np.ndarray:
    """Keypoint values q / 2^P as float64 (exact for |q| < 2^53)."""
    P = _check_precision(P)
    return np.asarray(q, dtype=np.int64).astype(np.float64) / float(1 << P)


@dataclass(frozen=True)
class KpsParams:
    """Keypoint coding parameters of one message."""

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


@dataclass
class DecodedGfvPicture:
    """Result of one GFV SEI message after prediction and reconstruction."""

    gfv_id: int
    gfv_cnt: int
    base_picture: bool
    #: FusionFlag (1: the generated picture uses the decoded picture of the
    #: same access unit as base layer, 0: animation only): for a non-base
    #: message the gfv_fusion_pic_flag of the message with gfv_cnt = 0 that
    #: started its run (persisted for gfv_cnt > 0, where ``sei.gfv_fusion_pic_flag``
    #: is None); None for a base picture message.
    fusion_flag: Optional[int]
    low_confidence: int
    #: Reconstructed keypoint integers, shape (NumKps, 2 or 3), int64; None
    #: when the message carries no coordinates.
    keypoints: Optional[np.ndarray]
    params: Optional[KpsParams]
    sei: GfvSei

    @property
    def precision(self) -> Optional[int]:
        return None if self.params is None else self.params.P

    def keypoints_float(self) -> Optional[np.ndarray]:
        """Keypoints as float64 values q / 2^P (exact)."""
        if self.keypoints is None:
            return None
        return dequantise(self.keypoints, self.params.P)


@dataclass
class _IdState:
    base_kps: Optional[np.ndarray] = None
    base_params: Optional[KpsParams] = None
    have_base: bool = False
    prev_kps: Optional[np.ndarray] = None
    prev_params: Optional[KpsParams] = None
    run_open: bool = False
    run_fusion: int = 0
    next_cnt: int = 0


def _range_check(rec: np.ndarray, params: KpsParams, where: str) -> None:
    lim = 1 << params.P
    names = "xyz"
    for d in range(params.dims):
        hi = lim if d < 2 else (params.z_max_value_minus1 + 1) << params.P
        col = rec[:, d]
        bad = np.nonzero(np.abs(col) > hi)[0]
        if bad.size:
            i = int(bad[0])
            raise BitstreamError(
                f"GFV SEI: {where}: reconstructed keypoint {names[d]}[{i}] = {int(col[i])} "
                f"outside [-{hi}, {hi}] (P = {params.P})")


class GfvDecodingState:
    """Per-gfv_id GFV state (base picture parameters and keypoints, previous
    message's keypoints, the open run and its FusionFlag) with the syntax
    context.  FusionFlag of a non-base message with gfv_cnt > 0 is the
    gfv_fusion_pic_flag of the last non-base message with gfv_cnt = 0 of the
    same gfv_id (``gfv_fusion_pic_flag`` of the message itself is None there
    and is not used).  The encoder builds messages with :meth:`encode_message` and the
    decoder applies them with :meth:`decode_message`; both go through the
    same :meth:`decode_message` so encoder and decoder states cannot diverge.
    """

    def __init__(self) -> None:
        self.ctx = GfvSyntaxContext()
        self._ids: Dict[int, _IdState] = {}

    # -- decoder -------------------------------------------------------------
    def decode_payload(self, payload: bytes, trace: Any = None) -> DecodedGfvPicture:
        """Parse a GFV SEI payload and apply it."""
        m = read_gfv_sei(payload, self.ctx, trace, update_ctx=False)
        return self.decode_message(m)

    def decode_message(self, m: GfvSei) -> DecodedGfvPicture:
        """Apply one parsed message: run / gfv_cnt / fusion checks, keypoint
        prediction and reconstruction.  Transactional: on error the state is
        unchanged."""
        gid = m.gfv_id
        st = self._ids.get(gid)
        new = _IdState() if st is None else _IdState(**st.__dict__)
        base = bool(m.gfv_base_picture_flag)
        where = f"gfv_id {gid}, gfv_cnt {m.gfv_cnt}"

        fusion: Optional[int]
        if base:
            if m.gfv_cnt != 0:
                raise BitstreamError(f"GFV SEI: {where}: base picture message with gfv_cnt != 0")
            fusion = None
            new.run_open = False
        else:
            if not new.have_base:
                raise BitstreamError(
                    f"GFV SEI: {where}: non-base message but no base picture of gfv_id {gid} precedes it")
            if m.gfv_cnt == 0:
                if m.gfv_fusion_pic_flag is None or m.gfv_fusion_pic_flag not in (0, 1):
                    raise BitstreamError(
                        f"GFV SEI: {where}: gfv_fusion_pic_flag = {m.gfv_fusion_pic_flag!r}; a non-base "
                        f"message with gfv_cnt = 0 needs 0 or 1")
                new.run_open = True
                new.run_fusion = int(m.gfv_fusion_pic_flag)
                new.next_cnt = 1
            else:
                if not new.run_open:
                    raise BitstreamError(
                        f"GFV SEI: {where}: gfv_cnt > 0 but no run started (no message with gfv_cnt = 0 "
                        f"since the last base picture)")
                if m.gfv_cnt != new.next_cnt:
                    raise BitstreamError(
                        f"GFV SEI: {where}: gfv_cnt = {m.gfv_cnt}, expected {new.next_cnt}")
                # gfv_fusion_pic_flag is not present: FusionFlag persists from gfv_cnt = 0
                new.next_cnt += 1
            fusion = new.run_fusion

        rec: Optional[np.ndarray] = None
        params: Optional[KpsParams] = None
        if m.gfv_coordinate_present_flag:
            params = KpsParams.of(m)
            K, D = params.num_kps, params.dims
            cols = [m.gfv_coordinate_x, m.gfv_coordinate_y] + ([m.gfv_coordinate_z] if D == 3 else [])
            for name, col in zip("xyz", cols):
                if len(col) != K:
                    raise BitstreamError(f"GFV SEI: {where}: {len(col)} {name} coordinates, NumKps = {K}")
            coded = np.array(cols, dtype=np.int64).T.reshape(K, D)
            if not m.gfv_kps_pred_flag:
                rec = coded
            elif base:
                rec = np.cumsum(coded, axis=0, dtype=np.int64)   # keypoint i from i - 1
            else:
                if m.gfv_cnt == 0:
                    pred, pparams, what = new.base_kps, new.base_params, "base picture"
                else:
                    pred, pparams, what = new.prev_kps, new.prev_params, "previous message"
                if pred is None:
                    raise BitstreamError(f"GFV SEI: {where}: gfv_kps_pred_flag = 1 but the {what} "
                                         f"carries no keypoints")
                if pparams != params:
                    raise BitstreamError(
                        f"GFV SEI: {where}: gfv_kps_pred_flag = 1 but the {what} has other keypoint "
                        f"parameters ({pparams} vs {params}); prediction across precisions is not allowed")
                rec = pred + coded
            _range_check(rec, params, where)
            rec.setflags(write=False)
            new.prev_kps, new.prev_params = rec, params

        if base:
            new.have_base = True
            new.base_kps, new.base_params = rec, params
            if rec is None:
                new.prev_kps, new.prev_params = None, None

        # commit
        self._ids[gid] = new
        self.ctx.record(m)
        return DecodedGfvPicture(gfv_id=gid, gfv_cnt=m.gfv_cnt, base_picture=base, fusion_flag=fusion,
                                 low_confidence=int(m.gfv_low_confidence_face_parameter_flag),
                                 keypoints=rec, params=params, sei=m)

    # -- encoder -------------------------------------------------------------
    def encode_message(self, gfv_id: int, keypoints_q: Any, precision_P: int, *,
                       base_picture: bool, fusion_flag: int = 0, kps_pred: bool = True,
                       uri_tag: Optional[str] = None, uri: Optional[str] = None,
                       z_max_value_minus1: int = 0, low_confidence: int = 0) -> GfvSei:
        """Build the GFV SEI message of one picture from quantised keypoints
        (int array NumKps x 2, or x 3 with z) and apply it to the state.

        Base picture: gfv_cnt = 0, gfv_base_picture_flag = 1, gfv_nn_present_flag
        = 1 / gfv_nn_mode_idc = 1 when ``uri`` is given.  Non-base picture:
        a new run (gfv_cnt = 0) starts after each base picture and whenever
        ``fusion_flag`` changes (gfv_fusion_pic_flag is coded only with
        gfv_cnt = 0, so a change of the fusion decision needs a new run);
        otherwise gfv_cnt counts on and gfv_fusion_pic_flag is None (not
        present; FusionFlag persists).  Base picture: gfv_fusion_pic_flag is
        None (not present).  Keypoint
        prediction is used when ``kps_pred`` and the predictor has the same
        parameters, otherwise gfv_kps_pred_flag = 0."""
        q = np.asarray(keypoints_q)
        if q.ndim != 2 or q.shape[1] not in (2, 3) or q.shape[0] < 1:
            raise InputError(f"keypoints must be an array NumKps x 2 or x 3, got shape {q.shape}")
        if not np.issubdtype(q.dtype, np.integer):
            raise InputError("encode_message takes quantised (integer) keypoints")
        q = q.astype(np.int64)
        P = _check_precision(precision_P)
        K, D = q.shape
        if K - 1 > MAX_NUM_KPS_MINUS1:
            raise InputError(f"{K} keypoints, at most {MAX_NUM_KPS_MINUS1 + 1} allowed")
        if not 0 <= z_max_value_minus1 <= MAX_Z_MAX_VALUE_MINUS1:
            raise InputError(f"z_max_value_minus1 = {z_max_value_minus1} outside 0..{MAX_Z_MAX_VALUE_MINUS1}")
        params = KpsParams(P - 1, K - 1, int(D == 3), z_max_value_minus1 if D == 3 else 0)
        st = self._ids.get(gfv_id, _IdState())

        m = GfvSei(gfv_id=gfv_id)
        m.gfv_low_confidence_face_parameter_flag = int(bool(low_confidence))
        m.gfv_coordinate_present_flag = 1
        if base_picture:
            m.gfv_cnt = 0
            m.gfv_base_picture_flag = 1
            if uri is not None:
                m.gfv_nn_present_flag = 1
                m.gfv_nn_mode_idc = 1
                m.gfv_uri_tag = uri_tag or ""
                m.gfv_uri = uri
            use_pred = bool(kps_pred)
            pred = None
        else:
            if not st.have_base:
                raise BitstreamError(f"GFV SEI: gfv_id {gfv_id}: a non-base message needs a preceding base picture")
            fusion_flag = int(bool(fusion_flag))
            if st.run_open and fusion_flag == st.run_fusion:
                m.gfv_cnt = st.next_cnt
                pred, pparams = st.prev_kps, st.prev_params
            else:
                m.gfv_cnt = 0
                pred, pparams = st.base_kps, st.base_params
            m.gfv_fusion_pic_flag = fusion_flag if m.gfv_cnt == 0 else None
            # gfv_kps_pred_flag = 1 inherits P / NumKps / z from the base picture
            use_pred = (bool(kps_pred) and pred is not None and pparams == params
                        and st.base_params == params)

        m.gfv_kps_pred_flag = int(use_pred)
        m.gfv_coordinate_precision_factor_minus1 = params.precision_factor_minus1
        m.gfv_num_kps_minus1 = params.num_kps_minus1
        m.gfv_coordinate_z_present_flag = params.z_present_flag
        m.gfv_coordinate_z_max_value_minus1 = params.z_max_value_minus1
        if not use_pred:
            coded = q
        elif base_picture:
            coded = np.diff(q, axis=0, prepend=np.zeros((1, D), dtype=np.int64))
        else:
            coded = q - pred
        m.gfv_coordinate_x = [int(v) for v in coded[:, 0]]
        m.gfv_coordinate_y = [int(v) for v in coded[:, 1]]
        m.gfv_coordinate_z = [int(v) for v in coded[:, 2]] if D == 3 else []

        out = self.decode_message(m)
        if not np.array_equal(out.keypoints, q):  # pragma: no cover - internal consistency
            raise AssertionError("GFV keypoint reconstruction differs from the encoder input")
        return m

    def encode_payload(self, gfv_id: int, keypoints_q: Any, precision_P: int, trace: Any = None,
                       **kwargs: Any) -> Tuple[bytes, GfvSei]:
        """:meth:`encode_message` followed by :func:`write_gfv_sei`."""
        m = self.encode_message(gfv_id, keypoints_q, precision_P, **kwargs)
        return write_gfv_sei(m, self.ctx, trace, update_ctx=False), m
