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

FusionFlag (``doc/bitstream_syntax.md`` clause 3.4.4): in the vtm syntax
gfv_fusion_pic_flag is present only in a non-base message with gfv_cnt = 0,
which starts a *run*; FusionFlag of a non-base message is the flag of the
message that started its run and persists until the next message with
gfv_cnt = 0. In the hm18 syntax the flag (gfv_drive_picture_fusion_flag) is in
every non-base message and is its FusionFlag. Where the flag is not present,
``GfvSei.gfv_fusion_pic_flag`` is ``None``; FusionFlag is reported as
``DecodedGfvPicture.fusion_flag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import numpy as np

from Utilities.errors import BitstreamError, InputError
from CommonLib.syntax.gfv_sei import (
    GFV_SYNTAX_VERSIONS,
    MAX_PRECISION_FACTOR_MINUS1,
    GfvSei,
    GfvSyntaxContext,
    KpsParams,
    read_gfv_sei,
    write_gfv_sei,
)

__all__ = [
    "quantise_keypoints",
    "dequantise",
    "check_precision",
    "DecodedGfvPicture",
    "GfvIdState",
    "GfvState",
]


def check_precision(P: int) -> int:
    P = int(P)
    if not 1 <= P <= MAX_PRECISION_FACTOR_MINUS1 + 1:
        raise InputError(f"keypoint precision P = {P} outside 1..{MAX_PRECISION_FACTOR_MINUS1 + 1}")
    return P


def quantise_keypoints(kp_float: Any, precision_P: int) -> np.ndarray:
    """Quantise float keypoints (any shape, nominally K x 2 in [-1, 1]) to
    integers q = Sign(v) * Floor(Abs(v) * 2^P + 1/2), clipped to
    [-2^P, 2^P].  Returns ``int64``.  NaN raises :class:`InputError`."""
    P = check_precision(precision_P)
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
    P = check_precision(P)
    return np.asarray(q, dtype=np.int64).astype(np.float64) / float(1 << P)


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
class GfvIdState:
    """The state of one gfv_id (doc/bitstream_syntax.md clauses 3.4 and 4.2): whether a base picture
    was received and its reconstructed keypoints, the previous message's keypoints and parameters, and
    the current run (started by the last message with gfv_cnt = 0, base or not) with its FusionFlag and
    the gfv_cnt the next message of the run must have. The base picture's keypoint *parameters* live in the
    syntax context (GfvSyntaxContext.base_kps), their one home."""

    have_base: bool = False
    base_kps: Optional[np.ndarray] = None
    prev_kps: Optional[np.ndarray] = None
    prev_params: Optional[KpsParams] = None
    run_from_base: bool = False      # the run was started by a base-picture message
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


