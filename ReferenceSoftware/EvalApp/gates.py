"""Quality gates of the shipped models: generated vs. base-layer pictures of the same bitstream.

For every test sequence, model and base-layer QP: rate, PSNR-Y and MS-SSIM (Y)
of the generated pictures and of the decoded base-layer pictures. Finished
points are kept as JSON files and not recomputed.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from CommonLib.app_config import resolve_resource
from EvalApp.coding_point import code_hdac_point


def _point_file(out_dir, seq, model, qp, frames):
    return os.path.join(out_dir, "points", f"{seq}_{os.path.basename(model).split('.')[0]}_qp{qp}_f{frames}.json")


def _run(args):
    seq, model, qp, intra_qp, frames, path, threads = args
    import torch
    torch.set_num_threads(threads)
    res = code_hdac_point(seq, resolve_resource(model), qp, intra_qp, frames)
    tmp = path + ".part"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, path)
    return res


def run_gates(seqs, models, qps, intra_qp, frames, out_dir, jobs=1, progress=True):
    os.makedirs(os.path.join(out_dir, "points"), exist_ok=True)
    todo, results = [], []
    for s in seqs:
        for m in models:
            for qp in qps:
                p = _point_file(out_dir, s["name"], m, qp, frames)
                if os.path.exists(p):
                    results.append(json.load(open(p)))
                else:
                    todo.append((s, m, qp, intra_qp, frames, p, max(1, 2 // max(1, jobs))))
    with tqdm(total=len(todo), desc="points", disable=not progress) as bar:
        if jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(jobs) as ex:
                for r in ex.map(_run, todo):
                    results.append(r)
                    bar.update(1)
        else:
            for t in todo:
                results.append(_run(t))
                bar.update(1)
    return results


def gates_table(results) -> str:
    """Markdown table: per sequence / model / QP, generated vs base layer, and averages."""
    lines = ["| sequence | model | QP | kbps | PSNR-Y gen | PSNR-Y base | gain dB | MS-SSIM gen | MS-SSIM base |",
             "|---|---|---|---|---|---|---|---|---|"]
    key = lambda r: (r["model"], r["base_qp"], r["sequence"])
    for r in sorted(results, key=key):
        lines.append(f"| {r['sequence']} | {r['model']} | {r['base_qp']} | {r['kbps']:.2f} | {r['psnr_y']:.3f} | "
                     f"{r['base_psnr_y']:.3f} | {r['psnr_y'] - r['base_psnr_y']:+.3f} | {r['ms_ssim_y']:.5f} | "
                     f"{r['base_ms_ssim_y']:.5f} |")
    groups = {}
    for r in results:
        groups.setdefault((r["model"], r["base_qp"]), []).append(r)
    lines += ["", "| model | QP | mean kbps | mean PSNR-Y gen | mean PSNR-Y base | gain dB | mean MS-SSIM gen | "
              "mean MS-SSIM base | sequences where gen beats base (PSNR-Y / MS-SSIM) |", "|---|---|---|---|---|---|---|---|---|"]
    for (m, qp), rs in sorted(groups.items()):
        avg = lambda k: sum(r[k] for r in rs) / len(rs)
        wins_p = sum(r["psnr_y"] > r["base_psnr_y"] for r in rs)
        wins_s = sum(r["ms_ssim_y"] > r["base_ms_ssim_y"] for r in rs)
        lines.append(f"| {m} | {qp} | {avg('kbps'):.2f} | {avg('psnr_y'):.3f} | {avg('base_psnr_y'):.3f} | "
                     f"{avg('psnr_y') - avg('base_psnr_y'):+.3f} | {avg('ms_ssim_y'):.5f} | {avg('base_ms_ssim_y'):.5f} | "
                     f"{wins_p}/{len(rs)} / {wins_s}/{len(rs)} |")
    return "\n".join(lines) + "\n"
