"""Keypoint extraction (encoder side, non-normative): detector + integer quantisation."""
from __future__ import annotations

import numpy as np
import torch

from CommonLib.syntax.keypoint_coding import quantise_keypoints
from CommonLib.network.keypoint_detector import KeypointDetector


class KeypointExtractor:
    def __init__(self, detector: KeypointDetector, precision: int):
        self.detector = detector.eval()
        self.precision = precision

    @torch.no_grad()
    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(3, H, W) uint8 -> (K, 2) int64 keypoints with ``precision`` fractional bits."""
        x = torch.from_numpy(np.ascontiguousarray(rgb)).float().unsqueeze(0) / 255.0
        kp = self.detector(x)[0].double().numpy()
        return quantise_keypoints(kp, self.precision)
