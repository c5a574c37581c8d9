"""How much the key picture can add to the base layer: an oracle bound, and what a dense motion trained for
alignment alone reaches on held-out faces.

    python -m tools.studies.key_picture_value oracle [--Pairs 50/37,44/32,38/27] [--Output FILE.md]
    python -m tools.studies.key_picture_value align [--Minutes 25] [--LearningRate 5e-4] [--Crop 0] [--Flip 0]
        [--BaseInput 1] [--ResidualFlow 0] [--Output FILE.md]

``oracle``: on the held-out training clips (never the test split), PSNR (R'G'B') against the source target of
the decoded base-layer picture, of the decoded key picture left unwarped, and of the picture that takes each
8x8 block from whichever of the two is closer to the target (an oracle no decoder has: it shows how much of
the target the key picture holds that the base layer lacks; the base layer's inter prediction already copies
the key picture wherever it can).

``align``: the dense motion of ``hdac_hf_small_v2`` (widened for the base-layer input, ``--BaseInput 1``)
trained alone, generator untouched, with only the warp loss |w(F, K) - target|_1 (derived keypoints in 3
samples of 4, all training pairs), for ``--Minutes`` on one thread; every 100 steps the training batch's loss
against the unwarped key picture's, and on the held-out clips (50/37, derived keypoints, whole pictures) the
PSNR of the key picture warped by the flow against the unwarped one. ``--ResidualFlow S`` (S > 0) adds to the
dense motion a residual flow head of this study only (not a model option): a zero-initialised 7x7 convolution
on the hourglass features whose output, S tanh(.), is added to the keypoint flow (normalised units), so that the
flow can be corrected sample by sample toward the target.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

VALIDATION = "train_vr_face5,train_hdtf_radio10"
INIT = "resource:models/hdac_hf_small_v2.safetensors"
TRAIN_PAIRS = "50/37,47/37,44/32,38/27,50/27"


def _clips(names, pairs_text, a, split_names=None):
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.training_data import parse_qp_pairs, prepare_clips
    from Utilities.sequence_list import read_sequence_list
    pairs = parse_qp_pairs(pairs_text, "--Pairs")
    seqs = read_sequence_list(a.SequenceList, "train", names)
    if split_names is not None:
        seqs = [s for s in seqs if s["name"] not in split_names]
    return pairs, prepare_clips(seqs, a.CacheDir, pairs, 100, 250, progress=False,
                                base_layer=BaseLayerSettings(picture_hash=0), stream_dir=a.StreamDir)


def _psnr(a, b) -> float:
    import torch
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def oracle(a) -> str:
    import torch
    import torch.nn.functional as F
    from TrainingLib.trainer import _tensor
    from TrainingLib.training_data import key_target_pairs, pair_name
    pairs, clips = _clips(a.Sequences.split(","), a.Pairs, a)
    lines = ["| pair | base layer | key, unwarped | per 8x8 block the better of the two | pictures |",
             "|---|---|---|---|---|"]
    for pair in pairs:
        base_p, key_p, best_p = [], [], []
        for c in clips:
            dec = c.decoded[tuple(pair)]
            for s, t in key_target_pairs(c, a.Frames):
                key, base, ref = (_tensor(x, "cpu") for x in (c.rgb(dec, s), c.rgb(dec, t), c.rgb(c.source, t)))
                eb = F.avg_pool2d(((base - ref) ** 2).mean(1, keepdim=True), 8)
                ek = F.avg_pool2d(((key - ref) ** 2).mean(1, keepdim=True), 8)
                base_p.append(_psnr(base, ref))
                key_p.append(_psnr(key, ref))
                best_p.append(float(10 * torch.log10(1 / torch.minimum(eb, ek).mean())))
        lines.append(f"| {pair_name(pair)} | {np.mean(base_p):.2f} | {np.mean(key_p):.2f} | {np.mean(best_p):.2f} "
                     f"| {len(base_p)} |")
    return ("Mean PSNR (R'G'B', dB) against the source target on the held-out training clips "
            f"({a.Sequences}), {a.Frames} targets per clip; made by `python -m tools.studies.key_picture_value "
            f"oracle --Pairs {a.Pairs}`.\n\n" + "\n".join(lines) + "\n")


def _residual_flow_network(base_cls, scale: float):
    """The dense motion with the study's residual flow head (see the module docstring)."""
    import torch
    from torch import nn

    class ResidualFlow(base_cls):
        def __init__(self, cfg, num_kp):
            super().__init__(cfg, num_kp)
            self.residual_flow = nn.Conv2d(self.hourglass.out_filters, 2, 7, padding=3)
            nn.init.zeros_(self.residual_flow.weight)
            nn.init.zeros_(self.residual_flow.bias)
            self.hourglass.register_forward_hook(lambda m, i, o: setattr(self, "_features", o))

        def forward(self, *args, **kw):
            flow, occ = super().forward(*args, **kw)
            return flow + scale * torch.tanh(self.residual_flow(self._features)).permute(0, 2, 3, 1), occ
    return ResidualFlow


