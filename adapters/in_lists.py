"""IN lists of a few fixed lengths, so that a query over many ids is one of a few statement
texts however many ids a run asks about.

SQLite's driver keeps the last 128 prepared statements of each connection by their text, and
an IN list of a new length is a new statement: one of a few thousand parameters holds more
than half a MiB. A first sync asked one of a new length per page (the person keys it had just
created), so a connection's statements grew with the number of records, up to 128 of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def in_slices(values: Sequence[T], size: int) -> Iterator[list[T]]:
    """`values` in slices of at most `size`, each padded with its own last value (which an
    IN list does not mind) to `size` or to the next power of two below it: about log2(size)
    lengths in all, and a small lookup stays small."""
    for start in range(0, len(values), size):
        part = list(values[start:start + size])
        length = min(1 << (len(part) - 1).bit_length(), size)
        yield part + [part[-1]] * (length - len(part))
