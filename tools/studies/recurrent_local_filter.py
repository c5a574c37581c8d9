"""Does the previous output picture, as a second reference, carry the key picture's quality forward? A local
filter of the base-layer picture and the decoder's previous output picture, run recurrently from the key picture.

    python -m tools.studies.recurrent_local_filter [--Layers 8] [--Channels 32] [--Minutes 45] [--Unroll 4]
        [--LearningRate 5e-4] [--SaveFilter FILE.safetensors] [--InitFilter FILE] [--Output FILE.md]

``--InitFilter``: a recurrent filter's weights to continue, or a base-layer filter's (``tools.studies.
local_post_filter --SaveFilter``), which the recurrent filter then starts as (zero weights for the previous
output picture): whether the second reference adds to a trained post-filter.

The base layer of the default stream drifts away from its key picture: at 50/37 its PSNR-Y falls from about
30.5 dB one picture after the key picture to 26.5 dB 50 pictures later (results/training/key_distance.md), and
the default stream has one key picture for the whole sequence. The key picture warped by a keypoint flow is
worse than the base layer from the first picture on; the previous output picture is one picture away. The
network (the local post-filter study's CNN with a second input, ``tools.studies.local_post_filter``)::

    O_s = K (the decoded key picture),  O_t = clip(B_t + C_L(ReLU(... C_1([B_t, O_{t-1}]))), 0, 1),  t > s,

no motion compensation: a receptive field of (2 Layers + 1)^2 samples covers the motion between neighbouring
pictures. ``--Align 1``: O_{t-1} aligned first, by the decoder-side block motion between the base-layer pictures
B_t and B_{t-1} (``tools.studies.block_motion_key.block_motion``: 8x8 blocks, +-8 samples, 24x24 matching
windows, half-sample refinement; B_s = K), O_t = clip(B_t + F([B_t, W(O_{t-1})])): motion a decoder can find.
Training (truncated back-propagation through ``Unroll`` pictures): 128x128 crops of ``Unroll`` consecutive
pictures of one training clip at one of the 5 CTC pairs of the x265 recipe, mirrored at random; in half the
samples the run starts at the key picture (O_s = K), in the other half at a random picture t0 of the period with
O_{t0-1} = B_{t0-1} (the base layer: a reference no better than it); ``--Reference key``: at a random picture t0
with the key picture as O_{t0-1} (what a decoder's reference keeps of the key picture where nothing moves, far
from it too); the recipe's reconstruction loss summed over the unrolled pictures; Adam, one thread. Validation: the recurrence over every picture of
the held-out clips (an IRAP picture every 100, O restarts at each), gain over the base layer overall and by
distance to the key picture. Never the test split.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

TRAIN_PAIRS = "50/37,47/37,44/32,38/27,50/27"
VAL_PAIRS = ((37, 50), (27, 38))
ALIGN_BLOCK, ALIGN_RANGE, ALIGN_WINDOW = 8, 8, 24      # --Align 1: the decoder-side motion of the module docstring


class BaseMotion:
    """Per-block motion from B_t to B_{t-1} of a clip at a pair (``--Align 1``), computed once and kept
    (half-sample units, int8)."""

    def __init__(self):
        self.memo = {}

    def blocks(self, c, pair, t: int):
        """(2, H / 8, W / 8) float displacements (x, y) in samples of picture ``t``'s blocks into picture t - 1."""
        import torch
        from TrainingLib.trainer import _tensor
        from tools.studies.block_motion_key import block_motion
        k = (c.name, tuple(pair), t)
        if k not in self.memo:
            dec = c.decoded[tuple(pair)]
            flow = block_motion(_tensor(c.rgb(dec, t), "cpu"), _tensor(c.rgb(dec, t - 1), "cpu"), ALIGN_BLOCK,
                                ALIGN_RANGE, 0.0, ALIGN_WINDOW)[0, :, ::ALIGN_BLOCK, ::ALIGN_BLOCK]
            self.memo[k] = (flow * 2).round().to(torch.int8)
        return self.memo[k].float() / 2



def recurrent_outputs(net, key, bases, flows=None):
    """O_t of the module docstring for ``bases`` (list of (B, 3, H, W) in [0, 1]) after the reference ``key``;
    ``flows`` (list of (B, 2, H, W)): each previous output aligned by them first (``--Align 1``)."""
    from tools.studies.block_motion_key import shifted
    outs, ref = [], key
    for i, base in enumerate(bases):
        if flows is not None:
            ref = shifted(ref, flows[i])
        ref = net(base, ref).clamp(0, 1)
        outs.append(ref)
    return outs


