"""The conformance suite (doc/conformance.md): every stream decodes to its stored MD5s, here and under the
cross-check variants; the regeneration script refuses to overwrite without its flag."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "conformance", "run.py")


def _run(*args):
    return subprocess.run([sys.executable, RUN, *args], capture_output=True, text=True, timeout=1800)


def test_conformance_streams_match_their_md5s():
    import yaml
    r = _run()
    assert r.returncode == 0, r.stdout + r.stderr
    streams = yaml.safe_load(open(os.path.join(ROOT, "conformance", "streams.yaml")))
    assert len(streams) >= 8
    for s in streams:
        line = next(l for l in r.stdout.splitlines() if l.startswith(s["name"] + " "))
        assert " OK " in line
        n_md5 = sum(1 for l in open(os.path.join(ROOT, "conformance", "bitstreams", s["name"] + ".md5"))
                    if not l.startswith("#"))
        # short streams (the suite decodes them all); 18 where a refresh needs a multiple of VTM's GOP of 8 above 8
        assert int(line.split()[1]) == n_md5 <= 18
        txt = open(os.path.join(ROOT, "conformance", "bitstreams", s["name"] + ".txt")).read()
        for field in ("Features exercised", "Picture size", "Frame rate", "Generating software", "commit",
                      "Command line", "sha256"):
            assert field in txt


#: a representative subset for the suite (its cost stays bounded): a conformance-only sigmoid model, the HDAC-HF
#: model with the residual scaling following the QP cascade, decoder-side keypoints (the integer detector) with
#: refresh; the whole suite under every variant is `python conformance/run.py --cross-check`
CROSS_CHECK_STREAMS = "GFV10_TINY_F1_SIGMOID,GFV12_HF_V2_CASCADE,GFV16_HF_KPD_NEVER_REFRESH"


def test_conformance_cross_check():
    r = _run("--cross-check", "--streams", CROSS_CHECK_STREAMS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MISMATCH" not in r.stdout and r.stdout.count("(2 threads)") == 1
    assert r.stdout.count("GFV16_HF_KPD_NEVER_REFRESH ") == 1 + r.stdout.count("\n  ") and " OK " in r.stdout


def test_a_modified_md5_is_reported_as_mismatch(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "conformance"))
    import conformance_lib
    import run as runner
    src = os.path.join(conformance_lib.BITSTREAMS)
    name = "GFV10_TINY_F1_SIGMOID"
    for ext in (".bin", ".md5"):
        data = open(os.path.join(src, name + ext), "rb").read()
        if ext == ".md5":
            lines = data.decode().splitlines(True)
            i = next(k for k, l in enumerate(lines) if l.startswith("3 "))
            f = lines[i].split()
            f[2] = "0" * 32 + f[2][32:]
            lines[i] = " ".join(f) + "\n"
            data = "".join(lines).encode()
        (tmp_path / (name + ext)).write_bytes(data)
    monkeypatch.setattr(runner, "BITSTREAMS", str(tmp_path))
    res, n, why = runner.check_stream({"name": name, "model": "conformance/models/conf_tiny_f1_sigmoid.hfim"})
    assert res == "MISMATCH" and "picture 3" in why and n == 10
    (tmp_path / (name + ".bin")).write_bytes(open(os.path.join(src, name + ".bin"), "rb").read()[:3000])
    res, n, why = runner.check_stream({"name": name, "model": "conformance/models/conf_tiny_f1_sigmoid.hfim"})
    assert res in ("ERROR", "MISMATCH") and n < 10


def test_generate_refuses_to_overwrite_without_the_flag():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "conformance", "generate.py"), "--streams",
                        "GFV01_HF_F2_QP50"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and "--overwrite" in r.stderr


def test_each_description_gives_the_command_line_of_streams_yaml():
    """The `Command line` of every <name>.txt is the one streams.yaml gives today (regenerated with the stream),
    empty arguments quoted, HM's / VTM's / VVenC's binary as <TAppEncoder> / <EncoderApp> / <vvencFFapp>, the
    model file when the stream names one."""
    sys.path.insert(0, os.path.join(ROOT, "conformance"))
    import conformance_lib
    import generate
    assert generate.command_line({"name": "X", "args": []}, ["--X265Params", "", "-f", "8"], {}) == \
        "python -m EncoderApp -c cfg/encoder.yaml -b X.bin --X265Params '' -f 8"
    binaries = {"hm": "/hm/TAppEnc", "vtm": "/vtm/EncoderApp", "vvenc": "/vvenc/vvencFFapp"}
    for s in conformance_lib.load_streams():
        txt = open(os.path.join(conformance_lib.BITSTREAMS, s["name"] + ".txt")).read()
        line = next(l for l in txt.splitlines() if l.startswith("Command line:"))
        assert line.split(":", 1)[1].strip() == generate.command_line(s, generate.encoder_args(s, binaries),
                                                                        binaries), s["name"]
