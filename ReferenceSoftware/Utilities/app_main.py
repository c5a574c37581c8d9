"""The common frame of every app's ``main(argv)``: option parsing, one-line errors, exit codes."""
from __future__ import annotations

import sys

from Utilities.app_config import parse_args
from Utilities.errors import HdacError


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
    except BrokenPipeError:               # e.g. --help | head: the reader went away
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class TraceFile:
    """The syntax trace file (or None when ``path`` is empty) as a context manager: an output file
    (Utilities.files) that appears when the block ends, and not at all when it ends with an exception."""

    def __init__(self, path: str):
        self.path = path
        self.out = None

    def __enter__(self):
        if not self.path:
            return None
        from Utilities.files import OutputFile
        self.out = OutputFile(self.path, "w", "trace file", encoding="utf-8")
        return self.out.f

    def __exit__(self, exc_type, exc, tb):
        if self.out:
            self.out.close(ok=exc_type is None)
