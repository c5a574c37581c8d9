"""python -m EvalApp <command> [options]

Commands:
  ctc      common test conditions: HDAC-HF, HDAC+, animation-only and the HEVC anchor on the
           test sequences, metrics, BD-rates, report (``--quick``: the small CI profile)
  bdrate   BD-rate / BD-metric of two CSV files of rate points (ANCHOR.csv TEST.csv)
  gates    quality gates of the shipped models (generated vs base layer, HDAC-HF vs HDAC+)
"""
from __future__ import annotations

import os
import sys

from Utilities.app_config import Option, flag, int_list, resolve_resource
from Utilities.app_main import run_app
from CommonLib.generation.model_registry import DEFAULT_HDAC_HF_MODEL, DEFAULT_HDAC_PLUS_MODEL
from EncoderLib.base_layer_settings import (HM_ENCODER, HM_ENCODER_CFG, VTM_ENCODER, VTM_ENCODER_CFG, VVENC_ENCODER,
                                           VVENC_PARAMS, VVENC_PRESET, X265_PARAMS, X265_PRESET)
from Utilities.common_options import sequence_list_option

COMMON_OPTIONS = [
    sequence_list_option("test"),
    Option("Sequences", str, "", "comma-separated sequence names (empty = all test sequences)"),
    Option("Frames", int, 250, "pictures per sequence (at most)"),
    Option("HdacHfModel", str, DEFAULT_HDAC_HF_MODEL, "HDAC-HF integer model"),
    Option("HdacPlusModel", str, DEFAULT_HDAC_PLUS_MODEL, "HDAC+ integer model"),
    Option("BaseLayerQPs", str, "44,46,48,50", "HDAC-HF / HDAC+ rate points (base-layer QPs)"),
    Option("IntraQPs", str, "27", "key-picture QP of each BaseLayerQP (one value: the same for all)"),
    Option("BaseLayerEncoders", str, "x265", "base layers of the HDAC-HF / HDAC+ points: x265, hm (HEVC), vtm, "
           "vvenc (VVC)"),
    Option("HdacPlusBaseLayerEncoders", str, "", "base layers of the HDAC+ points (a subset of BaseLayerEncoders; "
           "empty = all of them)"),
    X265_PRESET,
    X265_PARAMS,
    HM_ENCODER,
    HM_ENCODER_CFG,
    VTM_ENCODER,
    VTM_ENCODER_CFG,
    VVENC_ENCODER,
    VVENC_PRESET,
    VVENC_PARAMS,
    Option("Configs", str, "HDAC-HF,HDAC+,Animation-only", "test configurations: HDAC-HF, HDAC+, Animation-only "
           "(gates: the first two)"),
    Option("KeypointTransmissions", str, "always", "HDAC-HF's keypoint transmission modes: always, never, rd "
           "(EncoderApp KeypointTransmission; never / rd need a model with the integer keypoint detector)"),
    Option("OutputDir", str, "results/ctc", "results folder (resumable)"),
    Option("Jobs", int, 2, "parallel processes"),
    flag("Progress", 1, "progress bar"),
]

GATES_OPTIONS = COMMON_OPTIONS

