"""EvalApp: BD-rate against the brief's reference values, the anchor's QP cascade, the CTC quick profile."""
import csv
import json
import math
import os

import numpy as np
import pytest

from conftest import SHARED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from EvalApp.__main__ import main as eval_main
from EvalLib.anchor import hm_lowdelay_p_qps
from EvalLib.bd_rate import bd_metric, bd_rate, overlap_fraction
from Utilities.sequence_list import read_sequence_list

ANCHOR = ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851])
TEST = ([9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987])


def test_bd_rate_pchip_matches_the_jvet_spreadsheet_value():
    assert bd_rate(*ANCHOR, *TEST, "pchip") == pytest.approx(-4.4174853506, abs=1e-9)
    assert bd_metric(*ANCHOR, *TEST, "pchip") == pytest.approx(0.1196927854, abs=1e-9)


def test_bd_rate_methods_and_symmetry():
    for m in ("cubic", "akima"):
        assert -6 < bd_rate(*ANCHOR, *TEST, m) < -3
    assert bd_rate(*ANCHOR, *ANCHOR) == pytest.approx(0, abs=1e-12)
    # halving every rate at equal quality is a -50 % BD-rate
    assert bd_rate(*ANCHOR, [r / 2 for r in ANCHOR[0]], ANCHOR[1]) == pytest.approx(-50, abs=1e-9)
    assert overlap_fraction([1, 2], [3, 4]) == 0
    assert math.isnan(bd_rate([1, 2], [30, 31], [1, 2], [40, 41]))


def test_bdrate_command(tmp_path, capsys):
    for name, (rates, psnr) in (("a.csv", ANCHOR), ("t.csv", TEST)):
        with open(tmp_path / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["kbps", "psnr_y"])
            w.writerows(zip(rates, psnr))
    assert eval_main(["bdrate", str(tmp_path / "a.csv"), str(tmp_path / "t.csv"), "--metric", "psnr_y"]) == 0
    out = capsys.readouterr().out
    assert "BD-rate -4.4174853506 %" in out and "BD-psnr_y +0.1196927854" in out
    assert eval_main(["bdrate", str(tmp_path / "a.csv")]) == 1
    assert "usage" in capsys.readouterr().err
    assert eval_main(["bdrate", str(tmp_path / "a.csv"), str(tmp_path / "t.csv"), "--metric", "vmaf"]) == 1
    assert "needs columns" in capsys.readouterr().err


def test_hm_lowdelay_p_cascade():
    qps = hm_lowdelay_p_qps(18, 37)
    # intra QP-1; GOP of 8: offsets 5,4,5,4,5,4,5,1, model offset floor(clip(-6.5 + 0.259 qp, 0, 3) + 0.5) on 1..7
    assert qps[0] == 36
    assert qps[1:9] == [45, 44, 45, 44, 45, 44, 45, 38]
    assert qps[9:17] == qps[1:9]
    low = hm_lowdelay_p_qps(9, 22)
    assert low[1:9] == [27 + 0, 26 + 0, 27, 26, 27, 26, 27, 23]


