"""The decoder-side HDAC-HF network: dense motion generator + generator.

``HdacHfModel`` bundles the keypoint detector (encoder side) with the
decoder-side dense motion network and generator, so that one float model file carries all three.
This is the float network (training, and ``--FloatInference``, non-normative); the normative
decoding process is its integer twin, CommonLib.fixed_point.int_network.
"""
from __future__ import annotations

import torch
from torch import nn

from CommonLib.generation.network_config import NetworkConfig
from CommonLib.network.dense_motion import DenseMotionNetwork
from CommonLib.network.generator import Generator
from CommonLib.network.keypoint_detector import KeypointDetector


class HdacHfModel(nn.Module):
    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        self.kp_detector = KeypointDetector(cfg.kp)
        self.dense_motion = DenseMotionNetwork(cfg.dense_motion, cfg.kp.num_kp)
        self.generator = Generator(cfg.generator)

    def forward(self, key, base, kp_key, kp_target, use_base=None, variance_scale: float = 1.0):
        flow, occ = self.dense_motion(key, kp_key, kp_target, variance_scale, base, use_base)
        out = self.generator(key, base, flow, occ, use_base)
        return out, flow, occ

    @torch.no_grad()
    def generate(self, key, base, kp_key, kp_target) -> torch.Tensor:
        """Generated picture(s) in [0, 1] (clipped); ``base`` None = animation-only."""
        out, _, _ = self.forward(key, base, kp_key, kp_target)
        return out.clamp(0, 1)

    @torch.no_grad()
    def detect(self, x) -> torch.Tensor:
        return self.kp_detector(x)
