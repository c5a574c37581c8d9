"""Where the motion / fusion path stands: the key picture, warped by the network's flow, against the target.

    python -m tools.studies.motion_diagnostics MODEL.safetensors [MODEL2 ...] [--Pairs 50/37,38/27] [--Frames 8]
        [--Sequences train_vr_face5,train_hdtf_radio10] [--Output doc/results/training/motion.md]

For each float model, on held-out training clips (never the test split), mean PSNR-Y against the source
target picture of:

* ``base``: the decoded base-layer picture;
* ``key``: the decoded key picture as it is (no motion);
* ``warped key``: the decoded key picture warped by the dense motion's flow, w(F, K), without the occlusion
  (keypoints derived from the decoded key and base-layer pictures, as the default decoder does): how well
  the motion aligns the key picture with the target;
* ``generated``: the network's output (float, no residual scaling).

If the warped key picture is far below the base layer, the key branch can add little: the flow, not the
fusion, limits the gain (the ablation ladder of doc/model_card.md).
"""
from __future__ import annotations

import argparse
import os
import sys

from TrainingLib.training_data import key_target_pairs

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST


def measure(model_path: str, clips, pairs, frames: int) -> dict:
    """TrainerApp's validation (TrainingLib.trainer.validate, derived keypoints) of one float model file."""
    from CommonLib.network.model_file import load_model
    from TrainingLib.trainer import validate
    model, meta = load_model(model_path)
    res = validate(model, clips, pairs, frames, "cpu", derived=True)
    out = {p: {"base": r["base_psnr_y"], "key": r["key_psnr_y"], "warped_key": r["warped_key_psnr_y"],
               "generated": r["gen_psnr_y"], "pictures": sum(1 for c in clips for _ in key_target_pairs(c, frames))}
           for p, r in res.items()}
    return {"model": meta.get("model_name"), "sha256": meta["sha256"], "results": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--Pairs", default="50/37,38/27")
    ap.add_argument("--Frames", type=int, default=8, help="targets per clip")
    ap.add_argument("--Sequences", default="train_vr_face5,train_hdtf_radio10")
    ap.add_argument("--SequenceList", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--Output", default="", help="markdown table file (default: print only)")
    a = ap.parse_args(argv)
    from Utilities.errors import HdacError
    from Utilities.files import write_text
    from Utilities.sequence_list import read_sequence_list
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
                   f"tools.studies.motion_diagnostics {' '.join(a.models)} --Pairs {a.Pairs}`. The warped key is the "
                   "decoded key picture warped by the network's flow (derived keypoints).\n\n" + table,
                   "motion diagnostics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