def test_x265_per_picture_qps_follow_the_list(example_clip):
    from Utilities.video_io import VideoReader
    from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
    pics = list(VideoReader(example_clip).frames(0, 6))

    def sizes(qps=None, qp=45):
        e = X265BaseLayerEncoder(256, 256, 30, qp, qp, 0, 0, extra_params="ref=4:ipratio=1" if qps is None else "ref=4",
                                 picture_qps=qps)
        aus = [a for p in pics for a in e.encode(p)] + e.flush()
        return aus

    const = sizes()
    assert sizes([45] * 6) == const                      # same QP everywhere: the same bits
    for k in (0, 3, 5):
        q = [45] * 6
        q[k] = 35
        changed = [a != b for a, b in zip(sizes(q), const)]
        assert changed.index(True) == k                 # the picture whose QP changed is the first to differ
        assert len(sizes(q)[k]) > len(const[k])


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "sequences")), reason="needs ../shared/sequences")
def test_ctc_quick_profile(tmp_path, capsys):
    out = tmp_path / "ctc"
    args = ["ctc", "--quick", "--SequenceList", os.path.join(SHARED, "sequences", "sequences.yaml"),
            "--OutputDir", str(out), "--Progress", "0", "--MeasureSpeed", "0"]
    assert eval_main(args) == 0
    rows = list(csv.DictReader(open(out / "points.csv")))
    assert {r["config"] for r in rows} == {"HDAC-HF x265", "HDAC+ x265", "Animation-only", "x265"}
    assert len(rows) == 2 * 4 * 2 and all(int(r["frames"]) == 16 for r in rows)
    assert all(0 < float(r["fsim"]) <= 1 and float(r["kbps"]) > 0 for r in rows)
    report = (out / "report.md").read_text()
    assert "### Against x265 (not the JVET anchor)" in report and "| HDAC-HF x265 |" in report
    assert (out / "rd_ctc01_lp_d6.png").exists() and (out / "bit_breakdown.png").exists()
    # the bit breakdown adds up to the rate of every point
    for r in rows:
        if r["config"] != "Animation-only":
            total = sum(float(r[f"kbps_{p}"]) for p in ("key", "base", "gfv_payload", "sei_framing", "other"))
            assert total == pytest.approx(float(r["kbps"]), rel=1e-9)
    meta = json.load(open(out / "meta.json"))
    assert meta["cfg"]["Frames"] == 16 and meta["commit"]
    # pictures to look at: every point keeps the centre crop of its picture 8 (HDAC points also their base
    # layer's), the source's once per sequence; the report shows one figure per sequence
    from PIL import Image
    from Utilities.video_io import VideoReader
    pngs = [p for p in os.listdir(out / "points") if p.endswith(".png")]
    assert sorted(p[:-4] for p in pngs if not p.endswith("_base.png") and "_source_" not in p) == \
        sorted(json.load(open(out / "points" / p))["point_id"] for p in os.listdir(out / "points") if p.endswith(".json"))
    assert len([p for p in pngs if p.endswith("_base.png")]) == 12
    seq = [s for s in read_sequence_list(os.path.join(SHARED, "sequences", "sequences.yaml"), "test")
           if s["name"] == "ctc01_lp_d6"][0]
    src = next(iter(VideoReader(seq["path"]).frames(8, 1))).to_rgb()
    assert np.array_equal(np.asarray(Image.open(out / "points" / "ctc01_lp_d6_source_f16.png")),
                          src[:, 64:192, 64:192].transpose(1, 2, 0))
    assert (out / "visual_ctc01_lp_d6.png").exists() and "## Pictures" in report
    # resumable: a second run recomputes nothing
    mtimes = {p: os.path.getmtime(out / "points" / p) for p in os.listdir(out / "points")}
    assert eval_main(args) == 0
    assert mtimes == {p: os.path.getmtime(out / "points" / p) for p in os.listdir(out / "points")}
    # a stored point without a metric the run asks for (as EvalApp gates writes them: no FSIM) is recomputed
    name = "ctc01_lp_d6_HDAC-HF_x265_44_i27_f16.json"
    res = json.load(open(out / "points" / name))
    del res["fsim"]
    json.dump(res, open(out / "points" / name, "w"))
    assert eval_main(args) == 0
    assert "fsim" in json.load(open(out / "points" / name))
    changed = {p for p in mtimes if os.path.getmtime(out / "points" / p) != mtimes[p]}
    assert changed == {name, name.replace(".json", ".png"), name.replace(".json", "_base.png")}


def test_ctc_bad_options(capsys):
    assert eval_main(["ctc", "--Metrics", "psnr_y,lpips"]) == 1
    assert "metric lpips needs pretrained weights from local files: give Vgg16Weights and LpipsWeights" \
        in capsys.readouterr().err
    assert eval_main(["ctc", "--Metrics", "vmaf"]) == 1
    assert "unknown metric" in capsys.readouterr().err
    assert eval_main(["ctc", "--AnchorQPs", "a,b"]) == 1
    assert "AnchorQPs" in capsys.readouterr().err
    assert eval_main(["nonsense"]) == 1
    assert eval_main(["gates", "--Configs", "Animation-only"]) == 1
    assert "gates measure HDAC-HF and / or HDAC+" in capsys.readouterr().err
    assert eval_main(["ctc", "--ListJobs", "j.txt", "--Point", "x", "--MeasureSpeed", "0"]) == 1
    assert "not both" in capsys.readouterr().err


