"""x265 settings measured against HM on the test split: BD-rate and speed of each x265 variant.

    python -m tools.studies.x265_presets --hm-points results/ctc/points --out doc/results/x265_presets [--jobs 2]

Each variant codes every test sequence (all pictures, up to 250) at the anchor QPs as the CTC's x265 anchor
does (EvalLib.anchor: low-delay P, ref=4, HM's QP cascade unless the variant says otherwise); its BD-rate
(PCHIP, PSNR-Y and MS-SSIM) is taken against the HM anchor points of a CTC run (``--hm-points``, the
points folder of ``EvalApp ctc`` with ``Anchors: HM``). Points are stored in ``<out>/points/<variant>/`` and
reused. The report (``<out>/report.md``) is what chose EncoderLib.base_layer_settings' defaults.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PSNR_TUNING = "psy-rd=0:psy-rdoq=0:aq-mode=0"
#: name -> (preset, extra x265 parameters, HM's QP cascade)
VARIANTS = {
    "medium": ("medium", "", True),
    "medium_psnr": ("medium", PSNR_TUNING, True),
    "slower_psnr": ("slower", PSNR_TUNING, True),
    "veryslow": ("veryslow", "", True),
    "veryslow_psnr": ("veryslow", PSNR_TUNING, True),
    "slower_psnr_constqp": ("slower", PSNR_TUNING, False),
    "veryslow_psnr_constqp": ("veryslow", PSNR_TUNING, False),
}
QPS = (35, 39, 43, 47, 51)
#: --base-layer: the HDAC-HF base layer alone (key picture at IntraQP 27, the CTC's BaseLayerQPs), cascade on / off
BASE_LAYER_QPS = (44, 46, 48, 50)
BASE_LAYER_INTRA_QP = 27


def _point(args):
    from EvalLib.anchor import code_anchor_point
    from Utilities.files import write_json
    import torch
    torch.set_num_threads(1)
    path, seq, name, qp, frames, intra_qp = args
    preset, params, cascade = VARIANTS[name]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    r = code_anchor_point(seq, "x265", qp, frames, {}, None, preset, params, cascade, intra_qp)
    r["rate_point"], r["config"] = qp, name
    write_json(path, r, "x265 study point")
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hm-points", default="", help="points folder of an EvalApp ctc run with the HM anchor")
    ap.add_argument("--out", default="results/x265_presets")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--sequence-list", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--base-layer", action="store_true", help="compare the variants as HDAC-HF base layers (key "
                    f"picture at IntraQP {BASE_LAYER_INTRA_QP}, QPs {BASE_LAYER_QPS}) with each other, not with HM")
    a = ap.parse_args(argv)
    from Utilities.files import write_text
    from Utilities.sequence_list import read_sequence_list
    from EvalLib.report import bd_table, fmt
    names = [v for v in a.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"x265_presets: unknown variant(s) {unknown} (choose {', '.join(VARIANTS)})")
    seqs = read_sequence_list(a.sequence_list, "test")
    results, todo = [], []
    qps, intra = (BASE_LAYER_QPS, BASE_LAYER_INTRA_QP) if a.base_layer else (QPS, None)
    for name in names:
        for s in seqs:
            for qp in qps:
                path = os.path.join(a.out, "points", name, f"{s['name']}_x265_{qp}_f{a.frames}.json")
                if os.path.exists(path):
                    r = json.load(open(path))
                    r["config"] = name
                    results.append(r)
                else:
                    todo.append((path, s, name, qp, a.frames, intra))
    with ProcessPoolExecutor(max(1, a.jobs)) as ex:
        results += list(ex.map(_point, todo))
    metrics = ["psnr_y", "ms_ssim_y"]
    if a.base_layer:
        return base_layer_report(a, names, results, metrics)
    hm = [dict(json.load(open(p)), config="HM") for p in glob.glob(os.path.join(a.hm_points, "*_HM_*.json"))]
    if not hm:
        raise SystemExit(f"x265_presets: no HM anchor points in {a.hm_points}")
    lines = ["# x265 settings against HM (test split)", "",
             f"Every test sequence, all pictures (up to {a.frames}), QPs {', '.join(map(str, QPS))}; low-delay P, "
             "ref=4; HM's QP cascade (GOP 8, offsets 5,4,5,4,5,4,5,1 + model offset, intra QP - 1) unless "
             "'constqp' (one QP, intra QP - 1). BD-rate (PCHIP) against HM 18.0's encoder_lowdelay_P_main.cfg at "
             "the same QPs; pictures/s: x265 encoding (and FFmpeg decoding) of 256x256 on one core of this "
             f"machine. Made by `python -m tools.studies.x265_presets`.", "",
             "| variant | preset | parameters | QP cascade | BD-rate PSNR-Y vs HM | BD-rate MS-SSIM vs HM | pictures/s |",
             "|---|---|---|---|---|---|---|"]
    for name in names:
        rs = [r for r in results if r["config"] == name]
        table, _, _ = bd_table(rs + hm, name, ["HM"], metrics)
        preset, params, cascade = VARIANTS[name]
        fps = sum(r["encode_fps"] for r in rs) / len(rs)
        lines.append(f"| {name} | {preset} | {params or '-'} | {'yes' if cascade else 'no'} | "
                     f"{fmt(table['HM']['psnr_y']['average'])} | {fmt(table['HM']['ms_ssim_y']['average'])} | "
                     f"{fps:.1f} |")
    write_text(os.path.join(a.out, "report.md"), "\n".join(lines) + "\n", "x265 study report")
    print("\n".join(lines))
    return 0


def base_layer_report(a, names, results, metrics) -> int:
    """The variants as HDAC-HF base layers: BD-rate of each against the first."""
    from Utilities.files import write_text
    from EvalLib.report import bd_table, fmt
    ref = names[0]
    lines = [f"# x265 variants as the HDAC-HF base layer (test split)", "",
             f"The base layer alone (decoded pictures against the source): key picture at IntraQP "
             f"{BASE_LAYER_INTRA_QP}, BaseLayerQPs {', '.join(map(str, BASE_LAYER_QPS))} (with the cascade: HM's "
             f"offsets around them), all pictures up to {a.frames}. BD-rate (PCHIP) against `{ref}`. Made by "
             "`python -m tools.studies.x265_presets --base-layer`.", "",
             f"| variant | QP cascade | BD-rate PSNR-Y vs {ref} | BD-rate MS-SSIM vs {ref} |", "|---|---|---|---|"]
    base = [dict(r, config=ref) for r in results if r["config"] == ref]
    for name in names[1:]:
        rs = [r for r in results if r["config"] == name]
        table, _, _ = bd_table(rs + base, name, [ref], metrics)
        lines.append(f"| {name} | {'yes' if VARIANTS[name][2] else 'no'} | {fmt(table[ref]['psnr_y']['average'])} | "
                     f"{fmt(table[ref]['ms_ssim_y']['average'])} |")
    write_text(os.path.join(a.out, "report.md"), "\n".join(lines) + "\n", "x265 base-layer study report")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
