"""Options that several apps take, declared once (doc/software_manual.md lists them per app)."""
from __future__ import annotations

from Utilities.app_config import Option
from Utilities.sequence_list import DEFAULT_SEQUENCE_LIST

THREADS = Option("Threads", int, 0, "torch threads (0 = default)")


def sequence_list_option(split: str) -> Option:
    """``SequenceList``: the YAML sequence list, of which the app uses the clips of ``split``."""
    return Option("SequenceList", str, DEFAULT_SEQUENCE_LIST, f"YAML list of sequences (split '{split}' is used)")
