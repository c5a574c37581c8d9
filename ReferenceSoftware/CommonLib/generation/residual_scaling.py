"""Residual scaling of a generated picture towards its base-layer picture
(doc/decoding_process.md, clause 4.1; doc/integer_decoding_process.md, clause 7.7).

With fusion, the generated picture G and the decoded base-layer picture B of
the same access unit are both estimates of the source. A model may carry a
table ``ResidualScale[qp]`` (6 fractional bits, 64 = 1) of integer weights per
base-layer QP; the output picture is then, per sample of R', G', B'::

    O = Clip3( 0, 255, B + ( ( ResidualScale[ Clip3( 0, N - 1, SliceQpY ) ] * ( G - B ) + 32 ) >> 6 ) )

with ``>>`` the arithmetic (flooring) shift and SliceQpY the QP of the first
slice of the base-layer picture (CommonLib.syntax.hevc_slice_qp, vvc_slice_qp), N the table's number of
entries: 52 (QPs 0..51, HEVC's range) or 64 (0..63, VVC's), so that a 52-entry table serves VVC's QPs above 51
with its last entry. A scale
of 64 gives O = G exactly; a model without the table is used as if every
entry were 64. This is the residual scaling of neural-network loop filters
(the output of the network is a correction of the decoded picture whose
strength is weighted), here with the weight a function of the base-layer QP:
at QP 50 the generated picture is far better than the base layer, at QP 44
the two are close and a blend of the two beats either.
"""
from __future__ import annotations

import numpy as np

from Utilities.errors import ModelError

__all__ = ["RESIDUAL_SCALE_SHIFT", "RESIDUAL_SCALE_ONE", "NUM_QPS", "TABLE_SIZES", "check_table", "scale_for_qp",
           "apply_residual_scale"]

RESIDUAL_SCALE_SHIFT = 6
RESIDUAL_SCALE_ONE = 1 << RESIDUAL_SCALE_SHIFT
NUM_QPS = 52
#: the table sizes a model may carry: HEVC's QP range 0..51, VVC's 0..63
TABLE_SIZES = (NUM_QPS, 64)
MAX_SCALE = 4 * RESIDUAL_SCALE_ONE


def check_table(table, where: str) -> list[int]:
    """A ResidualScale table as a list of 52 or 64 integers in 0..256, or ModelError."""
    try:
        values = [int(v) for v in table]
        exact = all(int(v) == v for v in table)
    except (TypeError, ValueError):
        raise ModelError(f"{where}: residual_scale is not a list of integers") from None
    if len(values) not in TABLE_SIZES or not exact or any(not 0 <= v <= MAX_SCALE for v in values):
        raise ModelError(f"{where}: residual_scale must be {' or '.join(map(str, TABLE_SIZES))} integers in "
                         f"0..{MAX_SCALE}")
    return values


def scale_for_qp(table: list[int] | None, qp: int) -> int:
    """ResidualScale[ Clip3( 0, len(table) - 1, qp ) ]; 64 without a table."""
    if table is None:
        return RESIDUAL_SCALE_ONE
    return table[min(max(qp, 0), len(table) - 1)]


def apply_residual_scale(generated: np.ndarray, base: np.ndarray, scale: int) -> np.ndarray:
    """O = Clip3(0, 255, B + ((scale * (G - B) + 32) >> 6)) on uint8 arrays of one shape."""
    if scale == RESIDUAL_SCALE_ONE:
        return generated
    g = generated.astype(np.int32)
    b = base.astype(np.int32)
    o = b + ((scale * (g - b) + (1 << (RESIDUAL_SCALE_SHIFT - 1))) >> RESIDUAL_SCALE_SHIFT)
    return np.clip(o, 0, 255).astype(np.uint8)
