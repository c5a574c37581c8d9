"""Syntax-element level bit I/O (writer and reader with the same interface).

One syntax function serves both directions: it calls ``c.<descriptor>(name,
value)`` for every syntax element, where ``c`` is either a
:class:`SyntaxWriter` (the value is written and returned) or a
:class:`SyntaxReader` (the value argument is ignored and the value read is
returned).  Typical use::

    def my_syntax(c, m):
        m.foo_id = c.ue("foo_id", m.foo_id)
        m.foo_flag = c.flag("foo_flag", m.foo_flag)

Descriptors (ITU-T H.265 / H.266 clause 7.2 / 9.2, H.274 clause 7):

=========  =========================================================
``u(n)``   unsigned integer, n bits, MSB first          -> :meth:`u`
``u(1)``   one-bit flag                                 -> :meth:`flag`
``f(n)``   fixed-pattern bit string (checked on read)   -> :meth:`f`
``ue(v)``  unsigned Exp-Golomb code                     -> :meth:`ue`
``se(v)``  signed Exp-Golomb code                       -> :meth:`se`
``st(v)``  null-terminated UTF-8 string                 -> :meth:`st`
=========  =========================================================

Trace: both classes take an optional ``trace`` (a ``list`` that receives one
string per element, or a text file object that receives one line per
element).  Each element produces exactly::

    f"{name:<56}{desc:<7}: {value}"

e.g. ``gfv_num_kps_minus1                                      ue(v)  : 9``.
Writer and reader produce identical traces for the same payload, so traces of
an encoder and a decoder can be diffed.

Every problem a corrupt input can provoke in the reader raises
:class:`Utilities.errors.BitstreamError` naming the element.  Invalid values
handed to the writer raise :class:`BitstreamError` as well.

Range of ue(v): 0 .. 2**32 - 2 (the range of all ue(v) syntax elements of
H.265/H.266).  The reader therefore rejects codes with 32 or more leading zero
bits (they could only code values >= 2**32 - 1).
"""

from __future__ import annotations

import operator
from typing import Any, Optional

from bitstring import Bits, BitStream

from Utilities.errors import BitstreamError

__all__ = [
    "SyntaxWriter",
    "SyntaxReader",
    "UE_MAX",
    "SE_MAX",
    "format_trace_line",
    "trace_line",
    "as_int",
]

#: Largest value codable in ue(v) (2**32 - 2).
UE_MAX = (1 << 32) - 2
#: Largest magnitude codable in se(v) (2**31 - 1).
SE_MAX = (1 << 31) - 1
#: ue(v) codes with more than this many leading zero bits are rejected.
_UE_MAX_LEADING_ZEROS = 31


def format_trace_line(name: str, desc: str, value: Any) -> str:
    """Return the trace line of one syntax element (no newline)."""
    return f"{name:<56}{desc:<7}: {value}"


def trace_line(trace: Optional[Any], line: str) -> None:
    """Send one line to a trace sink: a ``list`` (appended) or a text file (written with a newline);
    ``None`` is no trace."""
    if trace is None:
        return
    if isinstance(trace, list):
        trace.append(line)
    else:
        trace.write(line + "\n")


class _Traced:
    """Common trace handling of writer and reader."""

    is_reader = False

    def __init__(self, trace: Optional[Any]) -> None:
        self._trace_target = trace

    def _trace(self, name: str, desc: str, value: Any) -> None:
        if self._trace_target is not None:
            trace_line(self._trace_target, format_trace_line(name, desc, value))


def as_int(name: str, value: Any) -> int:
    """``value`` as a Python int (bool, int, numpy integer); anything else
    (float, str, None, ...) raises :class:`BitstreamError` naming ``name``."""
    if getattr(getattr(value, "dtype", None), "kind", None) == "b":  # numpy bool scalar
        return int(bool(value))
    try:
        return operator.index(value)
    except TypeError:
        raise BitstreamError(f"cannot write {name}: value {value!r} is not an integer") from None