def validate(net, clips, max_frames: int, buckets, motion: "BaseMotion | None" = None) -> dict:
    """Mean generated minus base-layer PSNR-Y (dB) per pair, overall and per distance bucket (key_distance's);
    ``motion``: the previous output aligned by it first."""
    import torch
    from TrainingLib.trainer import _tensor, to_uint8
    from tools.studies.block_motion_key import per_sample, shifted
    from TrainingLib.training_data import pair_name
    from Utilities.metrics import psnr_y
    from tools.studies.key_distance import bucket_of
    net.eval()
    res = {}
    with torch.no_grad():
        for pair in VAL_PAIRS:
            all_g, by = [], [[] for _ in buckets]
            for c in clips:
                dec = c.decoded[pair]
                ref = None
                for t in range(min(len(c.source), max_frames)):
                    s = c.key_index(t)
                    if s == t:
                        ref = _tensor(c.rgb(dec, t), "cpu")
                        continue
                    bl = c.rgb(dec, t)
                    if motion is not None:
                        ref = shifted(ref, per_sample(motion.blocks(c, pair, t), ALIGN_BLOCK)[None])
                    ref = net(_tensor(bl, "cpu"), ref).clamp(0, 1)
                    truth = c.rgb(c.source, t)
                    g = psnr_y(to_uint8(ref[0]), truth) - psnr_y(bl, truth)
                    all_g.append(g)
                    b = bucket_of(t - s)
                    if b >= 0:
                        by[b].append(g)
            res[pair_name(pair)] = {"all": float(np.mean(all_g)),
                                    "buckets": [float(np.mean(v)) if v else float("nan") for v in by]}
    net.train()
    return res


