"""Common test conditions: every configuration at every rate point on every sequence.

Configurations (brief section 5, issue "Evaluation"):

* ``HDAC-HF``        the HDAC-HF model, base-layer QPs (rate: the whole bitstream);
* ``HDAC+``          the HDAC+ model (no HF shuttling), same points;
* ``Animation-only`` the HDAC-HF model without base-layer fusion, key-picture QPs as
                     rate points (rate: key pictures + GFV SEI; the base-layer P
                     pictures are not needed by such a decoder);
* ``HEVC``           x265 low-delay P with HM's QP cascade (EvalApp.anchor).

Each finished point is a JSON file in ``<OutputDir>/points``; a rerun skips it.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from CommonLib.app_config import resolve_resource
from CommonLib.files import sha256_file


METRICS = ("psnr_y", "ms_ssim_y", "fsim", "msvgg", "lpips", "dists")


def metric_functions(names, weights: dict | None = None):
    """name -> f(reference_rgb, distorted_rgb); ``weights``: Vgg19Weights / Vgg16Weights / LpipsWeights / DistsWeights."""
    from CommonLib.metrics import ms_ssim_y, psnr_y
    from EvalApp.perceptual import perceptual_metrics
    table = {"psnr_y": psnr_y, "ms_ssim_y": ms_ssim_y}
    if "fsim" in names:
        from EvalApp.fsim import fsim
        table["fsim"] = fsim
    w = weights or {}
    table.update(perceptual_metrics(names, w.get("Vgg19Weights", ""), w.get("Vgg16Weights", ""),
                                    w.get("LpipsWeights", ""), w.get("DistsWeights", "")))
    return {k: table[k] for k in names if k in table}


def plan_points(seqs, opts) -> list[dict]:
    """Every (configuration, sequence, rate point); ``opts['configs']`` may restrict the configurations."""
    pts = []
    for s in seqs:
        for qp in opts["base_qps"]:
            pts.append(dict(config="HDAC-HF", seq=s, model=opts["hf_model"], qp=qp, intra_qp=opts["intra_qp"], fusion=True))
            pts.append(dict(config="HDAC+", seq=s, model=opts["plus_model"], qp=qp, intra_qp=opts["intra_qp"], fusion=True))
        for iqp in opts["animation_intra_qps"]:
            pts.append(dict(config="Animation-only", seq=s, model=opts["hf_model"], qp=51, intra_qp=iqp, fusion=False))
        for qp in opts["anchor_qps"]:
            pts.append(dict(config="HEVC", seq=s, qp=qp))
    wanted = opts.get("configs")
    if wanted:
        pts = [p for p in pts if p["config"] in wanted]
    for p in pts:
        rp = p["qp"] if p["config"] != "Animation-only" else p["intra_qp"]
        p["file"] = os.path.join(opts["out_dir"], "points", f"{p['seq']['name']}_{p['config']}_{rp}_f{opts['frames']}.json")
    return pts


def run_point(p, frames, metric_names, weights=None, threads=1) -> dict:
    import torch
    torch.set_num_threads(threads)
    metrics = metric_functions(metric_names, weights)
    if p["config"] == "HEVC":
        from EvalApp.anchor import code_hevc_anchor_point
        res = code_hevc_anchor_point(p["seq"], p["qp"], frames,
                                     {k: f for k, f in metrics.items() if k not in ("psnr_y", "ms_ssim_y")})
        res["rate_point"] = p["qp"]
    else:
        from EvalApp.coding_point import code_hdac_point
        res = code_hdac_point(p["seq"], resolve_resource(p["model"]), p["qp"], p["intra_qp"], frames,
                              fusion=p["fusion"],
                              metrics={k: f for k, f in metrics.items() if k not in ("psnr_y", "ms_ssim_y")})
        if p["config"] == "Animation-only":
            res["kbps_bitstream"], res["kbps"] = res["kbps"], res["kbps_animation"]
        res["rate_point"] = p["qp"] if p["config"] != "Animation-only" else p["intra_qp"]
    res["config"] = p["config"]
    tmp = p["file"] + ".part"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, p["file"])
    return res


def _run(args):
    return run_point(*args)


def _stored_point(p, model_sha: dict, metrics=()):
    """The stored result of a point, or None when absent, made with another model than the cfg's, or
    without one of the metrics asked for (e.g. a point of ``EvalApp gates``, which measures no FSIM)."""
    if not os.path.exists(p["file"]):
        return None
    with open(p["file"]) as f:
        res = json.load(f)
    if any(m not in res for m in metrics):
        return None
    if p["config"] != "HEVC":
        path = resolve_resource(p["model"])
        if path not in model_sha:
            model_sha[path] = sha256_file(path) if os.path.isfile(path) else None
        if res.get("model_sha256") != model_sha[path]:
            return None
    return res


def run_ctc(seqs, opts, progress=True) -> list[dict]:
    os.makedirs(os.path.join(opts["out_dir"], "points"), exist_ok=True)
    pts = plan_points(seqs, opts)
    model_sha = {}
    stored = [_stored_point(p, model_sha, opts["metrics"]) for p in pts]
    done = [r for r in stored if r is not None]
    todo = [(p, opts["frames"], opts["metrics"], opts.get("weights")) for p, r in zip(pts, stored) if r is None]
    # sequence by sequence (a run stopped early leaves whole sequences), the slow HDAC points first
    order = {s["name"]: i for i, s in enumerate(seqs)}
    todo.sort(key=lambda t: (order[t[0]["seq"]["name"]], t[0]["config"] == "HEVC"))
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