CTC_OPTIONS = COMMON_OPTIONS + [
    Option("AnimationIntraQPs", str, "22,27,32,37", "animation-only rate points (key-picture QPs)"),
    Option("Anchors", str, "x265", "anchors: VTM-LDB (VTM low-delay B, the GFVC CTC anchor), HM, VTM (low-delay P; "
           "HM and VTM need their binaries), x265 (not the JVET anchor)"),
    Option("AnchorQPs", str, "35,39,43,47,51", "anchor rate points (base QP of the low-delay P cascade)"),
    Option("VtmLdbEncoderCfg", str, "", "VTM low-delay B cfg of the VTM-LDB anchor (empty = encoder_lowdelay_vtm.cfg "
           "of VtmEncoder's installation)"),
    Option("X265AnchorPreset", str, "medium", "x265 preset of the x265 anchor"),
    Option("X265AnchorParams", str, "", "extra x265 parameters of the x265 anchor (ref=4 is always set)"),
    Option("Metrics", str, "psnr_y,ms_ssim_y,fsim", "metrics: psnr_y, ms_ssim_y, ssim_y, fsim, and with local "
           "weight files msvgg, lpips, dists"),
    Option("Vgg19Weights", str, "", "VGG19 weights (torchvision names) for msvgg"),
    Option("Vgg16Weights", str, "", "VGG16 weights (torchvision names) for lpips and dists"),
    Option("LpipsWeights", str, "", "LPIPS v0.1 lin-layer weights (the lpips package's weights/v0.1/vgg.pth)"),
    Option("DistsWeights", str, "", "DISTS alpha/beta weights (the DISTS package's weights.pt)"),
    Option("BdMethod", str, "pchip", "BD interpolation", choices=("pchip", "cubic", "akima")),
    flag("Quick", 0, "quick profile: 2 sequences, 16 pictures, 2 rate points per configuration"),
    flag("MeasureSpeed", 1, "measure encoder / decoder speed and peak memory on the embedded clip"),
    Option("ListJobs", str, "", "write one self-contained shell command per missing point to this file and stop "
           "(run them with GNU parallel, xargs -P or a Slurm array, tools/slurm/ctc_array.sh; then the normal "
           "run finds every point done and writes the report)"),
    Option("Point", str, "", "compute this one point (its id: the points file name without .json) and stop"),
]
# BaseLayerEncoders / HdacPlusBaseLayerEncoders name -> the base layer's label in configurations, points and reports
BASE_LAYER_LABELS = {"x265": "x265", "hm": "HM", "vtm": "VTM", "vvenc": "VVenC"}

QUICK = {"Sequences": "ctc01_lp_d6,ctc04_hdtf_aoc", "Frames": 16, "BaseLayerQPs": "44,50", "IntraQPs": "27",
         "AnimationIntraQPs": "22,32", "AnchorQPs": "37,45"}


