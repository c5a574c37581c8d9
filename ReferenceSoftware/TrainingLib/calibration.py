"""Calibration samples for the converter.

``calibration_samples``: from training clips (never the test split). For each
clip, ``pictures`` target pictures evenly spaced; the key picture is the last
IRAP picture before the target in the clip's own HEVC stream, the base layer
the target decoded at each of the given QP pairs, plus one animation-only sample
(no base layer) per target.

``samples_from_pictures``: from a few source pictures alone (the first one as
key picture, the others as targets with themselves as base layer, plus one
animation-only sample); for test and conformance-only models.
"""
from __future__ import annotations

import numpy as np
import torch

from CommonLib.network.hdac_hf import HdacHfModel
from TrainingLib.training_data import key_target_pairs


def _tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a)).float().unsqueeze(0) / 255


def calibration_samples(model: HdacHfModel, clips, pairs, pictures: int):
    """``pairs``: (IntraQP, BaseLayerQP) of the clips' cached streams."""
    out = []
    for c in clips:
        for s, ti in key_target_pairs(c, pictures):
            kp_key, kp_t = model.detect(_tensor(c.rgb(c.source, s))), model.detect(_tensor(c.rgb(c.source, ti)))
            for j, pair in enumerate(pairs):
                key = _tensor(c.rgb(c.decoded[pair], s))
                out.append((key, _tensor(c.rgb(c.decoded[pair], ti)), kp_key, kp_t))
                if j == 0:
                    out.append((key, None, kp_key, kp_t))
    return out


def samples_from_pictures(model: HdacHfModel, rgb_pictures):
    pics = [_tensor(p) for p in rgb_pictures]
    kps = [model.detect(p) for p in pics]
    return [(pics[0], b, kps[0], k) for b, k in zip(pics[1:], kps[1:])] + [(pics[0], None, kps[0], kps[-1])]
