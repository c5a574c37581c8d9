"""Interoperability with the JVET reference software (HM 18.0, VTM 23.13 of ../shared/jvet-tools).

* HM as base-layer encoder (EncoderApp ``BaseLayerEncoder hm``) and its bad-input errors;
* HM's TAppDecoder decodes a project stream in the ``hm18`` GFV SEI syntax, every picture and every decoded
  picture hash OK, and its SEI dump equals the project's trace element by element;
* VTM's DecoderApp does the same for the ``vtm`` syntax (the payloads re-wrapped into a VVC stream made by
  VTM's encoder, as VVC suffix SEI NAL units);
* the GFV SEI that HM's and VTM's encoders write from their example cfg files parses in DecoderApp
  (``--ParseOnly 1 --TraceFile``) with the element values their decoders print.
"""
import os
import re
import stat
import subprocess

import numpy as np
import pytest

from DecoderApp.__main__ import main as decoder_main
from EncoderApp.__main__ import main as encoder_main

#: lines of the JVET decoders' SEI dump that are derived values, not syntax elements
DERIVED = {"gfv_coordinate_Xtensor", "gfv_coordinate_Ytensor", "gfv_coordinate_Ztensor", "gfv_MatrixElement",
           "gfv_chroma_key_value", "gfv_chroma_key_thr_value"}
#: JVET reader names -> the names of doc/bitstream_syntax.md clause 3.2
ALIASES = {"gfv_mode_idc": "gfv_nn_mode_idc", "gfv_Matrix3DSpaceFlag": "gfv_matrix_3d_space_flag"}
PADDING = ("payload_bit_equal_to_one", "payload_bit_equal_to_zero")


def _norm(name: str) -> str:
    base = re.sub(r"\[.*?\]", "", name).replace(" ", "")
    return ALIASES.get(base, base)


def jvet_gfv_messages(path: str) -> list:
    """[(element name, value)] of every GFV SEI message of a JVET decoder's --OutputDecodedSEIMessagesFilename."""
    messages, cur, keep, drop = [], None, 0, 0
    for line in open(path, errors="replace"):
        if not line.startswith("  "):
            cur = [] if line.startswith("Generative face video SEI message") else None
            if cur is not None:
                messages.append(cur)
            continue
        if cur is None:
            continue
        name, _, value = line.strip().partition(": ")
        name, value = name.strip(), value.strip()
        if keep:
            keep -= 1
        elif drop:
            drop -= 1
            continue
        if name in DERIVED:
            continue
        cur.append((_norm(name), value))
        if name == "gfv_chroma_key_thr_present_flag":
            # VTM prints the two thresholds again after them (or their defaults when they are not present)
            keep, drop = (2 if value == "1" else 0), 2
    return messages


def project_gfv_messages(trace_path: str) -> list:
    """[(element name, value)] of every GFV SEI message of a project trace (EncoderApp / DecoderApp)."""
    messages, cur = [], None
    for line in open(trace_path):
        if line.startswith("==="):
            cur = [] if "payloadType 223 " in line else None
            if cur is not None:
                messages.append(cur)
            continue
        if cur is None or line.startswith("    ("):
            continue
        name, value = line[:56].strip(), line.split(": ", 1)[1].strip()
        if name not in PADDING:
            cur.append((_norm(name), value))
    return messages


def _run(args, timeout=300):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)


def _encode(tmp_path, tiny_model_file, jvet_tools, *extra, name="s.bin", frames=6):
    bs, trace = str(tmp_path / name), str(tmp_path / (name + ".trace.txt"))
    rc = encoder_main(["--ModelFile", tiny_model_file, "-b", bs, "-f", str(frames), "--Progress", "0",
                       "--Threads", "1", "--TraceFile", trace, *extra])
    assert rc == 0
    return bs, trace


