"""Project-wide exception types.

Every error that a user can provoke with bad input (missing file, wrong size,
corrupt bitstream, bad cfg) is raised as a subclass of :class:`HdacError`.
The apps catch :class:`HdacError` and print a single line
``<App>: error: <message>`` and exit with a non-zero code; anything else is a
bug in the software.
"""


class HdacError(Exception):
    """Base class of all errors the apps report as a one-line message."""


class ConfigError(HdacError):
    """Unknown cfg key, bad value or inconsistent options."""


class InputError(HdacError):
    """Missing, unreadable or wrongly sized input file."""


class BitstreamError(HdacError):
    """Corrupt, truncated or non-conforming bitstream or SEI payload."""


class ModelError(HdacError):
    """Missing model file, SHA-256 mismatch or incompatible architecture."""
