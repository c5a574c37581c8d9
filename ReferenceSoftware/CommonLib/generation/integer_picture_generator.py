"""The picture generation process, normative integer form (doc/integer_decoding_process.md).

Same interface as the non-normative :class:`CommonLib.generation.float_picture_generator.FloatPictureGenerator`;
everything that depends only on the key picture (key-picture encoder features,
their HF-filtered versions, the down-sampled key picture of the dense motion
generator) is computed once per key picture.
"""
from __future__ import annotations

import numpy as np

from CommonLib.fixed_point.int_network import IntegerHdacHf, keypoints_q16


class IntegerPictureGenerator:
    normative = True

    def __init__(self, net: IntegerHdacHf):
        self.net = net
        self.num_kp = net.cfg.kp.num_kp
        self.key = None

    def set_key(self, key_rgb: np.ndarray, kp_key: np.ndarray, precision: int) -> None:
        self.key = self.net.key_state(key_rgb, keypoints_q16(kp_key, precision))

    @property
    def has_detector(self) -> bool:
        return self.net.has_detector

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Keypoints of a picture by the integer keypoint detector: (K, 2) int64, 16 fractional bits."""
        return self.net.detect(rgb).numpy()

    def generate(self, kp: np.ndarray, precision: int, base_rgb: np.ndarray | None) -> np.ndarray:
        return self.net.generate(self.key, keypoints_q16(kp, precision), base_rgb)
