"""ConverterApp: float model -> integer model, from the command line."""
import os
import shutil

from ConverterApp.__main__ import main as converter_main


def test_converter_app_end_to_end(tmp_path, tiny_float_model_file, example_clip, capsys):
    from CommonLib.fixed_point.int_model_file import IntegerModelFile
    shutil.copy(example_clip, tmp_path / "clip.y4m")
    (tmp_path / "list.yaml").write_text("- {name: clip, file: clip.y4m, split: train}\n"
                                        "- {name: other, file: clip.y4m, split: test}\n")
    out = str(tmp_path / "m.hfim")
    rc = converter_main(["-m", tiny_float_model_file, "-o", out, "--SequenceList", str(tmp_path / "list.yaml"),
                         "--CacheDir", str(tmp_path / "cache"), "--MaxFramesPerClip", "12", "--IntraPeriod", "6",
                         "--CalibrationPictures", "3", "--BaseLayerQPs", "44,50"])
    assert rc == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    imf = IntegerModelFile(out)
    assert f"sha256 {imf.sha256}" in text
    conv = imf.header["conversion"]
    assert conv["calibration_clips"] == ["clip"]                    # the test split is never used
    assert conv["calibration_samples"] == 2 * (2 + 1)    # targets 1, 11 (6 is a key picture) x (2 QPs + animation-only)
    assert all(ok for ok in imf.network().exactness_report().values())
    assert not os.path.exists(out + ".part")


def _error(capsys, pattern):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and pattern in err, err


def test_converter_app_errors(tmp_path, tiny_float_model_file, capsys):
    assert converter_main(["-m", tiny_float_model_file]) == 1
    _error(capsys, "OutputModel")
    assert converter_main(["-m", str(tmp_path / "none.safetensors"), "-o", str(tmp_path / "x.hfim")]) == 1
    _error(capsys, "does not exist")
    assert converter_main(["-m", tiny_float_model_file, "-o", str(tmp_path / "x.hfim"), "--WeightBits", "4"]) == 1
    _error(capsys, "WeightBits")
    assert converter_main(["-m", tiny_float_model_file, "-o", str(tmp_path / "x.hfim"), "--Bogus", "1"]) == 1
    _error(capsys, "Bogus")