def _vgg_file(tmp_path, arch):
    import torch
    from EvalLib.vgg import VGG_CFG
    torch.manual_seed(0)
    sd, c, i = {}, 3, 0
    for v in VGG_CFG[arch]:
        if v == "M":
            i += 1
            continue
        sd[f"features.{i}.weight"], sd[f"features.{i}.bias"] = torch.randn(v, c, 3, 3) * (2 / (9 * c)) ** 0.5, torch.zeros(v)
        c, i = v, i + 2
    p = tmp_path / f"{arch}.pth"
    torch.save(sd, p)
    return str(p)


def test_perceptual_metrics_with_local_weight_files(tmp_path, example_clip):
    """msVGG / LPIPS / DISTS mechanics with stand-in weights: 0 for identical pictures, growing with distortion."""
    import numpy as np
    import torch
    from Utilities.video_io import VideoReader
    from EvalLib.perceptual import Dists, Lpips, MsVgg
    ref = next(VideoReader(example_clip).frames(0, 1)).to_rgb()
    rng = np.random.default_rng(0)
    noisy = [np.clip(ref + rng.normal(0, s, ref.shape), 0, 255).astype(np.uint8) for s in (4, 32)]
    v16, v19 = _vgg_file(tmp_path, "vgg16"), _vgg_file(tmp_path, "vgg19")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(Lpips.CHANNELS)},
               tmp_path / "lin.pth")
    torch.save({"alpha": torch.rand(1, 1475, 1, 1), "beta": torch.rand(1, 1475, 1, 1)}, tmp_path / "dists.pt")
    for m in (MsVgg(v19), Lpips(v16, str(tmp_path / "lin.pth")), Dists(v16, str(tmp_path / "dists.pt"))):
        assert m(ref, ref) == pytest.approx(0, abs=1e-6)
        assert 0 < m(ref, noisy[0]) < m(ref, noisy[1])


def test_gates_table_counts_wins_per_configuration():
    from EvalLib.gates import gates_table
    rows = []
    for cfg, gain in (("HDAC-HF", 0.2), ("HDAC+", -0.1)):
        for s in ("a", "b"):
            rows.append(dict(config=cfg, model=cfg.lower(), sequence=s, base_qp=50, kbps=10.0, psnr_y=30 + gain,
                             base_psnr_y=30.0, ms_ssim_y=0.95 + gain / 100, base_ms_ssim_y=0.95))
    rows.append(dict(config="HEVC", sequence="a", qp=37, kbps=1.0, psnr_y=1.0, ms_ssim_y=0.5))
    t = gates_table(rows)
    assert "| HDAC-HF | 50 | 10.00 | 30.200 | 30.000 | +0.200 |" in t and "2/2 / 2/2" in t
    assert "| HDAC+ | 50 |" in t and "0/2 / 0/2" in t and "HEVC" not in t


def _tool(name):
    import importlib
    return importlib.import_module(f"tools.studies.{name}")


def test_operating_points_hull_and_choice(tmp_path, capsys):
    op = _tool("operating_points")
    pts = [(1, 10), (2, 14), (3, 15), (2.5, 13), (4, 15.5), (3, 16)]
    hull = op.upper_hull(pts)
    assert [pts[i] for i in hull] == [(1, 10), (2, 14), (3, 16)]       # (4, 15.5): more bits, worse
    assert op.below_hull(pts, hull, 3) == pytest.approx(15 - 13)      # (2.5, 13) under the chord (2,14)-(3,16)
    assert op.below_hull(pts, hull, 1) == 0
    # a stored sweep: per BaseLayerQP the IntraQP closest to the hull is chosen
    d = tmp_path / "points"
    d.mkdir()
    for s in ("a", "b"):
        for (bqp, iqp, kbps, q) in ((50, 27, 10.0, 28.0), (50, 32, 8.0, 27.8), (44, 27, 14.0, 31.0), (44, 32, 12.5, 30.0)):
            json.dump(dict(config="HDAC-HF x265", sequence=s, base_qp=bqp, intra_qp=iqp, kbps=kbps, psnr_y=q),
                      open(d / f"{s}_{bqp}_{iqp}.json", "w"))
    assert op.main(["--points", str(d), "--out", str(tmp_path / "op.md")]) == 0
    out = (tmp_path / "op.md").read_text()
    assert "Chosen pairs (BaseLayerQP/IntraQP): 44/27, 50/32" in out
    # a pair measured on one sequence only is left out, and named, instead of dropping the other sequences
    json.dump(dict(config="HDAC-HF x265", sequence="a", base_qp=50, intra_qp=37, kbps=6.0, psnr_y=27.0),
              open(d / "a_50_37.json", "w"))
    assert op.main(["--points", str(d), "--out", str(tmp_path / "op2.md")]) == 0
    out2 = (tmp_path / "op2.md").read_text()
    assert "2 sequences (a, b)" in out2 and "left out, not measured on every sequence: 50/37" in out2
    assert "Chosen pairs (BaseLayerQP/IntraQP): 44/27, 50/32" in out2


