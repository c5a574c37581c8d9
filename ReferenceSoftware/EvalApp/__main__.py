"""python -m EvalApp <command> [options]

Commands:
  ctc      common test conditions: HDAC-HF, HDAC+, animation-only and the HEVC anchor on the
           test sequences, metrics, BD-rates, report (``--quick``: the small CI profile)
  bdrate   BD-rate / BD-metric of two CSV files of rate points (ANCHOR.csv TEST.csv)
  gates    quality gates of the shipped models (generated vs base layer, HDAC-HF vs HDAC+)
"""
from __future__ import annotations

import json
import os
import sys

from CommonLib.app_config import Option, flag, int_list, resolve_resource
from CommonLib.app_main import run_app

GATES_OPTIONS = [
    Option("SequenceList", str, "../shared/sequences/sequences.yaml", "YAML sequence list (split 'test' is used)"),
    Option("Sequences", str, "", "comma-separated sequence names (empty = all test sequences)"),
    Option("HdacHfModel", str, "resource:models/hdac_hf_small_v2.hfim", "HDAC-HF integer model"),
    Option("HdacPlusModel", str, "resource:models/hdac_plus_small_v2.hfim", "HDAC+ integer model"),
    Option("BaseLayerQPs", str, "50,44", "comma-separated base-layer QPs"),
    Option("IntraQP", int, 27, "QP of the key picture"),
    Option("Frames", int, 250, "pictures per sequence (at most)"),
    Option("Metrics", str, "psnr_y,ms_ssim_y", "metrics of the generated pictures"),
    Option("OutputDir", str, "results/ctc", "results folder (resumable; shared with EvalApp ctc)"),
    Option("Jobs", int, 2, "parallel processes"),
    flag("Progress", 1, "progress bar"),
]


def run_gates_cmd(cfg) -> int:
    from CommonLib.errors import ConfigError
    from CommonLib.sequence_list import read_sequence_list
    from EvalApp.ctc import run_ctc
    from EvalApp.gates import gates_table
    for name in ("HdacHfModel", "HdacPlusModel"):
        if not os.path.isfile(resolve_resource(getattr(cfg, name))):
            raise ConfigError(f"{name} '{getattr(cfg, name)}' does not exist")
    names = [n for n in cfg.Sequences.split(",") if n]
    seqs = read_sequence_list(resolve_resource(cfg.SequenceList), "test", names)
    opts = dict(base_qps=int_list("BaseLayerQPs", cfg.BaseLayerQPs), intra_qp=cfg.IntraQP, animation_intra_qps=[],
                anchor_qps=[], hf_model=cfg.HdacHfModel, plus_model=cfg.HdacPlusModel, frames=cfg.Frames,
                metrics=[m for m in cfg.Metrics.split(",") if m], out_dir=cfg.OutputDir, jobs=max(1, cfg.Jobs),
                configs=("HDAC-HF", "HDAC+"))
    results = run_ctc(seqs, opts, bool(cfg.Progress))
    table = gates_table(results)
    with open(os.path.join(cfg.OutputDir, "gates.md"), "w") as f:
        f.write(table)
    print(table)
    return 0


CTC_OPTIONS = [
    Option("SequenceList", str, "../shared/sequences/sequences.yaml", "YAML sequence list (split 'test' is used)"),
    Option("Sequences", str, "", "comma-separated sequence names (empty = all test sequences)"),
    Option("Frames", int, 250, "pictures per sequence (at most)"),
    Option("HdacHfModel", str, "resource:models/hdac_hf_small_v2.hfim", "HDAC-HF integer model"),
    Option("HdacPlusModel", str, "resource:models/hdac_plus_small_v2.hfim", "HDAC+ integer model"),
    Option("BaseLayerQPs", str, "44,46,48,50", "HDAC-HF / HDAC+ rate points"),
    Option("IntraQP", int, 27, "key-picture QP of the HDAC-HF / HDAC+ points"),
    Option("AnimationIntraQPs", str, "22,27,32,37", "animation-only rate points (key-picture QPs)"),
    Option("AnchorQPs", str, "37,41,45,49", "HEVC anchor rate points (base QP of HM's low-delay P cascade)"),
    Option("Metrics", str, "psnr_y,ms_ssim_y,fsim", "metrics: psnr_y, ms_ssim_y, fsim, and with local weight files "
           "msvgg, lpips, dists"),
    Option("Vgg19Weights", str, "", "VGG19 weights (torchvision names) for msvgg"),
    Option("Vgg16Weights", str, "", "VGG16 weights (torchvision names) for lpips and dists"),
    Option("LpipsWeights", str, "", "LPIPS v0.1 lin-layer weights (the lpips package's weights/v0.1/vgg.pth)"),
    Option("DistsWeights", str, "", "DISTS alpha/beta weights (the DISTS package's weights.pt)"),
    Option("BdMethod", str, "pchip", "BD interpolation", choices=("pchip", "cubic", "akima")),
    Option("OutputDir", str, "results/ctc", "results folder (resumable)"),
    Option("Jobs", int, 2, "parallel processes"),
    flag("Quick", 0, "quick profile: 2 sequences, 16 pictures, 2 rate points per configuration"),
    flag("MeasureSpeed", 1, "measure encoder / decoder speed and peak memory on the embedded clip"),
    flag("Progress", 1, "progress bar"),
]
QUICK = {"Sequences": "ctc01_lp_d6,ctc04_hdtf_aoc", "Frames": 16, "BaseLayerQPs": "44,50",
         "AnimationIntraQPs": "22,32", "AnchorQPs": "37,45"}




