"""Where the motion / fusion path stands: the key picture, warped by the network's flow, against the target.

    python -m tools.motion_diagnostics MODEL.safetensors [MODEL2 ...] [--Pairs 50/37,38/27] [--Frames 8]
        [--Sequences train_vr_face5,train_hdtf_radio10] [--Output doc/results/training/motion.md]

For each float model, on held-out training clips (never the test split), mean PSNR-Y against the source
target picture of:

* ``base``: the decoded base-layer picture;
* ``key``: the decoded key picture as it is (no motion);
* ``warped key``: the decoded key picture warped by the dense motion's flow (keypoints derived from the decoded
  key and base-layer pictures, as the default decoder does), O . w(F, K) where the occlusion is kept, i.e. the
  picture the generator's key branch can at best bring;
* ``generated``: the network's output (float, no residual scaling).

If the warped key picture is far below the base layer, the key branch can add little: the flow, not the
fusion, limits the gain (the ablation ladder of doc/model_card.md).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def measure(model_path: str, clips, pairs, frames: int) -> dict:
    import torch
    import torch.nn.functional as F

    from CommonLib.metrics import psnr_y
    from CommonLib.network.blocks import warp
    from CommonLib.network.model_file import load_model
    from TrainingLib.training_data import key_target_pairs, pair_name
    model, meta = load_model(model_path)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float().unsqueeze(0) / 255
    u8 = lambda x: (x.clamp(0, 1)[0] * 255 + 0.5).to(torch.uint8).numpy()
    out = {}
    with torch.no_grad():
        for pair in pairs:
            rows = []
            for c in clips:
                dec = c.decoded[pair]
                for s, ti in key_target_pairs(c, frames):
                    key, base, src = c.rgb(dec, s), c.rgb(dec, ti), c.rgb(c.source, ti)
                    kk, kt = model.detect(t(key)), model.detect(t(base))
                    flow, occ = model.dense_motion(t(key), kk, kt, 1.0, t(base), None)
                    full = F.interpolate(flow.permute(0, 3, 1, 2), size=key.shape[1:], mode="bilinear",
                                         align_corners=False).permute(0, 2, 3, 1)
                    warped = warp(t(key), full)
                    gen = model.generate(t(key), t(base), kk, kt)
                    rows.append([psnr_y(base, src), psnr_y(key, src), psnr_y(u8(warped), src), psnr_y(u8(gen), src)])
            m = np.mean(rows, axis=0)
            out[pair_name(pair)] = dict(zip(("base", "key", "warped_key", "generated"), map(float, m)),
                                        pictures=len(rows))
    return {"model": meta.get("model_name"), "sha256": meta["sha256"], "results": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--Pairs", default="50/37,38/27")
    ap.add_argument("--Frames", type=int, default=8, help="targets per clip")
    ap.add_argument("--Sequences", default="train_vr_face5,train_hdtf_radio10")
    ap.add_argument("--SequenceList", default="../shared/sequences/sequences.yaml")
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Output", default="", help="markdown table file (default: print only)")
    a = ap.parse_args(argv)
    from CommonLib.errors import HdacError
    from CommonLib.files import write_text
    from CommonLib.sequence_list import read_sequence_list
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.training_data import parse_qp_pairs, prepare_clips
    try:
        pairs = parse_qp_pairs(a.Pairs, "--Pairs")
        seqs = read_sequence_list(a.SequenceList, "train", [s for s in a.Sequences.split(",") if s])
        clips = prepare_clips(seqs, a.CacheDir, pairs, 100, 250, progress=False,
                              base_layer=BaseLayerSettings(picture_hash=0), stream_dir=a.StreamDir)
        results = [measure(m, clips, pairs, a.Frames) for m in a.models]
    except HdacError as e:
        print(f"motion_diagnostics: error: {e}", file=sys.stderr)
        return 1
    lines = ["| model | pair | base | key (no motion) | warped key | generated | pictures |", "|---|---|---|---|---|---|---|"]
    for r in results:
        for p, v in r["results"].items():
            lines.append(f"| {r['model']} ({r['sha256'][:8]}) | {p} | {v['base']:.2f} | {v['key']:.2f} | "
                         f"{v['warped_key']:.2f} | {v['generated']:.2f} | {v['pictures']} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.Output:
        os.makedirs(os.path.dirname(os.path.abspath(a.Output)), exist_ok=True)
        write_text(a.Output, "# Motion diagnostics\n\nMean PSNR-Y (dB) against the source target on held-out "
                   f"training clips ({a.Sequences}), {a.Frames} targets per clip; made by `python -m "
                   f"tools.motion_diagnostics {' '.join(a.models)} --Pairs {a.Pairs}`. The warped key is the "
                   "decoded key picture warped by the network's flow (derived keypoints).\n\n" + table,
                   "motion diagnostics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
