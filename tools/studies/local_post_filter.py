"""Does a local post-filter generalise where the generator does not? A plain residual CNN of the decoded
base-layer picture alone, with a small receptive field, trained from random weights on the training clips;
its gain over the base layer on training clips and on held-out clips against samples seen.

    python -m tools.studies.local_post_filter [--Layers 8] [--Channels 32] [--Minutes 45] [--LearningRate 5e-4]
        [--Output FILE.md] [--SaveFilter FILE.safetensors] [--KeyInput MODEL]

``--KeyInput MODEL``: the decoded key picture warped by MODEL's dense motion (frozen; keypoints derived by its
detector from the decoded key and base-layer pictures, as the default decoder does) is a second input of the first
convolution: a local fusion of the warped key picture, which can take the key picture's detail where the flow
aligns it and still cannot recognise a face (the ablation ladder's rung b made local).

``--InitFilter`` continues from such a file (weights only; Adam starts afresh; samples count on from the
file's). ``--SaveFilter`` writes the filter's weights (``convs.<i>.weight`` / ``.bias``) at every validation, so that
``tools.studies.graft_local_filter`` can make them a model's refinement R (the same network: 3x3 convolutions,
ReLU between, residual).

The generator (doc/model_card.md, "the networks learn the training faces") gains +0.25 dB at 50/37 on its
training faces and +0.10 dB on held-out ones; its 64x64 bottleneck sees the whole face. A network whose
output sample depends only on the (2 Layers + 1)^2 base-layer samples around it cannot recognise a face, only
coding artefacts and local texture: if memorised faces are what fails to transfer, its held-out gain should
come close to its training-clip gain. The network (this study's only, not a model option):

    out = base + Conv3x3(C -> 3)(ReLU(Conv3x3(C -> C)) ... ReLU(Conv3x3(3 -> C))(base)),  Layers convolutions,

the last one zero at first (the picture starts as the base layer). Training: the samples of TrainerApp's
x265 recipe (cfg/train_x265.yaml: the 5 CTC pairs, 128x128 crops, mirroring, batch 8), its reconstruction loss
(lambda x (L1 pyramid + 100 MSE + Laplacian L1)), Adam (betas 0.9/0.999), one thread. Validation, as
TrainerApp's and tools.studies.generalisation_gap's: whole pictures, 8 targets per clip, generated minus
base-layer PSNR-Y, on the held-out clips and on the gap study's training clips. Never the test split.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

TRAIN_PAIRS = "50/37,47/37,44/32,38/27,50/27"
VAL_PAIRS = ((37, 50), (27, 38))


def local_network(layers: int, channels: int, inputs: int = 3):
    """The study's residual CNN (module docstring); ``layers`` >= 2 convolutions of 3x3; ``inputs`` 6: the base
    layer and a second picture (the warped key picture), concatenated."""
    import torch
    from torch import nn

    class LocalPostFilter(nn.Module):
        def __init__(self):
            super().__init__()
            convs = [nn.Conv2d(inputs, channels, 3, padding=1)]
            convs += [nn.Conv2d(channels, channels, 3, padding=1) for _ in range(layers - 2)]
            convs.append(nn.Conv2d(channels, 3, 3, padding=1))
            nn.init.zeros_(convs[-1].weight)
            nn.init.zeros_(convs[-1].bias)
            self.convs = nn.ModuleList(convs)

        def forward(self, base, second=None):
            x = base if second is None else torch.cat([base, second], 1)
            for conv in self.convs[:-1]:
                x = torch.relu(conv(x))
            return base + self.convs[-1](x)
    return LocalPostFilter()


def macs_per_picture(layers: int, channels: int, width: int = 256, height: int = 256, inputs: int = 3) -> int:
    """Multiply-accumulates of the filter's convolutions (not of a dense motion that warps its second input)."""
    per_sample = 9 * (inputs * channels + (layers - 2) * channels * channels + channels * 3)
    return per_sample * width * height


def save_filter(model, path: str, layers: int, channels: int, samples: int, key_input: str = "",
                inputs: str = "") -> None:
    """The filter's weights as safetensors (metadata: layers, channels, samples seen, inputs: 'base',
    'base,warped_key' (``key_input`` the model whose dense motion warps it) or as given)."""
    from safetensors.torch import save
    from Utilities.files import write_bytes
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"format": "hdac-hf-local-post-filter", "layers": str(layers), "channels": str(channels),
            "samples": str(samples),
            "inputs": inputs or ("base,warped_key" if key_input else "base"), "key_input_model": key_input}
    write_bytes(path, save(tensors, metadata=meta), "local post-filter weights")


