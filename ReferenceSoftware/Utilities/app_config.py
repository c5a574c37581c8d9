"""JVET-style option handling shared by every app.

* Each app declares an option table of :class:`Option` (long name = cfg key,
  optional JVET short form, type, default, help).
* ``-c FILE`` (repeatable) loads YAML cfg files in order; later files win.
* ``--Name value`` / ``--Name=value`` / short forms on the command line win
  over every cfg file.
* Unknown keys (in a cfg file or on the command line) and bad values are
  :class:`ConfigError`s naming the key.
* Values starting with ``resource:`` name files shipped inside the package
  (models, the example clip), wherever the software is installed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from Utilities.errors import ConfigError

RESOURCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "CommonLib", "resources")
"""CommonLib's package data (shipped models, the embedded clip): the ``resource:`` prefix of paths."""
#: The embedded example clip (32 pictures of the test sequence ctc01_lp_d6): EncoderApp's default input.
EXAMPLE_CLIP = "resource:clips/ctc01_lp_d6_256x256_30_32f.y4m"


def int_list(name: str, text: str, allow_empty: bool = False) -> list[int]:
    """A comma-separated list option of integers (e.g. ``BaseLayerQPs 44,46``), or ConfigError naming it."""
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{name} '{text}' is not a comma-separated list of integers") from None
    if not vals and not allow_empty:
        raise ConfigError(f"{name} is empty")
    return vals


def resolve_resource(value: str) -> str:
    """``resource:models/x.safetensors`` -> absolute path inside the installed package."""
    if isinstance(value, str) and value.startswith("resource:"):
        return os.path.join(RESOURCE_DIR, value[len("resource:"):])
    return value


@dataclass
class Option:
    name: str
    type: Callable[[Any], Any]
    default: Any
    help: str
    short: str | None = None
    choices: tuple | None = None


def _to_bool01(v):
    if isinstance(v, bool):
        return int(v)
    if str(v) in ("0", "1"):
        return int(v)
    raise ValueError("expected 0 or 1")


def flag(name, default, help, short=None):
    return Option(name, _to_bool01, default, help, short)


def _convert(opt: Option, value, origin: str):
    try:
        if value is None and opt.default is None:
            return None
        if opt.type is str and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)              # a one-value list option written as a YAML number, e.g. IntraQPs: 27
        if opt.type is str and not isinstance(value, str):
            raise ValueError("expected a string")
        if opt.type is int and (isinstance(value, bool) or (isinstance(value, float) and not value.is_integer())):
            raise ValueError("expected an integer")
        v = opt.type(value)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{origin}: bad value '{value}' for {opt.name} ({e})") from None
    if opt.choices is not None and v not in opt.choices:
        raise ConfigError(f"{origin}: bad value '{value}' for {opt.name} (choose {', '.join(map(str, opt.choices))})")
    return v


class AppConfig:
    """Parsed options of one app: ``cfg.Name`` or ``cfg['Name']``."""

    def __init__(self, options: list[Option], values: dict):
        self._options = {o.name: o for o in options}
        self._values = values

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self._values[name]

    def as_dict(self) -> dict:
        return dict(self._values)

    def defaults(self) -> dict:
        """Option name -> the code's default."""
        return {n: o.default for n, o in self._options.items()}


def load_yaml(path: str, what: str):
    """Parsed YAML of ``path``; a missing file or bad YAML is a ConfigError naming ``what``."""
    if not os.path.isfile(path):
        raise ConfigError(f"{what} '{path}' does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} '{path}' is not valid YAML ({str(e).splitlines()[0]})") from None


def load_cfg_file(path: str) -> dict:
    data = load_yaml(path, "cfg file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"cfg file '{path}' must be a mapping of option names to values")
    return data


#: the cfg file each app's README command uses; --help names the values it sets beside the code's defaults
SHIPPED_CFG = {"EncoderApp": "cfg/encoder.yaml", "TrainerApp": "cfg/train.yaml", "EvalApp": "cfg/ctc.yaml",
               "ConverterApp": "cfg/convert.yaml"}


def _shipped_cfg(prog: str) -> tuple[str, dict]:
    """(name, values) of the app's shipped cfg file when it is there (a source checkout), else ('', {})."""
    rel = SHIPPED_CFG.get(prog)
    if not rel:
        return "", {}
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), rel)
    try:
        data = load_cfg_file(path) if os.path.isfile(path) else {}
    except ConfigError:
        data = {}
    return (rel, data) if data else ("", {})


def help_text(prog: str, options: list[Option], cfg_values: dict | None = None, cfg_names: str = "") -> str:
    """One line per option: its help, the code's default, the value the shipped cfg file sets where it differs,
    and the value of the cfg files given before --help (``cfg_values``) where it differs."""
    shipped, shipped_values = _shipped_cfg(prog)
    lines = [f"usage: python -m {prog} [-c cfg.yaml ...] [--Option value ...]", ""]
    if shipped:
        lines += [f"  (the README runs it with -c {shipped}: its values are shown after the defaults; "
                  f"-c FILE --help shows those of FILE)", ""]
    for o in options:
        head = (f"-{o.short}, " if o.short else "") + f"--{o.name}"
        extra = ""
        if o.name in shipped_values and str(shipped_values[o.name]) != str(o.default):
            extra += f"; {shipped}: {shipped_values[o.name]}"
        if cfg_values and o.name in cfg_values and str(cfg_values[o.name]) != str(o.default):
            extra += f"; {cfg_names}: {cfg_values[o.name]}"
        lines.append(f"  {head:<34} {o.help} (default: {o.default}{extra})")
    return "\n".join(lines)


def parse_args(options: list[Option], argv: list[str], prog: str) -> AppConfig | None:
    """Parse ``argv``; returns None when help was printed."""
    table = {o.name: o for o in options}
    shorts = {o.short: o for o in options if o.short}
    values = {o.name: o.default for o in options}
    cfg_files, overrides = [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            given = {}
            for path in cfg_files:
                given.update({k: v for k, v in load_cfg_file(path).items() if k in table})
            print(help_text(prog, options, given, " + ".join(cfg_files)))
            return None
        if a in ("-c", "--ConfigFile"):
            if i + 1 >= len(argv):
                raise ConfigError(f"{a} needs a cfg file name")
            cfg_files.append(argv[i + 1])
            i += 2
            continue
        if a.startswith("--"):
            key, eq, val = a[2:].partition("=")
            opt = table.get(key)
        elif a.startswith("-") and len(a) > 1:
            key, eq, val = a[1:].partition("=")
            opt = shorts.get(key)
        else:
            raise ConfigError(f"unexpected argument '{a}'")
        if opt is None:
            raise ConfigError(f"unknown option '{a}'")
        if not eq:
            if i + 1 >= len(argv):
                raise ConfigError(f"option {a} needs a value")
            val = argv[i + 1]
            i += 1
        overrides.append((opt, val, f"command line {a}"))
        i += 1
    for path in cfg_files:
        for key, val in load_cfg_file(path).items():
            if key not in table:
                raise ConfigError(f"cfg file '{path}': unknown key '{key}'")
            values[key] = _convert(table[key], val, f"cfg file '{path}'")
    for opt, val, origin in overrides:
        values[opt.name] = _convert(opt, val, origin)
    return AppConfig(options, values)