class SequenceSampler:
    """Crops of ``unroll`` consecutive pictures (module docstring); returns (reference, [bases], [targets], lam)."""

    def __init__(self, clips, pairs, seed: int, crop: int, unroll: int, motion: "BaseMotion | None" = None,
                 reference: str = "mixed"):
        self.clips, self.pairs, self.crop, self.unroll, self.motion = clips, pairs, crop, unroll, motion
        self.reference = reference
        self.rng = np.random.default_rng(seed)

    def _one(self):
        from TrainingLib.training_data import qp_loss_weight
        rng = self.rng
        while True:
            c = self.clips[rng.integers(len(self.clips))]
            pair = self.pairs[rng.integers(len(self.pairs))]
            s = int(c.key_positions[rng.integers(len(c.key_positions))])
            end = min(len(c.source), int(c.key_positions[c.key_positions > s][0]) if (c.key_positions > s).any()
                      else len(c.source))
            if end - s - 1 >= self.unroll:
                break
        t0 = s + 1 if rng.random() < 0.5 else int(rng.integers(s + 1, end - self.unroll + 1))
        dec = c.decoded[pair]
        g = ALIGN_BLOCK if self.motion is not None else 1     # aligned runs: crops on the block grid
        y0, x0 = (g * int(rng.integers(0, (n - self.crop) // g + 1)) for n in (c.height, c.width))
        flip = bool(rng.random() < 0.5)

        def pic(arr, i):
            p = c.rgb(arr, i)[:, y0:y0 + self.crop, x0:x0 + self.crop]
            return p[:, :, ::-1] if flip else p
        if self.reference == "key":                  # the key picture of the period, wherever t0 is
            t0 = int(rng.integers(s + 1, end - self.unroll + 1))
            ref = pic(dec, s)
        else:
            ref = pic(dec, t0 - 1)                   # the key picture when t0 = s + 1, else B_{t0-1}
        ts = range(t0, t0 + self.unroll)
        flows = None
        if self.motion is not None:
            from tools.studies.block_motion_key import per_sample
            b, n = y0 // ALIGN_BLOCK, self.crop // ALIGN_BLOCK
            flows = []
            for t in ts:
                f = self.motion.blocks(c, pair, t)[:, b:b + n, x0 // ALIGN_BLOCK:x0 // ALIGN_BLOCK + n]
                if flip:
                    f = f.flip(-1) * f.new_tensor([-1.0, 1.0]).view(2, 1, 1)
                flows.append(per_sample(f, ALIGN_BLOCK))
        return ref, [pic(dec, t) for t in ts], [pic(c.source, t) for t in ts], qp_loss_weight(pair[1]), flows

    def batch(self, size: int):
        import torch
        items = [self._one() for _ in range(size)]

        def stack(pics):
            return torch.from_numpy(np.ascontiguousarray(np.stack(pics))).float() / 255.0
        ref = stack([it[0] for it in items])
        bases = [stack([it[1][k] for it in items]) for k in range(self.unroll)]
        targets = [stack([it[2][k] for it in items]) for k in range(self.unroll)]
        lam = torch.tensor([it[3] for it in items], dtype=torch.float32)
        if self.motion is None:
            return ref, bases, targets, lam
        return ref, bases, targets, lam, [torch.stack([it[4][k] for it in items]) for k in range(self.unroll)]


def drop_reference(net) -> None:
    """Zero the first convolution's weights of the previous output picture (input channels 3..5): the filter
    then computes what it computes from the base-layer picture alone (``--DropReference``)."""
    import torch
    with torch.no_grad():
        net.convs[0].weight[:, 3:] = 0


def init_from(net, path: str, layers: int, channels: int) -> int:
    """Load ``path`` into ``net``: a recurrent filter's weights as they are, a base-layer filter's
    (``tools.studies.local_post_filter --SaveFilter``) with zero weights for the previous output picture, so that
    the recurrent filter starts as that filter exactly. Returns the samples the weights had seen."""
    import torch
    from Utilities.errors import ConfigError
    from tools.studies.local_post_filter import load_filter, local_network, open_filter
    try:
        return load_filter(net, path)
    except ConfigError:
        pass
    base, meta, motion = open_filter(path)
    if motion is not None or (int(meta["layers"]), int(meta["channels"])) != (layers, channels):
        raise ConfigError(f"'{path}' is not a base-layer filter of {layers} layers and {channels} channels")
    sd = base.state_dict()
    w = sd["convs.0.weight"]
    sd["convs.0.weight"] = torch.cat([w, torch.zeros_like(w)], 1)
    net.load_state_dict(sd)
    return int(meta.get("samples", "0"))


def run(a) -> str:
    import torch
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.losses import reconstruction_loss
    from TrainingLib.training_data import pair_name, parse_qp_pairs, prepare_clips
    from Utilities.sequence_list import read_sequence_list
    from tools.studies.generalisation_gap import HELD_OUT
    from tools.studies.key_distance import BUCKETS
    from tools.studies.local_post_filter import local_network, save_filter
    torch.manual_seed(a.Seed)
    torch.set_num_threads(1)
    pairs = parse_qp_pairs(TRAIN_PAIRS, "pairs")
    seqs = read_sequence_list(a.SequenceList, "train")
    held = set(HELD_OUT.split(","))
    prep = dict(cache_dir=a.CacheDir, pairs=pairs, intra_period=100, max_frames=250, progress=False,
                base_layer=BaseLayerSettings(picture_hash=0), stream_dir=a.StreamDir)
    train = prepare_clips([s for s in seqs if s["name"] not in held], **prep)
    val = prepare_clips([s for s in seqs if s["name"] in held], **prep)
    net = local_network(a.Layers, a.Channels, 6)
    done = init_from(net, a.InitFilter, a.Layers, a.Channels) if a.InitFilter else 0
    if a.DropReference:
        drop_reference(net)
    motion = BaseMotion() if a.Align else None
    sampler = SequenceSampler(train, pairs, a.Seed, a.Crop, a.Unroll, motion, a.Reference)
    opt = torch.optim.Adam(net.parameters(), lr=a.LearningRate)
    rows, step, t0, next_val = [], 0, time.time(), 0
    while True:
        if step >= next_val:
            v = validate(net, val, a.ValFrames, BUCKETS, motion)
            rows.append((done + step * a.BatchSize, v))
            print(f"samples {done + step * a.BatchSize} seconds {time.time() - t0:.0f} " + " ".join(
                f"{p}: {r['all']:+.3f} [" + " ".join(f"{x:+.2f}" for x in r["buckets"]) + "]" for p, r in v.items()),
                flush=True)
            if a.SaveFilter:
                save_filter(net, a.SaveFilter, a.Layers, a.Channels, done + step * a.BatchSize,
                            inputs="base,aligned_previous_output" if a.Align else "base,previous_output")
            next_val += a.ValidateEvery
            if time.time() - t0 > a.Minutes * 60:
                break
        ref, bases, targets, lam, *flows = sampler.batch(a.BatchSize)
        outs = recurrent_outputs(net, ref, bases, flows[0] if flows else None)
        loss = sum(reconstruction_loss(o, t, lam, 100.0, 1.0) for o, t in zip(outs, targets)) / a.Unroll
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    cols = [f"{pair_name(p)} {lab}" for p in VAL_PAIRS for lab in ["all"] + [f"d {lo}..{hi}" for lo, hi in BUCKETS]]
    lines = ["| samples | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for samples, v in rows:
        cells = []
        for p in VAL_PAIRS:
            r = v[pair_name(p)]
            cells += [f"{r['all']:+.3f}"] + [f"{x:+.2f}" for x in r["buckets"]]
        lines.append(f"| {samples} | " + " | ".join(cells) + " |")
    return (f"Recurrent local filter: inputs the base-layer picture and the previous output picture"
            + (" aligned by decoder-side block motion between the base-layer pictures" if a.Align else "")
            + f", {a.Layers} "
            f"convolutions 3x3, {a.Channels} channels, receptive field {2 * a.Layers + 1}x{2 * a.Layers + 1}; "
            f"{a.Crop}x{a.Crop} crops of {a.Unroll} consecutive pictures, batch {a.BatchSize}, Adam lr "
            f"{a.LearningRate}, seed {a.Seed}, {a.Minutes:g} min on one thread of this 2-core machine. Generated "
            f"minus base-layer PSNR-Y (dB) on the held-out clips {HELD_OUT.replace(',', ', ')} (first "
            f"{a.ValFrames} pictures, recurrence from each key picture), overall and by distance d to the key "
            f"picture. Made by `python -m tools.studies.recurrent_local_filter --Layers {a.Layers} --Channels "
            f"{a.Channels} --Minutes {a.Minutes:g} --Unroll {a.Unroll} --BatchSize {a.BatchSize} --LearningRate "
            f"{a.LearningRate} --Align {a.Align} --Reference {a.Reference} --DropReference {a.DropReference}"
            + (f" --InitFilter {a.InitFilter}" if a.InitFilter else "") + "`.\n\n" + "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--Layers", type=int, default=8, help="3x3 convolutions (>= 2)")
    ap.add_argument("--Channels", type=int, default=32)
    ap.add_argument("--Minutes", type=float, default=45.0)
    ap.add_argument("--Unroll", type=int, default=4, help="consecutive pictures per sample (>= 1)")
    ap.add_argument("--LearningRate", type=float, default=5e-4)
    ap.add_argument("--BatchSize", type=int, default=4)
    ap.add_argument("--Crop", type=int, default=128)
    ap.add_argument("--ValidateEvery", type=int, default=500, help="steps between validations")
    ap.add_argument("--ValFrames", type=int, default=100, help="pictures of each held-out clip in validation")
    ap.add_argument("--Seed", type=int, default=1)
    ap.add_argument("--SequenceList", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Align", type=int, default=0, choices=(0, 1),
                    help="1: the previous output aligned by decoder-side block motion first")
    ap.add_argument("--Reference", default="mixed", choices=("mixed", "key"),
                    help="a sample's first reference: mixed (half the samples start after the key picture, half at "
                         "a random picture with the base layer as reference) or key (a random picture, the key "
                         "picture as reference)")
    ap.add_argument("--DropReference", type=int, default=0, choices=(0, 1),
                    help="1: zero the weights of the previous output picture after loading (with --Minutes 0: "
                         "what the reference contributes)")
    ap.add_argument("--InitFilter", default="", help="start from these weights (written by --SaveFilter)")
    ap.add_argument("--SaveFilter", default="", help="safetensors file of the weights, written at every validation")
    ap.add_argument("--Output", default="", help="markdown file (default: print only)")
    a = ap.parse_args(argv)
    if a.Layers < 2 or a.Channels < 1 or a.Unroll < 1 or a.Crop % 8 or a.Crop < 16:
        print("recurrent_local_filter: error: --Layers >= 2, --Channels >= 1, --Unroll >= 1 and --Crop a multiple "
              "of 8 (>= 16) are needed", file=sys.stderr)
        return 1
    from tools.studies import report
    return report("recurrent_local_filter", run, a,
                  "A recurrent local filter: the previous output picture as a second reference",
                  "recurrent local filter study")


if __name__ == "__main__":
    sys.exit(main())
