"""Float model -> integer model (doc/integer_model_format.md, clause "Conversion").

1. Calibration: the float network runs on calibration samples (key picture,
   base-layer picture or none, keypoints) and the largest magnitude of every
   tensor that the integer process stores is recorded.
2. Activation quantisers: q = floor(log2((2^(A-1) - 1) / (margin x max)))
   fractional bits (A-bit activations, ActivationBits, saturation beyond).
3. Weights: BatchNorm folded into the preceding convolution; per output
   channel a power-of-two quantiser qw[c] = floor(log2(W_max / max|w[c]|)),
   W_max = 2^(WeightBits-1) - 1; w = floor(w 2^qw + 1/2); biases with
   qw[c] + q_in fractional bits; the pixel-unit scale factors (1/255 at the
   inputs, 255 at the residual output) folded in.
4. Optionally (``detector``) the keypoint detector too, as the integer keypoint detector of the decoding
   process (doc/integer_decoding_process.md clause 6.7), calibrated on the key and base-layer pictures of
   the samples (the pictures a decoder derives keypoints from); its layers are named ``detector.*``.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from CommonLib.fixed_point import int_network as IN
from CommonLib.fixed_point.int_layers import IntAffine, IntConv, IntQuantiser
from CommonLib.fixed_point.lut import build_exp_table
from CommonLib.network.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, gaussian_kernel_1d
from CommonLib.network.hdac_hf import HdacHfModel

INT16_MAX = 32767


def _fl(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def activation_q(max_abs: float, margin: float, amax: int = INT16_MAX) -> int:
    if max_abs <= 0:
        return 15
    return int(math.floor(math.log2(amax / (margin * max_abs))))


class RangeRecorder:
    """Forward hooks recording max |tensor| under integer-process names."""

    def __init__(self, model: HdacHfModel):
        self.max = {}
        self.handles = []
        for name, m in model.named_modules():
            if name == "kp_detector.kp":
                self._hook(m, name)
            if isinstance(m, (SameBlock2d, DownBlock2d, UpBlock2d)):
                self._hook(m.norm, name)
            elif isinstance(m, ResBlock2d):
                for p in ("norm1", "conv1", "norm2", "conv2"):
                    self._hook(getattr(m, p), f"{name}.{p}")
                self._hook(m, f"{name}.sum")
            elif isinstance(m, nn.Conv2d) and name.split(".")[-1] in ("project", "fuse_out", "mask", "occlusion",
                                                                      "final"):
                self._hook(m, name)
            if name.startswith(("generator.base_skip.", "generator.refine.")) and name.count(".") == 2:
                self._hook(m, name)
            if name.startswith("generator.up.") and name.count(".") == 2:
                self.handles.append(m.register_forward_pre_hook(self._pre(f"{name}.in")))
            if name == "generator.final" and model.cfg.generator.base_skips:
                self.handles.append(m.register_forward_pre_hook(self._pre(f"{name}.in")))

    def _hook(self, module, name):
        def f(_m, _i, out):
            self.max[name] = max(self.max.get(name, 0.0), float(out.detach().abs().max()))
        self.handles.append(module.register_forward_hook(f))

    def _pre(self, name):
        def f(_m, inp):
            self.max[name] = max(self.max.get(name, 0.0), float(inp[0].detach().abs().max()))
        return f

    def close(self):
        for h in self.handles:
            h.remove()


def _conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d | None):
    w = conv.weight.detach().double().numpy().copy()
    b = conv.bias.detach().double().numpy().copy() if conv.bias is not None else np.zeros(w.shape[0])
    if bn is not None:
        a = (bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
        w = w * a.reshape(-1, 1, 1, 1)
        b = (b - bn.running_mean.double().numpy()) * a + bn.bias.detach().double().numpy()
    return w, b


def make_conv(w, b, q_in, q_out, padding, weight_bits, groups=1) -> IntConv:
    wmax = (1 << (weight_bits - 1)) - 1
    m = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    qw = np.where(m > 0, np.floor(np.log2(wmax / np.maximum(m, 1e-30))), 0).astype(np.int64)
    qw = np.clip(qw, -8, 40)
    wi = np.clip(_fl(w * np.exp2(qw).reshape(-1, 1, 1, 1)), -wmax, wmax).astype(np.int64)
    bi = _fl(b * np.exp2(qw + q_in)).astype(np.int64)
    shift = (qw + q_in - q_out).astype(np.int64)
    return IntConv(torch.from_numpy(wi), torch.from_numpy(bi), torch.from_numpy(shift), int(q_in), int(q_out),
                   padding, groups)


def make_affine(bn: nn.BatchNorm2d, q_in, q_out, bits=16) -> IntAffine:
    a = (bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
    c = bn.bias.detach().double().numpy() - bn.running_mean.double().numpy() * a
    amax = (1 << (bits - 1)) - 1
    qa = np.where(np.abs(a) > 0, np.floor(np.log2(amax / np.maximum(np.abs(a), 1e-30))), 0).astype(np.int64)
    qa = np.clip(qa, -8, 40)
    ai = _fl(a * np.exp2(qa)).astype(np.int64)
    ci = _fl(c * np.exp2(qa + q_in)).astype(np.int64)
    return IntAffine(torch.from_numpy(ai), torch.from_numpy(ci), torch.from_numpy((qa + q_in - q_out).astype(np.int64)),
                     int(q_in), int(q_out))


def convert(model: HdacHfModel, samples, weight_bits: int = 8, margin: float = 1.25, activation_bits: int = 16,
            detector: bool = False):
    """Returns (layers, constants, calibration) of the integer model."""
    cfg = model.cfg
    g, dm = cfg.generator, cfg.dense_motion
    model = model.eval().float()
    rec = RangeRecorder(model)
    with torch.no_grad():
        for key, base, kp_key, kp_t in samples:
            model(key, base, kp_key, kp_t)
            if detector:
                for pic in (key, base):
                    if pic is not None:
                        model.kp_detector(pic)
    rec.close()
    mx = rec.max if detector else {k: v for k, v in rec.max.items() if not k.startswith("kp_detector")}
    amax = (1 << (activation_bits - 1)) - 1
    q = {name: activation_q(v, margin, amax) for name, v in mx.items()}
    if g.output_mode == "residual":
        q["generator.final"] = activation_q(255 * mx["generator.final"], margin, amax)
    mods = dict(model.named_modules())
    L = {}

    def block(name, q_in, scale=1.0):
        m = mods[name]
        w, b = _conv_bn(m.conv, m.norm)
        L[name] = make_conv(w * scale, b, q_in, q[name], m.conv.padding[0], weight_bits)
        return q[name]

    # picture encoders (pixel units in: weights x 1/255)
    level_q = {}                                        # quantiser of each encoder's level-l features
    for enc in ("generator.key_encoder", "generator.base_encoder"):
        level_q[enc] = [block(f"{enc}.first", 0, 1 / 255)]
        for i in range(g.num_down_blocks):
            level_q[enc].append(block(f"{enc}.down.{i}", level_q[enc][-1]))
    enc_q = {enc: levels[-1] for enc, levels in level_q.items()}
    if g.base_skips:                                    # S_l on the base encoder's level-l features (clause 7.4)
        for lvl in range(g.num_down_blocks):
            n = f"generator.base_skip.{lvl}"
            w, b = _conv_bn(mods[n], None)
            L[n] = make_conv(w, b, level_q["generator.base_encoder"][lvl], q[n], 0, weight_bits)
    # hourglass of the dense motion generator
    hg = "dense_motion.hourglass"
    outs = [activation_bits - 2]                        # the hourglass input's quantiser
    for i in range(dm.num_blocks):
        outs.append(block(f"{hg}.down_blocks.{i}", outs[-1]))
    qc = outs.pop()
    for i in range(dm.num_blocks):
        qc = min(block(f"{hg}.up_blocks.{i}", qc), outs.pop())
    for name in ("dense_motion.mask", "dense_motion.occlusion"):
        w, b = _conv_bn(mods[name], None)
        L[name] = make_conv(w, b, qc, q[name], mods[name].padding[0], weight_bits)
    # generator
    qc = min(enc_q["generator.key_encoder"], enc_q["generator.base_encoder"])
    if isinstance(mods["generator.project"], nn.Conv2d):
        w, b = _conv_bn(mods["generator.project"], None)
        L["generator.project"] = make_conv(w, b, qc, q["generator.project"], 0, weight_bits)
        qc = q["generator.project"]
    for i in range(g.num_bottleneck_blocks):
        n = f"generator.bottleneck.{i}"
        m = mods[n]
        L[f"{n}.norm1"] = make_affine(m.norm1, qc, q[f"{n}.norm1"])
        w, b = _conv_bn(m.conv1, None)
        L[f"{n}.conv1"] = make_conv(w, b, q[f"{n}.norm1"], q[f"{n}.conv1"], 1, weight_bits)
        L[f"{n}.norm2"] = make_affine(m.norm2, q[f"{n}.conv1"], q[f"{n}.norm2"])
        w, b = _conv_bn(m.conv2, None)
        L[f"{n}.conv2"] = make_conv(w, b, q[f"{n}.norm2"], q[f"{n}.conv2"], 1, weight_bits)
        L[f"{n}.sum"] = IntQuantiser(q[f"{n}.sum"])
        qc = q[f"{n}.sum"]
    w, b = _conv_bn(mods["generator.fuse_out"], None)
    L["generator.fuse_out"] = make_conv(w, b, qc, q["generator.fuse_out"], 1, weight_bits)
    qc = q["generator.fuse_out"]
    for j in range(g.num_down_blocks):
        n = f"generator.up.{j}"
        summed = (g.hf_filter != "none" and g.key_input) or (g.base_skips and j > 0)
        q_in = q[f"{n}.in"] if summed else qc
        qc = block(n, q_in)
    if g.base_skips:
        qc = q["generator.final.in"]
    w, b = _conv_bn(mods["generator.final"], None)
    fs = 255.0 if g.output_mode == "residual" else 1.0
    L["generator.final"] = make_conv(w * fs, b * fs, qc, q["generator.final"], mods["generator.final"].padding[0],
                                     weight_bits)
    if g.refine_layers:                                 # R of P + R(P) (clause 7.6): pixel units in and out
        q[f"generator.refine.{g.refine_layers - 1}"] = activation_q(255 * mx[f"generator.refine.{g.refine_layers - 1}"],
                                                                    margin, amax)
        qc = 0
        for i in range(g.refine_layers):
            n = f"generator.refine.{i}"
            w, b = _conv_bn(mods[n], None)
            w = w / 255 if i == 0 else w
            if i == g.refine_layers - 1:
                w, b = w * 255, b * 255
            L[n] = make_conv(w, b, qc, q[n], mods[n].padding[0], weight_bits)
            qc = q[n]
    if detector:
        if cfg.kp.scale_factor != dm.scale_factor:
            raise ValueError("the integer keypoint detector needs kp.scale_factor = dense_motion.scale_factor")
        hg, outs = "kp_detector.predictor", [activation_bits - 2]
        for i in range(cfg.kp.num_blocks):
            outs.append(block(f"{hg}.down_blocks.{i}", outs[-1]))
        qc = outs.pop()
        for i in range(cfg.kp.num_blocks):
            qc = min(block(f"{hg}.up_blocks.{i}", qc), outs.pop())
        w, b = _conv_bn(mods["kp_detector.kp"], None)
        L["kp_detector.kp"] = make_conv(w, b, qc, q["kp_detector.kp"], mods["kp_detector.kp"].padding[0], weight_bits)
        for name in [n for n in L if n.startswith("kp_detector.")]:
            L[IN.DETECTOR + name[len("kp_detector"):]] = L.pop(name)
    # constants
    k1, _ = gaussian_kernel_1d(dm.scale_factor) if dm.scale_factor != 1 else (torch.ones(1), 1)
    k1 = k1.double()
    consts = {"exp_table": build_exp_table(),
              "aa_kernel": torch.from_numpy(_fl(k1.numpy() * (1 << IN.AA_BITS)).astype(np.int64)),
              "kp_variance": torch.tensor(_rational(dm.kp_variance), dtype=torch.int64),
              "activation_bits": torch.tensor([activation_bits], dtype=torch.int64)}
    if detector:
        consts["kp_temperature"] = torch.tensor(_rational(cfg.kp.temperature), dtype=torch.int64)
    return L, consts, {"max_abs": mx, "q": q}


def _rational(v: float):
    f = Fraction(v).limit_denominator(1 << 20)
    return [f.numerator, f.denominator]
