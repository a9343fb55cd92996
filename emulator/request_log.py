"""A request log on stderr that never makes a request wait.

Lines go through a bounded queue to one writer thread; when stderr is slow and the queue is
full, lines are dropped and counted rather than blocking the server.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import TextIO


class RequestLog:
    def __init__(self, stream: TextIO | None = None, capacity: int = 10_000) -> None:
        self._stream = stream
        self._queue: queue.Queue[str] = queue.Queue(maxsize=capacity)
        self.dropped = 0
        self._thread = threading.Thread(target=self._drain, name="emulator-request-log",
                                        daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _drain(self) -> None:
        while True:
            line = self._queue.get()
            stream = self._stream or sys.stderr
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                # A closed stderr must not kill the writer, nor the server.
                pass
