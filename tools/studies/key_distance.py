"""How far from its key picture does a picture still gain from it? Gains of saved local filters against the
distance between target and key picture.

    python -m tools.studies.key_distance FILTER [FILTER ...] [--Pairs 50/37,38/27] [--Stride 3]
        [--Clips train_vr_face5,train_hdtf_radio10] [--Output FILE.md]

FILTER: weights written by ``tools.studies.local_post_filter --SaveFilter`` (the base layer alone, or with the
warped key picture as a second input, ``--KeyInput``). On the clips (default: the held-out ones; training streams
with an IRAP picture every 100, as the training recipe), every ``Stride``-th picture that is not a key picture is
a target; d = target index - key index (1..99). Per distance bucket: PSNR-Y of the base-layer picture, of the
decoded key picture warped by the dense motion of the first key-input filter's model (keypoints derived), and
each filter's gain over the base layer (generated minus base-layer PSNR-Y, dB). The default stream has one key
picture (IntraPeriod 0): its pictures are up to 249 pictures from it, so what a fused key picture gives at a
distance says what HDAC-HF can give there, and what a second reference one picture away (the previous output
picture) could give at most. Never the test split.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 25), (26, 50), (51, 99))


def bucket_of(d: int) -> int:
    """Index into BUCKETS of distance ``d`` (-1 when outside)."""
    for i, (lo, hi) in enumerate(BUCKETS):
        if lo <= d <= hi:
            return i
    return -1


def held_out_clips(names: str, pairs, cache_dir: str, stream_dir: str):
    """The training clips ``names`` (comma-separated) as the training recipe encodes them (x265 base layers of
    EncoderApp's settings, an IRAP picture every 100, 250 pictures); ConfigError if one is not a training clip."""
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.training_data import prepare_clips
    from Utilities.app_config import resolve_resource
    from Utilities.errors import ConfigError
    from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST, read_sequence_list
    want = names.split(",")
    seqs = [s for s in read_sequence_list(resolve_resource(DEFAULT_SEQUENCE_LIST), "train") if s["name"] in want]
    if len(seqs) != len(want):
        raise ConfigError(f"--Clips '{names}': not all of them are training clips of the sequence list")
    return prepare_clips(seqs, cache_dir=cache_dir, pairs=pairs, intra_period=100, max_frames=250, progress=False,
                         base_layer=BaseLayerSettings("x265", "hevc"), stream_dir=stream_dir)


def distance_targets(c, stride: int):
    """(t, key index s, bucket) of every ``stride``-th picture t of clip ``c`` whose distance t - s is in a
    bucket."""
    for t in range(1, len(c.source), stride):
        s = c.key_index(t)
        b = bucket_of(t - s)
        if b >= 0:
            yield t, s, b


def run(a) -> str:
    import torch
    from TrainingLib.trainer import _tensor, to_uint8
    from TrainingLib.training_data import pair_name, parse_qp_pairs
    from Utilities.metrics import psnr_y
    from tools.studies.local_post_filter import open_filter, warped_key
    torch.set_num_threads(1)
    filters = [open_filter(f) for f in a.filters]
    motion = next((m for _, _, m in filters if m is not None), None)
    pairs = parse_qp_pairs(a.Pairs, "--Pairs")
    clips = held_out_clips(a.Clips, pairs, a.CacheDir, a.StreamDir)
    head = ["pair", "distance", "pictures", "base PSNR-Y"] + (["warped key PSNR-Y"] if motion else []) + \
        [f"gain of `{f}`" for f in a.filters]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    with torch.no_grad():
        for pair in pairs:
            acc = [[] for _ in BUCKETS]
            for c in clips:
                dec = c.decoded[tuple(pair)]
                for t, s, b in distance_targets(c, a.Stride):
                    ref, bl = c.rgb(c.source, t), c.rgb(dec, t)
                    key, base = _tensor(c.rgb(dec, s), "cpu"), _tensor(bl, "cpu")
                    wk = warped_key(motion, key, base) if motion is not None else None
                    base_p = psnr_y(bl, ref)
                    row = [base_p] + ([psnr_y(to_uint8(wk[0]), ref)] if motion else [])
                    for net, _, m in filters:
                        out = net(base, wk) if m is not None else net(base)
                        row.append(psnr_y(to_uint8(out.clamp(0, 1)[0]), ref) - base_p)
                    acc[b].append(row)
            for (lo, hi), rows in zip(BUCKETS, acc):
                if not rows:
                    continue
                m = np.mean(np.array(rows), axis=0)
                cells = [f"{v:.2f}" for v in m[:1 + bool(motion)]] + [f"{v:+.3f}" for v in m[1 + bool(motion):]]
                lines.append(f"| {pair_name(pair)} | {lo}..{hi} | {len(rows)} | " + " | ".join(cells) + " |")
    return (f"Clips {a.Clips.replace(',', ', ')}, every {a.Stride}th picture a target, x265 base layers of "
            f"EncoderApp's settings, an IRAP picture every 100; warped key picture: the dense motion of the "
            f"key-input filter's model, keypoints derived. Made by `python -m tools.studies.key_distance "
            + " ".join(a.filters) + f" --Stride {a.Stride}`.\n\n" + "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("filters", nargs="+", help="weights written by tools.studies.local_post_filter --SaveFilter")
    ap.add_argument("--Pairs", default="50/37,38/27", help="BaseLayerQP/IntraQP pairs")
    ap.add_argument("--Stride", type=int, default=3, help="every Stride-th picture is a target")
    ap.add_argument("--Clips", default="train_vr_face5,train_hdtf_radio10", help="training clips (held out)")
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Output", default="", help="write the table to this Markdown file")
    a = ap.parse_args(argv)
    if a.Stride < 1:
        print("key_distance: error: --Stride must be at least 1", file=sys.stderr)
        return 1
    from tools.studies import report
    return report("key_distance", run, a, "Gain against the distance to the key picture", "key distance table")


if __name__ == "__main__":
    sys.exit(main())
