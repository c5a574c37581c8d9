"""The CTC report: BD-rate tables against HM, VTM and x265 (Markdown, CSV), RD curves and the bit
breakdown (PNG), the rate points, in the style of the paper's Table I (doc/software_manual.md section 7)."""
from __future__ import annotations

import csv
import io
import math
import os

from Utilities.files import write_json, write_text
from EvalLib.anchor import ANCHOR_LABEL, ANCHORS
from EvalLib.bd_rate import bd_rate, overlap_fraction
from EvalLib.run_cost import cost_table
from CommonLib.syntax.bit_accounting import PART_LABEL, PARTS

METRIC_LABEL = {"psnr_y": "PSNR-Y", "ms_ssim_y": "MS-SSIM", "fsim": "FSIM", "msvgg": "msVGG", "lpips": "LPIPS",
                "dists": "DISTS"}
LOWER_IS_BETTER = {"msvgg", "lpips", "dists"}
MIN_OVERLAP = 0.5
COST_HEADING = "## What the run cost"


def label(config: str) -> str:
    """How a configuration is named in tables: anchors as ANCHOR_LABEL (x265 is not the JVET anchor)."""
    return ANCHOR_LABEL.get(config, config)


def config_order(configs) -> list[str]:
    """Test configurations first (HDAC-HF, HDAC+, animation-only), then the anchors HM, VTM, x265."""
    def key(c):
        if c in ANCHORS:
            return (3, ANCHORS.index(c), c)
        base = c.split(" ", 1)[1] if " " in c else ""
        return (0 if c.startswith("HDAC-HF") else 1 if c.startswith("HDAC+") else 2, base != "x265", c)
    return sorted(set(configs), key=key)


def curves(results):
    """{(config, sequence): points sorted by rate}"""
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
                if not t_pts or not a_pts or len(t_pts) < 2 or len(a_pts) < 2 or m not in t_pts[0] or m not in a_pts[0]:
                    row[s] = math.nan
                    continue
                sign = -1 if m in LOWER_IS_BETTER else 1      # BD-rate integrates over "higher is better"
                qa, qt = [sign * p[m] for p in a_pts], [sign * p[m] for p in t_pts]
                ov = overlap_fraction(qa, qt)
                if ov < MIN_OVERLAP:
                    warnings.append(f"{test} vs {label(a)}, {METRIC_LABEL.get(m, m)}, {s}: quality ranges overlap "
                                    f"{100 * ov:.0f} % (< {100 * MIN_OVERLAP:.0f} %), BD-rate not reported")
                    row[s] = math.nan
                    continue
                try:
                    row[s] = bd_rate([p["kbps"] for p in a_pts], qa, [p["kbps"] for p in t_pts], qt, method)
                except Exception as e:  # degenerate curves (equal qualities)
                    warnings.append(f"{test} vs {label(a)}, {m}, {s}: {e}")
                    row[s] = math.nan
            vals = [v for v in row.values() if not math.isnan(v)]
            row["average"] = sum(vals) / len(vals) if vals else math.nan
            table[a][m] = row
    return table, seqs, warnings


def fmt(v):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.2f}"


def _header(metrics, first):
    return [f"| {first} | " + " | ".join(METRIC_LABEL.get(m, m) for m in metrics) + " |",
            "|---|" + "---|" * len(metrics)]


def bd_section(tables, seqs, metrics, tests, anchor, title) -> list[str]:
    """One anchor: the average BD-rate of every test configuration, then per sequence."""
    lines = [f"### {title}", "", f"BD-rate (%) against {label(anchor)}, PCHIP (negative = fewer bits than "
             f"{label(anchor)} at equal quality)", ""] + _header(metrics, "configuration")
    for t in tests:
        lines.append(f"| {t} | " + " | ".join(fmt(tables[t][anchor][m]["average"]) for m in metrics) + " |")
    for t in tests:
        lines += ["", f"Per sequence, {t} vs {label(anchor)}:", ""] + _header(metrics, "sequence")
        for s in seqs + ["average"]:
            lines.append(f"| {s} | " + " | ".join(fmt(tables[t][anchor][m][s]) for m in metrics) + " |")
    return lines


def points_csv(results, metrics) -> str:
    cols = ["config", "sequence", "rate_point", "intra_qp", "frames", "kbps"] + list(metrics) + \
        ["base_psnr_y", "base_ms_ssim_y", "gfv_sei_kbps", "encode_fps"] + [f"kbps_{p}" for p in PARTS]
    order = config_order(r["config"] for r in results)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in sorted(results, key=lambda r: (r["sequence"], order.index(r["config"]), r["kbps"])):
        row = dict(r)
        for p in PARTS:
            row[f"kbps_{p}"] = r["bits"][p] / r["seconds"] / 1000 if "bits" in r and "seconds" in r else ""
        w.writerow([row.get(c, "") if not isinstance(row.get(c), float) else f"{row[c]:.6f}" for c in cols])
    return buf.getvalue()


