"""The integer HDAC-HF decoder network (doc/integer_decoding_process.md clauses 5-7).

Mirrors the float network of ``CommonLib.network`` operation by operation,
with the layer names of the float modules. Values of pictures are carried in
"pixel units" (255 x the float network's [0, 1] values): the converter folds
1/255 into the first convolution of each picture encoder and of the hourglass,
and 255 into the final convolution, so pictures enter and leave as 8-bit
integers without a division.

Coordinates: keypoints are normalised to 16 fractional bits; sparse motions
and the flow are positions in samples of the dense-motion grid (17 resp. 16
fractional bits); sampling positions have 8 fractional bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from Utilities.errors import ModelError
from CommonLib.fixed_point import lut
from CommonLib.fixed_point.arith import div_round, favg_pool2, frshift, fupsample_nearest2, rshift
from CommonLib.fixed_point.exact_conv import ExactConv2d, ExactSeparableConv2d
from CommonLib.fixed_point.int_layers import IntAffine, IntConv
from CommonLib.fixed_point.sampling import COORD_BITS, grid_sample, resize_bilinear
from CommonLib.generation.network_config import HF_KERNELS, NetworkConfig

KP_BITS = 16          # fractional bits of normalised keypoints
MOTION_BITS = 17      # fractional bits of sparse motions (grid samples)
FLOW_BITS = 16        # fractional bits of the flow (grid samples)
SRC_Q = 7             # quantiser of the down-sampled key picture (pixel units)
# the hourglass input (heatmaps and deformed pictures in [-1, 1]) has quantiser A - 2 (A = activation bits)
MASK_BITS = 15        # softmax weights / occlusion
AA_BITS = 12          # fractional bits of the 1-D anti-aliasing kernel
HEAT_SHIFT = 24       # heatmap exponent multiplier precision
DETECTOR = "detector"  # layer-name prefix of the integer keypoint detector (float module: kp_detector)


def keypoints_q16(q: np.ndarray, precision: int) -> torch.Tensor:
    """(K, 2) keypoints with P fractional bits -> (K, 2) int64 with 16 (RShift when P > 16)."""
    t = torch.from_numpy(np.array(q, dtype=np.int64))
    return t << (KP_BITS - precision) if precision <= KP_BITS else rshift(t, precision - KP_BITS)


class Motion:
    """The flow and occlusion of one picture, with their sampling positions per map size (computed once)."""

    def __init__(self, flow: torch.Tensor, occlusion: torch.Tensor, grid_hw):
        self.flow, self.occlusion, self.grid_hw = flow, occlusion, grid_hw
        self._at = {}

    def at(self, size):
        """(px, py, O) at a map of ``size`` (7.2): the displacement D = F - G (G the flow's identity grid) resized
        (3.1) and rescaled to the map's samples, plus the map's identity grid, 8 fractional bits; and the
        occlusion resized (15 fractional bits). At the flow's own size this is RShift(F, 8)."""
        if size not in self._at:
            gh, gw = self.grid_hw
            h, w = size
            gx = (torch.arange(gw, dtype=torch.int64) << FLOW_BITS).view(1, 1, gw)
            gy = (torch.arange(gh, dtype=torch.int64) << FLOW_BITS).view(1, gh, 1)
            d = torch.stack([self.flow[..., 0] - gx, self.flow[..., 1] - gy], dim=1)   # (1, 2, gh, gw)
            d = resize_bilinear(d, size)                                                # (1, 2, h, w)
            px = rshift(div_round(d[:, 0] * (w - 1), torch.tensor(gw - 1)), FLOW_BITS - COORD_BITS) \
                + (torch.arange(w, dtype=torch.int64) << COORD_BITS).view(1, 1, w)
            py = rshift(div_round(d[:, 1] * (h - 1), torch.tensor(gh - 1)), FLOW_BITS - COORD_BITS) \
                + (torch.arange(h, dtype=torch.int64) << COORD_BITS).view(1, h, 1)
            self._at[size] = (px, py, resize_bilinear(self.occlusion, size))
        return self._at[size]


@dataclass
class KeyState:
    """Everything that depends only on the key picture (computed once per key picture)."""
    rgb: torch.Tensor                 # (1, 3, H, W) int64, pixel units, q = 0
    kp: torch.Tensor                  # (K, 2) int64, 16 fractional bits
    src: torch.Tensor                 # (1, 3, h, w) anti-aliased, down-sampled key picture, pixel units, q = 7
    feats: list                       # key-encoder features per level, (tensor, q)
    hf: list                          # filtered features per level (or None), same q as feats


class IntegerHdacHf:
    def __init__(self, config: NetworkConfig, layers: dict, consts: dict):
        self.cfg = config
        g = config.generator
        if g.hf_l2norm:
            raise ModelError("the integer process does not define hf_l2norm (a public-code variant)")
        if g.output_mode not in ("residual", "sigmoid"):
            raise ModelError(f"unknown output_mode '{g.output_mode}'")
        if g.refine_problem():
            raise ModelError(g.refine_problem())
        self.L = layers
        self.activation_bits = int(consts["activation_bits"][0]) if "activation_bits" in consts else 16
        self.amax = (1 << (self.activation_bits - 1)) - 1
        self.amin = -self.amax - 1
        self.hg_q = self.activation_bits - 2
        for enc in ("generator.key_encoder", "generator.base_encoder"):
            first = layers[f"{enc}.first"]          # its input is an 8-bit picture: one digit (doc clause 2.4)
            first._conv = ExactConv2d(first.weight, first.padding, first.groups, x_max_abs=255)
        if g.refine_layers:                         # so is the refinement's input P (clause 7.6)
            first = layers["generator.refine.0"]
            first._conv = ExactConv2d(first.weight, first.padding, first.groups, x_max_abs=255)
        self.exp_table = consts["exp_table"].to(torch.int64)
        k1 = consts["aa_kernel"].to(torch.int64)
        self.aa_pad = k1.numel() // 2
        try:
            self.aa = ExactSeparableConv2d(k1, self.aa_pad, 3, x_max_abs=255)
        except ValueError:
            raise ModelError("integer model: aa_kernel too large for the exact anti-aliasing filter "
                             "(sum of |taps| x 255 must be below 2^24)") from None
        self.var_num, self.var_den = int(consts["kp_variance"][0]), int(consts["kp_variance"][1])
        self.hf_kernel = None
        self._hf_convs = {}
        if g.hf_filter != "none":
            self.hf_kernel = torch.tensor(HF_KERNELS[g.hf_filter], dtype=torch.int64)
        # the integer keypoint detector (doc clause 6.7), when the model file has one
        self.has_detector = f"{DETECTOR}.kp" in layers
        if self.has_detector:
            if config.kp.scale_factor != config.dense_motion.scale_factor:
                raise ModelError("the integer keypoint detector needs the dense motion's down-sampling factor")
            t = consts["kp_temperature"]
            self.temperature = (int(t[0]), int(t[1]))

    # ---------------------------------------------------------------- helpers
    def _block(self, name, x, kind):
        """SameBlock2d / DownBlock2d / UpBlock2d with the folded BatchNorm (float32 carriers)."""
        if kind == "up":
            x = fupsample_nearest2(x)
        y = self.L[name](x, apply_relu=True)
        return favg_pool2(y) if kind == "down" else y

    def _requantise(self, a, q_from, q_to):
        return frshift(a.double(), q_from - q_to).clamp(self.amin, self.amax).float() if q_from != q_to else a

    def _concat(self, a, qa, b, qb):
        q = min(qa, qb)
        return torch.cat([self._requantise(a, qa, q), self._requantise(b, qb, q)], 1), q

    def _encoder(self, prefix, rgb):
        feats = [(self._block(f"{prefix}.first", rgb.float(), "same"), self.L[f"{prefix}.first"].q_out)]
        for i in range(self.cfg.generator.num_down_blocks):
            name = f"{prefix}.down.{i}"
            feats.append((self._block(name, feats[-1][0], "down"), self.L[name].q_out))
        return feats

    def _high_pass(self, e):
        """f_hpf (paper eq. 2): depthwise integer kernel, zero padding, not saturated (one plan per width)."""
        c = e.shape[1]
        if c not in self._hf_convs:
            k = self.hf_kernel.view(1, 1, 3, 3).expand(c, 1, 3, 3).contiguous()
            self._hf_convs[c] = ExactConv2d(k, 1, groups=c)
        return self._hf_convs[c](e).long()

    # ---------------------------------------------------------------- key picture
    def key_state(self, key_rgb: np.ndarray, kp_key: torch.Tensor) -> KeyState:
        rgb = torch.from_numpy(np.ascontiguousarray(key_rgb)).to(torch.int64).unsqueeze(0)
        src = self._antialias(rgb)
        feats = self._encoder("generator.key_encoder", rgb)
        hf = [None] * len(feats)
        if self.hf_kernel is not None:
            for lvl in range(1, len(feats)):
                hf[lvl] = self._high_pass(feats[lvl][0])
        return KeyState(rgb, kp_key, src, feats, hf)

    def _antialias(self, rgb):
        """Gaussian low-pass (integer kernel, 2 x 12 fractional bits) then x1/4 bilinear; pixel units, q = 7."""
        s = self.cfg.dense_motion.scale_factor
        if s == 1.0:
            return rgb << SRC_Q
        y = frshift(self.aa(rgb), 2 * AA_BITS - SRC_Q).long()
        h, w = rgb.shape[2:]
        inv = round(1 / s)
        return resize_bilinear(y, (h // inv, w // inv))

    # ---------------------------------------------------------------- dense motion
    def _heatmaps(self, kp, h, w):
        """exp(-|z - kp|^2 / (2 var)) per keypoint, (K, h, w), 14 fractional bits."""
        ix = torch.arange(w, dtype=torch.int64) << MOTION_BITS
        iy = torch.arange(h, dtype=torch.int64) << MOTION_BITS
        kx = (kp[:, 0] + (1 << KP_BITS)) * (w - 1)           # position in samples, 17 fractional bits
        ky = (kp[:, 1] + (1 << KP_BITS)) * (h - 1)
        dx = rshift(ix.view(1, 1, w) - kx.view(-1, 1, 1), MOTION_BITS - COORD_BITS)
        dy = rshift(iy.view(1, h, 1) - ky.view(-1, 1, 1), MOTION_BITS - COORD_BITS)
        # t = |d_norm|^2 / (2 var), d_norm = d 2 / (n - 1): multiplier with HEAT_SHIFT bits, t with 10
        mx = self._heat_multiplier(w)
        my = self._heat_multiplier(h)
        t = rshift(dx * dx * mx + dy * dy * my, HEAT_SHIFT)
        return lut.exp_neg(t, self.exp_table)

    def _heat_multiplier(self, n):
        """round(2^(HEAT_SHIFT + 10 - 16) x 2 / (var (n - 1)^2)) with var = var_num / var_den."""
        num = (1 << (HEAT_SHIFT + lut.EXP_ARG_BITS - 2 * COORD_BITS)) * 2 * self.var_den
        den = self.var_num * (n - 1) * (n - 1)
        return (2 * num + den) // (2 * den)

    def dense_motion(self, key: KeyState, kp_t: torch.Tensor, base: torch.Tensor | None = None):
        """Flow (1, h, w, 2) in grid samples with 16 fractional bits, occlusion (1, 1, h, w) 15 bits, grid (h, w).
        ``base``: the base-layer picture (1, 3, H, W) int64 of a fused picture, an input of the hourglass when
        the configuration has ``dense_motion.base_input`` (clause 6.4; zeros when there is none)."""
        src = key.src
        _, _, h, w = src.shape
        k = kp_t.shape[0]
        heat = self._heatmaps(kp_t, h, w) - self._heatmaps(key.kp, h, w)              # (K, h, w) 14 bits
        heat = rshift(heat, lut.EXP_VALUE_BITS - self.hg_q)
        heat = torch.cat([torch.zeros_like(heat[:1]), heat], 0)                       # (K+1, h, w)
        # sparse motions T_k = z - kp_t + kp_r, in grid samples (17 fractional bits)
        sx = (key.kp[:, 0] - kp_t[:, 0]) * (w - 1)
        sy = (key.kp[:, 1] - kp_t[:, 1]) * (h - 1)
        sx = torch.cat([torch.zeros(1, dtype=torch.int64), sx])
        sy = torch.cat([torch.zeros(1, dtype=torch.int64), sy])
        gx = (torch.arange(w, dtype=torch.int64) << MOTION_BITS).view(1, 1, w).expand(k + 1, h, w) + sx.view(-1, 1, 1)
        gy = (torch.arange(h, dtype=torch.int64) << MOTION_BITS).view(1, h, 1).expand(k + 1, h, w) + sy.view(-1, 1, 1)
        deformed = grid_sample(src.expand(k + 1, 3, h, w),
                               rshift(gx, MOTION_BITS - COORD_BITS), rshift(gy, MOTION_BITS - COORD_BITS))
        deformed = div_round(deformed << self.hg_q, torch.tensor(255 << SRC_Q))          # pixel units -> [0, 1]
        inp = torch.cat([heat.unsqueeze(1), deformed], 1).reshape(1, (k + 1) * 4, h, w)
        if self.cfg.dense_motion.base_input:
            if base is None:
                base_in = torch.zeros_like(src)
            else:                                                                     # as the key picture: [0, 1]
                base_in = div_round(self._antialias(base) << self.hg_q, torch.tensor(255 << SRC_Q))
            inp = torch.cat([inp, base_in], 1)
        inp = inp.float()
        feat, q = self._hourglass(inp)
        mask_layer, occ_layer = self.L["dense_motion.mask"], self.L["dense_motion.occlusion"]
        mask = lut.softmax(mask_layer(feat).long(), mask_layer.q_out, self.exp_table)       # (1, K+1, h, w) 15 bits
        fx = rshift((mask[0] * gx).sum(0), MASK_BITS + MOTION_BITS - FLOW_BITS)
        fy = rshift((mask[0] * gy).sum(0), MASK_BITS + MOTION_BITS - FLOW_BITS)
        occ = lut.sigmoid(occ_layer(feat).long(), occ_layer.q_out, self.exp_table)
        return torch.stack([fx, fy], -1).unsqueeze(0), occ, (h, w)

    def _hourglass(self, x, prefix="dense_motion.hourglass", n=None):
        """The hourglass (6.5) of the layers ``prefix``.down_blocks.i / up_blocks.i on x (quantiser A - 2)."""
        q = self.hg_q
        outs = [(x, q)]
        n = self.cfg.dense_motion.num_blocks if n is None else n
        for i in range(n):
            name = f"{prefix}.down_blocks.{i}"
            outs.append((self._block(name, outs[-1][0], "down"), self.L[name].q_out))
        out, q = outs.pop()
        for i in range(n):
            name = f"{prefix}.up_blocks.{i}"
            out, q = self._block(name, out, "up"), self.L[name].q_out
            skip, qs = outs.pop()
            out, q = self._concat(out, q, skip, qs)
        return out, q

    # ---------------------------------------------------------------- keypoint detector
    def detect(self, rgb: np.ndarray) -> torch.Tensor:
        """The integer keypoint detector (doc clause 6.7) on an 8-bit R'G'B' picture (3, H, W): (K, 2) keypoints
        with 16 fractional bits."""
        if not self.has_detector:
            raise ModelError("this integer model has no keypoint detector (convert it with ConverterApp "
                             "KeypointDetector 1)")
        x = torch.from_numpy(np.ascontiguousarray(rgb)).to(torch.int64).unsqueeze(0)
        src = self._antialias(x)
        inp = div_round(src << self.hg_q, torch.tensor(255 << SRC_Q)).float()
        feat, _ = self._hourglass(inp, f"{DETECTOR}.predictor", self.cfg.kp.num_blocks)
        layer = self.L[f"{DETECTOR}.kp"]
        return lut.spatial_expectation(layer(feat).long(), layer.q_out, self.temperature, self.exp_table)

    # ---------------------------------------------------------------- warping
    def _warp_mask(self, e, motion: "Motion"):
        """O . w(F, e) at e's resolution (paper eqs. 1 and 3); same quantiser as e."""
        px, py, occ = motion.at(tuple(e.shape[2:]))
        return rshift(grid_sample(e.long(), px, py) * occ, MASK_BITS)

    # ---------------------------------------------------------------- generator
    def generate(self, key: KeyState, kp_t: torch.Tensor, base_rgb: np.ndarray | None) -> np.ndarray:
        g = self.cfg.generator
        base = None if base_rgb is None else torch.from_numpy(np.ascontiguousarray(base_rgb)).to(torch.int64).unsqueeze(0)
        motion = Motion(*self.dense_motion(key, kp_t, base))
        top, q_top = key.feats[-1]
        warped = self._warp_mask(top, motion).float()
        if not g.key_input:                                   # post-filter configurations (clause 7.3)
            warped = torch.zeros_like(warped)
        base_feats = None
        if base is None:
            n = g.num_down_blocks
            q_base = self.L[f"generator.base_encoder.down.{n - 1}" if n else "generator.base_encoder.first"].q_out
            base_feat = torch.zeros_like(warped)
        else:
            base_feats = self._encoder("generator.base_encoder", base)
            base_feat, q_base = base_feats[-1]
        x, q = self._concat(warped, q_top, base_feat, q_base)
        if "generator.project" in self.L:
            x, q = self.L["generator.project"](x), self.L["generator.project"].q_out
        for i in range(g.num_bottleneck_blocks):
            x, q = self._res_block(f"generator.bottleneck.{i}", x, q)
        x = self.L["generator.fuse_out"](x)
        q = self.L["generator.fuse_out"].q_out
        for j in range(g.num_down_blocks):
            name = f"generator.up.{j}"
            level = g.num_down_blocks - j
            terms = []                                        # (tensor, quantiser) added to x (clause 7.4)
            if g.base_skips and level < g.num_down_blocks:
                terms.append(self._base_skip(base_feats, level))
            if self.hf_kernel is not None and g.key_input:
                e, q_e = key.feats[level]
                hf = key.hf[level] if g.hf_order == "filter_warp" else None
                hf = self._warp_mask(hf, motion) if hf is not None else self._high_pass(e)
                terms.append((hf, q_e))
            if terms:
                x = self._sum(x, q, terms, self.L[name].q_in)
            x = self._block(name, x, "up")
            q = self.L[name].q_out
        final = self.L["generator.final"]
        if g.base_skips:
            x = self._sum(x, q, [self._base_skip(base_feats, 0)], final.q_in)
        if g.output_mode == "sigmoid":
            pix = rshift(lut.sigmoid(final(x).long(), final.q_out, self.exp_table) * 255, MASK_BITS)
        else:
            qf = final.q_out                                                        # pixel units, qf bits
            y = frshift(final.accumulate(x), final.shift.view(1, -1, 1, 1)).long()
            if base is not None:
                skip = base << qf
            else:
                px, py, _ = motion.at(tuple(key.rgb.shape[2:]))
                skip = grid_sample(key.rgb << qf, px, py)
            pix = rshift(skip + y, qf)
        pix = pix.clamp(0, 255)
        if g.refine_layers:
            pix = self._refine(pix)
        return pix.to(torch.uint8)[0].numpy()

    def _refine(self, pix):
        """P' = Clip(0, 255, RShift((P << q) + RShift(acc, s), q)) (clause 7.6): the refinement's convolutions on
        the 8-bit picture P (ReLU between them); the last one's output, in pixel units with q fractional bits, is
        added to P without saturation to A bits."""
        n = self.cfg.generator.refine_layers
        r = pix.float()
        for i in range(n - 1):
            r = self.L[f"generator.refine.{i}"](r, apply_relu=True)
        last = self.L[f"generator.refine.{n - 1}"]
        y = frshift(last.accumulate(r), last.shift.view(1, -1, 1, 1)).long()
        return rshift((pix << last.q_out) + y, last.q_out).clamp(0, 255)

    def _base_skip(self, base_feats, level):
        """S_l(e_b^l) (clause 7.4): the 1x1 convolution of the base encoder's level-l features; None without a
        base layer (S_l has no bias: its output would be zeros)."""
        if base_feats is None:
            return None
        layer = self.L[f"generator.base_skip.{level}"]
        return layer(base_feats[level][0]), layer.q_out

    def _sum(self, x, q, terms, q_in):
        """x + the terms, each rounded to the quantiser q_in of the next layer first, then saturated (clause 7.4)."""
        s = frshift(x.double(), q - q_in)
        for t in terms:
            if t is not None:
                s = s + frshift(t[0].double(), t[1] - q_in)
        return s.clamp(self.amin, self.amax).float()

    def _res_block(self, name, x, q):
        n1, c1, n2, c2 = (self.L[f"{name}.{p}"] for p in ("norm1", "conv1", "norm2", "conv2"))
        out = c1(n1(x, apply_relu=True))
        out = c2(n2(out, apply_relu=True))
        qs = self.L[f"{name}.sum"].q_out
        s = frshift(x.double(), q - qs) + frshift(out.double(), c2.q_out - qs)
        return s.clamp(self.amin, self.amax).float(), qs

    def exactness_report(self) -> dict:
        """Per layer: does the float32 evaluation satisfy the 2^24 bound (doc/integer_decoding_process.md clause 2.4)?"""
        return {n: l.exactness_ok() for n, l in self.L.items() if isinstance(l, IntConv)}