class GfvState:
    """The GFV state of a bitstream: per gfv_id a :class:`GfvIdState`, and the syntax context.

    The decoder applies each parsed message with :meth:`decode_message` (or parses and applies with
    :meth:`decode_payload`); the encoder (EncoderLib.gfv_message_writer) builds each message from
    :meth:`id_state` and applies it with the same :meth:`decode_message`, so encoder and decoder
    states cannot diverge. ``syntax``: the GFV SEI syntax version ('vtm' or 'hm18', CommonLib.syntax.gfv_sei).

    FusionFlag of a non-base message: the fusion flag of the message when it is present (gfv_cnt = 0;
    hm18: every non-base message), else the FusionFlag of the run it belongs to (vtm, gfv_cnt > 0).
    """

    def __init__(self, syntax: str = "vtm", check_range: bool = True) -> None:
        if syntax not in GFV_SYNTAX_VERSIONS:
            raise InputError(f"unknown GFV SEI syntax '{syntax}' (choose {', '.join(GFV_SYNTAX_VERSIONS)})")
        self.syntax = syntax
        self.check_range = check_range      # the keypoint range of clause 4.2 (off for syntax-only parsing)
        self.ctx = GfvSyntaxContext()
        self._ids: Dict[int, GfvIdState] = {}

    def id_state(self, gfv_id: int) -> GfvIdState:
        """A copy of the committed state of ``gfv_id`` (a fresh state when it has had no message)."""
        st = self._ids.get(gfv_id)
        return GfvIdState() if st is None else GfvIdState(**st.__dict__)

    def base_params(self, gfv_id: int) -> Optional[KpsParams]:
        """Keypoint parameters of the last base picture of ``gfv_id`` (None: none, or without keypoints)."""
        return self.ctx.base_kps.get(gfv_id)

    def decode_payload(self, payload: bytes, trace: Any = None) -> DecodedGfvPicture:
        """Parse a GFV SEI payload in this state's syntax version and apply it. A payload that does not
        parse, but parses in the other syntax version, is reported with that version as a hint."""
        try:
            m = read_gfv_sei(payload, self.ctx, trace, update_ctx=False, version=self.syntax)
        except BitstreamError as e:
            other = [v for v in GFV_SYNTAX_VERSIONS if v != self.syntax][0]
            try:
                read_gfv_sei(payload, self.ctx.copy(), None, update_ctx=False, version=other)
            except BitstreamError:
                raise e from None
            raise BitstreamError(f"{e} (in the {self.syntax} GFV SEI syntax; the message parses in the {other} "
                                 f"syntax: try GfvSeiSyntax {other})") from None
        return self.decode_message(m)

    def write_payload(self, m: GfvSei, trace: Any = None) -> bytes:
        """The payload of a message built against this state (before it is applied)."""
        return write_gfv_sei(m, self.ctx, trace, update_ctx=False, version=self.syntax)

    def decode_message(self, m: GfvSei) -> DecodedGfvPicture:
        """Apply one parsed message: run / gfv_cnt / fusion checks, keypoint
        prediction and reconstruction.  Transactional: on error the state is
        unchanged."""
        gid = m.gfv_id
        new = self.id_state(gid)
        base = bool(m.gfv_base_picture_flag)
        where = f"gfv_id {gid}, gfv_cnt {m.gfv_cnt}"
        flag = m.gfv_fusion_pic_flag
        if flag is not None and flag not in (0, 1):
            raise BitstreamError(f"GFV SEI: {where}: fusion flag = {flag!r}, shall be 0 or 1")

        fusion: Optional[int]
        if base:
            if m.gfv_cnt != 0:
                raise BitstreamError(f"GFV SEI: {where}: base picture message with gfv_cnt != 0")
            fusion = None
            # a base-picture message starts a run with FusionFlag 0, which non-base messages with
            # gfv_cnt 1, 2, ... may continue (as the JVET encoders' examples do; clause 3.4.3)
            new.run_from_base, new.run_fusion, new.next_cnt = True, 0, 1
        else:
            if not new.have_base:
                raise BitstreamError(
                    f"GFV SEI: {where}: non-base message but no base picture of gfv_id {gid} precedes it")
            if m.gfv_cnt == 0:
                if flag is None:
                    raise BitstreamError(f"GFV SEI: {where}: fusion flag = None; a non-base message with "
                                         "gfv_cnt = 0 needs 0 or 1")
                new.run_from_base, new.run_fusion, new.next_cnt = False, int(flag), 1
            else:
                if m.gfv_cnt != new.next_cnt:
                    raise BitstreamError(
                        f"GFV SEI: {where}: gfv_cnt = {m.gfv_cnt}, expected {new.next_cnt}")
                if flag is not None:             # hm18: present in every message
                    new.run_fusion = int(flag)
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
                    pred, pparams, what = new.base_kps, self.base_params(gid), "base picture"
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
            if self.check_range:
                _range_check(rec, params, where)
            rec.setflags(write=False)
            new.prev_kps, new.prev_params = rec, params

        if base:
            new.have_base = True
            new.base_kps = rec
            if rec is None:
                new.prev_kps, new.prev_params = None, None

        # commit
        self._ids[gid] = new
        self.ctx.record(m)
        return DecodedGfvPicture(gfv_id=gid, gfv_cnt=m.gfv_cnt, base_picture=base, fusion_flag=fusion,
                                 low_confidence=int(m.gfv_low_confidence_face_parameter_flag),
                                 keypoints=rec, params=params, sei=m)
