"""Residual scaling (CommonLib.generation.residual_scaling): arithmetic, model files, decoding, fitting."""
import glob

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from Utilities.errors import ModelError
from CommonLib.generation.residual_scaling import apply_residual_scale, check_table, scale_for_qp


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 256))
def test_formula_per_sample(g, b, scale):
    """O = Clip3(0, 255, B + floor((scale (G - B) + 32) / 64)), in exact integers."""
    out = apply_residual_scale(np.array([g], np.uint8), np.array([b], np.uint8), scale)
    assert out.dtype == np.uint8
    assert int(out[0]) == min(255, max(0, b + (scale * (g - b) + 32) // 64))


def test_identity_and_zero_scale():
    rng = np.random.default_rng(0)
    g = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    b = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    assert np.array_equal(apply_residual_scale(g, b, 64), g)
    assert np.array_equal(apply_residual_scale(g, b, 0), b)
    half = apply_residual_scale(g, b, 32).astype(int)
    assert np.all(np.abs(2 * half - g.astype(int) - b.astype(int)) <= 1)


def test_table_lookup_clips_the_qp():
    table = list(range(52))
    assert [scale_for_qp(table, q) for q in (-12, 0, 44, 51, 60)] == [0, 0, 44, 51, 51]
    vvc = list(range(64))                                   # VVC's QP range: 0..63
    assert [scale_for_qp(vvc, q) for q in (-12, 51, 58, 63, 70)] == [0, 51, 58, 63, 63]
    assert scale_for_qp(None, 44) == 64
    assert check_table(vvc, "m") == vvc


@pytest.mark.parametrize("bad", [[64] * 51, [64] * 53, [64] * 65, [64] * 51 + [257], [64] * 51 + [-1], [64] * 51 + [1.5], "x" * 52, 7])
def test_bad_tables_are_model_errors(bad):
    with pytest.raises(ModelError, match="residual_scale"):
        check_table(bad, "m")


def _with_table(tiny_model_file, path, table, name="tiny_scaled"):
    from CommonLib.fixed_point.int_model_file import IntegerModelFile, rewrite_integer_model
    rewrite_integer_model(IntegerModelFile(tiny_model_file), str(path), name, table, {"test": True})
    return str(path)


def test_model_file_carries_the_table(tiny_model_file, tmp_path):
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    table = [64 - q for q in range(52)]
    imf = IntegerModelFile(_with_table(tiny_model_file, tmp_path / "s.hfim", table))
    src = IntegerModelFile(tiny_model_file)
    assert imf.residual_scale == table and src.residual_scale is None
    assert imf.model_name == "tiny_scaled" and imf.header["residual_scale_fit"] == {"test": True}
    assert imf.data == src.data and imf.source_model_sha256 == src.source_model_sha256
    # a damaged table is refused when the file is opened
    raw = open(imf.path, "rb").read().replace(b'"residual_scale":[64,', b'"residual_scale":[-4,')
    bad = tmp_path / "bad.hfim"
    bad.write_bytes(raw)
    with pytest.raises(ModelError, match="residual_scale must be 52 or 64 integers"):
        IntegerModelFile(str(bad))


def test_encoder_and_decoder_scale_by_the_slice_qp(tiny_model_file, tmp_path, example_clip, capsys):
    """A stream made with a scaled model: the decoder's pictures are the encoder's (MD5 SEI checked), each
    fused picture is the formula applied to the network's picture with the table entry of its QP."""
    from DecoderApp.__main__ import main as decoder_main
    from DecoderLib.decoder import HdacHfDecoder, read_bitstream
    from EncoderApp.__main__ import main as encoder_main
    table = [64] * 52
    table[44], table[45] = 16, 40
    model = _with_table(tiny_model_file, tmp_path / "s.hfim", table)
    rc = encoder_main(["--InputFile", example_clip, "-b", str(tmp_path / "a.bin"), "--ModelFile", model,
                       "--FramesToBeEncoded", "6", "--BaseLayerQP", "45", "--IntraQP", "27", "--ReconFile", ""])
    out, err = capsys.readouterr()
    assert rc == 0 and out.count("scale  40/64  [MD5:") == 5, out + err
    rc = decoder_main(["-b", str(tmp_path / "a.bin"), "--ModelFile", model, "-o", str(tmp_path / "d.rgb")])
    out, err = capsys.readouterr()
    assert rc == 0 and out.count("scale  40/64  [MD5:") == 5 and out.count("(OK)]") == 6, out + err
    pics = list(HdacHfDecoder(model_file=model).decode(read_bitstream(str(tmp_path / "a.bin"))))
    assert [p.out.residual_scale for p in pics] == [None] + [40] * 5
    for p in pics[1:]:
        expect = apply_residual_scale(p.out.generated, p.base_picture.to_rgb(), 40)
        assert np.array_equal(p.out.rgb, expect) and not np.array_equal(p.out.rgb, p.out.generated)


def test_without_a_base_layer_qp_a_scaled_model_is_refused(tiny_model_file, tmp_path, example_clip):
    """Where the base layer's slice QP is not given, a model with a table cannot be applied."""
    from Utilities.errors import BitstreamError
    from CommonLib.syntax.keypoint_coding import GfvState
    from EncoderLib.gfv_message_writer import encode_gfv_payload
    from DecoderLib.decoder import HdacHfDecoder, read_bitstream
    from CommonLib.generation.picture_reconstruction import PictureReconstructor
    from EncoderApp.__main__ import main as encoder_main
    model = _with_table(tiny_model_file, tmp_path / "s.hfim", [32] * 52)
    assert encoder_main(["--InputFile", example_clip, "-b", str(tmp_path / "a.bin"), "--ModelFile", model,
                         "--FramesToBeEncoded", "2", "--ReconFile", ""]) == 0
    pics = list(HdacHfDecoder(model_file=model).decode(read_bitstream(str(tmp_path / "a.bin"))))
    rec = PictureReconstructor(model)
    from CommonLib.syntax.access_units import split_access_units
    from CommonLib.syntax.access_unit_sei import parse_access_unit_sei
    state = GfvState()
    aus = split_access_units(read_bitstream(str(tmp_path / "a.bin")), "hevc")
    gfv = [parse_access_unit_sei(a, a.index, state, None).gfv[0] for a in aus]
    rec.picture(0, gfv[0], pics[0].base_picture, True)
    with pytest.raises(BitstreamError, match="base-layer QP"):
        rec.picture(1, gfv[1], pics[1].base_picture, False, None)
    assert np.array_equal(rec.picture(1, gfv[1], pics[1].base_picture, False, 50).rgb, pics[1].out.rgb)


def test_converter_fits_the_table_on_training_clips(tmp_path, tiny_model_file, example_clip, capsys):
    """ConverterApp on an integer model: the fitted alpha is the least-squares weight, the table its
    rounding, interpolated between the fitted QPs and held outside them."""
    import shutil

    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from ConverterApp.__main__ import main as converter_main
    from TrainingLib.residual_scale_fit import residual_statistics, scale_table
    shutil.copy(example_clip, tmp_path / "clip.y4m")
    (tmp_path / "list.yaml").write_text("- {name: clip, file: clip.y4m, split: train}\n"
                                        "- {name: other, file: clip.y4m, split: test}\n")
    out = str(tmp_path / "fit.hfim")
    rc = converter_main(["-m", tiny_model_file, "-o", out, "--SequenceList", str(tmp_path / "list.yaml"),
                         "--ResidualScaleQPs", "44,50", "--ResidualScaleFrames", "4", "--ModelName", "tiny_fit"])
    assert rc == 0, capsys.readouterr().err
    imf = IntegerModelFile(out)
    fit = imf.header["residual_scale_fit"]
    assert fit["clips"] == ["clip"] and fit["qps"] == [44, 50] and imf.model_name == "tiny_fit"
    seq = {"name": "clip", "path": str(tmp_path / "clip.y4m")}
    alphas = {}
    for qp in (44, 50):
        stats = residual_statistics(seq, tiny_model_file, qp, 27, 0, 4)
        assert list(stats) == [qp]                          # x265 at constant QP: SliceQpY is the fit's QP
        num, den, n = stats[qp]
        assert n == 3 and fit["fit"][str(qp)]["pictures"] == 3 and fit["by"] == "SliceQpY"
        alphas[qp] = num / den
        assert fit["fit"][str(qp)]["alpha"] == pytest.approx(alphas[qp])
    table = imf.residual_scale
    assert table == scale_table(alphas)
    assert table[:45] == [table[44]] * 45 and table[50:] == [table[50]] * 2
    a47 = alphas[44] + (alphas[50] - alphas[44]) / 2
    assert table[47] == min(256, max(0, int(np.floor(64 * a47 + 0.5))))
    assert not glob.glob(out + "*.part")


def test_converter_residual_scale_option_errors(tmp_path, tiny_model_file, capsys):
    from ConverterApp.__main__ import main as converter_main
    for args, msg in ((["--ResidualScaleQPs", "44,x"], "ResidualScaleQPs"),
                      (["--ResidualScaleQPs", "60"], "0..51"),
                      (["--ResidualScaleFrames", "1"], "ResidualScaleFrames")):
        assert converter_main(["-m", tiny_model_file, "-o", str(tmp_path / "o.hfim")] + args) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and msg in err and len(err.strip().splitlines()) == 1, err


def test_an_unparsable_slice_header_stops_only_models_that_need_the_qp(tiny_model_file, tmp_path, example_clip):
    """A base layer whose PPS this version cannot parse: a model without a table decodes it as before; with a
    table the picture is refused with the parser's message."""
    from CommonLib.syntax import nal_unit as nu
    from Utilities.errors import BitstreamError
    from CommonLib.syntax.hevc_slice_qp import SliceQpParser
    from CommonLib.syntax.keypoint_coding import GfvState
    from EncoderLib.gfv_message_writer import encode_gfv_payload
    from CommonLib.syntax.access_units import split_access_units
    from DecoderLib.decoder import HdacHfDecoder, read_bitstream
    from CommonLib.generation.picture_reconstruction import PictureReconstructor
    from CommonLib.syntax.access_unit_sei import parse_access_unit_sei
    from EncoderApp.__main__ import main as encoder_main
    scaled_model = _with_table(tiny_model_file, tmp_path / "s.hfim", [32] * 52)
    for model, expect_error in ((tiny_model_file, False), (scaled_model, True)):
        assert encoder_main(["--InputFile", example_clip, "-b", str(tmp_path / "a.bin"), "--ModelFile", model,
                             "--FramesToBeEncoded", "2", "--ReconFile", ""]) == 0
        data = read_bitstream(str(tmp_path / "a.bin"))
        aus = split_access_units(data, "hevc")
        bad = [n if nu.parse_nal_header(n, "hevc").nal_unit_type != nu.HEVC_PPS else n[:3] for n in aus[0].nal_units]
        err = SliceQpParser().access_unit_or_error(bad)
        assert isinstance(err, BitstreamError) and "PPS" in str(err)
        pics = list(HdacHfDecoder(model_file=model).decode(data))
        state = GfvState()
        gfv = [parse_access_unit_sei(a, a.index, state, None).gfv[0] for a in aus]
        rec = PictureReconstructor(model)
        rec.picture(0, gfv[0], pics[0].base_picture, True, err)
        if expect_error:
            with pytest.raises(BitstreamError, match="base-layer QP for the residual scaling: HEVC PPS"):
                rec.picture(1, gfv[1], pics[1].base_picture, False, err)
        else:
            assert np.array_equal(rec.picture(1, gfv[1], pics[1].base_picture, False, err).rgb, pics[1].out.rgb)


def test_converter_leaves_no_model_without_the_table_it_was_asked_for(tmp_path, tiny_float_model_file, example_clip,
                                                                       capsys):
    import shutil

    from ConverterApp.__main__ import main as converter_main
    shutil.copy(example_clip, tmp_path / "clip.y4m")
    (tmp_path / "list.yaml").write_text("- {name: clip, file: clip.y4m, split: train}\n")
    out = tmp_path / "m.hfim"
    rc = converter_main(["-m", tiny_float_model_file, "-o", str(out), "--SequenceList", str(tmp_path / "list.yaml"),
                         "--CacheDir", str(tmp_path / "cache"), "--MaxFramesPerClip", "6", "--CalibrationPictures", "2",
                         "--ResidualScaleQPs", "44", "--ResidualScaleSequences", "nope"])
    err = capsys.readouterr().err
    assert rc == 1 and "ResidualScaleSequences ['nope']" in err and "Traceback" not in err, err
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_converter_fits_a_64_entry_table_by_slice_qp_on_a_vvc_base_layer(tmp_path, tiny_model_file, example_clip,
                                                                         jvet_tools, capsys):
    """On a VVenC base layer one fit QP spreads over VVenC's cascade: the fit pools the fused pictures by their
    SliceQpY (above 51 too) and the table has VVC's 64 entries."""
    import shutil

    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    from ConverterApp.__main__ import main as converter_main
    from EncoderLib.base_layer_settings import BaseLayerSettings
    from TrainingLib.residual_scale_fit import residual_statistics, scale_table
    shutil.copy(example_clip, tmp_path / "clip.y4m")
    (tmp_path / "list.yaml").write_text("- {name: clip, file: clip.y4m, split: train}\n")
    vvenc = jvet_tools["bin"]["vvencFFapp"]
    out = str(tmp_path / "fit.hfim")
    rc = converter_main(["-m", tiny_model_file, "-o", out, "--SequenceList", str(tmp_path / "list.yaml"),
                         "--ResidualScaleQPs", "46", "--ResidualScaleFrames", "5", "--BaseLayerEncoder", "vvenc",
                         "--BaseLayerCodec", "vvc", "--VvencEncoder", vvenc, "--VvencPreset", "faster"])
    assert rc == 0, capsys.readouterr().err
    imf = IntegerModelFile(out)
    fit = imf.header["residual_scale_fit"]
    bl = BaseLayerSettings("vvenc", "vvc", vvenc_encoder=vvenc, vvenc_preset="faster", picture_hash=0)
    stats = residual_statistics({"name": "clip", "path": str(tmp_path / "clip.y4m")}, tiny_model_file, 46, 27, 0, 5,
                                bl)
    assert len(stats) == 2 and max(stats) > 51 and sum(v[2] for v in stats.values()) == 4
    assert sorted(fit["fit"]) == sorted(map(str, stats)) and fit["base_layer"]["encoder"] == "VVenC"
    assert imf.residual_scale == scale_table({q: n / d for q, (n, d, _) in stats.items()}, 64)
    assert len(imf.residual_scale) == 64
