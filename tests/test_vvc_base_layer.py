"""The VVC base layer end to end: VVenC and VTM as base-layer encoders (EncoderApp ``BaseLayerEncoder vvenc / vtm``),
FFmpeg's VVC decoder in DecoderApp against VTM's DecoderApp, the GFV SEI in VVC suffix SEI NAL units as VTM reads
it, SliceQpY of VVC pictures in the residual scaling, and the errors of VVC inputs."""
import os
import re
import stat

import numpy as np
import pytest

from DecoderApp.__main__ import main as decoder_main
from EncoderApp.__main__ import main as encoder_main
from test_jvet_interop import jvet_gfv_messages, project_gfv_messages
from test_residual_scaling import _with_table


def _run(args, timeout=300):
    import subprocess
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)


def test_coded_samples_are_brought_to_8_bits_as_jvet_decoders_write_them():
    """s8 = Min(255, (s + 2) >> 2) at 10 bits, (s + 8) >> 4 at 12 bits (decoding_process.md clause 1)."""
    from CommonLib.generation.base_layer_decoder import to_8_bits
    s10 = np.array([0, 1, 2, 5, 6, 513, 1019, 1020, 1021, 1023], np.uint16)
    assert to_8_bits(s10, 10).tolist() == [0, 0, 1, 1, 2, 128, 255, 255, 255, 255]
    s12 = np.array([0, 7, 8, 4087, 4088, 4095], np.uint16)
    assert to_8_bits(s12, 12).tolist() == [0, 0, 1, 255, 255, 255]
    s8 = np.array([0, 17, 255], np.uint8)
    assert to_8_bits(s8, 8).tolist() == [0, 17, 255]


#: ResidualScale[qp] = qp + 1 over VVC's QP range 0..63: every picture's scale shows the QP the decoder used
TABLE = [q + 1 for q in range(64)]


def _vtm_qps(stdout: str) -> list[int]:
    return [int(m) for m in re.findall(r"^POC.*?QP (\d+) \)", stdout, re.M)]


def _encode(d, model, *extra, frames):
    bs, trace, rec = str(d / "s.266"), str(d / "enc_trace.txt"), str(d / "enc_rec.rgb")
    rc = encoder_main(["--ModelFile", model, "-b", bs, "-o", rec, "-f", str(frames), "--Progress", "0", "--Threads",
                       "1", "--TraceFile", trace, "--BaseLayerCodec", "vvc", "--KeypointTransmission", "always",
                       *extra])
    assert rc == 0
    return bs, trace, rec


@pytest.fixture(scope="module")
def vvenc_stream(tmp_path_factory, tiny_model_file, jvet_tools):
    """A project stream on a VVenC base layer: 9 pictures, key pictures at 0, 4 and 8, a model with a table."""
    d = tmp_path_factory.mktemp("vvenc")
    model = _with_table(tiny_model_file, d / "scaled.hfim", TABLE)
    return _encode(d, model, "--BaseLayerEncoder", "vvenc", "--VvencEncoder", jvet_tools["bin"]["vvencFFapp"],
                   "--VvencPreset", "faster", "--IntraPeriod", "4", "--BaseLayerQP", "40", frames=9) + (d, model)


def test_vtm_decodes_the_vvenc_based_stream_with_every_hash_ok_and_the_same_sei(vvenc_stream, jvet_tools, capsys):
    bs, trace, rec, d, model = vvenc_stream
    vtm_rec, dump = str(d / "vtm_rec.yuv"), str(d / "vtm_sei.txt")
    r = _run([jvet_tools["bin"]["DecoderAppStatic"], "-b", bs, "-d", "8", "-o", vtm_rec,
              f"--OutputDecodedSEIMessagesFilename={dump}"])
    assert r.returncode == 0, r.stdout[-2000:]
    pocs = [line for line in r.stdout.splitlines() if line.startswith("POC")]
    assert len(pocs) == 9 and all("(OK)" in line for line in pocs) and "ERROR" not in r.stdout
    assert sum("I-SLICE" in line for line in pocs) == 3                  # IDR key pictures at 0, 4, 8
    ours = project_gfv_messages(trace)
    assert len(ours) == 9 and ours == jvet_gfv_messages(dump)
    # DecoderApp: FFmpeg's VVC pictures are VTM's (-d 8) byte for byte; every generated picture's MD5 is OK;
    # the residual scale of each fused picture is the table entry of the QP VTM reports; same trace as the encoder
    bl, dtrace, out = str(d / "bl.yuv"), str(d / "dec_trace.txt"), str(d / "dec.rgb")
    assert decoder_main(["-b", bs, "--BaseLayerCodec", "vvc", "--ModelFile", model, "--OutputBaseLayer", bl,
                         "-o", out, "--TraceFile", dtrace, "--Threads", "1"]) == 0
    text = capsys.readouterr().out
    assert text.count("(OK)]") == 9
    assert open(bl, "rb").read() == open(vtm_rec, "rb").read()
    assert open(out, "rb").read() == open(rec, "rb").read()
    assert open(dtrace).read() == open(trace).read()
    assert "picture_header_rbsp" in open(dtrace).read() or "sh_picture_header_in_slice_header_flag" in open(dtrace).read()
    qps = _vtm_qps(r.stdout)
    scales = [int(m) for m in re.findall(r"scale +(\d+)/64", text)]
    fused = [q for q, line in zip(qps, pocs) if "I-SLICE" not in line]
    assert len(fused) == 6 and scales == [q + 1 for q in fused]
    assert max(fused) > 44                                  # VVenC's cascade codes the P pictures above BaseLayerQP


