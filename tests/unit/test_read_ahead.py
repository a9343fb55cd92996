"""Reading the next page while the current one is decided: same pages, same order, errors
where they happened, and no thread left behind by a caller that stops early. Likewise an
answer asked ahead (Ahead) and a pull's first page (PagesAhead); not side by side, each is
asked where it is taken, as a plain call would be."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from syncledger.adapters.read_ahead import Ahead, PagesAhead, read_ahead


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


def test_an_answer_asked_side_by_side_is_on_its_way_before_it_is_taken() -> None:
    asked, answer = threading.Event(), threading.Event()

    def ask() -> str:
        asked.set()
        assert answer.wait(timeout=10)
        return "users"

    ahead = Ahead(ask)
    assert asked.wait(timeout=10)  # asked with no one taking it yet
    answer.set()
    assert ahead.result() == "users"
    assert ahead.result() == "users"  # asked once, taken as often as needed


def test_an_answer_not_asked_side_by_side_is_asked_where_it_is_taken() -> None:
    asked: list[str] = []

    def ask() -> int:
        asked.append(threading.current_thread().name)
        return len(asked)

    ahead = Ahead(ask, side_by_side=False)
    assert asked == []
    assert ahead.result() == 1 and ahead.result() == 1
    assert asked == [threading.current_thread().name]
    Ahead(ask, side_by_side=False).close()
    assert len(asked) == 1  # closed untaken: never asked


@pytest.mark.parametrize("side_by_side", [True, False])
def test_an_error_asking_ahead_is_raised_where_the_answer_is_taken(side_by_side: bool) -> None:
    def ask() -> None:
        raise RuntimeError("the CRM refused")

    ahead = Ahead(ask, side_by_side)
    with pytest.raises(RuntimeError, match="the CRM refused"):
        ahead.result()


def test_closing_waits_for_an_answer_on_its_way_so_no_call_outlives_the_caller() -> None:
    answered = threading.Event()

    def ask() -> None:
        answered.set()

    Ahead(ask).close()
    assert answered.is_set()
    assert not [t for t in threading.enumerate() if t.name == "ask-ahead"]


def test_a_pulls_first_page_is_read_ahead_then_the_rest_as_the_caller_goes() -> None:
    read: list[int] = []
    first_read = threading.Event()

    def pages() -> Iterator[list[int]]:
        for n in range(3):
            read.append(n)
            if n == 0:
                first_read.set()
            yield [n]

    pull = PagesAhead(pages())
    assert first_read.wait(timeout=10)
    pull.close()
    assert read == [0]  # the first page only, until iterated
    assert list(pull) == [[0], [1], [2]]
    assert list(PagesAhead(iter([]))) == []
    assert list(read_ahead(iter(PagesAhead(iter([[1], [2]]), side_by_side=False)))) == \
        [[1], [2]]
