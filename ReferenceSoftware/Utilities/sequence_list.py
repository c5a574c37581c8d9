"""The YAML sequence list of ``../shared/sequences`` (name, file, split, frames, fps, ...)."""
from __future__ import annotations

import os

from Utilities.app_config import load_yaml
from Utilities.errors import ConfigError

#: The project's sequences, beside the checkout (the default of every app's and study's SequenceList).
DEFAULT_SEQUENCE_LIST = "../shared/sequences/sequences.yaml"


def read_sequence_list(path: str, split: str, names: list[str] | None = None) -> list[dict]:
    """Entries of ``split`` (with an absolute ``path``), optionally only ``names`` in that order."""
    items = load_yaml(path, "sequence list")
    if not isinstance(items, list):
        raise ConfigError(f"sequence list '{path}' must be a YAML list")
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for it in items:
        if not isinstance(it, dict) or "name" not in it or "file" not in it:
            raise ConfigError(f"sequence list '{path}': every entry needs 'name' and 'file'")
        if it.get("split") == split:
            it = dict(it)
            it["path"] = os.path.join(base, it["file"])
            out.append(it)
    if names:
        by = {s["name"]: s for s in out}
        missing = [n for n in names if n not in by]
        if missing:
            raise ConfigError(f"sequence list '{path}' has no {split} sequence(s) {missing}")
        out = [by[n] for n in names]
    if not out:
        raise ConfigError(f"sequence list '{path}' has no sequence of split '{split}'")
    return out