def bd_csv(tables, seqs, metrics) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["test", "anchor", "sequence"] + list(metrics))
    for t, by_anchor in tables.items():
        for a, rows in by_anchor.items():
            for s in seqs + ["average"]:
                w.writerow([t, label(a), s] + [f"{rows[m][s]:.4f}" for m in metrics])
    return buf.getvalue()


def breakdown(results) -> dict:
    """{(config, rate point): {part: mean kbps over the sequences}} of points that carry ``bits`` (for
    animation-only without the base-layer P pictures, which its rate does not count)."""
    groups = {}
    for r in results:
        if "bits" in r and "seconds" in r:
            groups.setdefault((r["config"], r["rate_point"]), []).append(r)
    out = {k: {p: sum(r["bits"][p] / r["seconds"] / 1000 for r in rs) / len(rs) for p in PARTS}
           for k, rs in groups.items()}
    for (c, _), v in out.items():
        if c == "Animation-only":
            v["base"] = 0.0
    return out


def breakdown_table(bd: dict) -> list[str]:
    order = config_order(c for c, _ in bd)
    lines = ["| configuration | rate point | " + " | ".join(PART_LABEL[p] for p in PARTS) + " | total kbps |",
             "|---|---|" + "---|" * (len(PARTS) + 1)]
    for (c, rp) in sorted(bd, key=lambda k: (order.index(k[0]), k[1])):
        v = bd[(c, rp)]
        lines.append(f"| {label(c)} | {rp} | " + " | ".join(f"{v[p]:.2f}" for p in PARTS) +
                     f" | {sum(v.values()):.2f} |")
    return lines


def plot_breakdown(bd: dict, out_dir: str) -> str | None:
    """Stacked bars: mean kbps per part, one bar per (configuration, rate point)."""
    if not bd:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    order = config_order(c for c, _ in bd)
    keys = sorted(bd, key=lambda k: (order.index(k[0]), k[1]))
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(keys)), 4.5))
    bottom = [0.0] * len(keys)
    for p in PARTS:
        vals = [bd[k][p] for k in keys]
        ax.bar(range(len(keys)), vals, bottom=bottom, label=PART_LABEL[p])
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{label(c).split(' (')[0]} {rp}" for c, rp in keys], rotation=75, fontsize=7)
    ax.set_ylabel("kbps (mean over the sequences)")
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    f = os.path.join(out_dir, "bit_breakdown.png")
    fig.savefig(f, dpi=90)
    plt.close(fig)
    return f


def plot_rd(results, metrics, out_dir) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cv = curves(results)
    order = config_order(r["config"] for r in results)
    files = []
    for s in sorted({r["sequence"] for r in results}):
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4))
        axes = [axes] if len(metrics) == 1 else axes
        for ax, m in zip(axes, metrics):
            for c in order:
                pts = cv.get((c, s))
                if pts and m in pts[0]:
                    ax.plot([p["kbps"] for p in pts], [p[m] for p in pts], marker="o", label=label(c),
                            linestyle="--" if c in ANCHORS else "-")
            ax.set_xlabel("rate (kbps)")
            ax.set_ylabel(METRIC_LABEL.get(m, m))
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.suptitle(s)
        fig.tight_layout()
        f = os.path.join(out_dir, f"rd_{s}.png")
        fig.savefig(f, dpi=90)
        plt.close(fig)
        files.append(f)
    return files


def derived_keypoints_table(results, sent: str, derived: str, metrics) -> list[str]:
    """Rate saved and quality change of ``derived`` (KeypointTransmission never) against ``sent`` (always) at the
    same (sequence, rate point): kbps of both, rate change in %, metric change (derived - sent)."""
    by = {(r["config"], r["sequence"], r["rate_point"]): r for r in results}
    lines = ["| sequence | rate point | kbps sent / derived | rate | GFV SEI kbps sent / derived | " +
             " | ".join(f"{METRIC_LABEL.get(m, m)} change" for m in metrics) + " |",
             "|---|---|---|---|---|" + "---|" * len(metrics)]
    keys = sorted((s, rp) for c, s, rp in by if c == derived and (sent, s, rp) in by)
    for s, rp in keys + [("average", rp) for rp in sorted({rp for _, rp in keys})]:
        pairs = [(by[(sent, q, rp)], by[(derived, q, rp)]) for q, r in keys if r == rp and (s == "average" or q == s)]
        if not pairs:
            continue
        mean = lambda f: sum(f(a, b) for a, b in pairs) / len(pairs)  # noqa: E731
        ka, kb = mean(lambda a, b: a["kbps"]), mean(lambda a, b: b["kbps"])
        lines.append(f"| {s} | {rp} | {ka:.2f} / {kb:.2f} | {100 * (kb / ka - 1):+.1f} % | "
                     f"{mean(lambda a, b: a['gfv_sei_kbps']):.2f} / {mean(lambda a, b: b['gfv_sei_kbps']):.2f} | " +
                     " | ".join(f"{mean(lambda a, b: b[m] - a[m]):+.4f}" for m in metrics) + " |")
    return lines


