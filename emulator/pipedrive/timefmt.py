"""The emulator's clock and Pipedrive's two time formats (RFC 3339 in v2, SQL-ish in v1)."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime


class Clock:
    """Wall time, optionally frozen or shifted, so tests can give many writes one timestamp."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: float | None = None
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    def freeze(self, epoch: float | None) -> None:
        """Stop the clock at `epoch`; None lets it run again from wall time."""
        with self._lock:
            self._frozen = epoch
            self._offset = 0.0

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def state(self) -> dict[str, object]:
        now = self.now()
        with self._lock:
            frozen = self._frozen is not None
        return {"now": rfc3339(int(now)), "epoch": now, "frozen": frozen}


def rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def v1_time(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def parse_time(text: str) -> float:
    """Parse RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC when no offset is given); ValueError if bad."""
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def ceil_epoch(epoch: float) -> int:
    """Stored times have whole seconds, so a bound "at or after" rounds up."""
    return math.ceil(epoch)