@pytest.fixture(scope="module")
def hm18_stream(tmp_path_factory, tiny_model_file, jvet_tools):
    """A project stream with an HM base layer and the GFV SEI in HM 18.0's syntax."""
    d = tmp_path_factory.mktemp("hm18")
    return _encode(d, tiny_model_file, jvet_tools, "--BaseLayerEncoder", "hm", "--HmEncoder",
                   jvet_tools["bin"]["TAppEncoderStatic"], "--HmEncoderCfg",
                   jvet_tools["cfg"]["hm_encoder_lowdelay_P_main.cfg"], "--GfvSeiSyntax", "hm18", "--IntraPeriod", "16",
                   frames=18) + (d,)


def test_hm_decodes_the_hm18_stream_with_every_hash_ok_and_the_same_sei(hm18_stream, jvet_tools, tiny_model_file,
                                                                        capsys):
    bs, trace, d = hm18_stream
    rec, dump = str(d / "hm_rec.yuv"), str(d / "hm_sei.txt")
    r = _run([jvet_tools["bin"]["TAppDecoderStatic"], "-b", bs, "-d", "8", "-o", rec,
              f"--OutputDecodedSEIMessagesFilename={dump}"])
    assert r.returncode == 0, r.stdout[-2000:]
    pocs = [l for l in r.stdout.splitlines() if l.startswith("POC")]
    assert len(pocs) == 18 and all("(OK)" in l for l in pocs) and "ERROR" not in r.stdout
    assert sum("I-SLICE" in l for l in pocs) == 2                    # the key-picture refresh at 16
    ours = project_gfv_messages(trace)
    assert len(ours) == 18 and ours == jvet_gfv_messages(dump)
    assert ("gfv_drive_picture_fusion_flag", "1") in ours[2]         # the hm18 flag in a gfv_cnt > 0 message
    # DecoderApp: the same stream with --GfvSeiSyntax hm18, the base layer equal to HM's output
    bl, dtrace = str(d / "bl.yuv"), str(d / "dec_trace.txt")
    assert decoder_main(["-b", bs, "--ModelFile", tiny_model_file, "--GfvSeiSyntax", "hm18", "--OutputBaseLayer", bl,
                         "--TraceFile", dtrace, "--Threads", "1"]) == 0
    assert capsys.readouterr().out.count("(OK)]") == 18
    assert open(bl, "rb").read() == open(rec, "rb").read()
    assert open(dtrace).read() == open(trace).read()
    # in the vtm syntax the stream does not parse, and the error says which option to try
    assert decoder_main(["-b", bs, "--ModelFile", tiny_model_file]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "try GfvSeiSyntax hm18" in err


def _vvc_stream(jvet_tools, d, frames):
    """A VVC stream of the first pictures of the embedded clip made by VTM's encoder (low-delay P)."""
    from Utilities.app_config import EXAMPLE_CLIP, resolve_resource
    from Utilities.video_io import VideoReader
    yuv, out = str(d / "in.yuv"), str(d / "vtm.bin")
    with open(yuv, "wb") as f:
        for p in VideoReader(resolve_resource(EXAMPLE_CLIP)).frames(0, frames):
            f.write(p.packed().tobytes())
    r = _run([jvet_tools["bin"]["EncoderAppStatic"], "-c", jvet_tools["cfg"]["vtm_encoder_lowdelay_P_vtm.cfg"],
              "-i", yuv, "-wdt", "256", "-hgt", "256", "-fr", "30", "-f", str(frames), "-q", "50", "--IntraPeriod=-1",
              "--Level=3.1", "-b", out, "-o", ""])
    assert r.returncode == 0, r.stdout[-2000:]
    return open(out, "rb").read()


def test_vtm_decodes_the_vtm_syntax_rewrapped_into_a_vtm_stream(tmp_path, tiny_model_file, jvet_tools, capsys):
    from CommonLib.syntax import nal_unit as nu
    from CommonLib.syntax.access_units import split_access_units
    from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO, make_sei_nal_unit, parse_sei_nal_unit
    n = 5
    bs, trace = _encode(tmp_path, tiny_model_file, jvet_tools, "--KeypointPrediction", "1", frames=n)
    payloads = []
    for au in split_access_units(open(bs, "rb").read(), "hevc"):
        for nal, t in zip(au.nal_units, au.types):
            if t == nu.HEVC_SUFFIX_SEI:
                payloads += [p for pt, p in parse_sei_nal_unit(nal, "hevc")[1] if pt == GENERATIVE_FACE_VIDEO]
    assert len(payloads) == n
    vvc = split_access_units(_vvc_stream(jvet_tools, tmp_path, n), "vvc")
    assert len(vvc) == n
    wrapped = b"".join(au.annexb() + nu.annexb(make_sei_nal_unit("vvc", [(GENERATIVE_FACE_VIDEO, p)]))
                       for au, p in zip(vvc, payloads))
    path, dump = tmp_path / "wrapped.266", str(tmp_path / "vtm_sei.txt")
    path.write_bytes(wrapped)
    r = _run([jvet_tools["bin"]["DecoderAppStatic"], "-b", str(path), "-d", "8",
              f"--OutputDecodedSEIMessagesFilename={dump}"])
    assert r.returncode == 0, r.stdout[-2000:]
    assert len([l for l in r.stdout.splitlines() if l.startswith("POC")]) == n
    ours = project_gfv_messages(trace)
    assert len(ours) == n and ours == jvet_gfv_messages(dump)
    # DecoderApp parses the VVC stream's GFV SEI (no model needed) with the same elements
    vtrace = str(tmp_path / "vvc_trace.txt")
    assert decoder_main(["-b", str(path), "--BaseLayerCodec", "vvc", "--ParseOnly", "1", "--TraceFile", vtrace]) == 0
    assert project_gfv_messages(vtrace) == ours
    assert f"parsed {n} access units, {n} GFV SEI messages" in capsys.readouterr().out


@pytest.mark.parametrize("codec", ["HM", "VTM"])
def test_the_jvet_encoders_example_gfv_sei_parses_in_decoder_app(codec, tmp_path, jvet_tools, capsys):
    """HM's / VTM's encoder writes GFV SEI messages from its example cfg (125 messages; HM: 15 3-D keypoints with
    P = 20; VTM: chroma key information, 10 predicted keypoints with P = 9); DecoderApp reads every element as
    the JVET decoder does."""
    yuv = tmp_path / "in.yuv"
    yuv.write_bytes(np.random.default_rng(0).integers(0, 256, 2 * 64 * 64 * 3 // 2, dtype=np.uint8).tobytes())
    enc, dec, ld_cfg, gfv_cfg, syntax, bl_codec = {
        "HM": ("TAppEncoderStatic", "TAppDecoderStatic", "hm_encoder_lowdelay_P_main.cfg", "hm_generative_face_video.cfg",
               "hm18", "hevc"),
        "VTM": ("EncoderAppStatic", "DecoderAppStatic", "vtm_encoder_lowdelay_P_vtm.cfg", "vtm_generative_face_video.cfg",
                "vtm", "vvc")}[codec]
    bs, dump, trace = str(tmp_path / "ex.bin"), str(tmp_path / "dump.txt"), str(tmp_path / "trace.txt")
    r = _run([jvet_tools["bin"][enc], "-c", jvet_tools["cfg"][ld_cfg], "-c", jvet_tools["cfg"][gfv_cfg], "-i", str(yuv),
              "-wdt", "64", "-hgt", "64", "-fr", "25", "-f", "2", "-q", "40", "--IntraPeriod=-1", "--Level=3.1",
              "-b", bs, "-o", ""])
    assert r.returncode == 0, r.stdout[-2000:]
    r = _run([jvet_tools["bin"][dec], "-b", bs, f"--OutputDecodedSEIMessagesFilename={dump}"])
    assert r.returncode == 0
    theirs = jvet_gfv_messages(dump)
    assert len(theirs) == 125
    assert decoder_main(["-b", bs, "--ParseOnly", "1", "--GfvSeiSyntax", syntax, "--BaseLayerCodec", bl_codec,
                         "--TraceFile", trace]) == 0
    assert "125 GFV SEI messages" in capsys.readouterr().out
    ours = project_gfv_messages(trace)
    assert ours == theirs
    if codec == "HM":
        assert ("gfv_coordinate_z_present_flag", "1") in ours[0]
        assert ("gfv_coordinate_precision_factor_minus1", "19") in ours[0]
    else:
        assert ("gfv_chroma_key_purpose_idc", "0") in ours[0] and ("gfv_chroma_key_thr_lower", "21") in ours[0]
        assert ("gfv_coordinate_precision_factor_minus1", "8") in ours[0] and ("gfv_kps_pred_flag", "1") in ours[0]


def _script(tmp_path, name, body):
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return str(p)


def test_hm_base_layer_bad_input(tmp_path, tiny_model_file, jvet_tools, capsys):
    bs = tmp_path / "s.bin"
    base = ["--ModelFile", tiny_model_file, "-b", str(bs), "-f", "3", "--Progress", "0", "--BaseLayerEncoder", "hm"]
    cfg = ["--HmEncoderCfg", jvet_tools["cfg"]["hm_encoder_lowdelay_P_main.cfg"]]

    def fails(args, text):
        assert encoder_main(base + args) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and text in err.strip().splitlines()[-1], err
        assert not bs.exists() and not list(bs.parent.glob(bs.name + "*.part"))

    fails([], "HmEncoder is not set")
    fails(["--HmEncoder", str(tmp_path / "nope")], f"HmEncoder '{tmp_path / 'nope'}' does not exist")
    plain = tmp_path / "plain"
    plain.write_text("not a program")
    fails(["--HmEncoder", str(plain)], "is not executable")
    fails(["--HmEncoder", _script(tmp_path, "TAppEncoder", "exit 0")], "HmEncoderCfg is not set and no "
          "encoder_lowdelay_P_main.cfg was found")
    fails(["--HmEncoder", _script(tmp_path, "fail", "echo 'Error: bad option' ; exit 3")] + cfg,
          "failed with exit code 3: Error: bad option")
    fails(["--HmEncoder", _script(tmp_path, "silent", "exit 0")] + cfg, "wrote no bitstream")
    real = jvet_tools["bin"]["TAppEncoderStatic"]
    fails(["--HmEncoder", _script(tmp_path, "short", f'exec {real} "$@" -f 2')] + cfg, "coded 2 pictures, 3 were given")
    fails(["--HmEncoder", real] + cfg + ["--IntraPeriod", "5"], "needs IntraPeriod 0 or a multiple of its GOPSize 8")
    fails(["--HmEncoder", real] + cfg + ["--BaseLayerQPCascade", "1"], "BaseLayerQPCascade applies to x265")


def test_hm_streams_are_cached_by_content(tmp_path, jvet_tools, monkeypatch):
    """EvalApp codes a sequence's HM base layer once for every configuration that shares it."""
    from fractions import Fraction
    from EncoderLib.jvet_encoder import jvet_encoder
    yuv = tmp_path / "in.yuv"
    yuv.write_bytes(np.random.default_rng(1).integers(0, 256, 3 * 64 * 64 * 3 // 2, dtype=np.uint8).tobytes())
    enc = jvet_encoder("HM", jvet_tools["bin"]["TAppEncoderStatic"], jvet_tools["cfg"]["hm_encoder_lowdelay_P_main.cfg"])
    enc.cache_dir = str(tmp_path / "cache")
    first = enc.encode(str(yuv), str(tmp_path / "a.bin"), 64, 64, Fraction(25), 3, 45, 30)
    assert len(os.listdir(enc.cache_dir)) == 1
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(AssertionError("HM ran")))
    assert enc.encode(str(yuv), str(tmp_path / "b.bin"), 64, 64, Fraction(25), 3, 45, 30) == first
    with pytest.raises(AssertionError, match="HM ran"):                # another QP is another stream
        enc.encode(str(yuv), str(tmp_path / "c.bin"), 64, 64, Fraction(25), 3, 46, 30)