def ctc_options(values: dict, metrics: list[str], configs: list[str], anchors: list[str]) -> dict:
    """The run description of EvalLib.ctc from the cfg values (every check that needs no picture)."""
    from Utilities.errors import ConfigError
    from EncoderLib.base_layer_settings import ENCODER_CODEC, BaseLayerSettings
    from EncoderLib.jvet_encoder import jvet_encoder
    from EvalLib.anchor import JVET_ANCHORS
    for name in ("HdacHfModel", "HdacPlusModel"):
        if not os.path.isfile(resolve_resource(values[name])):
            raise ConfigError(f"{name} '{values[name]}' does not exist")
    base_qps = int_list("BaseLayerQPs", values["BaseLayerQPs"])
    intra_qps = int_list("IntraQPs", values["IntraQPs"])
    if len(intra_qps) == 1:
        intra_qps *= len(base_qps)
    if len(intra_qps) != len(base_qps):
        raise ConfigError(f"IntraQPs has {len(intra_qps)} values for {len(base_qps)} BaseLayerQPs")
    x265 = BaseLayerSettings("x265", x265_preset=values["X265Preset"], x265_params=values["X265Params"],
                             picture_hash=0)
    base_layers = {}
    for name in [b for b in values["BaseLayerEncoders"].split(",") if b]:
        if name not in BASE_LAYER_LABELS:
            raise ConfigError(f"BaseLayerEncoders: '{name}' is not one of {', '.join(BASE_LAYER_LABELS)}")
        if name == "x265":
            base_layers[BASE_LAYER_LABELS[name]] = x265
        else:
            offline = BaseLayerSettings(name, ENCODER_CODEC[name], hm_encoder=values["HmEncoder"],
                                        hm_cfg=values["HmEncoderCfg"], vtm_encoder=values["VtmEncoder"],
                                        vtm_cfg=values["VtmEncoderCfg"], vvenc_encoder=values["VvencEncoder"],
                                        vvenc_preset=values["VvencPreset"], vvenc_params=values["VvencParams"],
                                        picture_hash=0)
            offline.jvet_encoder().cache_dir = os.path.join(values["OutputDir"], f"{name}_base_layer_cache")
            base_layers[BASE_LAYER_LABELS[name]] = offline
    anchor_encoders = {}
    for a in anchors:
        if a in JVET_ANCHORS:
            codec, binary, cfg_opt, structure = JVET_ANCHORS[a]
            anchor_encoders[a] = jvet_encoder(codec, values[binary], values[cfg_opt], structure, cfg_opt)
        else:
            anchor_encoders[a] = None
    plus = [b for b in values.get("HdacPlusBaseLayerEncoders", "").split(",") if b]
    if any(BASE_LAYER_LABELS.get(b) not in base_layers for b in plus):
        raise ConfigError(f"HdacPlusBaseLayerEncoders '{values['HdacPlusBaseLayerEncoders']}': each must be one of "
                          f"BaseLayerEncoders '{values['BaseLayerEncoders']}'")
    plus_base_layers = [BASE_LAYER_LABELS[b] for b in plus] or list(base_layers)
    modes = [m for m in values.get("KeypointTransmissions", "always").split(",") if m]
    from EncoderLib.encoder import KEYPOINT_TRANSMISSIONS
    bad = [m for m in modes if m not in KEYPOINT_TRANSMISSIONS]
    if bad or not modes:
        raise ConfigError(f"KeypointTransmissions '{values.get('KeypointTransmissions')}': choose from "
                          f"{', '.join(KEYPOINT_TRANSMISSIONS)}")
    return dict(base_qps=base_qps, intra_qps=intra_qps, base_layers=base_layers, animation_base_layer=x265,
                keypoint_transmissions=modes, plus_base_layers=plus_base_layers,
                animation_intra_qps=int_list("AnimationIntraQPs", values.get("AnimationIntraQPs", "22"),
                                             allow_empty=True),
                anchor_qps=int_list("AnchorQPs", values.get("AnchorQPs", "37")), anchors=anchor_encoders,
                x265_anchor=(values.get("X265AnchorPreset", "medium"), values.get("X265AnchorParams", "")),
                hf_model=values["HdacHfModel"], plus_model=values["HdacPlusModel"], frames=values["Frames"],
                metrics=metrics, out_dir=values["OutputDir"], jobs=max(1, values["Jobs"]), configs=configs)


def _sequences(values):
    from Utilities.sequence_list import read_sequence_list
    names = [n for n in values["Sequences"].split(",") if n]
    return read_sequence_list(resolve_resource(values["SequenceList"]), "test", names)


def run_gates_cmd(cfg) -> int:
    from Utilities.files import write_text
    from EvalLib.ctc import run_ctc
    from EvalLib.gates import GATE_METRICS, gates_table
    values = cfg.as_dict()
    metrics = list(GATE_METRICS)
    configs = [c for c in cfg.Configs.split(",") if c in ("HDAC-HF", "HDAC+")]
    if not configs:
        from Utilities.errors import ConfigError
        raise ConfigError(f"Configs '{cfg.Configs}': gates measure HDAC-HF and / or HDAC+")
    opts = ctc_options(values, metrics, configs, [])
    results = run_ctc(_sequences(values), opts, bool(cfg.Progress))
    table = gates_table(results)
    write_text(os.path.join(cfg.OutputDir, "gates.md"), table, "gates table")
    print(table)
    return 0


