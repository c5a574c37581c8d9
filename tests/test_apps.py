"""End-to-end tests of EncoderApp and DecoderApp (tiny random model, 6 pictures)."""
import csv
import os

import pytest

from Utilities.video_io import VideoReader
from DecoderApp.__main__ import main as decoder_main
from EncoderApp.__main__ import main as encoder_main

N = 6


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, tiny_model_file):
    d = tmp_path_factory.mktemp("enc")
    paths = {k: str(d / v) for k, v in dict(bin="str.bin", rec="rec.yuv", trace="enc_trace.txt").items()}
    rc = encoder_main(["--ModelFile", tiny_model_file, "-b", paths["bin"], "-o", paths["rec"], "-f", str(N),
                       "--IntraPeriod", "4", "--TraceFile", paths["trace"], "--Progress", "0", "--Threads", "1"])
    assert rc == 0
    paths["dir"] = str(d)
    return paths


def decode(encoded, tiny_model_file, *extra):
    d = encoded["dir"]
    out = os.path.join(d, f"dec{len(os.listdir(d))}.yuv")
    rc = decoder_main(["-b", encoded["bin"], "-o", out, "--ModelFile", tiny_model_file, "--Threads", "1", *extra])
    return rc, out


def test_any_hevc_decoder_plays_the_base_layer(encoded):
    import av
    with av.open(encoded["bin"], format="hevc") as c:
        frames = list(c.decode(video=0))
    assert len(frames) == N and frames[0].width == 256


def test_decoder_output_equals_encoder_reconstruction(encoded, tiny_model_file, capsys):
    rc, out = decode(encoded, tiny_model_file)
    text = capsys.readouterr().out
    assert rc == 0
    assert text.count("(OK)]") == N and "ERROR" not in text
    with open(out, "rb") as a, open(encoded["rec"], "rb") as b:
        assert a.read() == b.read()
    assert VideoReader(out, 256, 256).info.num_frames == N


def test_decoder_trace_equals_encoder_trace(encoded, tiny_model_file, tmp_path):
    t = str(tmp_path / "dec_trace.txt")
    rc, _ = decode(encoded, tiny_model_file, "--TraceFile", t)
    assert rc == 0
    enc, dec = open(encoded["trace"]).read(), open(t).read()
    assert enc == dec
    assert "gfv_base_picture_flag                                   u(1)   : 1" in dec
    assert dec.count("payloadType 223") == N


def test_opl_file_and_base_layer_output(encoded, tiny_model_file, tmp_path):
    opl, bl = str(tmp_path / "opl.csv"), str(tmp_path / "bl.y4m")
    rc, _ = decode(encoded, tiny_model_file, "--OplFile", opl, "--OutputBaseLayer", bl)
    assert rc == 0
    rows = list(csv.DictReader(open(opl)))
    assert [r["kind"] for r in rows] == ["key", "fused", "fused", "fused", "key", "fused"]
    assert list(rows[0]) == ["picture", "kind", "base_layer_bits", "gfv_sei_bits", "hash_sei_bits", "residual_scale",
                             "md5_r", "md5_g", "md5_b", "md5_check"]
    assert all(r["md5_check"] == "OK" for r in rows)
    assert VideoReader(bl).info.num_frames == N


def _one_line_error(capsys, pattern):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [l for l in err.splitlines() if "error" in l]
    assert lines and pattern in lines[0], err
    return err


def test_corrupt_generated_md5_is_reported(encoded, tiny_model_file, tmp_path, capsys):
    from CommonLib.syntax.picture_hash_sei import GENERATED_PICTURE_MD5_UUID
    data = bytearray(open(encoded["bin"], "rb").read())
    pos = data.find(GENERATED_PICTURE_MD5_UUID.bytes, data.find(GENERATED_PICTURE_MD5_UUID.bytes) + 1)
    data[pos + 20] ^= 0x10  # inside the MD5 of picture 1
    bad = tmp_path / "md5.bin"
    bad.write_bytes(bytes(data))
    rc = decoder_main(["-b", str(bad), "--ModelFile", tiny_model_file, "--Threads", "1"])
    assert rc == 1
    out = capsys.readouterr()
    assert out.out.count("(***ERROR***)") == 1 and "failed the MD5 check" in out.err


