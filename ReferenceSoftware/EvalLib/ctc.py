"""Common test conditions: every configuration at every rate point on every sequence.

Configurations (doc/software_manual.md section 7):

* ``HDAC-HF x265``, ``HDAC-HF HM``  the HDAC-HF model on an x265 / HM base layer, rate points
  (BaseLayerQP, IntraQP) (rate: the whole bitstream);
* ``HDAC+ x265``, ``HDAC+ HM``      the HDAC+ model (no HF shuttling), same points;
* ``Animation-only``                the HDAC-HF model without base-layer fusion, key-picture QPs as
  rate points (rate: key pictures + GFV SEI; the base-layer P pictures are not needed by such a
  decoder);
* anchors ``HM``, ``VTM``, ``x265`` (EvalLib.anchor).

Each finished point is a JSON file in ``<OutputDir>/points``; a rerun reuses a stored point only when
it was made the same way: same model (SHA-256), base-layer settings (for HM: its binary's and cfg's
SHA-256), key-picture QP and metrics; for anchors the same binary and cfg (or x265 settings).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from Utilities.app_config import resolve_resource
from Utilities.files import sha256_file, write_json

METRICS = ("psnr_y", "ms_ssim_y", "ssim_y", "fsim", "msvgg", "lpips", "dists")
MODEL_CONFIGS = ("HDAC-HF", "HDAC+")
ANIMATION = "Animation-only"


def metric_functions(names, weights: dict | None = None):
    """name -> f(reference_rgb, distorted_rgb); ``weights``: Vgg19Weights / Vgg16Weights / LpipsWeights / DistsWeights."""
    from Utilities.metrics import ms_ssim_y, psnr_y
    from EvalLib.perceptual import perceptual_metrics
    from Utilities.metrics import ssim_y
    table = {"psnr_y": psnr_y, "ms_ssim_y": ms_ssim_y, "ssim_y": ssim_y}
    if "fsim" in names:
        from EvalLib.fsim import fsim
        table["fsim"] = fsim
    w = weights or {}
    table.update(perceptual_metrics(names, w.get("Vgg19Weights", ""), w.get("Vgg16Weights", ""),
                                    w.get("LpipsWeights", ""), w.get("DistsWeights", "")))
    return {k: table[k] for k in names if k in table}


def config_name(model_config: str, base_layer: str, transmission: str = "always") -> str:
    """'HDAC-HF' on base layer 'x265' -> 'HDAC-HF x265'; with decoder-side keypoints 'HDAC-HF never x265'."""
    return f"{model_config}{'' if transmission == 'always' else ' ' + transmission} {base_layer}"


def plan_points(seqs, opts) -> list[dict]:
    """Every (configuration, sequence, rate point) of ``opts``.

    opts: base_qps, intra_qps (one per base QP), animation_intra_qps, anchor_qps, hf_model, plus_model,
    frames, out_dir, configs (model configurations and/or 'Animation-only'), base_layers (name ->
    BaseLayerSettings), plus_base_layers (names of base_layers for HDAC+; absent = all), anchors (name -> JvetEncoder, or None for x265), x265_anchor (preset, params)."""
    pts = []
    models = {"HDAC-HF": opts["hf_model"], "HDAC+": opts["plus_model"]}
    for s in seqs:
        for mc in MODEL_CONFIGS:
            if mc not in opts["configs"]:
                continue
            for bl_name, bl in opts["base_layers"].items():
                if mc == "HDAC+" and bl_name not in opts.get("plus_base_layers", opts["base_layers"]):
                    continue
                for kt in opts.get("keypoint_transmissions", ["always"]) if mc == "HDAC-HF" else ["always"]:
                    for qp, iqp in zip(opts["base_qps"], opts["intra_qps"]):
                        pts.append(dict(kind="hdac", config=config_name(mc, bl_name, kt), seq=s, model=models[mc],
                                        qp=qp, intra_qp=iqp, fusion=True, base_layer=bl, rate_point=qp,
                                        keypoint_transmission=kt))
        if ANIMATION in opts["configs"]:
            for iqp in opts["animation_intra_qps"]:
                pts.append(dict(kind="hdac", config=ANIMATION, seq=s, model=opts["hf_model"], qp=51, intra_qp=iqp,
                                fusion=False, base_layer=opts["animation_base_layer"], rate_point=iqp,
                                keypoint_transmission="always"))
        for name, enc in opts["anchors"].items():
            for qp in opts["anchor_qps"]:
                pts.append(dict(kind="anchor", config=name, seq=s, qp=qp, encoder=enc, rate_point=qp,
                                x265=opts.get("x265_anchor", ("medium", ""))))
    for p in pts:
        tag = p["config"].replace(" ", "_")
        iq = f"_i{p['intra_qp']}" if p["kind"] == "hdac" and p["config"] != ANIMATION else ""
        p["file"] = os.path.join(opts["out_dir"], "points", f"{p['seq']['name']}_{tag}_{p['rate_point']}{iq}"
                                 f"_f{opts['frames']}.json")
    return pts


def run_point(p, frames, metric_names, weights=None, threads=1) -> dict:
    """Compute and store one point: its JSON file and the crops of its picture (EvalLib.figure_crops)."""
    import torch

    from EvalLib.figure_crops import figure_picture, save_crops
    torch.set_num_threads(threads)
    counts = [c for c in (frames, p["seq"].get("frames", 0)) if c]
    keep = figure_picture(min(counts)) if counts else None
    metrics = metric_functions(metric_names, weights)
    extra = {k: f for k, f in metrics.items() if k not in ("psnr_y", "ms_ssim_y")}
    if p["kind"] == "anchor":
        from EvalLib.anchor import code_anchor_point
        res = code_anchor_point(p["seq"], "x265" if p["encoder"] is None else p["config"], p["qp"], frames, extra,
                                p["encoder"], *p["x265"], keep_picture=keep)
    else:
        from EvalLib.coding_point import code_hdac_point
        res = code_hdac_point(p["seq"], resolve_resource(p["model"]), p["qp"], p["intra_qp"], frames,
                              fusion=p["fusion"], metrics=extra, base_layer=p["base_layer"],
                              keypoint_transmission=p["keypoint_transmission"], keep_picture=keep)
        if p["config"] == ANIMATION:
            res["kbps_bitstream"], res["kbps"] = res["kbps"], res["kbps_animation"]
    res["rate_point"], res["config"], res["point_id"] = p["rate_point"], p["config"], point_id(p)
    pictures = res.pop("pictures", None)
    if pictures is not None:
        save_crops(p["file"], pictures[0], pictures[1], pictures[2], f"{p['seq']['name']}_source_f{res['frames']}.png")
    write_json(p["file"], res, "CTC point")
    return res


def _run(args):
    return run_point(*args)


class _Identities:
    """SHA-256 of model files and identities of encoders, computed once per run."""

    def __init__(self):
        self.cache = {}

    def model(self, path):
        path = resolve_resource(path)
        if path not in self.cache:
            self.cache[path] = sha256_file(path) if os.path.isfile(path) else None
        return self.cache[path]

    def of(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def _stored_point(p, ids: _Identities, metrics=()):
    """The stored result of a point, or None when absent or made otherwise than the cfg says (another model,
    base layer, key-picture QP or encoder) or without one of the metrics asked for (e.g. a point of
    ``EvalApp gates``, which measures no FSIM) or without the bit breakdown."""
    if not os.path.exists(p["file"]):
        return None
    with open(p["file"]) as f:
        res = json.load(f)
    if any(m not in res for m in list(metrics) + ["bits"]):
        return None
    if p["kind"] == "anchor":
        if p["encoder"] is None:
            from EvalLib.anchor import x265_anchor_identity
            want = ids.of(("x265",) + tuple(p["x265"]), lambda: x265_anchor_identity(*p["x265"]))
        else:
            want = ids.of(id(p["encoder"]), p["encoder"].identity)
        return res if res.get("anchor_encoder") == want else None
    if res.get("model_sha256") != ids.model(p["model"]) or res.get("intra_qp") != p["intra_qp"] or \
            res.get("keypoint_transmission", "always") != p["keypoint_transmission"]:
        return None
    bl = p["base_layer"]
    return res if res.get("base_layer") == ids.of(id(bl), bl.identity) else None


def point_id(p) -> str:
    """The stable id of a point: its file name in ``<OutputDir>/points`` without ``.json``."""
    return os.path.splitext(os.path.basename(p["file"]))[0]


def missing_points(seqs, opts) -> list[dict]:
    """The planned points without a usable stored result, in the order run_ctc computes them."""
    pts = plan_points(seqs, opts)
    ids = _Identities()
    order = {s["name"]: i for i, s in enumerate(seqs)}
    todo = [p for p in pts if _stored_point(p, ids, opts["metrics"]) is None]
    return sorted(todo, key=lambda p: (order[p["seq"]["name"]], p["kind"] == "anchor"))


def run_one(seqs, opts, pid: str) -> tuple[dict, bool]:
    """Compute the point ``pid`` unless it is stored already; (result, computed now)."""
    from Utilities.errors import ConfigError
    os.makedirs(os.path.join(opts["out_dir"], "points"), exist_ok=True)
    pts = {point_id(p): p for p in plan_points(seqs, opts)}
    if pid not in pts:
        raise ConfigError(f"Point '{pid}' is not a point of this CTC (see the job list)")
    p = pts[pid]
    stored = _stored_point(p, _Identities(), opts["metrics"])
    if stored is not None:
        return stored, False
    return run_point(p, opts["frames"], opts["metrics"], opts.get("weights")), True


def run_ctc(seqs, opts, progress=True) -> list[dict]:
    os.makedirs(os.path.join(opts["out_dir"], "points"), exist_ok=True)
    pts = plan_points(seqs, opts)
    ids = _Identities()
    stored = [_stored_point(p, ids, opts["metrics"]) for p in pts]
    done = [r for r in stored if r is not None]
    todo = [(p, opts["frames"], opts["metrics"], opts.get("weights")) for p, r in zip(pts, stored) if r is None]
    # sequence by sequence (a run stopped early leaves whole sequences), the slow model points first
    order = {s["name"]: i for i, s in enumerate(seqs)}
    todo.sort(key=lambda t: (order[t[0]["seq"]["name"]], t[0]["kind"] == "anchor"))
    with tqdm(total=len(pts), initial=len(done), desc="CTC points", disable=not progress) as bar:
        if opts["jobs"] > 1 and len(todo) > 1:
            with ProcessPoolExecutor(opts["jobs"]) as ex:
                for r in ex.map(_run, todo):
                    done.append(r)
                    bar.update(1)
        else:
            for t in todo:
                done.append(_run(t))
                bar.update(1)
    return done
