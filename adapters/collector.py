"""Pausing Python's cycle collector over a batch of work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """A batch (decoding a page of the log, deciding an import batch) allocates tens of
    thousands of short-lived objects and no cycles worth collecting before it ends; the
    collector would walk them again and again while they are built (a fifth to a third of
    the batch's time), and reference counting frees them anyway. It runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
