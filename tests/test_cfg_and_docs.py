"""Shipped cfg files parse against their app's options; every option is documented."""
import glob
import os

import pytest

from Utilities.app_config import parse_args
from DecoderApp.__main__ import OPTIONS as DEC
from EncoderApp.__main__ import OPTIONS as ENC
from TrainerApp.__main__ import OPTIONS as TRAIN
from EvalApp.__main__ import CTC_OPTIONS, GATES_OPTIONS
from ConverterApp.__main__ import OPTIONS as CONVERT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "cfg", "encoder*.yaml"))
                                        + glob.glob(os.path.join(ROOT, "cfg", "per-sequence", "*.yaml"))))
def test_encoder_cfg_files_parse(path):
    cfg = parse_args(ENC, ["-c", os.path.join(ROOT, "cfg", "encoder.yaml"), "-c", path], "EncoderApp")
    assert cfg.BaseLayerQP == 50 and cfg.IntraQP == 27


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "cfg", "train*.yaml"))))
def test_trainer_cfg_files_parse(path):
    cfg = parse_args(TRAIN, ["-c", os.path.join(ROOT, "cfg", "train.yaml"), "-c", path], "TrainerApp")
    assert cfg.BaseLayerQPs == "44,46,48,50"


def test_per_sequence_cfgs_cover_the_test_split():
    import yaml
    names = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ROOT, "cfg", "per-sequence", "*.yaml"))}
    shared = os.path.join(os.path.dirname(ROOT), "shared", "sequences", "sequences.yaml")
    if os.path.exists(shared):
        assert names == {s["name"] for s in yaml.safe_load(open(shared)) if s["split"] == "test"}
    assert len(names) == 6


@pytest.mark.parametrize("options", [ENC, DEC, TRAIN, CTC_OPTIONS, GATES_OPTIONS, CONVERT])
def test_every_option_is_in_the_software_manual(options):
    manual = open(os.path.join(ROOT, "doc", "software_manual.md")).read()
    missing = [o.name for o in options if f"`{o.name}`" not in manual]
    assert not missing


def test_ctc_cfg_parses():
    cfg = parse_args(CTC_OPTIONS, ["-c", os.path.join(ROOT, "cfg", "ctc.yaml")], "EvalApp ctc")
    assert cfg.BaseLayerQPs == "38,44,47,50" and cfg.IntraQPs == "27,32,37,37" and cfg.Metrics == "psnr_y,ms_ssim_y,ssim_y,fsim"
    assert cfg.KeypointTransmissions == "always,never" and cfg.HdacPlusBaseLayerEncoders == "x265"


def test_the_manual_option_tables_are_generated_from_the_option_definitions():
    """doc/software_manual.md holds exactly the tables tools/maintenance/option_tables.py makes (regenerate: --write)."""
    from tools.maintenance import option_tables as tool
    manual = open(os.path.join(ROOT, "doc", "software_manual.md")).read()
    assert tool.replace_in(manual) == manual


def test_the_readme_quotes_the_committed_ctc():
    """Every BD-rate of the README's results table is the committed CTC's (doc/results/ctc/bd_rate.csv, average
    row), rounded to 0.1 %, so the README cannot drift from the report it summarises."""
    import csv
    import re
    readme = open(os.path.join(ROOT, "README.md")).read()
    rows = {(r["test"], r["anchor"]): r for r in csv.DictReader(open(os.path.join(ROOT, "doc", "results", "ctc",
                                                                                  "bd_rate.csv")))
            if r["sequence"] == "average"}
    quoted = {"decoder-side keypoints (`KeypointTransmission never`), HM base layer": "HDAC-HF never HM",
              "decoder-side keypoints, x265 base layer": "HDAC-HF never x265",
              "keypoints in every picture (the paper's), x265 base layer": "HDAC-HF x265"}
    for label, test in quoted.items():
        line = next(l for l in readme.splitlines() if l.startswith(f"| HDAC-HF, {label}"))
        cells = [c.strip() for c in line.strip("|").split("|")[1:]]
        assert len(cells) == 3
        for cell, anchor in zip(cells, ("VTM LDB", "HM", "VTM")):
            numbers = [float(x) for x in re.findall(r"[+-]\d+\.\d", cell)]
            expected = [float(rows[(test, anchor)][m]) for m in ("psnr_y", "ms_ssim_y", "fsim")]
            assert numbers == [float(f"{e:+.1f}") for e in expected], (label, anchor)


def test_the_readme_quotes_the_committed_vvc_ctc():
    """The README's VVC rows are the committed VVC CTC's BD-rates (doc/results/ctc_vvc/bd_rate.csv, average row;
    PSNR-Y / MS-SSIM / FSIM rounded to 0.1 %) against VTM low-delay B, HM and VTM low-delay P."""
    import csv
    import re
    readme = open(os.path.join(ROOT, "README.md")).read()
    rows = {(r["test"], r["anchor"]): r for r in csv.DictReader(open(os.path.join(ROOT, "doc", "results", "ctc_vvc",
                                                                                  "bd_rate.csv")))
            if r["sequence"] == "average"}
    for label, test in (("HDAC-HF, decoder-side keypoints, VVenC base layer", "HDAC-HF never VVenC"),
                        ("HDAC+, VVenC base layer", "HDAC+ VVenC")):
        line = next(l for l in readme.splitlines() if l.startswith(f"| {label}"))
        cells = [c.strip() for c in line.strip("|").split("|")[1:]]
        assert len(cells) == 3
        for cell, anchor in zip(cells, ("VTM LDB", "HM", "VTM")):
            numbers = [float(x) for x in re.findall(r"[+-]\d+\.\d", cell)]
            expected = [float(rows[(test, anchor)][m]) for m in ("psnr_y", "ms_ssim_y", "fsim")]
            assert numbers == [float(f"{e:+.1f}") for e in expected], (label, anchor)


def test_the_readme_shows_the_quick_starts_own_output(tmp_path, capsys):
    """The sample output in the README is what the quick start's EncoderApp command prints (every POC line and
    the rate line the README quotes, verbatim)."""
    from EncoderApp.__main__ import main as encoder_main
    readme = open(os.path.join(ROOT, "README.md")).read()
    sample = readme.split("Its output (EncoderApp;")[1].split("`I (key)` is the key picture")[0]
    quoted = [l.strip() for l in sample.splitlines() if l.strip().startswith(("POC", "EncoderApp: 32 pictures"))]
    assert len(quoted) == 4
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert encoder_main(["-c", os.path.join(ROOT, "cfg", "encoder.yaml"), "-o", "", "--Progress", "0"]) == 0
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out.splitlines()
    for line in quoted:
        assert line in out, line