def test_vtm_base_layer(tmp_path, tiny_model_file, jvet_tools, capsys):
    """VTM's EncoderApp (low-delay P cfg of the installation) as base-layer encoder: the key picture at IntraQP,
    VTM decodes the stream with every hash OK, DecoderApp reproduces every generated picture."""
    bs, trace, rec = _encode(tmp_path, tiny_model_file, "--BaseLayerEncoder", "vtm", "--VtmEncoder",
                             jvet_tools["bin"]["EncoderAppStatic"], "--BaseLayerQP", "45", "--IntraQP", "30", frames=4)
    r = _run([jvet_tools["bin"]["DecoderAppStatic"], "-b", bs, "-d", "8", "-o", str(tmp_path / "vtm.yuv")])
    pocs = [line for line in r.stdout.splitlines() if line.startswith("POC")]
    assert r.returncode == 0 and len(pocs) == 4 and all("(OK)" in line for line in pocs)
    assert _vtm_qps(r.stdout)[0] == 30
    bl = str(tmp_path / "bl.yuv")
    assert decoder_main(["-b", bs, "--BaseLayerCodec", "vvc", "--ModelFile", tiny_model_file, "--OutputBaseLayer",
                         bl, "-o", str(tmp_path / "dec.rgb")]) == 0
    assert capsys.readouterr().out.count("(OK)]") == 4
    assert open(bl, "rb").read() == open(tmp_path / "vtm.yuv", "rb").read()


def _script(tmp_path, name, body):
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return str(p)


def test_vvc_base_layer_bad_input(tmp_path, tiny_model_file, jvet_tools, capsys):
    bs = tmp_path / "s.266"
    base = ["--ModelFile", tiny_model_file, "-b", str(bs), "-f", "3", "--Progress", "0"]
    vvenc = jvet_tools["bin"]["vvencFFapp"]

    def fails(args, text):
        assert encoder_main(base + args) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and text in err.strip().splitlines()[-1], err
        assert not bs.exists() and not list(bs.parent.glob(bs.name + "*.part"))

    fails(["--BaseLayerEncoder", "vvenc", "--VvencEncoder", vvenc], "BaseLayerEncoder vvenc writes VVC: set "
          "BaseLayerCodec vvc")
    fails(["--BaseLayerEncoder", "hm", "--BaseLayerCodec", "vvc"], "BaseLayerEncoder hm writes HEVC")
    vv = ["--BaseLayerEncoder", "vvenc", "--BaseLayerCodec", "vvc"]
    fails(vv, "VvencEncoder is not set")
    fails(vv + ["--VvencEncoder", str(tmp_path / "nope")], "does not exist")
    fails(vv + ["--VvencEncoder", vvenc, "--VvencPreset", "ultrafast"], "VvencPreset")
    fails(["--VvencParams", "--MCTF 0"], "VvencParams is set but BaseLayerEncoder is x265")
    fails(vv + ["--VvencEncoder", _script(tmp_path, "short", f'exec {vvenc} "$@" -f 2')], "coded 2 pictures, 3 were "
          "given")
    fails(vv + ["--VvencEncoder", _script(tmp_path, "fail", "echo 'Error: bad option'; exit 3")],
          "failed with exit code 3: Error: bad option")
    fails(vv + ["--VvencEncoder", vvenc, "--VvencParams", "--NoSuchOption 1"], "VVenC encoder")
    vtm = ["--BaseLayerEncoder", "vtm", "--BaseLayerCodec", "vvc", "--VtmEncoder", jvet_tools["bin"]["EncoderAppStatic"]]
    fails(vtm + ["--IntraPeriod", "5"], "needs IntraPeriod 0 or a multiple of its GOPSize 8")