def align(a) -> str:
    import torch
    from CommonLib.network.blocks import warp
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import load_model
    from TrainingLib.keypoint_cache import KeypointCache
    from TrainingLib.trainer import _tensor, widen_for_base_input
    from TrainingLib.training_data import PairSampler, key_target_pairs, variance_scale
    from Utilities.app_config import resolve_resource
    torch.manual_seed(a.Seed)
    torch.set_num_threads(1)
    m0, _ = load_model(resolve_resource(INIT))
    cfg = m0.cfg
    if a.BaseInput:
        cfg = dataclasses.replace(cfg, dense_motion=dataclasses.replace(cfg.dense_motion, base_input=True))
    model = HdacHfModel(cfg)
    sd = widen_for_base_input(m0.state_dict()) if a.BaseInput else m0.state_dict()
    if a.ResidualFlow > 0:
        model.dense_motion = _residual_flow_network(type(model.dense_motion), a.ResidualFlow)(
            cfg.dense_motion, cfg.kp.num_kp)
        sd = {**sd, "dense_motion.residual_flow.weight": model.dense_motion.residual_flow.weight.detach(),
              "dense_motion.residual_flow.bias": model.dense_motion.residual_flow.bias.detach()}
    model.load_state_dict(sd)
    val_names = a.Sequences.split(",")
    pairs, clips = _clips(None, TRAIN_PAIRS, a, split_names=set(val_names))
    vpairs, vclips = _clips(val_names, "50/37", a)
    kc = KeypointCache(model.kp_detector, clips, pairs, a.CacheDir, True, True)
    sampler = PairSampler(clips, pairs, a.Seed, flip=bool(a.Flip), crop=a.Crop, derived_share=0.75, keypoints=kc)
    vs = variance_scale(clips[0].width, a.Crop)
    dm = model.dense_motion

    def frozen_bn():
        for m in dm.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()

    @torch.no_grad()
    def validate():
        dm.eval()
        w, k = [], []
        for c in vclips:
            dec = c.decoded[tuple(vpairs[0])]
            for s, t in key_target_pairs(c, a.Frames):
                key, base, ref = (_tensor(x, "cpu") for x in (c.rgb(dec, s), c.rgb(dec, t), c.rgb(c.source, t)))
                flow, _ = dm(key, model.detect(key), model.detect(base), 1.0, base if a.BaseInput else None)
                w.append(_psnr(warp(key, flow), ref))
                k.append(_psnr(key, ref))
        dm.train()
        frozen_bn()
        return float(np.mean(w)), float(np.mean(k))

    dm.train()
    frozen_bn()
    opt = torch.optim.Adam(dm.parameters(), lr=a.LearningRate)
    rows = []
    w, k = validate()
    rows.append((0, float("nan"), float("nan"), w, k))
    t0, step, losses, idents = time.time(), 0, [], []
    while time.time() - t0 < a.Minutes * 60:
        (key, _, base, target), _, kps = sampler.batch(a.BatchSize)
        flow, _ = dm(key, kps[0], kps[1], vs, base if a.BaseInput else None)
        loss = (warp(key, flow) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss.detach()))
        idents.append(float((key - target).abs().mean()))
        if step % 100 == 0:
            w, k = validate()
            rows.append((step, float(np.mean(losses)), float(np.mean(idents)), w, k))
            print(f"step {step}: training L1 warped {rows[-1][1]:.4f} unwarped {rows[-1][2]:.4f}; held-out PSNR "
                  f"warped {w:.2f} unwarped {k:.2f} dB", flush=True)
            losses, idents = [], []
    lines = ["| step | samples | training L1, warped | training L1, unwarped | held-out PSNR, warped | "
             "held-out PSNR, unwarped |", "|---|---|---|---|---|---|"]
    lines += [f"| {s} | {s * a.BatchSize} | {lw:.4f} | {lk:.4f} | {w:.2f} | {k:.2f} |" for s, lw, lk, w, k in rows]
    head = f", with the study's residual flow head (scale {a.ResidualFlow})" if a.ResidualFlow > 0 else ""
    return (f"The dense motion of `hdac_hf_small_v2` (base-layer input {a.BaseInput}{head}) trained alone with the warp "
            f"loss: {'whole pictures' if not a.Crop else f'{a.Crop}x{a.Crop} crops'}, mirroring {a.Flip}, batch "
            f"{a.BatchSize}, Adam lr {a.LearningRate}, seed {a.Seed}, {a.Minutes} min on one thread of this CPU; "
            "training L1 is the mean over the 100 steps before the row; held-out PSNR (R'G'B') on "
            f"{a.Sequences} at 50/37, {a.Frames} targets per clip, keypoints derived. Made by `python -m "
            f"tools.studies.key_picture_value align --Minutes {a.Minutes} --LearningRate {a.LearningRate} --Crop "
            f"{a.Crop} --Flip {a.Flip} --BaseInput {a.BaseInput}"
            f"{f' --ResidualFlow {a.ResidualFlow}' if a.ResidualFlow > 0 else ''}`.\n\n" + "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", choices=("oracle", "align"))
    ap.add_argument("--Pairs", default="50/37,44/32,38/27")
    ap.add_argument("--Frames", type=int, default=8, help="targets per held-out clip")
    ap.add_argument("--Sequences", default=VALIDATION, help="held-out training clips")
    ap.add_argument("--SequenceList", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Minutes", type=float, default=25.0)
    ap.add_argument("--LearningRate", type=float, default=5e-4)
    ap.add_argument("--BatchSize", type=int, default=4)
    ap.add_argument("--Crop", type=int, default=0)
    ap.add_argument("--Flip", type=int, default=0)
    ap.add_argument("--BaseInput", type=int, default=1)
    ap.add_argument("--ResidualFlow", type=float, default=0.0, help="scale of the study's residual flow head "
                    "(0 = none)")
    ap.add_argument("--Seed", type=int, default=7)
    ap.add_argument("--Output", default="", help="markdown file (default: print only)")
    a = ap.parse_args(argv)
    from Utilities.errors import HdacError
    from Utilities.files import write_text
    try:
        text = oracle(a) if a.study == "oracle" else align(a)
    except HdacError as e:
        print(f"key_picture_value: error: {e}", file=sys.stderr)
        return 1
    print(text)
    if a.Output:
        title = "# The key picture's value: oracle\n\n" if a.study == "oracle" else \
            "# The key picture's value: a dense motion trained for alignment alone\n\n"
        write_text(a.Output, title + text, "key picture study")
    return 0


if __name__ == "__main__":
    sys.exit(main())