def test_truncated_bitstream_decodes_intact_pictures(encoded, tiny_model_file, tmp_path, capsys):
    data = open(encoded["bin"], "rb").read()
    bad = tmp_path / "trunc.bin"
    bad.write_bytes(data[: len(data) - 40])
    out = str(tmp_path / "trunc.yuv")
    rc = decoder_main(["-b", str(bad), "-o", out, "--ModelFile", tiny_model_file, "--Threads", "1"])
    assert rc == 1
    err = _one_line_error(capsys, "decoding stopped after 5 intact picture(s)")
    assert "picture 5" in err
    assert VideoReader(out, 256, 256).info.num_frames == 5


def test_corrupt_gfv_sei_is_one_line_error(encoded, tiny_model_file, tmp_path, capsys):
    data = bytearray(open(encoded["bin"], "rb").read())
    # the second suffix SEI NAL with a GFV payload: find payloadType 223 (0xDF) after a type-40 header
    idx = [i for i in range(len(data) - 4) if data[i:i + 4] == b"\x00\x00\x01\x50"]
    gfv = [i for i in idx if data[i + 5] == 0xDF]   # start code, 2-byte header, payloadType
    assert len(gfv) == N
    pos = gfv[2] + 7                                  # first payload bytes of picture 2
    data[pos:pos + 4] = b"\xff\xff\xff\xff"
    bad = tmp_path / "gfv.bin"
    bad.write_bytes(bytes(data))
    rc = decoder_main(["-b", str(bad), "--ModelFile", tiny_model_file, "--Threads", "1"])
    assert rc == 1
    _one_line_error(capsys, "decoding stopped after")


def test_stream_without_gfv_sei(tmp_path, example_clip, capsys):
    from Utilities.video_io import VideoReader as R
    from EncoderLib.base_layer_encoder import X265BaseLayerEncoder
    enc = X265BaseLayerEncoder(256, 256, 25, 30, 40, 0, 0)
    data = b"".join(b"".join(enc.encode(p)) for p in R(example_clip).frames(0, 2)) + b"".join(enc.flush())
    p = tmp_path / "plain.bin"
    p.write_bytes(data)
    assert decoder_main(["-b", str(p)]) == 1
    _one_line_error(capsys, "no Generative Face Video SEI")


@pytest.mark.parametrize("argv,msg", [
    (["-b", "/nonexistent/x.bin"], "does not exist"),
    (["-b", "/tmp"], "is a directory"),
    ([], "no bitstream given"),
    (["-b", "x.bin", "--Bogus", "1"], "unknown option"),
])
def test_decoder_bad_arguments(argv, msg, capsys):
    assert decoder_main(argv) == 1
    _one_line_error(capsys, msg)


def test_decoder_refuses_other_model(encoded, tmp_path, capsys, example_clip):
    import torch
    from CommonLib.generation.network_config import tiny_config
    from CommonLib.network.hdac_hf import HdacHfModel
    from CommonLib.network.model_file import save_model
    from conftest import convert_for_tests
    torch.manual_seed(5)
    other = str(tmp_path / "other.safetensors")
    save_model(HdacHfModel(tiny_config()), other, "other")
    assert decoder_main(["-b", encoded["bin"], "--ModelFile", other]) == 1
    _one_line_error(capsys, "requires model sha256")
    other_int = convert_for_tests(other, str(tmp_path / "other.hfim"), example_clip, "other")
    assert decoder_main(["-b", encoded["bin"], "--ModelFile", other_int]) == 1
    _one_line_error(capsys, "requires model sha256")


