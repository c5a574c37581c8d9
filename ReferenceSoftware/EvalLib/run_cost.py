"""What a CTC run costs, from its stored points (doc/software_manual.md section 7, "What a point costs").

Every point records ``frames`` and ``encode_fps``: the wall time of the whole point (encoding, generation or
anchor decoding, metrics) in the process that computed it. A point computed while the machine ran more than
one process per core records a longer time, so a kind of point (its configuration) is costed by its *median*
seconds per picture, which such outliers do not move; a point's cost is that median times its pictures.

The wall time of ``EvalApp ctc --Jobs N`` is that of N workers taking the points in run_ctc's order (sequence
by sequence, the model points before the anchors; ProcessPoolExecutor.map hands the next point to the first
worker that is free): list scheduling, computed exactly for the costed points.
"""
from __future__ import annotations

import heapq
import statistics
from collections import defaultdict

from EvalLib.anchor import ANCHORS


def point_seconds(r: dict) -> float | None:
    """The recorded wall time of a point, or None when it records no speed."""
    fps = r.get("encode_fps")
    return r["frames"] / fps if fps else None


def seconds_per_picture(results) -> dict[str, list[float]]:
    """Per configuration the recorded seconds per picture of its points."""
    out = defaultdict(list)
    for r in results:
        s = point_seconds(r)
        if s is not None:
            out[r["config"]].append(s / r["frames"])
    return dict(out)


def costed_points(results) -> list[tuple[dict, float]]:
    """Each point that records a speed with its cost in seconds (median s/picture of its kind x pictures), in the
    order run_ctc computes them."""
    med = {c: statistics.median(v) for c, v in seconds_per_picture(results).items()}
    pts = [(r, med[r["config"]] * r["frames"]) for r in results if r["config"] in med]
    return sorted(pts, key=lambda t: (t[0]["sequence"], t[0]["config"] in ANCHORS))


def list_schedule(durations, workers: int) -> float:
    """Wall time of ``workers`` processes taking the jobs in order, each next job going to the first free one."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    free = [0.0] * workers
    for d in durations:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def cost_table(results, configs, label=str, jobs=(1, 2)) -> list[str]:
    """Markdown lines: per configuration (in the order of ``configs``) its points, pictures, median and range of
    s/picture and CPU-hours; the total, and the wall time of ``--Jobs N`` for each N in ``jobs``."""
    spp = seconds_per_picture(results)
    if not spp:
        return []
    pts = costed_points(results)
    rows, pics, cpu = [], defaultdict(int), defaultdict(float)
    for r, cost in pts:
        pics[r["config"]] += r["frames"]
        cpu[r["config"]] += cost
    total = sum(cpu.values())
    for c in [c for c in configs if c in spp]:
        v = spp[c]
        rows.append(f"| {label(c)} | {len(v)} | {pics[c]} | {statistics.median(v):.2f} | {min(v):.2f}..{max(v):.2f} "
                    f"| {hours(cpu[c])} |")
    walls = ", ".join(f"`--Jobs {n}` {hours(list_schedule([c for _, c in pts], n))} h" for n in jobs)
    return ["| configuration | points | pictures | s / picture (median) | s / picture (range) | CPU-hours |",
            "|---|---|---|---|---|---|"] + rows + [
            f"| all | {len(pts)} | {sum(pics.values())} | | | {hours(total)} |", "",
            f"Wall time of the whole run with N processes on the machine that computed the points (list scheduling "
            f"of the costed points in the run's order, EvalLib/run_cost.py): {walls}."]