def run_ctc_cmd(cfg) -> int:
    import datetime
    import subprocess

    from Utilities.errors import ConfigError
    from EvalLib.anchor import ANCHORS
    from EvalLib.ctc import METRICS, metric_functions, run_ctc
    from EvalLib.report import write_report
    values = cfg.as_dict()
    if values["ListJobs"] and values["Point"]:
        raise ConfigError("give ListJobs or Point, not both")
    if cfg.Quick:
        values.update(QUICK)
        if cfg.OutputDir == "results/ctc":
            values["OutputDir"] = "results/ctc_quick"
    metrics = [m for m in values["Metrics"].split(",") if m]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad} (choose from {', '.join(METRICS)})")
    weights = {k: values[k] for k in ("Vgg19Weights", "Vgg16Weights", "LpipsWeights", "DistsWeights")}
    metric_functions(metrics, weights)       # fails early, with a clear message, on a missing weight file
    configs = [c for c in values["Configs"].split(",") if c]
    unknown = [c for c in configs if c not in ("HDAC-HF", "HDAC+", "Animation-only")]
    anchors = [a for a in values["Anchors"].split(",") if a]
    unknown += [a for a in anchors if a not in ANCHORS]
    if unknown:
        raise ConfigError(f"unknown configuration(s) {unknown} (Configs: HDAC-HF, HDAC+, Animation-only; "
                          f"Anchors: {', '.join(ANCHORS)})")
    opts = ctc_options(values, metrics, configs, anchors)
    opts["weights"] = weights
    seqs = _sequences(values)
    os.makedirs(opts["out_dir"], exist_ok=True)
    if values["ListJobs"]:
        return list_jobs(values, seqs, opts)
    if values["Point"]:
        from EvalLib.ctc import run_one
        res, computed = run_one(seqs, opts, values["Point"])
        print(f"EvalApp: point {values['Point']} {'computed' if computed else 'was already stored'}")
        return 0
    results = run_ctc(seqs, opts, bool(cfg.Progress))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    speed = measure_speed(values["HmEncoder"] if "HM" in opts["base_layers"] else "") \
        if values["MeasureSpeed"] else None
    meta = {"cfg": values, "commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "speed": speed, "speed_pictures": SPEED_PICTURES,
            "base_layers": {k: v.identity() for k, v in opts["base_layers"].items()},
            "anchors": {k: (v.identity() if v is not None else "x265") for k, v in opts["anchors"].items()}}
    summary = write_report(results, values, metrics, meta, opts["out_dir"], ctc_description(opts, values))
    print(summary)
    print(f"EvalApp: report written to {os.path.join(opts['out_dir'], 'report.md')}")
    return 0


JOB_CFG = "ctc_jobs.yaml"


def list_jobs(values: dict, seqs, opts) -> int:
    """The job list: the run's options as one cfg file in OutputDir, and per missing point one line
    ``cd <here> && <python> -m EvalApp ctc -c <OutputDir>/ctc_jobs.yaml --Point <id>``."""
    import shlex

    import yaml

    from Utilities.files import write_text
    from EvalLib.ctc import missing_points, point_id
    out_dir = os.path.abspath(values["OutputDir"])
    job_values = {k: v for k, v in values.items() if k not in ("ListJobs", "Point", "Quick")}
    job_values.update(OutputDir=out_dir, Progress=0, MeasureSpeed=0)
    if os.path.exists(resolve_resource(job_values["SequenceList"])):
        job_values["SequenceList"] = os.path.abspath(resolve_resource(job_values["SequenceList"]))
    job_cfg = os.path.join(out_dir, JOB_CFG)
    write_text(job_cfg, "# EvalApp ctc: the options of a CTC run as a job list (EvalApp ctc --ListJobs); every job "
               "reads them\n" + yaml.safe_dump(job_values, sort_keys=False), "job cfg")
    todo = missing_points(seqs, opts)
    here = shlex.quote(os.getcwd())
    lines = [f"cd {here} && {shlex.quote(sys.executable)} -m EvalApp ctc -c {shlex.quote(job_cfg)} --Point "
             f"{shlex.quote(point_id(p))}" for p in todo]
    write_text(values["ListJobs"], "".join(line + "\n" for line in lines), "job list")
    print(f"EvalApp: {len(lines)} job(s) for the missing points written to {values['ListJobs']} (options in "
          f"{job_cfg}); run them, e.g. parallel -j N < {values['ListJobs']} or sbatch --array=1-{max(1, len(lines))} "
          f"tools/slurm/ctc_array.sh {values['ListJobs']}, then this command without ListJobs writes the report")
    return 0


