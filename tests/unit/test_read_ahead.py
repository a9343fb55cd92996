"""Reading the next page while the current one is decided: same pages, same order, errors
where they happened, and no thread left behind by a caller that stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from syncledger.adapters.read_ahead import read_ahead


def test_pages_come_in_order() -> None:
    assert list(read_ahead(iter([[1], [2, 3], [], [4]]))) == [[1], [2, 3], [], [4]]


def test_an_error_is_raised_after_the_pages_before_it() -> None:
    def pages() -> Iterator[list[int]]:
        yield [1]
        raise RuntimeError("page 2 failed")

    seen = []
    with pytest.raises(RuntimeError, match="page 2 failed"):
        for page in read_ahead(pages()):
            seen.append(page)
    assert seen == [[1]]


def test_a_caller_that_stops_early_leaves_no_thread() -> None:
    fetched = []

    def pages() -> Iterator[int]:
        for n in range(1000):
            fetched.append(n)
            yield n

    reader = read_ahead(pages())
    assert next(reader) == 0
    reader.close()
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
    assert len(fetched) <= 3  # one page ahead, never the whole pull
