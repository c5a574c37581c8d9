"""SliceQpY of base-layer pictures, whichever the codec: the parser of each codec's parameter sets and slice
headers (CommonLib.syntax.hevc_slice_qp for HEVC, CommonLib.syntax.vvc_slice_qp for VVC), chosen by
BaseLayerCodec. Both keep the parameter sets of a stream and give SliceQpY of each access unit's picture
(``access_unit``, ``access_unit_or_error``)."""
from __future__ import annotations

from CommonLib.syntax import nal_unit as nu
from Utilities.errors import BitstreamError

__all__ = ["SliceQpParserBase", "slice_qp_parser"]


class SliceQpParserBase:
    """What the parsers of both codecs share: the parameter sets kept by id, the trace, and
    :meth:`access_unit_or_error`; a subclass gives :meth:`access_unit`."""

    def __init__(self, trace=None):
        self.sps: dict = {}
        self.pps: dict = {}
        self.trace = trace

    def access_unit(self, nal_units: list[bytes], picture: int = 0) -> int:   # pragma: no cover - abstract
        raise NotImplementedError

    def access_unit_or_error(self, nal_units: list[bytes], picture: int = 0) -> int | BitstreamError:
        """As :meth:`access_unit`, but a syntax error is returned instead of raised: decoders keep it
        for the pictures that need SliceQpY, so that a stream whose model needs no QP decodes anyway."""
        try:
            return self.access_unit(nal_units, picture)
        except BitstreamError as e:
            return e


def slice_qp_parser(codec: str, trace=None):
    """A new SliceQpY parser for a stream of ``codec`` ('hevc' or 'vvc'), tracing into ``trace``."""
    if codec == nu.HEVC:
        from CommonLib.syntax.hevc_slice_qp import SliceQpParser
    elif codec == nu.VVC:
        from CommonLib.syntax.vvc_slice_qp import SliceQpParser
    else:
        raise ValueError(f"unknown codec {codec!r}")
    return SliceQpParser(trace)
