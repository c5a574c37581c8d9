"""Building the GFV SEI message of each picture (encoder side; doc/bitstream_syntax.md clause 4.3).

The message is built from the quantised keypoints and the committed state of
its gfv_id (CommonLib.syntax.keypoint_coding.GfvState), then applied to that state
with the decoder's own :meth:`GfvState.decode_message`, so the encoder's
state is the decoder's by construction.

Base picture: gfv_cnt = 0, gfv_base_picture_flag = 1, gfv_nn_present_flag = 1
/ gfv_nn_mode_idc = 1 when ``uri`` is given.  Non-base picture: a new run
(gfv_cnt = 0, with its fusion flag) starts after each base picture (the
encoder never continues the run a base picture starts) and whenever ``fusion_flag``
changes (in the vtm syntax the flag is coded only with gfv_cnt = 0, so a
change of the fusion decision needs a new run; the hm18 syntax codes it in
every non-base message, and the same runs are kept); otherwise gfv_cnt counts
on. Keypoint prediction is used when ``kps_pred`` and the predictor has the
same parameters, otherwise gfv_kps_pred_flag = 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from Utilities.errors import BitstreamError, InputError
from CommonLib.syntax.gfv_sei import MAX_NUM_KPS_MINUS1, MAX_Z_MAX_VALUE_MINUS1, GfvSei, KpsParams
from CommonLib.syntax.keypoint_coding import GfvState, check_precision

__all__ = ["build_gfv_message", "encode_gfv_payload", "propose_gfv_payload", "GfvProposal"]


def _message(state: GfvState, gfv_id: int, keypoints_q: Any, precision_P: int, *, base_picture: bool,
             fusion_flag: int = 0, kps_pred: bool = True, uri_tag: Optional[str] = None,
             uri: Optional[str] = None, z_max_value_minus1: int = 0, low_confidence: int = 0):
    """(message, quantised keypoints) of one picture against the committed ``state`` (not applied)."""
    q = np.asarray(keypoints_q)
    if q.ndim != 2 or q.shape[1] not in (2, 3) or q.shape[0] < 1:
        raise InputError(f"keypoints must be an array NumKps x 2 or x 3, got shape {q.shape}")
    if not np.issubdtype(q.dtype, np.integer):
        raise InputError("build_gfv_message takes quantised (integer) keypoints")
    q = q.astype(np.int64)
    P = check_precision(precision_P)
    K, D = q.shape
    if K - 1 > MAX_NUM_KPS_MINUS1:
        raise InputError(f"{K} keypoints, at most {MAX_NUM_KPS_MINUS1 + 1} allowed")
    if not 0 <= z_max_value_minus1 <= MAX_Z_MAX_VALUE_MINUS1:
        raise InputError(f"z_max_value_minus1 = {z_max_value_minus1} outside 0..{MAX_Z_MAX_VALUE_MINUS1}")
    params = KpsParams(P - 1, K - 1, int(D == 3), z_max_value_minus1 if D == 3 else 0)
    st = state.id_state(gfv_id)

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
    else:
        if not st.have_base:
            raise BitstreamError(f"GFV SEI: gfv_id {gfv_id}: a non-base message needs a preceding base picture")
        fusion_flag = int(bool(fusion_flag))
        if not st.run_from_base and fusion_flag == st.run_fusion:
            m.gfv_cnt = st.next_cnt
            pred, pparams = st.prev_kps, st.prev_params
        else:
            m.gfv_cnt = 0
            pred, pparams = st.base_kps, state.base_params(gfv_id)
        m.gfv_fusion_pic_flag = fusion_flag if (m.gfv_cnt == 0 or state.syntax == "hm18") else None
        # gfv_kps_pred_flag = 1 inherits P / NumKps / z from the base picture
        use_pred = (bool(kps_pred) and pred is not None and pparams == params
                    and state.base_params(gfv_id) == params)

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
    return m, q


def _apply(state: GfvState, m: GfvSei, q: np.ndarray) -> None:
    out = state.decode_message(m)
    if not np.array_equal(out.keypoints, q):  # pragma: no cover - internal consistency
        raise AssertionError("GFV keypoint reconstruction differs from the encoder input")


def build_gfv_message(state: GfvState, gfv_id: int, keypoints_q: Any, precision_P: int, **kwargs: Any) -> GfvSei:
    """The GFV SEI message of one picture from quantised keypoints (int array NumKps x 2, or x 3 with z;
    keyword arguments of the module docstring), applied to ``state``."""
    m, q = _message(state, gfv_id, keypoints_q, precision_P, **kwargs)
    _apply(state, m, q)
    return m


@dataclass
class GfvProposal:
    """A message built against the committed state and its payload, not applied yet (the encoder may drop it:
    KeypointTransmission rd)."""
    message: GfvSei
    keypoints: np.ndarray
    payload: bytes

    def commit(self, state: GfvState) -> None:
        """Apply the message to ``state`` (the state it was proposed against, unchanged since)."""
        _apply(state, self.message, self.keypoints)


def propose_gfv_payload(state: GfvState, gfv_id: int, keypoints_q: Any, precision_P: int, trace: Any = None,
                        **kwargs: Any) -> GfvProposal:
    m, q = _message(state, gfv_id, keypoints_q, precision_P, **kwargs)
    return GfvProposal(m, q, state.write_payload(m, trace))


def encode_gfv_payload(state: GfvState, gfv_id: int, keypoints_q: Any, precision_P: int, trace: Any = None,
                       **kwargs: Any) -> Tuple[bytes, GfvSei]:
    """:func:`build_gfv_message` and its payload in the state's syntax version, written against the
    state before the message is applied (as the decoder parses it)."""
    p = propose_gfv_payload(state, gfv_id, keypoints_q, precision_P, trace, **kwargs)
    p.commit(state)
    return p.payload, p.message