def read_filter(path: str) -> tuple[dict, dict]:
    """(metadata, tensors) of a file of ``save_filter``; a missing, damaged or foreign file is a ConfigError."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    from Utilities.errors import ConfigError
    try:
        with safe_open(path, framework="pt") as f:
            meta = dict(f.metadata() or {})
        tensors = load_file(path)
    except Exception as e:  # missing file, damaged header: one line
        raise ConfigError(f"local post-filter weights '{path}' do not load ({str(e).splitlines()[0]})") from None
    if meta.get("format") != "hdac-hf-local-post-filter":
        raise ConfigError(f"'{path}' is not a file of tools.studies.local_post_filter --SaveFilter")
    return meta, tensors


def load_filter(model, path: str) -> int:
    """Load ``save_filter``'s weights into ``model`` (same Layers / Channels); returns the samples they had seen."""
    from Utilities.errors import ConfigError
    meta, tensors = read_filter(path)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:  # another shape: one line
        raise ConfigError(f"local post-filter weights '{path}' do not load into this filter "
                          f"({str(e).splitlines()[0]})") from None
    return int(meta.get("samples", "0"))


def open_filter(path: str):
    """(filter network with ``save_filter``'s weights, its metadata, the model whose dense motion warps its key
    input or None)."""
    from Utilities.errors import ConfigError
    meta, _ = read_filter(path)
    key = meta.get("key_input_model", "")
    if meta.get("inputs", "base") not in ("base", "base,warped_key"):
        raise ConfigError(f"'{path}' is a filter of {meta['inputs']}: not one picture at a time")
    net = local_network(int(meta["layers"]), int(meta["channels"]), 6 if key else 3)
    load_filter(net, path)
    motion = None
    if key:
        from CommonLib.network.model_file import load_model
        from Utilities.app_config import resolve_resource
        motion, _ = load_model(resolve_resource(key))
    return net.eval(), meta, motion


def warped_key(motion_model, key, base, kp_key=None, kp_target=None, variance_scale: float = 1.0):
    """The key picture warped by ``motion_model``'s dense motion; keypoints derived (its detector on the decoded
    key and base-layer pictures) unless given."""
    from CommonLib.network.blocks import warp
    if kp_key is None:
        kp_key, kp_target = motion_model.detect(key), motion_model.detect(base)
    flow, _ = motion_model.dense_motion(key, kp_key, kp_target, variance_scale, base)
    return warp(key, flow)


def _gain(model, clips, frames: int, motion_model=None) -> dict:
    """Generated minus base-layer PSNR-Y (dB) at each validation pair, whole pictures."""
    import torch
    from TrainingLib.trainer import _tensor, to_uint8
    from TrainingLib.training_data import key_target_pairs, pair_name
    from Utilities.metrics import psnr_y
    model.eval()
    out = {}
    with torch.no_grad():
        for pair in VAL_PAIRS:
            g = []
            for c in clips:
                dec = c.decoded[pair]
                for s, t in key_target_pairs(c, frames):
                    ref, bl = c.rgb(c.source, t), c.rgb(dec, t)
                    base = _tensor(bl, "cpu")
                    second = None if motion_model is None else warped_key(motion_model, _tensor(c.rgb(dec, s), "cpu"),
                                                                            base)
                    gen = to_uint8(model(base, second)[0])
                    g.append(psnr_y(gen, ref) - psnr_y(bl, ref))
            out[pair_name(pair)] = float(np.mean(g))
    model.train()
    return out


