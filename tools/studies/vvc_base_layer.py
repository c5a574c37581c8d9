"""VVenC settings for the VVC base layer, measured against VTM (low-delay B and P) and HM on the test split.

    python -m tools.studies.vvc_base_layer --anchor-points doc/results/ctc_vvc/points --frames 64 \\
        --out doc/results/vvc_base_layer [--variants faster,fast,medium,slow] [--jobs 2]

Each variant is VVenC's vvencFFapp at a preset with the options of the HDAC-HF base layer
(EncoderLib.vvenc_encoder: low delay, GOP 8, no QP adaptation), coding every test sequence (first
``--frames`` pictures) as a codec of its own at the anchor QPs 35..51 with the intra picture at QP - 1, as
the CTC's anchors are coded (EvalLib.anchor). Its BD-rate (PCHIP, PSNR-Y and MS-SSIM) is taken against the
VTM-LDB, VTM (low-delay P) and HM anchor points of a CTC run with the same number of pictures
(``--anchor-points``: the points folder of ``EvalApp ctc``). Points are stored in ``<out>/points/<variant>/``
and reused; the report (``<out>/report.md``) is what chose EncoderLib.base_layer_settings' DEFAULT_VVENC_PRESET.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

QPS = (35, 39, 43, 47, 51)
PRESETS = ("faster", "fast", "medium", "slow", "slower")
ANCHORS = ("VTM-LDB", "VTM", "HM")


def _point(args):
    import torch

    from EncoderLib.vvenc_encoder import vvenc_encoder
    from EvalLib.anchor import code_anchor_point
    from Utilities.files import write_json
    torch.set_num_threads(1)
    path, seq, preset, binary, qp, frames = args
    os.makedirs(os.path.dirname(path), exist_ok=True)
    r = code_anchor_point(seq, f"VVenC {preset}", qp, frames, {}, vvenc_encoder(binary, preset))
    r["rate_point"], r["config"] = qp, preset
    write_json(path, r, "VVenC study point")
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anchor-points", required=True, help="points folder of an EvalApp ctc run with the VTM-LDB, "
                    "VTM and HM anchors")
    ap.add_argument("--vvenc", default="~/.cache/jvet-tools/bin/vvencFFapp", help="vvencFFapp binary")
    ap.add_argument("--out", default="results/vvc_base_layer")
    ap.add_argument("--variants", default="faster,fast,medium,slow")
    ap.add_argument("--sequence-list", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    from EvalLib.report import bd_table, fmt
    from Utilities.files import write_text
    from Utilities.sequence_list import read_sequence_list
    names = [v for v in a.variants.split(",") if v]
    unknown = [v for v in names if v not in PRESETS]
    if unknown:
        raise SystemExit(f"vvc_base_layer: unknown preset(s) {unknown} (choose {', '.join(PRESETS)})")
    binary = os.path.expanduser(a.vvenc)
    seqs = read_sequence_list(a.sequence_list, "test")
    anchors = {}
    for anchor in ANCHORS:
        pts = [dict(json.load(open(p)), config=anchor)
               for p in glob.glob(os.path.join(a.anchor_points, f"*_{anchor}_*_f{a.frames}.json"))]
        pts = [p for p in pts if p.get("codec") == anchor]
        if not pts:
            raise SystemExit(f"vvc_base_layer: no {anchor} anchor points of {a.frames} pictures in {a.anchor_points}")
        anchors[anchor] = pts
    results, todo = [], []
    for name in names:
        for s in seqs:
            for qp in QPS:
                path = os.path.join(a.out, "points", name, f"{s['name']}_vvenc_{qp}_f{a.frames}.json")
                if os.path.exists(path):
                    results.append(dict(json.load(open(path)), config=name))
                else:
                    todo.append((path, s, name, binary, qp, a.frames))
    with ProcessPoolExecutor(max(1, a.jobs)) as ex:
        results += list(ex.map(_point, todo))
    metrics = ["psnr_y", "ms_ssim_y"]
    head = " | ".join(f"{x} {m}" for x in ("VTM LDB", "VTM LDP", "HM") for m in ("PSNR-Y", "MS-SSIM"))
    lines = ["# VVenC settings for the VVC base layer (test split)", "",
             f"Every test sequence, first {a.frames} pictures, QPs {', '.join(map(str, QPS))} with the intra picture "
             "at QP - 1, as the CTC anchors; VVenC 1.15 vvencFFapp at each preset with the base layer's options "
             "(EncoderLib/vvenc_encoder.py: low delay, GOP 8 with VVenC's QP offsets, no QP adaptation, one thread). "
             "BD-rate (PCHIP, %) against VTM 23.13 low-delay B (encoder_lowdelay_vtm.cfg, the GFVC CTC anchor), VTM "
             "low-delay P and HM 18.0 low-delay P at the same QPs; pictures/s: VVenC encoding of 256x256 on one "
             "core of this machine while other jobs share its 2 cores (idle-machine speeds: "
             "`pytest benchmarks -k jvet_base_layer --benchmark-only`). Made by `python -m tools.studies.vvc_base_layer`.",
             "",
             f"| preset | {head} | pictures/s |", "|---|" + "---|" * 7]
    for name in names:
        rs = [r for r in results if r["config"] == name]
        cells = []
        for anchor in ANCHORS:
            table, _, _ = bd_table(rs + anchors[anchor], name, [anchor], metrics)
            cells += [fmt(table[anchor][m]["average"]) for m in metrics]
        fps = sum(r["encode_fps"] for r in rs) / len(rs)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {fps:.1f} |")
    enc = {k: sum(r["encode_fps"] for r in v) / len(v) for k, v in anchors.items()}
    lines += ["", "Anchor encoders, pictures/s: " + ", ".join(f"{k} {v:.2f}" for k, v in enc.items()) + "."]
    os.makedirs(a.out, exist_ok=True)
    write_text(os.path.join(a.out, "report.md"), "\n".join(lines) + "\n", "VVenC study report")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
