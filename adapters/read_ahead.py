"""Read the next page from a CRM while the current one is decided: a real query page spends
most of its time on the network, so the engine's own work hides behind it. One page ahead at
most, so memory stays one page; the caller's order and errors are kept, and a caller that
stops early leaves no thread behind.

The same for a single answer (`Ahead`: a run's fixed reads, asked while it does other work
or side by side with one another) and for a pull's first page (`PagesAhead`)."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(pages: Iterator[T]) -> Iterator[T]:
    ready: queue.Queue[object] = queue.Queue(maxsize=1)
    stopped = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stopped.is_set():
                    try:
                        ready.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stopped.is_set():
                    return
            ready.put(_DONE)
        except BaseException as error:  # handed to the caller, raised there
            ready.put(error)

    reader = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
        while reader.is_alive():  # let a blocked put see the stop, then end
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)
            reader.join(timeout=0.1)


class Ahead(Generic[T]):
    """One answer asked ahead of its use: on a thread of its own from now, so that its round
    trip passes while the caller works (`side_by_side`), else only once taken, as if asked
    there (an answer from memory has nothing to hide, and keeps the caller's order).
    `result` gives it, or raises its error there; `close` waits for an answer still on its
    way and drops it, so no call outlives the one who asked."""

    def __init__(self, ask: Callable[[], T], side_by_side: bool = True) -> None:
        self._ask: Callable[[], T] | None = ask
        self._answer: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if side_by_side:
            self._thread = threading.Thread(target=self._take, name="ask-ahead", daemon=True)
            self._thread.start()

    def _take(self) -> None:
        ask, self._ask = self._ask, None
        if ask is None:
            return
        try:
            self._answer = ask()
        except BaseException as error:  # handed to the caller, raised there
            self._error = error

    def result(self) -> T:
        if self._thread is None:
            self._take()  # the first time only
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._answer  # type: ignore[return-value]

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._ask = None  # never asked now, if it was not yet

    def __enter__(self) -> Ahead[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class PagesAhead(Generic[T]):
    """A pull whose first page is asked ahead (see Ahead), so that several pulls wait one
    round trip together rather than one each; iterated, every page in order, the first as
    soon as it is in and the rest read as the caller goes. It holds that one page until
    then."""

    def __init__(self, pages: Iterator[T], side_by_side: bool = True) -> None:
        self._pages = pages
        self._first: Ahead[object] = Ahead(lambda: next(pages, _DONE), side_by_side)

    def __iter__(self) -> Iterator[T]:
        first = self._first.result()
        if first is _DONE:
            return
        yield first  # type: ignore[misc]
        yield from self._pages

    def close(self) -> None:
        self._first.close()