def run(a) -> str:
    import torch
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.losses import reconstruction_loss
    from TrainingLib.training_data import PairSampler, parse_qp_pairs, prepare_clips, variance_scale
    from tools.studies.generalisation_gap import HELD_OUT, TRAIN_CLIPS
    from Utilities.sequence_list import read_sequence_list
    torch.manual_seed(a.Seed)
    torch.set_num_threads(1)
    pairs = parse_qp_pairs(TRAIN_PAIRS, "pairs")
    seqs = read_sequence_list(a.SequenceList, "train")
    held, gap_train = set(HELD_OUT.split(",")), set(TRAIN_CLIPS.split(","))
    prep = dict(cache_dir=a.CacheDir, pairs=pairs, intra_period=100, max_frames=250, progress=False,
                base_layer=BaseLayerSettings(picture_hash=0), stream_dir=a.StreamDir)
    train = prepare_clips([s for s in seqs if s["name"] not in held], **prep)
    val = {"training clips": [c for c in train if c.name in gap_train],
           "held-out clips": prepare_clips([s for s in seqs if s["name"] in held], **prep)}
    model = local_network(a.Layers, a.Channels, 6 if a.KeyInput else 3).to(memory_format=torch.channels_last)
    done = load_filter(model, a.InitFilter) if a.InitFilter else 0
    motion, keypoints, var_scale = None, None, variance_scale(train[0].width, a.Crop)
    if a.KeyInput:
        from CommonLib.network.model_file import load_model
        from TrainingLib.keypoint_cache import KeypointCache
        from Utilities.app_config import resolve_resource
        motion, _ = load_model(resolve_resource(a.KeyInput))
        for p in motion.parameters():
            p.requires_grad_(False)
        keypoints = KeypointCache(motion.kp_detector, train, pairs, a.CacheDir, derived=True, sent=False)
    sampler = PairSampler(train, pairs, a.Seed, crop=a.Crop, derived_share=1.0 if motion else 0.0,
                          keypoints=keypoints)
    opt = torch.optim.Adam(model.parameters(), lr=a.LearningRate)
    rows, step, t0, next_val = [], 0, time.time(), 0
    while True:
        if step >= next_val:
            row = {"step": step, "seconds": time.time() - t0}
            for label, clips in val.items():
                row.update({f"{label} {p}": v for p, v in _gain(model, clips, a.Frames, motion).items()})
            rows.append(row)
            print(" ".join(f"{k} {v:+.3f}" if isinstance(v, float) and k != "seconds" else f"{k} {v:.0f}"
                           for k, v in row.items()), flush=True)
            next_val += a.ValidateEvery
            if a.SaveFilter:
                save_filter(model, a.SaveFilter, a.Layers, a.Channels, done + step * a.BatchSize, a.KeyInput)
            if time.time() - t0 > a.Minutes * 60:
                break
        (key, _, base, target), lam, kps = sampler.batch(a.BatchSize)
        second = None
        if motion is not None:
            with torch.no_grad():
                second = warped_key(motion, key, base, *kps, variance_scale=var_scale)
            second = second.contiguous(memory_format=torch.channels_last)
        base, target = (x.contiguous(memory_format=torch.channels_last) for x in (base, target))
        loss = reconstruction_loss(model(base, second), target, lam, 100.0, 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    cols = [k for k in rows[0] if k not in ("step", "seconds")]
    lines = ["| step | samples | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    lines += [f"| {r['step']} | {done + r['step'] * a.BatchSize} | " + " | ".join(f"{r[c]:+.3f}" for c in cols) + " |"
              for r in rows]
    inputs = (f"inputs: the base-layer picture and the decoded key picture warped by the dense motion of "
              f"{a.KeyInput} (frozen, keypoints derived)" if a.KeyInput else "input: the base-layer picture")
    return (f"Local post-filter ({inputs}): {a.Layers} convolutions 3x3, {a.Channels} channels, receptive field "
            f"{2 * a.Layers + 1}x{2 * a.Layers + 1} samples, {macs_per_picture(a.Layers, a.Channels, inputs=6 if a.KeyInput else 3) / 1e9:.2f} "
            f"GMAC per 256x256 picture; {a.Crop}x{a.Crop} crops, batch {a.BatchSize}, Adam lr {a.LearningRate}, "
            f"seed {a.Seed}, {a.Minutes:g} min on one thread of this 2-core machine ({rows[-1]['step']} steps). "
            f"Generated minus base-layer PSNR-Y (dB), whole pictures, {a.Frames} targets per clip; training clips: "
            f"{TRAIN_CLIPS.replace(',', ', ')}; held-out: {HELD_OUT.replace(',', ', ')}. Made by `python -m "
            f"tools.studies.local_post_filter --Layers {a.Layers} --Channels {a.Channels} --Minutes {a.Minutes:g} "
            f"--LearningRate {a.LearningRate}"
            + (f" --InitFilter {a.InitFilter}" if a.InitFilter else "")
            + (f" --KeyInput {a.KeyInput}" if a.KeyInput else "") + "`.\n\n" + "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--Layers", type=int, default=8, help="3x3 convolutions (>= 2)")
    ap.add_argument("--Channels", type=int, default=32)
    ap.add_argument("--Minutes", type=float, default=45.0)
    ap.add_argument("--LearningRate", type=float, default=5e-4)
    ap.add_argument("--BatchSize", type=int, default=8)
    ap.add_argument("--Crop", type=int, default=128)
    ap.add_argument("--ValidateEvery", type=int, default=250, help="steps between validations")
    ap.add_argument("--Frames", type=int, default=8, help="targets per validation clip")
    ap.add_argument("--Seed", type=int, default=1)
    ap.add_argument("--SequenceList", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Output", default="", help="markdown file (default: print only)")
    ap.add_argument("--KeyInput", default="", help="model file whose dense motion warps the key picture into a "
                    "second input (empty: the base layer only)")
    ap.add_argument("--InitFilter", default="", help="start from these weights (written by --SaveFilter)")
    ap.add_argument("--SaveFilter", default="", help="safetensors file of the filter's weights, written at every "
                    "validation")
    a = ap.parse_args(argv)
    if a.Layers < 2 or a.Channels < 1 or a.Crop % 4 or a.Crop < 16:
        print("local_post_filter: error: --Layers >= 2, --Channels >= 1 and --Crop a multiple of 4 (>= 16) are "
              "needed", file=sys.stderr)
        return 1
    from tools.studies import report
    title = ("A local fusion of the warped key picture and the base layer" if a.KeyInput
             else "A local post-filter of the base layer")
    return report("local_post_filter", run, a, f"{title}: gain on training and held-out clips",
                  "local post-filter study")


if __name__ == "__main__":
    sys.exit(main())
