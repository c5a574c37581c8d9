"""Fitting the ResidualScale table of an integer model (encoder side, not normative).

For each base-layer QP of the fit, training clips (never the test split) are
coded as EncoderApp codes them (key picture at IntraQP, base layer at that QP
with the chosen base-layer encoder); the fused pictures are pooled by the
SliceQpY of their base-layer picture (the table's index: with x265 at constant
QP it is the QP of the fit; HM's, VTM's and VVenC's cascades spread one fit QP
over several). Over the pictures of one SliceQpY q, with S the source, B the
decoded base-layer picture and G the network's picture before residual
scaling (R'G'B' samples)::

    alpha(q) = sum (G - B)(S - B) / sum (G - B)^2

is the weight that minimises the squared error of B + alpha (G - B). The
table holds ``min(256, max(0, floor(64 alpha + 1/2)))`` for QPs 0..51 (HEVC)
or 0..63 (VVC); QPs between two fitted QPs take the linear interpolation of
alpha, QPs outside the fitted range the alpha of the nearest fitted QP
(doc/model_card.md records the fitted values).
"""
from __future__ import annotations

import math

import numpy as np

from Utilities.errors import ConfigError
from CommonLib.generation.residual_scaling import MAX_SCALE, NUM_QPS, RESIDUAL_SCALE_ONE, TABLE_SIZES
from EncoderLib.base_layer_settings import BaseLayerSettings
from EncoderLib.encoder_model import open_encoder_model
from EncoderLib.sequence_coding import code_sequence

__all__ = ["residual_statistics", "alpha_table", "scale_table", "fit_residual_scale"]


def residual_statistics(seq: dict, model_path: str, qp: int, intra_qp: int, intra_period: int,
                        frames: int, base_layer: BaseLayerSettings | None = None) -> dict[int, list]:
    """{SliceQpY: [sum (G-B)(S-B), sum (G-B)^2, fused pictures]} of one clip coded at base-layer QP ``qp``."""
    out: dict[int, list] = {}
    for src, _, pic in code_sequence(seq, open_encoder_model(model_path), qp, intra_qp, frames, intra_period,
                                     base_layer=base_layer):
        if not pic.fusion:
            continue
        if pic.slice_qp is None:
            raise ConfigError(f"residual scale fit: {seq['name']} picture {pic.index}: the base layer's SliceQpY "
                              "did not parse")
        b = pic.base.to_rgb().astype(np.int64)
        d = pic.out.generated.astype(np.int64) - b
        acc = out.setdefault(pic.slice_qp, [0.0, 0.0, 0])
        acc[0] += float((d * (src.astype(np.int64) - b)).sum())
        acc[1] += float((d * d).sum())
        acc[2] += 1
    return out


def alpha_table(alphas: dict[int, float], size: int = NUM_QPS) -> list[float]:
    """alpha for QP 0..size-1 from the fitted QPs: linear between them, constant outside."""
    qs = sorted(alphas)
    return [float(np.interp(q, qs, [alphas[k] for k in qs])) for q in range(size)]


def scale_table(alphas: dict[int, float], size: int = NUM_QPS) -> list[int]:
    return [min(MAX_SCALE, max(0, math.floor(RESIDUAL_SCALE_ONE * a + 0.5))) for a in alpha_table(alphas, size)]


def fit_residual_scale(seqs: list[dict], model_path: str, qps: list[int], intra_qp: int, intra_period: int,
                       frames: int, log=print, base_layer: BaseLayerSettings | None = None) -> tuple[list[int], dict]:
    """The table (52 entries for an HEVC base layer, 64 for VVC) and the record of the fit (stored as
    ``residual_scale_fit`` in the model file; ``fit`` per SliceQpY)."""
    if not qps:
        raise ConfigError("ResidualScaleQPs is empty")
    if not seqs:
        raise ConfigError("no training clips for the residual scale fit")
    base_layer = base_layer or BaseLayerSettings(picture_hash=0)
    size = TABLE_SIZES[1] if base_layer.codec == "vvc" else NUM_QPS
    pooled: dict[int, list] = {}
    for qp in qps:
        for s in seqs:
            for q, (n, d, c) in residual_statistics(s, model_path, qp, intra_qp, intra_period, frames,
                                                    base_layer).items():
                acc = pooled.setdefault(q, [0.0, 0.0, 0])
                acc[0], acc[1], acc[2] = acc[0] + n, acc[1] + d, acc[2] + c
    alphas, per_qp = {}, {}
    for q in sorted(pooled):
        num, den, pictures = pooled[q]
        if den <= 0:
            raise ConfigError(f"residual scale fit at SliceQpY {q}: the generated pictures equal the base layer")
        alphas[q] = num / den
        per_qp[str(q)] = {"alpha": alphas[q], "pictures": pictures}
        log(f"residual scale fit: SliceQpY {q}: alpha {alphas[q]:.4f} over {pictures} pictures")
    if not alphas:
        raise ConfigError("residual scale fit: no fused pictures")
    table = scale_table(alphas, size)
    record = {"qps": qps, "fit": per_qp, "by": "SliceQpY", "clips": [s["name"] for s in seqs],
              "frames_per_clip": frames, "intra_qp": intra_qp, "intra_period": intra_period,
              "base_layer": base_layer.identity()}
    return table, record
