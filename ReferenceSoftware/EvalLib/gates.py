"""Quality gates of the shipped models: generated vs. base-layer pictures of the same bitstream.

For every test sequence, model and base-layer QP: rate, PSNR-Y and MS-SSIM (Y)
of the generated pictures and of the decoded base-layer pictures. The points are
those of the CTC (EvalLib.ctc): ``python -m EvalApp gates`` runs only the
HDAC-HF and HDAC+ points it needs, into the same resumable points folder, and
``gates_table`` also works on the results of a full CTC run.
"""
from __future__ import annotations


#: the metrics of the gates (the table's columns)
GATE_METRICS = ("psnr_y", "ms_ssim_y")


def gates_table(results) -> str:
    """Markdown table: per sequence / model / QP, generated vs base layer, and averages."""
    lines = ["| sequence | model | QP | kbps | PSNR-Y gen | PSNR-Y base | gain dB | MS-SSIM gen | MS-SSIM base |",
             "|---|---|---|---|---|---|---|---|---|"]
    results = [r for r in results if r["config"].startswith(("HDAC-HF", "HDAC+"))]
    key = lambda r: (r["config"], r["base_qp"], r["sequence"])
    for r in sorted(results, key=key):
        lines.append(f"| {r['sequence']} | {r['config']} ({r['model']}) | {r['base_qp']} | {r['kbps']:.2f} | {r['psnr_y']:.3f} | "
                     f"{r['base_psnr_y']:.3f} | {r['psnr_y'] - r['base_psnr_y']:+.3f} | {r['ms_ssim_y']:.5f} | "
                     f"{r['base_ms_ssim_y']:.5f} |")
    groups = {}
    for r in results:
        groups.setdefault((r["config"], r["base_qp"]), []).append(r)
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