def test_float_inference_is_close_and_never_hashed(encoded, tiny_model_file, tiny_float_model_file, capsys):
    import numpy as np
    rc, out = decode(encoded, tiny_model_file, "--FloatInference", "1", "--FloatModelFile", tiny_float_model_file)
    text = capsys.readouterr().out
    assert rc == 0
    assert "(OK)]" in text                       # the key picture (decoded, not generated) is still checked
    assert text.count("not checked (float)") == N - len(range(0, N, 4)) and "ERROR" not in text   # IntraPeriod 4
    a = np.fromfile(out, np.uint8).astype(int)
    b = np.fromfile(encoded["rec"], np.uint8).astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() <= 3


def test_encoder_refuses_float_model_file(tiny_float_model_file, tmp_path, capsys):
    assert encoder_main(["--ModelFile", tiny_float_model_file, "-b", str(tmp_path / "x.bin"), "-f", "2"]) == 1
    _one_line_error(capsys, "is not an integer model")


def test_decoder_needs_float_inference_for_a_float_model_stream(encoded, tiny_float_model_file, capsys):
    """The float file is refused as --ModelFile (its SHA-256 is not the one the stream names)."""
    assert decoder_main(["-b", encoded["bin"], "--ModelFile", tiny_float_model_file]) == 1
    _one_line_error(capsys, "requires model sha256")


@pytest.mark.parametrize("argv,msg", [
    (["-i", "/nonexistent.yuv", "-wdt", "256", "-hgt", "256"], "does not exist"),
    (["-i", "/tmp"], "is a directory"),
    (["--BaseLayerQP", "60"], "outside 0..51"),
    (["--NoFusionPictures", "3-1"], "bad range"),
    (["--KeypointPrecision", "0"], "outside 1..32"),
    (["--Unknown", "1"], "unknown option"),
])
def test_encoder_bad_arguments(argv, msg, tiny_model_file, tmp_path, capsys):
    rc = encoder_main(["--ModelFile", tiny_model_file, "-b", str(tmp_path / "s.bin"), "--Progress", "0", *argv])
    assert rc == 1
    _one_line_error(capsys, msg)
    assert not (tmp_path / "s.bin").exists()