class SyntaxWriter(_Traced):
    """Writes syntax elements into a growing bit string.

    All methods take the element name (for the trace and for error messages)
    and the value; they return the value written (as ``int`` / ``str``).
    """

    is_reader = False

    def __init__(self, trace: Optional[Any] = None) -> None:
        super().__init__(trace)
        self._bs = BitStream()

    # -- state -------------------------------------------------------------
    @property
    def bits_written(self) -> int:
        """Number of bits written so far."""
        return len(self._bs)

    @property
    def pos(self) -> int:
        """Current bit position (== :attr:`bits_written`)."""
        return len(self._bs)

    def byte_aligned(self) -> bool:
        """True when the number of bits written is a multiple of 8."""
        return len(self._bs) % 8 == 0

    def getvalue(self) -> bytes:
        """Return the bytes written; raises when not byte aligned."""
        if not self.byte_aligned():
            raise BitstreamError(
                f"syntax writer is not byte aligned ({len(self._bs)} bits written)"
            )
        return self._bs.tobytes()

    # -- elements ----------------------------------------------------------
    def u(self, name: str, n: int, value: Any = None) -> int:
        """u(n): unsigned integer using n bits."""
        v = as_int(name, value)
        if n < 0:
            raise BitstreamError(f"cannot write {name}: negative length u({n})")
        if v < 0 or v >> n:
            raise BitstreamError(f"cannot write {name} = {v}: does not fit u({n})")
        if n:
            self._bs.append(Bits(uint=v, length=n))
        self._trace(name, f"u({n})", v)
        return v

    def flag(self, name: str, value: Any = None) -> int:
        """u(1) flag; returns 0 or 1."""
        return self.u(name, 1, value)

    def f(self, name: str, n: int, value: Any) -> int:
        """f(n): fixed-pattern bit string (value given by the syntax)."""
        v = as_int(name, value)
        if n <= 0 or v < 0 or v >> n:
            raise BitstreamError(f"cannot write {name} = {v}: does not fit f({n})")
        self._bs.append(Bits(uint=v, length=n))
        self._trace(name, f"f({n})", v)
        return v

    def ue(self, name: str, value: Any = None) -> int:
        """ue(v): unsigned Exp-Golomb, 0 .. 2**32 - 2."""
        v = as_int(name, value)
        if v < 0 or v > UE_MAX:
            raise BitstreamError(f"cannot write {name} = {v}: outside the ue(v) range 0..{UE_MAX}")
        self._bs.append(Bits(ue=v))
        self._trace(name, "ue(v)", v)
        return v

    def se(self, name: str, value: Any = None) -> int:
        """se(v): signed Exp-Golomb, -(2**31 - 1) .. 2**31 - 1."""
        v = as_int(name, value)
        if abs(v) > SE_MAX:
            raise BitstreamError(f"cannot write {name} = {v}: outside the se(v) range")
        self._bs.append(Bits(se=v))
        self._trace(name, "se(v)", v)
        return v

    def st(self, name: str, value: Any = None) -> str:
        """st(v): null-terminated UTF-8 string."""
        if not isinstance(value, str):
            raise BitstreamError(f"cannot write {name}: value {value!r} is not a string")
        data = value.encode("utf-8")
        if b"\x00" in data:
            raise BitstreamError(f"cannot write {name}: string contains a NUL character")
        self._bs.append(Bits(bytes=data + b"\x00"))
        self._trace(name, "st(v)", value)
        return value