def run_ctc_cmd(cfg) -> int:
    import datetime
    import subprocess

    from CommonLib.errors import ConfigError
    from CommonLib.sequence_list import read_sequence_list
    from EvalApp.ctc import run_ctc
    from EvalApp.report import bd_table, markdown_bd, plot_rd, write_bd_csv, write_points_csv
    values = cfg.as_dict()
    if cfg.Quick:
        for k, v in QUICK.items():
            values[k] = v
        if cfg.OutputDir == "results/ctc":
            values["OutputDir"] = "results/ctc_quick"
    metrics = [m for m in values["Metrics"].split(",") if m]
    from EvalApp.ctc import METRICS, metric_functions
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad} (choose from {', '.join(METRICS)})")
    weights = {k: values[k] for k in ("Vgg19Weights", "Vgg16Weights", "LpipsWeights", "DistsWeights")}
    metric_functions(metrics, weights)       # fails early, with a clear message, on a missing weight file
    opts = dict(base_qps=int_list("BaseLayerQPs", values["BaseLayerQPs"]), intra_qp=values["IntraQP"],
                animation_intra_qps=int_list("AnimationIntraQPs", values["AnimationIntraQPs"]),
                anchor_qps=int_list("AnchorQPs", values["AnchorQPs"]), hf_model=values["HdacHfModel"],
                plus_model=values["HdacPlusModel"], frames=values["Frames"], metrics=metrics,
                out_dir=values["OutputDir"], jobs=max(1, values["Jobs"]), weights=weights)
    for name in ("HdacHfModel", "HdacPlusModel"):
        if not os.path.isfile(resolve_resource(values[name])):
            raise ConfigError(f"{name} '{values[name]}' does not exist")
    names = [n for n in values["Sequences"].split(",") if n]
    seqs = read_sequence_list(resolve_resource(values["SequenceList"]), "test", names)
    os.makedirs(opts["out_dir"], exist_ok=True)
    results = run_ctc(seqs, opts, bool(cfg.Progress))
    out = opts["out_dir"]
    write_points_csv(results, os.path.join(out, "points.csv"), metrics)
    anchors = ["HEVC", "HDAC+", "Animation-only"]
    table, seq_names, warnings = bd_table(results, "HDAC-HF", anchors, metrics, values["BdMethod"])
    write_bd_csv(table, seq_names, metrics, os.path.join(out, "bd_rate_hdac_hf.csv"), "HDAC-HF")
    plus_table, _, plus_warn = bd_table(results, "HDAC+", ["HEVC"], metrics, values["BdMethod"])
    plots = plot_rd(results, metrics, out)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    speed = measure_speed() if values["MeasureSpeed"] else None
    meta = {"cfg": values, "commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "speed": speed}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
    md = [f"# HDAC-HF common test conditions{' (quick profile)' if cfg.Quick else ''}", "",
          f"Software commit `{commit}`; {len(seq_names)} sequences, up to {opts['frames']} pictures each; "
          f"metrics {', '.join(metrics)}; BD method {values['BdMethod']}. cfg: `meta.json`; all points: "
          "`points.csv`; BD-rates: `bd_rate_hdac_hf.csv`.", "",
          "HDAC-HF and HDAC+: key picture at IntraQP " + str(opts["intra_qp"]) + ", base-layer QPs "
          + ", ".join(map(str, opts["base_qps"])) + "; rate = every byte of the bitstream. Animation-only: the "
          "HDAC-HF model without fusion, key-picture QPs " + ", ".join(map(str, opts["animation_intra_qps"]))
          + "; rate = key pictures + GFV SEI. HEVC: x265 low-delay P with HM's QP cascade, QPs "
          + ", ".join(map(str, opts["anchor_qps"])) + ".", "", "## BD-rates", "",
          markdown_bd(table, seq_names, metrics, "HDAC-HF"), "", markdown_bd(plus_table, seq_names, metrics, "HDAC+")]
    if warnings or plus_warn:
        md += ["", "Warnings:", ""] + [f"* {w}" for w in warnings + plus_warn]
    md += ["", "## Rate points", "", "| config | sequence | rate point | kbps | " +
           " | ".join(metrics) + " |", "|---|---|---|---|" + "---|" * len(metrics)]
    for r in sorted(results, key=lambda r: (r["sequence"], r["config"], r["kbps"])):
        md.append(f"| {r['config']} | {r['sequence']} | {r['rate_point']} | {r['kbps']:.2f} | " +
                  " | ".join(f"{r[m]:.4f}" for m in metrics) + " |")
    if speed:
        md += ["", "## Speed and memory (256x256, this machine)", "", "| app | pictures/s | peak memory (MiB) |",
               "|---|---|---|"] + [f"| {k} | {v['fps']:.2f} | {v['peak_mib']:.0f} |" for k, v in speed.items()]
    md += ["", "## RD curves", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in plots]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(markdown_bd(table, seq_names, metrics, "HDAC-HF").split("\n\nPer sequence")[0])
    for w in warnings:
        print(f"EvalApp: warning: {w}", file=sys.stderr)
    print(f"EvalApp: report written to {os.path.join(out, 'report.md')}")
    return 0


def measure_speed() -> dict:
    """Encoder and decoder pictures/s and peak memory on the embedded clip, each in its own process."""
    import re
    import subprocess
    import tempfile
    code = ("import resource, sys; from {app}.__main__ import main; rc = main(sys.argv[1:]); "
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    out = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as d:
        bs = os.path.join(d, "s.bin")
        runs = {"EncoderApp": ["-b", bs, "--Progress", "0", "--Verbose", "0"],
                "DecoderApp": ["-b", bs, "-o", os.path.join(d, "d.yuv"), "--Verbose", "0"]}
        for app, args in runs.items():
            p = subprocess.run([sys.executable, "-c", code.format(app=app), *args], capture_output=True, text=True,
                               env=env)
            if p.returncode != 0:
                return {"error": p.stderr.strip().splitlines()[-1:]}
            fps = re.findall(r"([0-9.]+) pictures/s", p.stdout)
            peak = re.findall(r"PEAK_KB (\d+)", p.stdout)
            out[app] = {"fps": float(fps[-1]), "peak_mib": int(peak[-1]) / 1024}
    return out


def run_bdrate_cmd(argv) -> int:
    """python -m EvalApp bdrate ANCHOR.csv TEST.csv [--metric psnr_y] [--method pchip]"""
    from CommonLib.errors import ConfigError, HdacError
    from EvalApp.bd_rate import METHODS, bd_metric, bd_rate, overlap_fraction
    try:
        pos = [a for a in argv if not a.startswith("--")]
        opts = dict(zip(argv[::1], argv[1::1]))
        metric, method = opts.get("--metric", "psnr_y"), opts.get("--method", "pchip")
        files = [a for a in pos if a not in (metric, method)]
        if len(files) != 2:
            raise ConfigError("usage: python -m EvalApp bdrate ANCHOR.csv TEST.csv [--metric NAME] [--method pchip|cubic|akima]")
        if method not in METHODS:
            raise ConfigError(f"unknown method '{method}' (choose {', '.join(METHODS)})")
        data = [_read_rd_csv(f, metric) for f in files]
        seqs = [s for s in data[0] if s in data[1]]
        if not seqs:
            raise ConfigError("the two files have no sequence in common")
        rates, bdq = [], []
        for s in seqs:
            (ra, qa), (rt, qt) = data[0][s], data[1][s]
            ov = overlap_fraction(qa, qt)
            if ov < 0.5:
                print(f"EvalApp: warning: {s}: the quality ranges overlap only {100 * ov:.0f} %", file=sys.stderr)
            r, q = bd_rate(ra, qa, rt, qt, method), bd_metric(ra, qa, rt, qt, method)
            rates.append(r)
            bdq.append(q)
            print(f"{s}: BD-rate {r:+.10f} %  BD-{metric} {q:+.10f}")
        if len(seqs) > 1:
            print(f"average: BD-rate {sum(rates) / len(rates):+.10f} %  BD-{metric} {sum(bdq) / len(bdq):+.10f}")
        return 0
    except HdacError as e:
        print(f"EvalApp bdrate: error: {e}", file=sys.stderr)
        return 1


def _read_rd_csv(path, metric):
    import csv
    from CommonLib.errors import ConfigError, InputError
    if not os.path.isfile(path):
        raise InputError(f"file '{path}' does not exist")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ConfigError(f"'{path}' has no rows")
    rate_col = "kbps" if "kbps" in rows[0] else "rate" if "rate" in rows[0] else None
    if rate_col is None or metric not in rows[0]:
        raise ConfigError(f"'{path}' needs columns 'kbps' (or 'rate') and '{metric}'")
    out = {}
    try:
        for r in rows:
            s = r.get("sequence", "all")
            out.setdefault(s, ([], []))
            out[s][0].append(float(r[rate_col]))
            out[s][1].append(float(r[metric]))
    except ValueError as e:
        raise ConfigError(f"'{path}': {e}") from None
    return out


COMMANDS = {"ctc": (CTC_OPTIONS, run_ctc_cmd), "gates": (GATES_OPTIONS, run_gates_cmd)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bdrate":
        return run_bdrate_cmd(argv[1:])
    argv = [a for x in argv for a in (["--Quick", "1"] if x == "--quick" else [x])]
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr if argv else sys.stdout)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"EvalApp: error: unknown command '{argv[0]}'", file=sys.stderr)
            return 1
        return 0 if argv else 1
    options, body = COMMANDS[argv[0]]
    return run_app(f"EvalApp {argv[0]}", options, argv[1:], body)


if __name__ == "__main__":
    sys.exit(main())