def test_encoder_wrong_raw_file_size(tmp_path, tiny_model_file, capsys):
    raw = tmp_path / "in.yuv"
    raw.write_bytes(b"\x80" * (256 * 256 * 3 // 2 + 7))
    rc = encoder_main(["--ModelFile", tiny_model_file, "-i", str(raw), "-wdt", "256", "-hgt", "256",
                       "-b", str(tmp_path / "s.bin"), "--Progress", "0"])
    assert rc == 1
    _one_line_error(capsys, "not a whole number")


def test_encoder_cfg_files_and_features(tmp_path, tiny_model_file, capsys):
    """Animation-only pictures, absolute keypoints, another precision, unknown SEI: still decodes exactly."""
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"ModelFile: {tiny_model_file}\nFramesToBeEncoded: 4\nProgress: 0\nThreads: 1\n"
                   "KeypointPrediction: 0\nKeypointPrecision: 5\n")
    more = tmp_path / "more.yaml"
    more.write_text("NoFusionPictures: '2'\nSEIUnknownPayload: 1\nSEIDecodedPictureHash: 0\n")
    bs, rec, dec = (str(tmp_path / n) for n in ("s.bin", "rec.rgb", "dec.rgb"))
    assert encoder_main(["-c", str(cfg), "-c", str(more), "-b", bs, "-o", rec, "--BaseLayerQP", "44"]) == 0
    out = capsys.readouterr().out
    assert "BaseLayerQP 44" in out and "P anim" in out and out.count("P fused") == 2
    t = str(tmp_path / "t.txt")
    assert decoder_main(["-b", bs, "-o", dec, "--ModelFile", tiny_model_file, "--Threads", "1", "--TraceFile", t]) == 0
    assert open(rec, "rb").read() == open(dec, "rb").read()
    trace = open(t).read()
    assert "(payloadType 222 skipped)" in trace and "gfv_coordinate_x_abs[0]" in trace
    assert "gfv_coordinate_precision_factor_minus1                  ue(v)  : 4" in trace


def test_external_encoder_errors(tiny_model_file, tmp_path, capsys):
    base = ["--ModelFile", tiny_model_file, "-b", str(tmp_path / "s.bin"), "-f", "2", "--Progress", "0"]
    assert encoder_main(base + ["--BaseLayerCodec", "vvc"]) == 1
    _one_line_error(capsys, "BaseLayerEncoder x265 writes HEVC: set BaseLayerCodec hevc (it is vvc)")
    ext = base + ["--BaseLayerEncoder", "external", "--BaseLayerCodec", "vvc"]
    assert encoder_main(ext) == 1
    _one_line_error(capsys, "BaseLayerEncoder external needs ExternalEncoderCommand")
    assert encoder_main(base + ["--ExternalEncoderCommand", "x {input}"]) == 1
    _one_line_error(capsys, "ExternalEncoderCommand is set but BaseLayerEncoder is x265")
    assert encoder_main(ext + ["--ExternalEncoderCommand", "no-such-vvc-encoder -i {input}"]) == 1
    _one_line_error(capsys, "'no-such-vvc-encoder' not found")
    # a command that "succeeds" but writes garbage instead of a VVC stream
    assert encoder_main(ext + ["--ExternalEncoderCommand", "cp {input} {output}"]) == 1
    _one_line_error(capsys, "not a VVC Annex-B stream")
    assert not (tmp_path / "s.bin").exists()


def test_external_hevc_encoder_command(tiny_model_file, tmp_path, example_clip, capsys):
    """The external-encoder path end to end, with a stand-in 'encoder' that writes an x265 stream."""
    script = tmp_path / "fake_encoder.py"
    script.write_text(
        "import sys\nsys.path.insert(0, %r)\n" % os.path.join(os.path.dirname(os.path.dirname(__file__)), "ReferenceSoftware")
        + "import numpy as np\nfrom Utilities.video_io import YuvPicture\n"
        "from EncoderLib.base_layer_encoder import X265BaseLayerEncoder\n"
        "inp, out, n, qp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])\n"
        "enc = X265BaseLayerEncoder(256, 256, 25, 30, qp, 0, 1)\n"
        "raw = np.fromfile(inp, np.uint8).reshape(n, -1)\n"
        "data = b''.join(b''.join(enc.encode(YuvPicture.from_packed(r, 256, 256))) for r in raw)\n"
        "open(out, 'wb').write(data + b''.join(enc.flush()))\n")
    import sys
    cmd = f"{sys.executable} {script} {{input}} {{output}} {{frames}} {{qp}}"
    bs, rec, dec = (str(tmp_path / n) for n in ("s.bin", "rec.yuv", "dec.yuv"))
    assert encoder_main(["--ModelFile", tiny_model_file, "-b", bs, "-o", rec, "-f", "3", "--Progress", "0",
                         "--Threads", "1", "--BaseLayerEncoder", "external", "--ExternalEncoderCommand", cmd]) == 0
    assert decoder_main(["-b", bs, "-o", dec, "--ModelFile", tiny_model_file, "--Threads", "1"]) == 0
    assert open(rec, "rb").read() == open(dec, "rb").read()
    assert capsys.readouterr().out.count("(OK)]") == 3


def test_md5_check_passes_on_a_stream_encoded_in_another_process(tmp_path, capsys):
    """The shipped integer model: EncoderApp in a separate process with 1 thread, DecoderApp here with 2."""
    import subprocess
    import sys
    b = str(tmp_path / "other.bin")
    r = subprocess.run([sys.executable, "-m", "EncoderApp", "-b", b, "-f", "5", "--Threads", "1", "--Progress", "0",
                        "--Verbose", "0"], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, OMP_NUM_THREADS="1", ATEN_CPU_CAPABILITY="avx2"))
    assert r.returncode == 0, r.stderr
    assert decoder_main(["-b", b, "--Threads", "2"]) == 0
    text = capsys.readouterr().out
    assert text.count("(OK)]") == 5 and "ERROR" not in text


