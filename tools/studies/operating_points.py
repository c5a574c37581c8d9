"""The CTC's (BaseLayerQP, IntraQP) operating points from the RD convex hull of a sweep.

    python -m tools.studies.operating_points --points results/ctc/points --config "HDAC-HF x265" [--metric psnr_y]
        [--frames N] [--out doc/results/operating_points.md]

Reads the stored EvalApp ctc points of one configuration over several (BaseLayerQP, IntraQP) pairs, averages
rate and quality over the sequences (pairs not measured on every sequence are left out, and named), and computes the upper convex hull of the
(kbps, metric) points: an operating point on the hull is one no mix of other points beats. For every
BaseLayerQP the chosen IntraQP is the one closest to the hull (distance below it in the metric at its rate;
0 on the hull). Prints and writes the table.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def upper_hull(points):
    """Indices of the upper convex hull (concave, increasing) of (rate, quality) points, by increasing rate."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    hull = []
    for i in order:
        if hull and points[i][1] <= points[hull[-1]][1]:
            continue                                    # more bits, no better: dominated
        while len(hull) >= 2:
            (x1, y1), (x2, y2), (x3, y3) = points[hull[-2]], points[hull[-1]], points[i]
            if (y2 - y1) * (x3 - x1) <= (y3 - y1) * (x2 - x1):     # hull[-1] lies on or below the chord
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def below_hull(points, hull, i) -> float:
    """How far point i lies below the hull (metric units at its rate; 0 on it, outside the hull's rate range
    the distance to the nearest end's level)."""
    x, y = points[i]
    hx = [points[j][0] for j in hull]
    hy = [points[j][1] for j in hull]
    if x <= hx[0]:
        return max(0.0, hy[0] - y) if x == hx[0] else 0.0
    for k in range(1, len(hx)):
        if x <= hx[k]:
            t = (x - hx[k - 1]) / (hx[k] - hx[k - 1])
            return max(0.0, hy[k - 1] + t * (hy[k] - hy[k - 1]) - y)
    return max(0.0, hy[-1] - y)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", required=True)
    ap.add_argument("--config", default="HDAC-HF x265")
    ap.add_argument("--metric", default="psnr_y")
    ap.add_argument("--frames", type=int, default=0, help="only points of this many pictures (0 = any)")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    rows = [json.load(open(p)) for p in glob.glob(os.path.join(a.points, "*.json"))]
    rows = [r for r in rows if r.get("config") == a.config and a.metric in r and (not a.frames or r.get("frames") == a.frames)]
    seqs = sorted({r["sequence"] for r in rows})
    have = [{(r["base_qp"], r["intra_qp"]) for r in rows if r["sequence"] == s} for s in seqs]
    pairs = sorted(set.intersection(*have)) if have else []
    left_out = sorted(set.union(*have) - set(pairs)) if have else []
    full = seqs
    if len(pairs) < 2:
        raise SystemExit(f"operating_points: fewer than two (BaseLayerQP, IntraQP) pairs of {a.config} in {a.points} "
                         "that every sequence has")
    mean = {}
    for p in pairs:
        rs = [r for r in rows if (r["base_qp"], r["intra_qp"]) == p and r["sequence"] in full]
        mean[p] = (sum(r["kbps"] for r in rs) / len(rs), sum(r[a.metric] for r in rs) / len(rs))
    pts = [mean[p] for p in pairs]
    hull = upper_hull(pts)
    dist = {p: below_hull(pts, hull, i) for i, p in enumerate(pairs)}
    chosen = {}
    for bqp in sorted({p[0] for p in pairs}):
        cands = [p for p in pairs if p[0] == bqp]
        chosen[bqp] = min(cands, key=lambda p: (dist[p], p[1]))
    lines = [f"# Operating points of {a.config}", "",
             f"{len(full)} sequences ({', '.join(full)}), mean kbps and mean {a.metric} of every (BaseLayerQP, "
             f"IntraQP) pair that every sequence has"
             + (f" ({a.frames} pictures each)" if a.frames else "")
             + (f"; left out, not measured on every sequence: {', '.join(f'{b}/{i}' for b, i in left_out)}" if left_out else "")
             + f"; 'below hull' is the distance below the upper convex hull of all pairs "
             f"(0 = on it). Chosen: per BaseLayerQP the IntraQP closest to the hull. Made by "
             f"`python -m tools.studies.operating_points --points {a.points} --config \"{a.config}\""
             + (f" --frames {a.frames}" if a.frames else "") + "`.", "",
             f"| BaseLayerQP | IntraQP | kbps | {a.metric} | below hull | chosen |", "|---|---|---|---|---|---|"]
    for p in pairs:
        lines.append(f"| {p[0]} | {p[1]} | {mean[p][0]:.2f} | {mean[p][1]:.3f} | {dist[p]:.3f} | "
                     f"{'**yes**' if chosen[p[0]] == p else ''} |")
    lines += ["", "Chosen pairs (BaseLayerQP/IntraQP): " + ", ".join(f"{b}/{chosen[b][1]}" for b in sorted(chosen))]
    text = "\n".join(lines) + "\n"
    if a.out:
        from Utilities.files import write_text
        write_text(a.out, text, "operating points table")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