class SyntaxReader(_Traced):
    """Reads syntax elements from a byte string.

    ``label`` names the data in error messages, e.g. ``"GFV SEI payload"``
    gives ``"GFV SEI payload truncated reading gfv_num_kps_minus1"``.
    """

    is_reader = True

    def __init__(self, data: bytes, trace: Optional[Any] = None,
                 label: str = "SEI payload") -> None:
        super().__init__(trace)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise BitstreamError(f"{label}: expected bytes, got {type(data).__name__}")
        self._bs = BitStream(bytes=bytes(data))
        self._len = len(self._bs)
        self.label = label

    # -- state -------------------------------------------------------------
    @property
    def pos(self) -> int:
        """Current bit position."""
        return self._bs.pos

    def bits_left(self) -> int:
        """Number of bits not read yet."""
        return self._len - self._bs.pos

    def bytes_left(self) -> int:
        """Number of whole bytes not read yet (floor)."""
        return self.bits_left() // 8

    def byte_aligned(self) -> bool:
        """True when the read position is a multiple of 8."""
        return self._bs.pos % 8 == 0

    def peek_remaining(self) -> Bits:
        """The unread bits (does not move the read position)."""
        return Bits(self._bs[self._bs.pos:])

    def more_data_in_payload(self) -> bool:
        """H.274 more_data_in_payload(): False when at the end of the payload
        or when only the payload padding (one bit equal to 1 followed by bits
        equal to 0 up to the end) remains."""
        left = self.bits_left()
        if left == 0:
            return False
        if left <= 8:
            rest = self.peek_remaining()
            if rest.uint == 1 << (left - 1):
                return False
        return True

    def _need(self, n: int, name: str) -> None:
        if self._bs.pos + n > self._len:
            raise BitstreamError(f"{self.label} truncated reading {name}")

    # -- elements ----------------------------------------------------------
    def u(self, name: str, n: int, value: Any = None) -> int:
        """u(n): unsigned integer using n bits (value ignored)."""
        if n < 0:
            raise BitstreamError(f"{self.label}: negative length u({n}) for {name}")
        self._need(n, name)
        v = self._bs.read(f"uint:{n}") if n else 0
        self._trace(name, f"u({n})", v)
        return v

    def flag(self, name: str, value: Any = None) -> int:
        """u(1) flag; returns 0 or 1."""
        return self.u(name, 1)

    def f(self, name: str, n: int, value: Any) -> int:
        """f(n): reads n bits and checks them against the fixed ``value``."""
        self._need(n, name)
        v = self._bs.read(f"uint:{n}")
        if v != value:
            raise BitstreamError(f"{self.label}: {name} = {v}, shall be {value}")
        self._trace(name, f"f({n})", v)
        return v

    def ue(self, name: str, value: Any = None) -> int:
        """ue(v): unsigned Exp-Golomb (value ignored)."""
        # count the leading zero bits with one peek of up to 32 bits
        k = min(_UE_MAX_LEADING_ZEROS + 1, self.bits_left())
        head = self._bs.peek(f"uint:{k}") if k else 0
        if head == 0:
            if k <= _UE_MAX_LEADING_ZEROS:
                raise BitstreamError(f"{self.label} truncated reading {name}")
            raise BitstreamError(
                f"{self.label}: {name} coded with more than {_UE_MAX_LEADING_ZEROS} "
                f"leading zero bits (ue(v) value above {UE_MAX})"
            )
        lz = k - head.bit_length()
        self._need(2 * lz + 1, name)
        self._bs.pos += lz + 1
        suffix = self._bs.read(f"uint:{lz}") if lz else 0
        v = (1 << lz) - 1 + suffix
        if v > UE_MAX:
            raise BitstreamError(f"{self.label}: {name} = {v} exceeds the ue(v) range")
        self._trace(name, "ue(v)", v)
        return v

    def se(self, name: str, value: Any = None) -> int:
        """se(v): signed Exp-Golomb (value ignored)."""
        # read as ue(v) without tracing it under the se name twice
        trace, self._trace_target = self._trace_target, None
        try:
            k = self.ue(name)
        finally:
            self._trace_target = trace
        v = (k + 1) // 2 if k % 2 else -(k // 2)
        self._trace(name, "se(v)", v)
        return v

    def st(self, name: str, value: Any = None) -> str:
        """st(v): null-terminated UTF-8 string (value ignored)."""
        buf = bytearray()
        while True:
            self._need(8, name)
            b = self._bs.read("uint:8")
            if b == 0:
                break
            buf.append(b)
        try:
            s = buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BitstreamError(f"{self.label}: {name} is not valid UTF-8 ({exc.reason})") from None
        self._trace(name, "st(v)", s)
        return s