#: Table I of the paper (HDAC-HF with Laplacian filter on a VTM 12 base layer, GFVC test set; BD-rate %, PSNR-Y and
#: MS-SSIM): against VVC, HEVC and HDAC+ (../shared/paper/HDAC-HF-paper.txt, section C)
PAPER_TABLE_I = {"VVC": (9.30, -21.66), "HEVC": (-38.42, -47.12), "HDAC+": (-6.82, -6.20)}
#: base-layer labels of EvalApp's VVC base layers
VVC_BASE_LAYERS = ("VVenC", "VTM")


def paper_comparison(tables, tests, metrics) -> list[str]:
    """The paper's Table I beside this run's BD-rates of HDAC-HF on a VVC base layer (PSNR-Y, MS-SSIM): against
    VTM low-delay B and P (the paper's VVC), HM (its HEVC) and HDAC+ on the same base layer."""
    if not {"psnr_y", "ms_ssim_y"} <= set(metrics):
        return []
    rows = []
    for t in tests:
        words = t.split(" ")
        if words[0] != "HDAC-HF" or words[-1] not in VVC_BASE_LAYERS:
            continue
        plus = f"HDAC+ {words[-1]}"
        for anchor, paper in (("VTM-LDB", "VVC"), ("VTM", "VVC"), ("HM", "HEVC"), (plus, "HDAC+")):
            if anchor in tables[t]:
                ours = " | ".join(fmt(tables[t][anchor][m]["average"]) for m in ("psnr_y", "ms_ssim_y"))
                ref = " | ".join(f"{v:+.2f}" for v in PAPER_TABLE_I[paper])
                rows.append(f"| {t} against {label(anchor)} | {ours} | {paper} | {ref} |")
    if not rows:
        return []
    return ["## Against the paper's Table I", "",
            "The paper's HDAC-HF (Laplacian filter) is trained and tested on a VTM 12 base layer at QPs 44..50 "
            "on the GFVC test set (VoxCeleb) against the GFVC anchors; this run's configuration beside it "
            "(BD-rate %, negative = fewer bits).", "",
            "| this run | PSNR-Y | MS-SSIM | paper: against | PSNR-Y | MS-SSIM |", "|---|---|---|---|---|---|"] + rows


