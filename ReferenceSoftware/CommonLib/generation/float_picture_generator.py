"""The non-normative float picture generator (``--FloatInference 1``; doc/decoding_process.md clause 4).

Inputs per picture: the key picture (R'G'B' from the decoded IRAP picture),
the reconstructed key-picture and current keypoints (integers with P
fractional bits), and, when FusionFlag is 1, the decoded base-layer picture
of the same access unit. Output: an 8-bit R'G'B' picture,
``clip(floor(255 x + 1/2), 0, 255)`` of the network output x.

Non-normative: the float network is exact only on one machine with one
software setup. The normative process is the integer one
(:mod:`CommonLib.generation.integer_picture_generator`); the apps use this class only
with ``--FloatInference 1``, and never hash its output.
"""
from __future__ import annotations

import numpy as np
import torch

from CommonLib.network.hdac_hf import HdacHfModel


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).float().unsqueeze(0) / 255.0


def tensor_to_rgb(x: torch.Tensor) -> np.ndarray:
    return torch.floor(x[0].clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()


def keypoints_to_tensor(q: np.ndarray, precision: int) -> torch.Tensor:
    """Integer keypoints (K, 2) with P fractional bits -> (1, K, 2) float32 (exact: q / 2^P)."""
    return torch.from_numpy(np.asarray(q, dtype=np.float64) / float(1 << precision)).float().unsqueeze(0)


class FloatPictureGenerator:
    """Generates pictures from one key picture; ``set_key`` at every base picture."""

    normative = False

    def __init__(self, model: HdacHfModel):
        self.model = model.eval()
        self.num_kp = model.cfg.kp.num_kp
        self.key = None
        self.kp_key = None

    def set_key(self, key_rgb: np.ndarray, kp_key: np.ndarray, precision: int) -> None:
        self.key = rgb_to_tensor(key_rgb)
        self.kp_key = keypoints_to_tensor(kp_key, precision)

    has_detector = True

    @torch.no_grad()
    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Keypoints of a picture by the float detector (the integer detector's twin), 16 fractional bits."""
        from CommonLib.syntax.keypoint_coding import quantise_keypoints
        return quantise_keypoints(self.model.detect(rgb_to_tensor(rgb))[0].double().numpy(), 16)

    @torch.no_grad()
    def generate(self, kp: np.ndarray, precision: int, base_rgb: np.ndarray | None) -> np.ndarray:
        base = rgb_to_tensor(base_rgb) if base_rgb is not None else None
        out = self.model.generate(self.key, base, self.kp_key, keypoints_to_tensor(kp, precision))
        return tensor_to_rgb(out)
