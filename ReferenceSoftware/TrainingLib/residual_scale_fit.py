"""Fitting the ResidualScale table of an integer model (encoder side, not normative).

For each QP q of the fit, training clips (never the test split) are coded as
EncoderApp codes them (key picture at IntraQP, low-delay P base layer at q);
over every fused picture, with S the source, B the decoded base-layer picture
and G the network's picture before residual scaling (R'G'B' samples)::

    alpha(q) = sum (G - B)(S - B) / sum (G - B)^2

is the weight that minimises the squared error of B + alpha (G - B). The
table holds ``min(256, max(0, floor(64 alpha + 1/2)))``; QPs between two fitted
QPs take the linear interpolation of alpha, QPs outside the fitted range the
alpha of the nearest fitted QP (doc/model_card.md records the fitted values).
"""
from __future__ import annotations

import math

import numpy as np

from Utilities.errors import ConfigError
from CommonLib.generation.residual_scaling import MAX_SCALE, NUM_QPS, RESIDUAL_SCALE_ONE
from EncoderLib.encoder_model import open_encoder_model
from EncoderLib.sequence_coding import code_sequence

__all__ = ["residual_statistics", "alpha_table", "scale_table", "fit_residual_scale"]


def residual_statistics(seq: dict, model_path: str, qp: int, intra_qp: int, intra_period: int,
                        frames: int) -> tuple[float, float, int]:
    """(sum (G-B)(S-B), sum (G-B)^2, fused pictures) of one clip coded at base-layer QP ``qp``."""
    num, den, count = 0.0, 0.0, 0
    for src, _, pic in code_sequence(seq, open_encoder_model(model_path), qp, intra_qp, frames, intra_period):
        if not pic.fusion:
            continue
        b = pic.base.to_rgb().astype(np.int64)
        d = pic.out.generated.astype(np.int64) - b
        num += float((d * (src.astype(np.int64) - b)).sum())
        den += float((d * d).sum())
        count += 1
    return num, den, count


def alpha_table(alphas: dict[int, float]) -> list[float]:
    """alpha for QP 0..51 from the fitted QPs: linear between them, constant outside."""
    qs = sorted(alphas)
    return [float(np.interp(q, qs, [alphas[k] for k in qs])) for q in range(NUM_QPS)]


def scale_table(alphas: dict[int, float]) -> list[int]:
    return [min(MAX_SCALE, max(0, math.floor(RESIDUAL_SCALE_ONE * a + 0.5))) for a in alpha_table(alphas)]


def fit_residual_scale(seqs: list[dict], model_path: str, qps: list[int], intra_qp: int, intra_period: int,
                       frames: int, log=print) -> tuple[list[int], dict]:
    """The table and the record of the fit (stored as ``residual_scale_fit`` in the model file)."""
    if not qps:
        raise ConfigError("ResidualScaleQPs is empty")
    if not seqs:
        raise ConfigError("no training clips for the residual scale fit")
    alphas, per_qp = {}, {}
    for qp in qps:
        num = den = 0.0
        pictures = 0
        for s in seqs:
            n, d, c = residual_statistics(s, model_path, qp, intra_qp, intra_period, frames)
            num, den, pictures = num + n, den + d, pictures + c
        if den <= 0:
            raise ConfigError(f"residual scale fit at QP {qp}: the generated pictures equal the base layer")
        alphas[qp] = num / den
        per_qp[str(qp)] = {"alpha": alphas[qp], "pictures": pictures}
        log(f"residual scale fit: QP {qp}: alpha {alphas[qp]:.4f} over {pictures} pictures")
    table = scale_table(alphas)
    record = {"qps": qps, "fit": per_qp, "clips": [s["name"] for s in seqs], "frames_per_clip": frames,
              "intra_qp": intra_qp, "intra_period": intra_period}
    return table, record
