"""The fuzzing harnesses (tools/fuzz.py): the seed corpus and every kept crash replay without an exception other
than the project's own errors, and each harness runs briefly under atheris (a CI smoke run; the long runs are
`python -m tools.fuzz TARGET --Runs 100000`)."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from tools import fuzz


@pytest.mark.parametrize("target", sorted(fuzz.TARGETS))
def test_seed_corpus_and_kept_crashes_replay(target):
    seeds = os.path.join(fuzz.CORPUS, target)
    assert fuzz.replay(seeds, target) >= 1
    kept = os.path.join(fuzz.REGRESSIONS, target)
    if os.path.isdir(kept):
        fuzz.replay(kept, target)


def test_a_foreign_exception_escapes_the_harness():
    """The harness lets through what is not an HdacError (so that libFuzzer reports it as a crash)."""
    with pytest.raises(ZeroDivisionError):
        fuzz._expected(lambda: 1 // 0)
    from Utilities.errors import BitstreamError

    def bad():
        raise BitstreamError("x")
    assert fuzz._expected(bad) is None


@pytest.mark.parametrize("target, runs", [("gfv_sei_vtm", 2000), ("gfv_sei_hm18", 2000), ("access_units", 2000),
                                          ("slice_qp", 2000), ("model_file", 300), ("decoder", 20)])
def test_harness_smoke_run(target, runs, tmp_path):
    pytest.importorskip("atheris")
    r = subprocess.run([sys.executable, "-m", "tools.fuzz", target, "--Runs", str(runs), "--MaxSeconds", "6",
                        "--Artifacts", str(tmp_path / "art")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "DONE" in out
    assert not os.listdir(tmp_path / "art")                       # no crashing input


def test_coverage_of_a_replayed_corpus():
    """``--Replay DIR TARGET --Coverage 1`` reports the line coverage of each module the harness is about."""
    pytest.importorskip("coverage")
    r = subprocess.run([sys.executable, "-m", "tools.fuzz", "gfv_sei_vtm", "--Replay",
                        os.path.join(fuzz.CORPUS, "gfv_sei_vtm"), "--Coverage", "1"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-800:]
    lines = {line.split(": ")[2]: line for line in r.stdout.splitlines() if line.count(": ") >= 3}
    assert sorted(lines) == sorted(fuzz.HARNESS_MODULES["gfv_sei_vtm"])
    for line in lines.values():
        covered, total = (int(x) for x in line.split(": ")[3].split()[0].split("/"))
        assert 0 < covered < total
