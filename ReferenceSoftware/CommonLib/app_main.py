"""The common frame of every app's ``main(argv)``: option parsing, one-line errors, exit codes."""
from __future__ import annotations

import sys

from CommonLib.app_config import parse_args
from CommonLib.errors import HdacError


def run_app(prog: str, options, argv, body) -> int:
    """Parse ``argv`` against ``options`` and run ``body(cfg)``; HdacError -> one line on stderr, exit 1."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        cfg = parse_args(options, argv, prog)
        if cfg is None:
            return 0
        return body(cfg)
    except HdacError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


class TraceFile:
    """Opens the SEI trace file (or nothing) as a context manager."""

    def __init__(self, path: str):
        self.path = path
        self.f = None

    def __enter__(self):
        if self.path:
            from CommonLib.errors import InputError
            try:
                self.f = open(self.path, "w", encoding="utf-8")
            except OSError as e:
                raise InputError(f"cannot write trace file '{self.path}': {e.strerror}") from None
        return self.f

    def __exit__(self, *exc):
        if self.f:
            self.f.close()
