"""Files: whole-or-nothing outputs and file identity by SHA-256.

Every output file of the software (bitstreams, reconstructions, traces, logs,
model files, reports, stored CTC points) is written to a temporary file
``<name>.<process id>-<random>.part`` beside it and renamed to ``<name>`` only
when it is complete (doc/software_manual.md, "Output files"): a run that fails
or is interrupted never leaves a partial file under the requested name, the
``.part`` file it leaves behind is removed, and two runs writing the same
output at once never share a temporary file (the last complete one wins).

A model file is identified by the SHA-256 of its bytes (the GFV SEI's
``gfv_uri`` names it); anchors' encoder binaries and cfg files are
identified the same way in stored CTC points.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from typing import Any, Optional

from Utilities.errors import InputError

__all__ = ["OutputFile", "write_bytes", "write_text", "write_json", "sha256_file", "sha256_bytes"]

PART_SUFFIX = ".part"


class OutputFile:
    """An output file open on ``<path>.part``; :meth:`close` with ``ok=True`` renames it to ``path``.

    As a context manager it commits when the block ends normally and discards the file on any
    exception, so a file appears only after its last byte was written::

        with OutputFile("str.bin") as f:
            f.write(data)
    """

    def __init__(self, path: str, mode: str = "wb", what: str = "output file", **open_kwargs: Any):
        if "w" not in mode:
            raise ValueError("OutputFile opens files for writing")
        self.path = path
        self.tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}"
        d = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(d):
            raise InputError(f"{what} '{path}': directory '{d}' does not exist")
        try:
            self.f = open(self.tmp, mode, **open_kwargs)
        except OSError as e:
            raise InputError(f"cannot write {what} '{path}': {e.strerror}") from None

    def write(self, data):
        return self.f.write(data)

    def close(self, ok: bool = True) -> None:
        """Close; rename to the final name when ``ok``, else remove the ``.part`` file."""
        if self.f is None:
            return
        self.f.close()
        self.f = None
        if ok:
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)

    def __enter__(self) -> "OutputFile":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


def write_bytes(path: str, data: bytes, what: str = "output file") -> None:
    with OutputFile(path, "wb", what) as f:
        f.write(data)


def write_text(path: str, text: str, what: str = "output file") -> None:
    with OutputFile(path, "w", what, encoding="utf-8", newline="") as f:
        f.write(text)


def write_json(path: str, obj: Any, what: str = "output file", indent: Optional[int] = 1) -> None:
    write_text(path, json.dumps(obj, indent=indent, default=str) + "\n", what)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    """SHA-256 (lower-case hex) of the bytes of ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