def ctc_description(opts, values) -> list[str]:
    """The report's paragraph on how every configuration was coded."""
    pairs = ", ".join(f"{q}/{i}" for q, i in zip(opts["base_qps"], opts["intra_qps"]))
    lines = [f"HDAC-HF and HDAC+: (BaseLayerQP/IntraQP) {pairs}; rate = every byte of the bitstream; base layers: "
             + "; ".join(f"{k}: {v.describe()}" for k, v in opts["base_layers"].items()) + "."]
    if "Animation-only" in opts["configs"]:
        lines.append("Animation-only: the HDAC-HF model without fusion, key-picture QPs "
                     + ", ".join(map(str, opts["animation_intra_qps"])) + "; rate = key pictures + GFV SEI.")
    for a, enc in opts["anchors"].items():
        qps = ", ".join(map(str, opts["anchor_qps"]))
        if enc is None:
            lines.append(f"x265 (not the JVET anchor): constant-QP low-delay P with HM's QP cascade (one zone per "
                         f"picture), ref=4, preset {opts['x265_anchor'][0]}, QPs {qps}.")
        else:
            lines.append(f"{a}: {os.path.basename(enc.binary)} -c {os.path.basename(enc.cfg_file)} (IntraPeriod -1, "
                         f"the cfg's IntraQPOffset), QPs {qps}.")
    return [" ".join(lines)]


SPEED_PICTURES = 100


def measure_speed(hm_encoder: str = "") -> dict:
    """Encoder and decoder pictures/s and peak memory on the first SPEED_PICTURES pictures of the embedded clip,
    each in its own process.

    Rows: EncoderApp / DecoderApp with keypoints in every picture (KeypointTransmission always) and with
    decoder-side keypoints (never: the decoder runs the integer keypoint detector on every fused picture),
    both on the default x265 base layer, and EncoderApp on the HM base layer when ``hm_encoder`` is given."""
    import re
    import subprocess
    import tempfile
    code = ("import resource, sys; from {app}.__main__ import main; rc = main(sys.argv[1:]); "
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    out = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                       os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as d:
        runs = []
        for mode in ("always", "never"):
            bs = os.path.join(d, f"{mode}.bin")
            runs += [(f"EncoderApp x265 {mode}", "EncoderApp", ["-b", bs, "--KeypointTransmission", mode,
                                                                "--FramesToBeEncoded", str(SPEED_PICTURES)]),
                     (f"DecoderApp {mode}", "DecoderApp", ["-b", bs, "-o", os.path.join(d, "d.yuv")])]
        if hm_encoder:
            runs.append(("EncoderApp HM never", "EncoderApp", ["-b", os.path.join(d, "hm.bin"), "--BaseLayerEncoder",
                                                               "hm", "--HmEncoder", hm_encoder,
                                                               "--KeypointTransmission", "never",
                                                               "--FramesToBeEncoded", str(SPEED_PICTURES)]))
        for row, app, args in runs:
            p = subprocess.run([sys.executable, "-c", code.format(app=app), *args, "--Verbose", "0"]
                               + (["--Progress", "0"] if app == "EncoderApp" else []),
                               capture_output=True, text=True, env=env)
            if p.returncode != 0:
                return {"error": p.stderr.strip().splitlines()[-1:]}
            fps = re.findall(r"([0-9.]+) pictures/s", p.stdout)
            peak = re.findall(r"PEAK_KB (\d+)", p.stdout)
            out[row] = {"fps": float(fps[-1]), "peak_mib": int(peak[-1]) / 1024}
    return out


def run_bdrate_cmd(argv) -> int:
    """python -m EvalApp bdrate ANCHOR.csv TEST.csv [--metric psnr_y] [--method pchip]"""
    from Utilities.errors import ConfigError, HdacError
    from EvalLib.bd_rate import METHODS, bd_metric, bd_rate, overlap_fraction
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
    from Utilities.errors import ConfigError, InputError
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
