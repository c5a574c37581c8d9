"""Pictures to look at: the crop of one picture per CTC point, and per sequence a figure of the configurations at
the nearest rate, like Fig. 3 of the paper.

Every CTC point keeps, beside its JSON file, the centre crop (``CROP`` x ``CROP`` samples, R'G'B' PNG) of its
picture ``frames // 2`` (``<point>.png``; HDAC points also the decoded base-layer picture, ``<point>_base.png``;
the source's crop once per sequence and length, ``<sequence>_source_f<frames>.png``). The report step reads only
these files (:func:`write_figures`): per sequence, the rate of the middle point of the first HDAC-HF
configuration is the target, and each panel (original, that point's base layer, HDAC+, HDAC-HF, VTM, HM) is the
point of its configuration nearest to it in rate, labelled with its kbps and PSNR-Y (the sequence's mean).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["CROP", "figure_picture", "save_crops", "write_figures"]

CROP = 128


def figure_picture(frames: int) -> int:
    """The index of the picture a point keeps a crop of."""
    return frames // 2


def _crop(rgb: np.ndarray) -> np.ndarray:
    """The centre CROP x CROP samples of a (3, H, W) picture, as (H', W', 3) uint8."""
    _, h, w = rgb.shape
    y0, x0 = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
    return np.ascontiguousarray(rgb[:, y0:y0 + CROP, x0:x0 + CROP].transpose(1, 2, 0)).astype(np.uint8)


def _write_png(path: str, rgb: np.ndarray) -> None:
    from PIL import Image
    tmp = f"{path}.{os.getpid()}.part"            # unique per process: parallel points may write one source crop
    Image.fromarray(_crop(rgb)).save(tmp, format="PNG")
    os.replace(tmp, path)


def save_crops(point_file: str, picture_rgb: np.ndarray, base_rgb: np.ndarray | None = None,
               source_rgb: np.ndarray | None = None, source_name: str = "") -> None:
    """The crops of a point (``point_file`` is its JSON path) and, when not there yet, of the source picture."""
    stem = os.path.splitext(point_file)[0]
    _write_png(stem + ".png", picture_rgb)
    if base_rgb is not None:
        _write_png(stem + "_base.png", base_rgb)
    if source_rgb is not None and source_name:
        src = os.path.join(os.path.dirname(point_file), source_name)
        if not os.path.exists(src):
            _write_png(src, source_rgb)


def _nearest(points, kbps):
    return min(points, key=lambda r: abs(r["kbps"] - kbps)) if points else None


def write_figures(results: list[dict], points_dir: str, out_dir: str) -> list[str]:
    """One figure per sequence (``visual_<sequence>.png``) from the stored crops; returns the files written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from EvalLib.report import label
    written = []
    for seq in sorted({r["sequence"] for r in results}):
        rs = [r for r in results if r["sequence"] == seq]
        hf = [c for c in dict.fromkeys(r["config"] for r in rs) if c.startswith("HDAC-HF")]
        if not hf:
            continue
        main = sorted((r for r in rs if r["config"] == hf[0]), key=lambda r: r["kbps"])
        target = main[len(main) // 2]
        frames = target["frames"]
        panels = [("Original", os.path.join(points_dir, f"{seq}_source_f{frames}.png"), "")]
        stem = os.path.join(points_dir, _point_stem(target))
        panels.append((f"base layer of {hf[0]}", stem + "_base.png",
                       f"{target['kbps']:.1f} kbps, {target.get('base_psnr_y', float('nan')):.2f} dB"))
        order = [c for c in dict.fromkeys(r["config"] for r in rs) if c.startswith("HDAC+")] + hf[:1] + \
            [c for c in ("VTM-LDB", "VTM", "HM") if any(r["config"] == c for r in rs)]
        for c in order:
            r = _nearest([x for x in rs if x["config"] == c], target["kbps"])
            panels.append((label(c), os.path.join(points_dir, _point_stem(r) + ".png"),
                           f"{r['kbps']:.1f} kbps, {r['psnr_y']:.2f} dB"))
        panels = [p for p in panels if os.path.exists(p[1])]
        if len(panels) < 2:
            continue
        fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.7))
        for ax, (title, path, text) in zip(np.atleast_1d(axes), panels):
            ax.imshow(np.asarray(Image.open(path)))
            ax.set_title(title, fontsize=7)
            ax.set_xlabel(text, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{seq}, picture {figure_picture(frames)} (centre {CROP}x{CROP}), near {target['kbps']:.1f} kbps",
                     fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, f"visual_{seq}.png")
        fig.savefig(path + ".part.png", dpi=110)
        plt.close(fig)
        os.replace(path + ".part.png", path)
        written.append(path)
    return written


def _point_stem(r: dict) -> str:
    """The file stem of a stored point: its ``point_id``, or for a point stored without one the name
    EvalLib.ctc.plan_points gives it."""
    if r.get("point_id"):
        return r["point_id"]
    iq = f"_i{r['intra_qp']}" if "intra_qp" in r and r["config"] != "Animation-only" else ""
    return f"{r['sequence']}_{r['config'].replace(' ', '_')}_{r['rate_point']}{iq}_f{r['frames']}"
