"""How much of a model's gain over its base layer is memorised faces: the validation measure of TrainerApp
(float network, whole pictures, keypoints derived from the decoded pictures as the default decoder does, 8
targets per clip) on training clips the model was trained on, beside the held-out clips.

    python -m tools.studies.generalisation_gap MODEL [MODEL ...] [--Pairs 50/37,38/27]
        [--TrainClips train_lp_d0,...] [--HmEncoder TAppEncoder] [--Output FILE.md]

Base layers: x265 with EncoderApp's settings (the training runs' `cfg/train_x265.yaml`), decoded from the
committed streams in ``training/base_layers``; with ``--HmEncoder`` HM's (its installation's low-delay P cfg, as
EncoderApp's ``BaseLayerEncoder hm``), encoded once and kept in ``--CacheDir``: how a model trained on x265 base
layers does on HM's. ``--TrainClips ''`` measures the held-out clips only. Never the test split.
"""
from __future__ import annotations

import argparse
import sys

TRAIN_CLIPS = "train_lp_d0,train_vx_tys,train_dt_m030_angry,train_lp_d11,train_syn_vasa_3,train_lp_d20"
HELD_OUT = "train_vr_face5,train_hdtf_radio10"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="float model files (resource:models/... or paths)")
    ap.add_argument("--Pairs", default="50/37,38/27", help="BaseLayerQP/IntraQP pairs")
    ap.add_argument("--TrainClips", default=TRAIN_CLIPS, help="training clips the models were trained on")
    ap.add_argument("--HeldOut", default=HELD_OUT, help="held-out clips (the runs' ValidationSequences)")
    ap.add_argument("--Frames", type=int, default=8, help="targets per clip")
    ap.add_argument("--CacheDir", default="work/train_cache")
    ap.add_argument("--StreamDir", default="training/base_layers")
    ap.add_argument("--HmEncoder", default="", help="HM's TAppEncoder: HM base layers instead of x265's")
    ap.add_argument("--Output", default="", help="write the table to this Markdown file")
    ap.add_argument("--IntraPeriod", type=int, default=100, help="IRAP period of the clips' streams (HM: a multiple "
                    "of 8; the committed x265 streams are at 100, another period is encoded anew)")
    a = ap.parse_args(argv)
    from Utilities.errors import HdacError
    try:
        return _measure(a)
    except HdacError as e:
        print(f"generalisation_gap: error: {e}", file=sys.stderr)
        return 1


def _measure(a) -> int:
    import torch

    from CommonLib.network.model_file import load_model
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.trainer import validate
    from TrainingLib.training_data import pair_name, parse_qp_pairs, prepare_clips
    from Utilities.app_config import resolve_resource
    from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST, read_sequence_list
    torch.set_num_threads(1)
    pairs = parse_qp_pairs(a.Pairs, "--Pairs")
    seqs = read_sequence_list(resolve_resource(DEFAULT_SEQUENCE_LIST), "train")
    base_layer = BaseLayerSettings("hm", "hevc", hm_encoder=a.HmEncoder) if a.HmEncoder \
        else BaseLayerSettings("x265", "hevc")
    prep = dict(cache_dir=a.CacheDir, pairs=pairs, intra_period=a.IntraPeriod, max_frames=250, progress=False,
                base_layer=base_layer, stream_dir="" if a.HmEncoder or a.IntraPeriod != 100 else a.StreamDir)
    groups = {}
    for label, names in (("training clips", a.TrainClips), ("held-out clips", a.HeldOut)):
        if not names:
            continue
        want = set(names.split(","))
        missing = want - {s["name"] for s in seqs}
        if missing:
            print(f"generalisation_gap: {sorted(missing)} are not training clips of the sequence list", file=sys.stderr)
            return 1
        groups[label] = prepare_clips([s for s in seqs if s["name"] in want], **prep)
    head = " | ".join(f"{g} {pair_name(p)}" for g in groups for p in pairs)
    lines = ["| model | " + head + " |", "|---|" + "---|" * (len(groups) * len(pairs))]
    for m in a.models:
        model, meta = load_model(resolve_resource(m))
        cells = []
        for clips in groups.values():
            r = validate(model, clips, pairs, a.Frames, torch.device("cpu"), derived=True)
            cells += [f"{r[pair_name(p)]['gain_psnr_y']:+.3f}" for p in pairs]
        lines.append(f"| `{m}` (sha256 {meta['sha256'][:8]}) | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    text = "\n".join([
        "# Generalisation gap: gain over the base layer on training clips and on held-out clips", "",
        "Generated minus base-layer PSNR-Y (dB) of the float network, whole pictures, keypoints derived, "
        f"{a.Frames} targets per clip; training clips: {a.TrainClips.replace(',', ', ') or 'none'}; held-out: "
        f"{a.HeldOut.replace(',', ', ')}; {'HM' if a.HmEncoder else 'x265'} base layers of EncoderApp's settings, an "
        f"IRAP picture every {a.IntraPeriod}. Made by "
        "`python -m tools.studies.generalisation_gap " + " ".join(a.models)
        + (f" --TrainClips '{a.TrainClips}'" if a.TrainClips != TRAIN_CLIPS else "")
        + (" --HmEncoder TAppEncoderStatic" if a.HmEncoder else "")
        + (f" --IntraPeriod {a.IntraPeriod}" if a.IntraPeriod != 100 else "") + "`.", ""] + lines) + "\n"
    if a.Output:
        from Utilities.files import write_text
        write_text(a.Output, text, "generalisation gap table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