def test_decoder_names_the_codec_of_a_stream_given_as_the_other(tmp_path, vvenc_stream, capsys):
    vvc = vvenc_stream[0]
    assert decoder_main(["-b", vvc, "-o", str(tmp_path / "x.rgb")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "the bitstream is VVC, not HEVC" in err and "set BaseLayerCodec vvc" in err
    hevc = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conformance", "bitstreams",
                        "GFV01_HF_F2_QP50.bin")
    assert decoder_main(["-b", hevc, "--BaseLayerCodec", "vvc", "-o", str(tmp_path / "y.rgb")]) == 1
    err = capsys.readouterr().err
    assert "the bitstream is HEVC, not VVC" in err and "set BaseLayerCodec hevc" in err
    assert not (tmp_path / "x.rgb").exists() and not (tmp_path / "y.rgb").exists()


def test_the_report_puts_the_papers_table_i_beside_hdac_hf_on_a_vvc_base_layer():
    from EvalLib.report import paper_comparison
    cell = lambda v: {"psnr_y": {"average": v}, "ms_ssim_y": {"average": v - 1}}     # noqa: E731
    tables = {"HDAC-HF never VVenC": {"VTM-LDB": cell(12.5), "HM": cell(-3.0), "HDAC+ VVenC": cell(-1.0)},
              "HDAC-HF x265": {"HM": cell(30.0)}}
    lines = paper_comparison(tables, list(tables), ["psnr_y", "ms_ssim_y"])
    rows = [line for line in lines if line.startswith("| HDAC-HF")]
    assert rows == ["| HDAC-HF never VVenC against VTM LDB | +12.50 | +11.50 | VVC | +9.30 | -21.66 |",
                    "| HDAC-HF never VVenC against HM | -3.00 | -4.00 | HEVC | -38.42 | -47.12 |",
                    "| HDAC-HF never VVenC against HDAC+ VVenC | -1.00 | -2.00 | HDAC+ | -6.82 | -6.20 |"]
    assert paper_comparison({"HDAC-HF x265": {"HM": cell(30.0)}}, ["HDAC-HF x265"], ["psnr_y", "ms_ssim_y"]) == []


@pytest.mark.parametrize("name", ["GFV19_HF_VVENC_KPD", "GFV20_HF_VTM_REFRESH"])
def test_vtm_decodes_the_vvc_conformance_streams_as_decoder_app_does(name, jvet_tools, tmp_path, capsys):
    """VTM's DecoderApp on the VVC conformance streams (keypoints derived in GFV19, sent in GFV20): every decoded
    picture hash OK, its base-layer pictures (-d 8) equal DecoderApp's byte for byte, its GFV SEI dump equals
    DecoderApp's trace element by element."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bs = os.path.join(root, "conformance", "bitstreams", name + ".bin")
    n = sum(1 for line in open(bs[:-4] + ".md5") if not line.startswith("#"))
    rec, dump = str(tmp_path / "vtm.yuv"), str(tmp_path / "sei.txt")
    r = _run([jvet_tools["bin"]["DecoderAppStatic"], "-b", bs, "-d", "8", "-o", rec,
              f"--OutputDecodedSEIMessagesFilename={dump}"])
    pocs = [line for line in r.stdout.splitlines() if line.startswith("POC")]
    assert r.returncode == 0 and len(pocs) == n and all("(OK)" in line for line in pocs)
    bl, trace = str(tmp_path / "bl.yuv"), str(tmp_path / "trace.txt")
    assert decoder_main(["-b", bs, "--BaseLayerCodec", "vvc", "--OutputBaseLayer", bl, "--TraceFile", trace,
                         "-o", str(tmp_path / "out.rgb")]) == 0
    assert capsys.readouterr().out.count("(OK)]") == n
    assert open(bl, "rb").read() == open(rec, "rb").read()
    ours = project_gfv_messages(trace)
    assert ours == jvet_gfv_messages(dump) and len(ours) == (1 if "KPD" in name else n)


@pytest.mark.parametrize("rate", ["22.131147540983605", "35", "30000/1001"])
def test_vvenc_codes_sequences_of_any_frame_rate(rate, tmp_path, jvet_tools):
    """The test and training sequences run at 22.13, 24.59, 29.97 and 35 pictures/s: VVenC's default 27 MHz clock
    refuses some of them; the base layer gives it an integer rate and one tick per picture."""
    from fractions import Fraction
    from EncoderLib.vvenc_encoder import vvenc_encoder
    yuv = tmp_path / "in.yuv"
    yuv.write_bytes(np.random.default_rng(2).integers(0, 256, 2 * 64 * 64 * 3 // 2, dtype=np.uint8).tobytes())
    enc = vvenc_encoder(jvet_tools["bin"]["vvencFFapp"], "faster")
    data = enc.encode(str(yuv), str(tmp_path / "o.266"), 64, 64, Fraction(rate), 2, 40, 30)
    assert data.startswith(b"\x00\x00\x00\x01")