@pytest.mark.parametrize("transmission", ["always", "never", "rd"])
def test_encoder_and_decoder_report_the_same_bits(tiny_detector_model_file, tmp_path, capsys, transmission):
    """The per-picture lines of EncoderApp and DecoderApp agree (base layer / GFV SEI / hash SEI bits, kind,
    scale, MD5) in every keypoint-transmission mode, and the three parts add up to the stream's size."""
    import re
    b = str(tmp_path / "s.bin")
    # rd at a QP where sending keypoints pays sometimes: a large KeypointLambdaScale range is not needed, the
    # lines must agree whatever rd decides
    assert encoder_main(["--ModelFile", tiny_detector_model_file, "-b", b, "-f", "5", "--Progress", "0",
                         "--Threads", "1", "--KeypointTransmission", transmission, "--BaseLayerQP", "44",
                         "--SEIUnknownPayload", "1"]) == 0
    enc = [l for l in capsys.readouterr().out.splitlines() if l.startswith("POC")]
    assert decoder_main(["-b", b, "--ModelFile", tiny_detector_model_file, "--Threads", "1"]) == 0
    dec = [l for l in capsys.readouterr().out.splitlines() if l.startswith("POC")]
    assert len(enc) == len(dec) == 5
    assert [l.replace(",(OK)]", "]") for l in dec] == enc
    parts = [tuple(int(v) for v in re.search(r"base layer +(\d+) bits  GFV SEI +(\d+) bits  hash SEI +(\d+) bits",
                                              l).groups()) for l in enc]
    assert sum(map(sum, parts)) == 8 * os.path.getsize(b)
    assert all(h > 0 for _, _, h in parts) and parts[0][1] > 0          # hash SEI in every picture, GFV in the key
    if transmission == "never":
        assert all(g == 0 for _, g, _ in parts[1:])


def test_help_aligns_and_names_the_shipped_cfg_values(capsys):
    """--help: one column for every option (short names too), the code default and what cfg/encoder.yaml (the
    README's) sets; with -c FILE before --help, FILE's values too."""
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert encoder_main(["--help"]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("  -")]
    help_column = {len(l) - len(l[2:].split("  ", 1)[1].lstrip()) for l in lines}
    assert len(help_column) == 1, help_column
    tx = next(l for l in lines if "--KeypointTransmission" in l)
    assert "(default: always; cfg/encoder.yaml: never)" in tx
    assert encoder_main(["-c", os.path.join(root, "cfg", "encoder_ctc.yaml"), "--help"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"--SEIGeneratedPictureHash .*\(default: 1; .*encoder_ctc.yaml: 0\)", out)


def test_two_encoders_and_two_decoders_in_one_folder_at_once(tiny_model_file, tmp_path):
    """Two runs writing the same outputs at the same time: both succeed (their temporary files are their own),
    the outputs are whole, no temporary file is left."""
    import subprocess
    import sys
    env = dict(os.environ, OMP_NUM_THREADS="1")
    enc = [sys.executable, "-m", "EncoderApp", "--ModelFile", tiny_model_file, "-f", "3", "-b", "s.bin", "-o",
           "rec.yuv", "--Progress", "0", "--Threads", "1"]
    procs = [subprocess.Popen(enc, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    dec = [sys.executable, "-m", "DecoderApp", "-b", "s.bin", "-o", "dec.yuv", "--ModelFile", tiny_model_file,
           "--Threads", "1"]
    procs = [subprocess.Popen(dec, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    assert all(b"(OK)" in o[0] for o in outs)
    assert os.path.getsize(tmp_path / "dec.yuv") == os.path.getsize(tmp_path / "rec.yuv") == 3 * 256 * 256 * 3 // 2
    assert not list(tmp_path.glob("*.part"))
