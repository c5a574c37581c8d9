import pytest

from Utilities.app_config import Option, flag, parse_args
from Utilities.errors import ConfigError

OPTS = [Option("InputFile", str, "in.yuv", "input", "i"), Option("BaseLayerQP", int, 50, "qp"),
        Option("FrameRate", float, 0.0, "rate", "fr"), flag("Fusion", 1, "fusion"),
        Option("Mode", str, "a", "mode", choices=("a", "b"))]


def test_defaults_cfg_stack_and_command_line_override(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("BaseLayerQP: 44\nInputFile: x.yuv\n")
    b.write_text("BaseLayerQP: 46\n")
    cfg = parse_args(OPTS, ["-c", str(a), "-c", str(b)], "T")
    assert (cfg.BaseLayerQP, cfg.InputFile, cfg.Fusion) == (46, "x.yuv", 1)
    cfg = parse_args(OPTS, ["--BaseLayerQP", "48", "-c", str(a), "-i", "y.yuv", "--Fusion=0", "-fr", "25"], "T")
    assert (cfg.BaseLayerQP, cfg.InputFile, cfg.Fusion, cfg.FrameRate) == (48, "y.yuv", 0, 25.0)


@pytest.mark.parametrize("argv,msg", [
    (["--Bogus", "1"], "unknown option '--Bogus'"),
    (["--BaseLayerQP", "x"], "bad value 'x' for BaseLayerQP"),
    (["--BaseLayerQP", "4.5"], "bad value"),
    (["--Fusion", "2"], "bad value '2' for Fusion"),
    (["--Mode", "c"], "choose a, b"),
    (["--BaseLayerQP"], "needs a value"),
    (["stray"], "unexpected argument"),
    (["-c", "/nonexistent.yaml"], "does not exist"),
])
def test_bad_options_are_config_errors(argv, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_args(OPTS, argv, "T")


def test_bad_cfg_files(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("Unknown: 3\n")
    with pytest.raises(ConfigError, match="unknown key 'Unknown'"):
        parse_args(OPTS, ["-c", str(p)], "T")
    p.write_text("BaseLayerQP: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_args(OPTS, ["-c", str(p)], "T")
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        parse_args(OPTS, ["-c", str(p)], "T")
    p.write_text("BaseLayerQP: true\n")
    with pytest.raises(ConfigError, match="expected an integer"):
        parse_args(OPTS, ["-c", str(p)], "T")


def test_help_returns_none(capsys):
    assert parse_args(OPTS, ["--help"], "T") is None
    assert "--BaseLayerQP" in capsys.readouterr().out
