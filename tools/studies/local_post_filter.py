"""Does a local post-filter generalise where the generator does not? A plain residual CNN of the decoded
base-layer picture alone, with a small receptive field, trained from random weights on the training clips;
its gain over the base layer on training clips and on held-out clips against samples seen.

    python -m tools.studies.local_post_filter [--Layers 8] [--Channels 32] [--Minutes 45] [--LearningRate 5e-4]
        [--Output FILE.md]

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


def local_network(layers: int, channels: int):
    """The study's residual CNN (module docstring); ``layers`` >= 2 convolutions of 3x3."""
    import torch
    from torch import nn

    class LocalPostFilter(nn.Module):
        def __init__(self):
            super().__init__()
            convs = [nn.Conv2d(3, channels, 3, padding=1)]
            convs += [nn.Conv2d(channels, channels, 3, padding=1) for _ in range(layers - 2)]
            convs.append(nn.Conv2d(channels, 3, 3, padding=1))
            nn.init.zeros_(convs[-1].weight)
            nn.init.zeros_(convs[-1].bias)
            self.convs = nn.ModuleList(convs)

        def forward(self, base):
            x = base
            for conv in self.convs[:-1]:
                x = torch.relu(conv(x))
            return base + self.convs[-1](x)
    return LocalPostFilter()


def macs_per_picture(layers: int, channels: int, width: int = 256, height: int = 256) -> int:
    per_sample = 9 * (3 * channels + (layers - 2) * channels * channels + channels * 3)
    return per_sample * width * height


def _gain(model, clips, frames: int) -> dict:
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
                for _, t in key_target_pairs(c, frames):
                    ref, bl = c.rgb(c.source, t), c.rgb(dec, t)
                    gen = to_uint8(model(_tensor(bl, "cpu"))[0])
                    g.append(psnr_y(gen, ref) - psnr_y(bl, ref))
            out[pair_name(pair)] = float(np.mean(g))
    model.train()
    return out


def run(a) -> str:
    import torch
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.losses import reconstruction_loss
    from TrainingLib.training_data import PairSampler, parse_qp_pairs, prepare_clips
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
    model = local_network(a.Layers, a.Channels).to(memory_format=torch.channels_last)
    sampler = PairSampler(train, pairs, a.Seed, crop=a.Crop)
    opt = torch.optim.Adam(model.parameters(), lr=a.LearningRate)
    rows, step, t0, next_val = [], 0, time.time(), 0
    while True:
        if step >= next_val:
            row = {"step": step, "seconds": time.time() - t0}
            for label, clips in val.items():
                row.update({f"{label} {p}": v for p, v in _gain(model, clips, a.Frames).items()})
            rows.append(row)
            print(" ".join(f"{k} {v:+.3f}" if isinstance(v, float) and k != "seconds" else f"{k} {v:.0f}"
                           for k, v in row.items()), flush=True)
            next_val += a.ValidateEvery
            if time.time() - t0 > a.Minutes * 60:
                break
        (_, _, base, target), lam, _ = sampler.batch(a.BatchSize)
        base, target = (x.contiguous(memory_format=torch.channels_last) for x in (base, target))
        loss = reconstruction_loss(model(base), target, lam, 100.0, 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    cols = [k for k in rows[0] if k not in ("step", "seconds")]
    lines = ["| step | samples | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    lines += [f"| {r['step']} | {r['step'] * a.BatchSize} | " + " | ".join(f"{r[c]:+.3f}" for c in cols) + " |"
              for r in rows]
    return (f"Local post-filter: {a.Layers} convolutions 3x3, {a.Channels} channels, receptive field "
            f"{2 * a.Layers + 1}x{2 * a.Layers + 1} samples, {macs_per_picture(a.Layers, a.Channels) / 1e9:.2f} "
            f"GMAC per 256x256 picture; {a.Crop}x{a.Crop} crops, batch {a.BatchSize}, Adam lr {a.LearningRate}, "
            f"seed {a.Seed}, {a.Minutes:g} min on one thread of this 2-core machine ({rows[-1]['step']} steps). "
            f"Generated minus base-layer PSNR-Y (dB), whole pictures, {a.Frames} targets per clip; training clips: "
            f"{TRAIN_CLIPS.replace(',', ', ')}; held-out: {HELD_OUT.replace(',', ', ')}. Made by `python -m "
            f"tools.studies.local_post_filter --Layers {a.Layers} --Channels {a.Channels} --Minutes {a.Minutes:g} "
            f"--LearningRate {a.LearningRate}`.\n\n" + "\n".join(lines) + "\n")


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
    a = ap.parse_args(argv)
    if a.Layers < 2 or a.Channels < 1 or a.Crop % 4 or a.Crop < 16:
        print("local_post_filter: error: --Layers >= 2, --Channels >= 1 and --Crop a multiple of 4 (>= 16) are "
              "needed", file=sys.stderr)
        return 1
    from Utilities.errors import HdacError
    from Utilities.files import write_text
    try:
        text = run(a)
    except HdacError as e:
        print(f"local_post_filter: error: {e}", file=sys.stderr)
        return 1
    print(text)
    if a.Output:
        write_text(a.Output, "# A local post-filter of the base layer: gain on training and held-out clips\n\n"
                   + text, "local post-filter study")
    return 0


if __name__ == "__main__":
    sys.exit(main())
