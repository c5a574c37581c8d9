"""Calibration samples for the converter, drawn from training clips (never the test split).

For each clip, ``pictures`` target pictures evenly spaced; the key picture is
the last IRAP picture before the target in the clip's own HEVC stream, the
base layer the target decoded at each of the given QPs, plus one
animation-only sample (no base layer) per target.
"""
from __future__ import annotations

import numpy as np
import torch

from CommonLib.network.hdac_hf import HdacHfModel


def calibration_samples(model: HdacHfModel, clips, qps, pictures: int):
    out = []

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).float().unsqueeze(0) / 255

    for c in clips:
        n = len(c.source)
        for ti in np.linspace(1, n - 1, pictures).astype(int):
            s = int(c.key_positions[np.searchsorted(c.key_positions, ti, side="right") - 1])
            if s == ti:
                continue
            kp_key, kp_t = model.detect(t(c.rgb(c.source, s))), model.detect(t(c.rgb(c.source, ti)))
            for j, qp in enumerate(qps):
                key = t(c.rgb(c.decoded[qp], s))
                out.append((key, t(c.rgb(c.decoded[qp], ti)), kp_key, kp_t))
                if j == 0:
                    out.append((key, None, kp_key, kp_t))
    return out
