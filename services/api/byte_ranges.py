"""HTTP ``Range: bytes=…`` headers (RFC 9110 §14), the one form browsers send to seek in a video."""

from __future__ import annotations

import re
from typing import NamedTuple

_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


class ByteRange(NamedTuple):
    """Bytes ``start`` to ``end`` inclusive of a file."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The range asks for nothing the file has (416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range a ``Range`` header asks of a ``size``-byte file; None: send it whole (no
    header, another unit, several ranges, or a malformed one: RFC 9110 lets a server ignore those).
    Raises ``Unsatisfiable`` for a well-formed range that starts past the end or a zero-length suffix."""
    if not header or "," in header:
        return None
    m = _RANGE.fullmatch(header)
    if m is None:
        return None
    first, last = m.groups()
    if not first and not last:
        return None
    if not first:  # bytes=-N: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last else max(start, size - 1)
    if end < start:
        return None  # invalid syntax: ignored
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))
