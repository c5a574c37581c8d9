"""Keypoint coordinate precision chosen by rate-distortion: the whole stream's rate and the generated pictures'
quality at several P, when keypoints are sent in every picture (KeypointTransmission always).

    python -m tools.studies.keypoint_precision_rd [--precisions 6,7,8] [--qps 44,50] [--intra-qps 32,32] [--frames 64]
        [--reference 8] [--jobs 2] [--out doc/results/keypoint_precision_rd.md]

doc/keypoint_precision.md chose P from the detector's jitter; this measures what a P costs and gives at the
CTC's operating points: every test sequence is coded by EncoderLib at each (P, BaseLayerQP) on the default x265
base layer with the default model, and each P is compared with the reference P by BD-rate (PCHIP over the
given QPs; with two QPs the interpolation is linear in log-rate) on the averages over the sequences.
"""
from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _code(args):
    seq, model, qp, iqp, frames, precision = args
    import torch
    torch.set_num_threads(1)
    from EvalLib.coding_point import code_hdac_point
    r = code_hdac_point(seq, model, qp, iqp, frames, precision=precision, keypoint_transmission="always")
    return dict(sequence=seq["name"], qp=qp, precision=precision, kbps=r["kbps"], sei=r["gfv_sei_kbps"],
                psnr_y=r["psnr_y"], ms_ssim_y=r["ms_ssim_y"])


def table(rows, precisions, qps, reference) -> list[str]:
    """Markdown: mean kbps / GFV SEI kbps / PSNR-Y / MS-SSIM per (P, QP), BD-rate against P = reference."""
    from EvalLib.bd_rate import bd_rate
    mean = {}
    for p in precisions:
        for q in qps:
            sel = [r for r in rows if r["precision"] == p and r["qp"] == q]
            mean[p, q] = {k: sum(r[k] for r in sel) / len(sel) for k in ("kbps", "sei", "psnr_y", "ms_ssim_y")}
    out = ["| P | " + " | ".join(f"QP {q}: kbps / GFV SEI kbps / PSNR-Y / MS-SSIM" for q in qps)
           + f" | BD-rate vs P={reference} PSNR-Y | MS-SSIM |", "|---|" + "---|" * (len(qps) + 2)]
    for p in precisions:
        cells = [f"{mean[p, q]['kbps']:.3f} / {mean[p, q]['sei']:.3f} / {mean[p, q]['psnr_y']:.3f} / "
                 f"{mean[p, q]['ms_ssim_y']:.4f}" for q in qps]
        bd = []
        for m in ("psnr_y", "ms_ssim_y"):
            bd.append(bd_rate([mean[reference, q]["kbps"] for q in qps], [mean[reference, q][m] for q in qps],
                              [mean[p, q]["kbps"] for q in qps], [mean[p, q][m] for q in qps]))
        out.append(f"| {p} | " + " | ".join(cells) + " | " + " | ".join(f"{b:+.2f} %" for b in bd) + " |")
    return out


def main(argv=None) -> int:
    from Utilities.app_config import int_list, resolve_resource
    from Utilities.files import write_text
    from CommonLib.generation.model_registry import DEFAULT_HDAC_HF_MODEL
    from Utilities.sequence_list import read_sequence_list
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", default=DEFAULT_SEQUENCE_LIST)
    ap.add_argument("--model", default=DEFAULT_HDAC_HF_MODEL)
    ap.add_argument("--precisions", default="6,7,8")
    ap.add_argument("--qps", default="44,50")
    ap.add_argument("--intra-qps", default="32,32")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--reference", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    precisions, qps = int_list("--precisions", a.precisions), int_list("--qps", a.qps)
    iqps = int_list("--intra-qps", a.intra_qps)
    if len(iqps) != len(qps) or a.reference not in precisions:
        ap.error("--intra-qps needs one value per QP and --reference must be one of --precisions")
    model = resolve_resource(a.model)
    jobs = [(s, model, q, i, a.frames, p) for s in read_sequence_list(a.list, "test") for p in precisions
            for q, i in zip(qps, iqps)]
    with ProcessPoolExecutor(max(1, a.jobs)) as ex:
        rows = list(ex.map(_code, jobs))
    lines = [f"Model {os.path.basename(model)}, x265 base layer (defaults), KeypointTransmission always, first "
             f"{a.frames} pictures of each test sequence, (BaseLayerQP/IntraQP) "
             + ", ".join(f"{q}/{i}" for q, i in zip(qps, iqps)) + "; means over the sequences.", ""]
    lines += table(rows, precisions, qps, a.reference)
    lines += ["", "| sequence | " + " | ".join(f"P={p} QP {q} kbps / PSNR-Y" for p in precisions for q in qps) + " |",
              "|---|" + "---|" * (len(precisions) * len(qps))]
    for name in dict.fromkeys(r["sequence"] for r in rows):
        cells = []
        for p in precisions:
            for q in qps:
                (r,) = [r for r in rows if r["sequence"] == name and r["precision"] == p and r["qp"] == q]
                cells.append(f"{r['kbps']:.3f} / {r['psnr_y']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if a.out:
        write_text(a.out, text, "precision report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