def test_keypoint_precision_rd_table():
    kp = _tool("keypoint_precision_rd")
    rows = []
    for s in ("a", "b"):
        for p, extra in ((7, 0.0), (8, 1.0)):          # P = 8 costs 1 kbps more for the same quality
            for qp, kbps, q in ((44, 20.0, 32.0), (50, 10.0, 29.0)):
                rows.append(dict(sequence=s, qp=qp, precision=p, kbps=kbps + extra, sei=0.5 + extra,
                                 psnr_y=q, ms_ssim_y=q / 40))
    out = kp.table(rows, [7, 8], [44, 50], 8)
    assert out[2].startswith("| 7 | 20.000 / 0.500 / 32.000 / 0.8000 | 10.000 / 0.500 / 29.000 / 0.7250 |")
    assert out[3].endswith("| +0.00 % | +0.00 % |")
    bd7 = float(out[2].split("|")[-3].strip().rstrip(" %"))
    assert -10 < bd7 < -4                               # 1 kbps less at 11..21 kbps


def test_derived_keypoints_table():
    from EvalLib.report import derived_keypoints_table
    res = []
    for s, q in (("a", 0.0), ("b", 0.2)):
        res.append(dict(config="HDAC-HF x265", sequence=s, rate_point=50, kbps=20.0, gfv_sei_kbps=4.0, psnr_y=30.0))
        res.append(dict(config="HDAC-HF never x265", sequence=s, rate_point=50, kbps=16.0, gfv_sei_kbps=0.2,
                        psnr_y=30.0 - q))
    lines = derived_keypoints_table(res, "HDAC-HF x265", "HDAC-HF never x265", ["psnr_y"])
    assert lines[2] == "| a | 50 | 20.00 / 16.00 | -20.0 % | 4.00 / 0.20 | +0.0000 |"
    assert lines[3] == "| b | 50 | 20.00 / 16.00 | -20.0 % | 4.00 / 0.20 | -0.2000 |"
    assert lines[4] == "| average | 50 | 20.00 / 16.00 | -20.0 % | 4.00 / 0.20 | -0.1000 |"


def test_plan_points_hdac_plus_base_layers():
    from EvalLib.ctc import plan_points
    seq = {"name": "s"}
    opts = dict(base_qps=[44, 50], intra_qps=[32, 37], animation_intra_qps=[], anchor_qps=[], hf_model="hf",
                plus_model="plus", frames=8, out_dir="o", configs=["HDAC-HF", "HDAC+"],
                base_layers={"x265": object(), "HM": object()}, plus_base_layers=["x265"], anchors={},
                keypoint_transmissions=["always", "never"])
    configs = sorted({p["config"] for p in plan_points([seq], opts)})
    assert configs == ["HDAC+ x265", "HDAC-HF HM", "HDAC-HF never HM", "HDAC-HF never x265", "HDAC-HF x265"]
    assert {(p["qp"], p["intra_qp"]) for p in plan_points([seq], opts)} == {(44, 32), (50, 37)}
    del opts["plus_base_layers"]
    assert "HDAC+ HM" in {p["config"] for p in plan_points([seq], opts)}


