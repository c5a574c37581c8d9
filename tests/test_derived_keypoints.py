"""Decoder-side keypoints (KeypointTransmission never / rd; doc/bitstream_syntax.md clause 3.4.6)."""
import os

import pytest

from CommonLib.syntax.access_units import split_access_units
from Utilities.errors import BitstreamError, ModelError
from CommonLib.syntax.sei_message import GENERATIVE_FACE_VIDEO, parse_sei_nal_unit
from DecoderApp.__main__ import main as decoder_main
from EncoderApp.__main__ import main as encoder_main


def _encode(tmp_path, model, mode, *extra, name=None, frames=7):
    bs = str(tmp_path / (name or f"{mode}.bin"))
    trace = bs + ".trace.txt"
    rc = encoder_main(["--ModelFile", model, "-b", bs, "-f", str(frames), "--Progress", "0", "--Threads", "1",
                       "--KeypointTransmission", mode, "--TraceFile", trace, *extra])
    return rc, bs, trace


def _gfv_per_au(bs):
    out = []
    for au in split_access_units(open(bs, "rb").read(), "hevc"):
        n = 0
        for nal, t in zip(au.nal_units, au.types):
            if t in (39, 40):
                n += sum(pt == GENERATIVE_FACE_VIDEO for pt, _ in parse_sei_nal_unit(nal, "hevc")[1])
        out.append(n)
    return out


@pytest.mark.parametrize("mode", ["never", "rd"])
def test_derived_modes_decode_with_every_md5_ok(tmp_path, tiny_detector_model_file, mode, capsys):
    rc, bs, trace = _encode(tmp_path, tiny_detector_model_file, mode, "--IntraPeriod", "4")
    assert rc == 0
    enc_out = capsys.readouterr().out
    gfv = _gfv_per_au(bs)
    assert gfv[0] == 1 and gfv[4] == 1                               # key pictures carry their message
    if mode == "never":
        assert gfv == [1, 0, 0, 0, 1, 0, 0] and enc_out.count("P deriv") == 5
    dtrace = str(tmp_path / "dec.txt")
    opl = str(tmp_path / "opl.csv")
    assert decoder_main(["-b", bs, "--ModelFile", tiny_detector_model_file, "--TraceFile", dtrace,
                         "--OplFile", opl, "--Threads", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("(OK)]") == 7 and "ERROR" not in out
    assert open(dtrace).read() == open(trace).read()
    kinds = [line.split(",")[1] for line in open(opl).read().splitlines()[1:]]
    assert kinds.count("derived") == sum(1 for g, k in zip(gfv, kinds) if g == 0) and kinds[0] == "key"
    assert "model-derived-keypoints" in open(trace).read()           # the base picture's gfv_uri_tag


def test_rd_mode_sends_keypoints_where_they_pay(tmp_path, tiny_detector_model_file, monkeypatch):
    """With lambda 0 every fused picture carries keypoints (they lower the distortion or tie), with a huge
    lambda none does."""
    import EncoderLib.encoder as enc
    monkeypatch.setattr(enc, "rd_lambda", lambda qp: 0.0)
    assert _encode(tmp_path, tiny_detector_model_file, "rd", name="l0.bin")[0] == 0
    monkeypatch.setattr(enc, "rd_lambda", lambda qp: 1e12)
    assert _encode(tmp_path, tiny_detector_model_file, "rd", name="linf.bin")[0] == 0
    low, high = _gfv_per_au(str(tmp_path / "l0.bin")), _gfv_per_au(str(tmp_path / "linf.bin"))
    assert high == [1, 0, 0, 0, 0, 0, 0] and sum(low) > sum(high)


def test_derived_mode_errors(tmp_path, tiny_model_file, tiny_detector_model_file, capsys):
    # an encoder mode that derives keypoints needs a model with the integer detector
    rc, bs, _ = _encode(tmp_path, tiny_model_file, "never")
    assert rc == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "needs an integer model with a keypoint detector" in err
    assert not os.path.exists(bs)
    # keypoints missing where the mode needs them: a keypoints-in-every-picture stream without one GFV SEI
    rc, bs, _ = _encode(tmp_path, tiny_detector_model_file, "always", "--SEIGeneratedPictureHash", "0",
                        name="always.bin")
    assert rc == 0
    aus = split_access_units(open(bs, "rb").read(), "hevc")
    cut = b"".join(a.annexb() if i != 3 else b"".join(u for u, t in zip(a.units, a.types) if t != 40)
                   for i, a in enumerate(aus))
    (tmp_path / "cut.bin").write_bytes(cut)
    capsys.readouterr()
    assert decoder_main(["-b", str(tmp_path / "cut.bin"), "--ModelFile", tiny_detector_model_file]) == 1
    err = capsys.readouterr().err
    assert "decoding stopped after 3 intact picture(s)" in err and "does not derive keypoints" in err
    # a derived-keypoint stream whose key picture lost its GFV SEI
    rc, bs, _ = _encode(tmp_path, tiny_detector_model_file, "never", "--SEIGeneratedPictureHash", "0")
    aus = split_access_units(open(bs, "rb").read(), "hevc")
    cut = b"".join(a.annexb() if i else b"".join(u for u, t in zip(a.units, a.types) if t != 40)
                   for i, a in enumerate(aus))
    (tmp_path / "cut2.bin").write_bytes(cut)
    capsys.readouterr()
    assert decoder_main(["-b", str(tmp_path / "cut2.bin"), "--ModelFile", tiny_detector_model_file]) == 1
    assert "IRAP picture without a GFV SEI base-picture message" in capsys.readouterr().err


def test_a_derived_stream_needs_a_model_with_the_detector(tiny_model_file, example_clip):
    """The reconstruction refuses a base picture that derives keypoints with a model that cannot."""
    import numpy as np
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from CommonLib.syntax.keypoint_coding import GfvState
    from CommonLib.generation.model_registry import DERIVED_KEYPOINTS_URI_TAG, model_uri
    from CommonLib.generation.picture_reconstruction import PictureReconstructor
    from Utilities.video_io import VideoReader
    from EncoderLib.gfv_message_writer import encode_gfv_payload
    imf = IntegerModelFile(tiny_model_file)
    state = GfvState()
    payload, _ = encode_gfv_payload(state, 0, np.zeros((10, 2), np.int64), 8, base_picture=True,
                                    uri_tag=DERIVED_KEYPOINTS_URI_TAG, uri=model_uri(imf.model_name, imf.sha256))
    gfv = GfvState().decode_payload(payload)
    pic = next(VideoReader(example_clip).frames(0, 1))
    with pytest.raises(ModelError, match="has no integer keypoint detector"):
        PictureReconstructor(tiny_model_file).picture(0, gfv, pic, True)
    with pytest.raises(ModelError, match="no keypoint detector"):
        imf.network().detect(pic.to_rgb())
    with pytest.raises(BitstreamError, match="does not derive keypoints"):
        PictureReconstructor(tiny_model_file).picture(1, None, pic, False)
