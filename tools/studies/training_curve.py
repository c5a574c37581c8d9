"""Learning curves of training runs: validation gain over the base layer against samples seen.

    python -m tools.studies.training_curve training/runs/hdac_hf_x265 [training/runs/...] --OutputDir doc/results/training

Reads each run's ``curve.json`` (written by TrainerApp with its state) and writes ``curves.md`` (one table per
run: samples, then generated PSNR-Y minus base-layer PSNR-Y per validation QP pair and keypoint mode, and the
generated / base-layer MS-SSIM) and ``curves.png`` (the PSNR-Y gains against samples, every run in one
figure), so that the model card shows the curves as they grow slice after slice.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def read_curve(run_dir: str) -> tuple[str, list]:
    path = os.path.join(run_dir, "curve.json")
    if not os.path.isfile(path):
        raise SystemExit(f"training_curve: error: '{path}' does not exist (not a TrainerApp run folder?)")
    with open(path) as f:
        data = json.load(f)
    return os.path.basename(os.path.normpath(run_dir)), data["curve"]


def curve_table(name: str, curve: list) -> str:
    if not curve:
        return f"### {name}\n\n(no validation point yet)\n"
    cols = [(mode, pair) for mode, v in curve[0]["val"].items() for pair in v]
    head = "| samples | " + " | ".join(f"{m} {p}: gain dB / MS-SSIM gen (base) [/ warped key PSNR-Y]"
                                      for m, p in cols) + " |"
    lines = [f"### {name}", "", head, "|---" * (len(cols) + 1) + "|"]
    for point in curve:
        cells = []
        for m, p in cols:
            r = point["val"][m][p]
            w = f" / warped key {r['warped_key_psnr_y']:.2f}" if "warped_key_psnr_y" in r else ""
            cells.append(f"{r['gain_psnr_y']:+.3f} / {r['gen_ms_ssim']:.4f} ({r['base_ms_ssim']:.4f}){w}")
        lines.append(f"| {point['samples']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(curves: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    styles = ["-", "--", ":", "-."]
    for k, (name, curve) in enumerate(curves.items()):
        if not curve:
            continue
        v = curve[0]["val"]
        mode = "derived" if "derived" in v else next(iter(v))      # what the default decoder does, if recorded
        colour = f"C{k % 10}"
        for j, pair in enumerate(v[mode]):
            xs = [p["samples"] for p in curve]
            ys = [p["val"][mode][pair]["gain_psnr_y"] for p in curve]
            ax.plot(xs, ys, marker="o", markersize=3, color=colour, linestyle=styles[j % len(styles)],
                    label=f"{name} {pair} ({mode})")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("PSNR-Y generated - base layer (dB)")
    ax.set_title("Validation (held-out training clips, whole pictures, float network)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders (TrainerApp OutputDir)")
    ap.add_argument("--OutputDir", default="doc/results/training")
    a = ap.parse_args(argv)
    from Utilities.files import write_text
    curves = dict(read_curve(r) for r in a.runs)
    os.makedirs(a.OutputDir, exist_ok=True)
    text = ["# Learning curves", "", "Made by `python -m tools.studies.training_curve " + " ".join(a.runs) + "` from each "
            "run's `curve.json`. Gain = generated minus base-layer PSNR-Y of the float network (no residual "
            "scaling) on the held-out training clips, whole pictures; keypoints sent (detected on the source "
            "pictures) or derived (detected on the decoded pictures, as the default decoder does).", "",
            "![curves](curves.png)", ""]
    text += [curve_table(n, c) for n, c in curves.items()]
    write_text(os.path.join(a.OutputDir, "curves.md"), "\n".join(text), "learning curves")
    plot(curves, os.path.join(a.OutputDir, "curves.png"))
    print(f"training_curve: wrote {a.OutputDir}/curves.md and curves.png ({len(curves)} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