def test_bd_rate_curves_of_different_lengths():
    from EvalLib.bd_rate import bd_rate
    anchor = ([10, 14, 20, 28, 40], [30, 31, 32, 33, 34])
    test = ([9, 12.6, 18, 25.2], [30.2, 31.2, 32.2, 33.2])       # 10 % fewer bits at 0.2 dB more
    assert bd_rate(*anchor, *test) < -10


def results_part(report) -> str:
    """A report from the BD-rates on, without the section on what the run cost (times differ run to run)."""
    from EvalLib.report import COST_HEADING
    text = report.read_text().split("## BD-rates")[1]
    head, sep, tail = text.partition(COST_HEADING)
    assert sep, "the report has no cost section"
    return head + tail[tail.index("\n## "):]


def test_run_cost_takes_the_median_per_configuration_and_schedules_the_points_in_order():
    """A point's cost is the median s/picture of its configuration times its pictures (a point computed beside
    other work does not move it); --Jobs N is list scheduling of the costed points in run_ctc's order."""
    from EvalLib.run_cost import cost_table, costed_points, list_schedule
    assert list_schedule([3, 3, 2, 2, 2], 2) == 7 and list_schedule([3, 3, 2, 2, 2], 1) == 12
    assert list_schedule([5, 1, 1, 1, 1, 1], 2) == 5 and list_schedule([4], 3) == 4
    with pytest.raises(ValueError):
        list_schedule([1], 0)
    pt = lambda seq, config, frames, spp: {"sequence": seq, "config": config, "frames": frames,
                                           "encode_fps": 1 / spp}
    results = [pt("s1", "HM", 100, 1.0), pt("s1", "HDAC-HF x265", 100, 2.0), pt("s2", "HDAC-HF x265", 50, 3.0),
               pt("s2", "HDAC-HF x265", 100, 40.0), pt("s2", "HM", 50, 3.0), {"sequence": "s2", "config": "x265",
                                                                             "frames": 10}]
    pts = costed_points(results)
    # run_ctc's order: per sequence the model points before the anchors; HDAC-HF median 3.0, HM median 2.0
    assert [(r["sequence"], r["config"], c) for r, c in pts] == [
        ("s1", "HDAC-HF x265", 300.0), ("s1", "HM", 200.0), ("s2", "HDAC-HF x265", 150.0),
        ("s2", "HDAC-HF x265", 300.0), ("s2", "HM", 100.0)]
    lines = cost_table(results, ["HDAC-HF x265", "HM", "x265"])
    assert lines[2] == "| HDAC-HF x265 | 3 | 250 | 3.00 | 2.00..40.00 | 0.2 |"
    assert lines[3] == "| HM | 2 | 150 | 2.00 | 1.00..3.00 | 0.1 |"
    assert lines[4] == "| all | 5 | 400 | | | 0.3 |"
    # 300 | 200, then 150 -> the second worker (350), 300 -> the first (600), 100 -> the second (450)
    assert lines[-1].endswith("`--Jobs 1` 0.3 h, `--Jobs 2` 0.2 h.")
    assert cost_table([{"sequence": "s", "config": "HM", "frames": 3}], ["HM"]) == []


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "sequences")), reason="needs ../shared/sequences")
def test_ctc_through_a_job_list(tmp_path, capsys):
    """EvalApp ctc --ListJobs: the jobs run by `xargs -P 2` (and one by the Slurm array script) give the points
    of the in-process run, and the normal run then computes nothing and writes the same report."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    small = ["--SequenceList", os.path.join(SHARED, "sequences", "sequences.yaml"), "--Sequences", "ctc01_lp_d6",
             "--Frames", "3", "--Configs", "HDAC-HF", "--BaseLayerQPs", "44,50", "--IntraQPs", "37", "--Anchors",
             "x265", "--AnchorQPs", "41,45", "--Metrics", "psnr_y,ms_ssim_y", "--Progress", "0",
             "--MeasureSpeed", "0", "--Jobs", "1"]
    assert eval_main(["ctc", *small, "--OutputDir", str(tmp_path / "a")]) == 0
    jobs = tmp_path / "jobs.txt"
    assert eval_main(["ctc", *small, "--OutputDir", str(tmp_path / "b"), "--ListJobs", str(jobs)]) == 0
    lines = jobs.read_text().splitlines()
    assert len(lines) == 4 and all("--Point ctc01_lp_d6_" in l for l in lines)
    # one job through the Slurm array script, the others through xargs -P 2
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="2", OMP_NUM_THREADS="1")
    r = subprocess.run(["bash", os.path.join(root, "tools", "slurm", "ctc_array.sh"), str(jobs)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-1500:]
    assert eval_main(["ctc", *small, "--OutputDir", str(tmp_path / "b"), "--ListJobs", str(jobs)]) == 0
    assert len(jobs.read_text().splitlines()) == 3                  # the Slurm task's point is done
    r = subprocess.run(["xargs", "-P", "2", "-d", "\n", "-I", "CMD", "bash", "-c", "CMD"], stdin=open(jobs),
                       env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-1500:]
    mtimes = {p: os.path.getmtime(tmp_path / "b" / "points" / p) for p in os.listdir(tmp_path / "b" / "points")}
    assert eval_main(["ctc", *small, "--OutputDir", str(tmp_path / "b")]) == 0
    assert mtimes == {p: os.path.getmtime(tmp_path / "b" / "points" / p) for p in os.listdir(tmp_path / "b" / "points")}
    keep = ("config", "sequence", "rate_point", "kbps", "psnr_y", "ms_ssim_y", "base_psnr_y")
    rows = {d: sorted(tuple(r[k] for k in keep if k in r) for r in csv.DictReader(open(tmp_path / d / "points.csv")))
            for d in "ab"}
    assert rows["a"] == rows["b"] and len(rows["a"]) == 4
    assert results_part(tmp_path / "b" / "report.md") == results_part(tmp_path / "a" / "report.md")
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="9")
    r = subprocess.run(["bash", os.path.join(root, "tools", "slurm", "ctc_array.sh"), str(jobs)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "has no line 9" in r.stderr


def test_ssim_y_equals_a_direct_implementation():
    """SSIM on Y against a plain scipy implementation (11x11 Gaussian window, sigma 1.5, 'valid')."""
    import numpy as np
    from scipy.signal import convolve2d
    from Utilities.colour import luma_bt709
    from Utilities.metrics import ssim_y
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (3, 40, 48), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    x, y = luma_bt709(a).astype(np.float64), luma_bt709(b).astype(np.float64)
    f = lambda t: convolve2d(t, w, mode="valid")
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx ** 2, f(y * y) - my ** 2, f(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ref = np.mean((2 * mx * my + c1) * (2 * sxy + c2) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2)))
    assert ssim_y(a, b) == pytest.approx(ref, rel=1e-12)
    assert ssim_y(a, a) == pytest.approx(1.0) and ssim_y(a, b) < 0.99


def test_vtm_low_delay_b_anchor(jvet_tools, tmp_path):
    """VTM-LDB, the GFVC CTC anchor: VTM's encoder with encoder_lowdelay_vtm.cfg (found beside the binary), a
    point measured like the other anchors (2 pictures)."""
    from EncoderLib.jvet_encoder import jvet_encoder
    from EvalLib.anchor import JVET_ANCHORS, code_anchor_point
    codec, _, cfg_opt, structure = JVET_ANCHORS["VTM-LDB"]
    enc = jvet_encoder(codec, jvet_tools["bin"]["EncoderAppStatic"], "", structure, cfg_opt)
    assert enc.cfg_file.endswith("encoder_lowdelay_vtm.cfg")
    assert "B" in open(enc.cfg_file).read().split("Frame1:")[1].split()[0]       # the GOP's pictures are B
    seq = {"name": "clip", "path": os.path.join(ROOT, "ReferenceSoftware", "CommonLib", "resources", "clips",
                                                 "ctc01_lp_d6_256x256_30_32f.y4m")}
    res = code_anchor_point(seq, "VTM-LDB", 47, 2, jvet_encoder=enc)
    assert res["frames"] == 2 and res["kbps"] > 0 and 20 < res["psnr_y"] < 50
    assert res["anchor_encoder"]["cfg"].endswith("encoder_lowdelay_vtm.cfg")
