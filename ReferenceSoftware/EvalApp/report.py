"""Tables (Markdown, CSV) and RD curves (PNG) of a CTC run, in the style of the paper's Table I."""
from __future__ import annotations

import csv
import math
import os

from EvalApp.bd_rate import bd_rate, overlap_fraction

CONFIG_ORDER = ("HDAC-HF", "HDAC+", "Animation-only", "HEVC")
METRIC_LABEL = {"psnr_y": "PSNR-Y", "ms_ssim_y": "MS-SSIM", "fsim": "FSIM", "msvgg": "msVGG", "lpips": "LPIPS",
                "dists": "DISTS"}
LOWER_IS_BETTER = {"msvgg", "lpips", "dists"}
MIN_OVERLAP = 0.5


def curves(results):
    """{(config, sequence): sorted list of points}"""
    out = {}
    for r in results:
        out.setdefault((r["config"], r["sequence"]), []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r["kbps"])
    return out


def bd_table(results, test: str, anchors, metrics, method="pchip"):
    """{anchor: {metric: {sequence: bd or nan, 'average': mean}}}, plus warnings."""
    cv = curves(results)
    seqs = sorted({r["sequence"] for r in results})
    table, warnings = {}, []
    for a in anchors:
        table[a] = {}
        for m in metrics:
            row = {}
            for s in seqs:
                t_pts, a_pts = cv.get((test, s)), cv.get((a, s))
                if not t_pts or not a_pts or len(t_pts) < 2 or len(a_pts) < 2 or m not in t_pts[0]:
                    row[s] = math.nan
                    continue
                sign = -1 if m in LOWER_IS_BETTER else 1      # BD-rate integrates over "higher is better"
                qa, qt = [sign * p[m] for p in a_pts], [sign * p[m] for p in t_pts]
                ov = overlap_fraction(qa, qt)
                if ov < MIN_OVERLAP:
                    warnings.append(f"{test} vs {a}, {METRIC_LABEL.get(m, m)}, {s}: quality ranges overlap "
                                    f"{100 * ov:.0f} % (< {100 * MIN_OVERLAP:.0f} %), BD-rate not reported")
                    row[s] = math.nan
                    continue
                try:
                    row[s] = bd_rate([p["kbps"] for p in a_pts], qa, [p["kbps"] for p in t_pts], qt, method)
                except Exception as e:  # degenerate curves (equal qualities)
                    warnings.append(f"{test} vs {a}, {m}, {s}: {e}")
                    row[s] = math.nan
            vals = [v for v in row.values() if not math.isnan(v)]
            row["average"] = sum(vals) / len(vals) if vals else math.nan
            table[a][m] = row
    return table, seqs, warnings


def fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.2f}"


def markdown_bd(table, seqs, metrics, test):
    lines = [f"BD-rate (%) of {test} against each anchor, PCHIP (negative = {test} needs fewer bits)", "",
             "| anchor | " + " | ".join(METRIC_LABEL.get(m, m) for m in metrics) + " |",
             "|---|" + "---|" * len(metrics)]
    for a, rows in table.items():
        lines.append(f"| {a} | " + " | ".join(fmt(rows[m]["average"]) for m in metrics) + " |")
    for a, rows in table.items():
        lines += ["", f"Per sequence, {test} vs {a}:", "",
                  "| sequence | " + " | ".join(METRIC_LABEL.get(m, m) for m in metrics) + " |",
                  "|---|" + "---|" * len(metrics)]
        for s in seqs + ["average"]:
            lines.append(f"| {s} | " + " | ".join(fmt(rows[m][s]) for m in metrics) + " |")
    return "\n".join(lines)


def write_points_csv(results, path, metrics):
    cols = ["config", "sequence", "rate_point", "frames", "kbps"] + list(metrics) + \
        ["base_psnr_y", "base_ms_ssim_y", "gfv_sei_kbps", "encode_fps"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in sorted(results, key=lambda r: (r["sequence"], CONFIG_ORDER.index(r["config"]), r["kbps"])):
            w.writerow([r.get(c, "") if not isinstance(r.get(c), float) else f"{r[c]:.6f}" for c in cols])


def write_bd_csv(table, seqs, metrics, path, test):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["test", "anchor", "sequence"] + list(metrics))
        for a, rows in table.items():
            for s in seqs + ["average"]:
                w.writerow([test, a, s] + [f"{rows[m][s]:.4f}" for m in metrics])


def plot_rd(results, metrics, out_dir) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cv = curves(results)
    files = []
    for s in sorted({r["sequence"] for r in results}):
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4))
        axes = [axes] if len(metrics) == 1 else axes
        for ax, m in zip(axes, metrics):
            for c in CONFIG_ORDER:
                pts = cv.get((c, s))
                if pts and m in pts[0]:
                    ax.plot([p["kbps"] for p in pts], [p[m] for p in pts], marker="o", label=c)
            ax.set_xlabel("rate (kbps)")
            ax.set_ylabel(METRIC_LABEL.get(m, m))
            ax.grid(True, alpha=0.3)
        axes[0].legend()
        fig.suptitle(s)
        fig.tight_layout()
        f = os.path.join(out_dir, f"rd_{s}.png")
        fig.savefig(f, dpi=90)
        plt.close(fig)
        files.append(f)
    return files