def write_report(results, values: dict, metrics, meta: dict, out_dir: str, description: list[str]) -> str:
    """Every file of a CTC report in ``out_dir``; returns the summary (the average BD-rates against the first
    anchor) for the console."""
    method = values["BdMethod"]
    configs = config_order(r["config"] for r in results)
    anchors = [a for a in ANCHORS if a in configs]
    tests = [c for c in configs if c not in ANCHORS]
    models = [c for c in tests if c.startswith(("HDAC-HF", "HDAC+"))]
    tables, warnings = {}, []
    seqs = sorted({r["sequence"] for r in results})
    for t in tests:
        against = anchors + [c for c in tests if c != t]
        tables[t], _, w = bd_table(results, t, against, metrics, method)
        warnings += [x for x in w if any(f" vs {label(a)}," in x for a in anchors)]
    write_text(os.path.join(out_dir, "points.csv"), points_csv(results, metrics), "CTC points")
    write_text(os.path.join(out_dir, "bd_rate.csv"), bd_csv(tables, seqs, metrics), "CTC BD-rates")
    write_json(os.path.join(out_dir, "meta.json"), meta, "CTC meta data")
    plots = plot_rd(results, metrics, out_dir)
    bd = breakdown(results)
    bar = plot_breakdown(bd, out_dir)
    md = [f"# HDAC-HF common test conditions{' (quick profile)' if values.get('Quick') else ''}", "",
          f"Software commit `{meta['commit']}`; {len(seqs)} sequences, up to {values['Frames']} pictures each; "
          f"metrics {', '.join(metrics)}; BD method {method}. cfg: `meta.json`; all points: `points.csv`; "
          "BD-rates: `bd_rate.csv`.", ""] + description + ["", "## BD-rates", ""]
    titles = {"VTM-LDB": "Against VTM low-delay B (the anchor of the JVET GFVC CTC)",
              "HM": "Against HM (the JVET HEVC anchor)", "VTM": "Against VTM low-delay P (the JVET VVC anchor)",
              "x265": "Against x265 (not the JVET anchor)"}
    for a in anchors:
        md += bd_section(tables, seqs, metrics, tests, a, titles[a]) + [""]
    for base in sorted({c.split(" ", 1)[1] for c in models if " " in c}):
        hf, plus = f"HDAC-HF {base}", f"HDAC+ {base}"
        if hf in tests and plus in tests:
            md += bd_section({hf: tables[hf]}, seqs, metrics, [hf], plus,
                             f"HDAC-HF against HDAC+ on the {base} base layer") + [""]
    for base in sorted({c.split(" ", 1)[1] for c in models if c.startswith("HDAC-HF ") and " never " not in c}):
        sent, derived = f"HDAC-HF {base}", f"HDAC-HF never {base}"
        if sent in tests and derived in tests:
            md += bd_section({derived: tables[derived]}, seqs, metrics, [derived], sent,
                             f"Decoder-side keypoints against keypoints in every picture ({base} base layer)")
            md += ["", "Same bitstream settings, keypoints sent in every picture (always) or derived by the decoder "
                   "for every fused picture (never), per sequence and rate point:", ""]
            md += derived_keypoints_table(results, sent, derived, metrics) + [""]
    for t in models:
        if "Animation-only" in tests:
            md += bd_section({t: tables[t]}, seqs, metrics, [t], "Animation-only",
                             f"{t} against animation-only") + [""]
    comparison = paper_comparison(tables, tests, metrics)
    if comparison:
        md += comparison + [""]
    if warnings:
        md += ["Warnings:", ""] + [f"* {w}" for w in warnings] + [""]
    md += ["## Where the bits go", "", "Mean kbps over the sequences per part of the stream "
           "(CommonLib/syntax/bit_accounting.py: key picture = VCL NAL units of IRAP pictures; GFV SEI framing = start "
           "code, NAL unit header, payloadType / payloadSize and trailing bits of the SEI NAL units that carry "
           "the GFV SEI; other = parameter sets and other SEI).", ""] + breakdown_table(bd)
    if bar:
        md += ["", f"![bit breakdown]({os.path.basename(bar)})"]
    md += ["", "## Rate points", "", "| config | sequence | rate point | IntraQP | kbps | " +
           " | ".join(METRIC_LABEL.get(m, m) for m in metrics) + " |", "|---|---|---|---|---|" + "---|" * len(metrics)]
    for r in sorted(results, key=lambda r: (r["sequence"], configs.index(r["config"]), r["kbps"])):
        md.append(f"| {label(r['config'])} | {r['sequence']} | {r['rate_point']} | {r.get('intra_qp', '')} | "
                  f"{r['kbps']:.2f} | " + " | ".join(f"{r[m]:.4f}" for m in metrics) + " |")
    cost = cost_table(results, configs, label)
    if cost:
        md += ["", COST_HEADING, "", "Per configuration the seconds per picture each point recorded (its whole wall "
               "time: encoding, generation or decoding, metrics; one process per point), costed by the median, "
               "which points computed beside other work do not move.", ""] + cost
    speed = meta.get("speed")
    if speed and "error" not in speed:
        md += ["", "## Speed and memory (256x256, this machine)", "",
               f"The first {meta.get('speed_pictures', '')} pictures of the embedded clip, each app in its own process "
               "(x265 base layer unless named; always / never: KeypointTransmission). Measured after the points, "
               "on whatever else the machine was running.", "", "| app | pictures/s | peak memory (MiB) |",
               "|---|---|---|"] + [f"| {k} | {v['fps']:.2f} | {v['peak_mib']:.0f} |" for k, v in speed.items()]
    md += ["", "## RD curves", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in plots]
    from EvalLib.figure_crops import CROP, write_figures
    figures = write_figures(results, os.path.join(out_dir, "points"), out_dir)
    if figures:
        md += ["", "## Pictures", "", f"Per sequence the centre {CROP}x{CROP} samples of its middle picture: the "
               "original, the base layer and each configuration at the rate point nearest to the middle point of "
               "the first HDAC-HF configuration (kbps and PSNR-Y: the point's, over all its pictures); "
               "EvalLib/figure_crops.py.", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in figures]
    write_text(os.path.join(out_dir, "report.md"), "\n".join(md) + "\n", "CTC report")
    summary = []
    if anchors:
        a = anchors[0]
        summary = [f"BD-rate (%) against {label(a)}:"] + _header(metrics, "configuration") + \
            [f"| {t} | " + " | ".join(fmt(tables[t][a][m]["average"]) for m in metrics) + " |" for t in tests]
    return "\n".join(summary + [f"warning: {w}" for w in warnings])
