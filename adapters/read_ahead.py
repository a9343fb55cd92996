"""Read the next page from a CRM while the current one is decided: a real query page spends
most of its time on the network, so the engine's own work hides behind it. One page ahead at
most, so memory stays one page; the caller's order and errors are kept, and a caller that
stops early leaves no thread behind."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

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
