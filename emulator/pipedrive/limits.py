"""Rate limits, the daily budget, injected faults and per-kind call counts.

Deterministic by design: the burst window is measured on the emulator's clock (freeze it and
the window never lapses) or closed after a set number of 429s, and injected errors come from
a seeded generator drawn once per admitted request.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

from syncledger.emulator.pipedrive.http import ApiError

DEFAULT_BURST = 10_000
DEFAULT_WINDOW_S = 2.0
DEFAULT_DAILY = 1_000_000
KINDS = ("persons_list", "persons_read", "persons_write", "search", "users", "fields",
         "recents", "notes", "gone", "other")


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0
    status: int = 503
    seed: int = 0
    latency_ms: int = 0
    daily_limit: int = DEFAULT_DAILY
    rate_limit: int = DEFAULT_BURST
    rate_window_s: float = DEFAULT_WINDOW_S
    # After this many 429s in one window, the window closes: lets a retrying client through
    # without waiting on any clock.
    rate_limit_blocks: int | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(body) - known
        if unknown:
            raise ApiError(400, f"Unknown fault settings {sorted(unknown)}")
        try:
            faults = cls(**{k: v for k, v in body.items() if v is not None})
            if not 0.0 <= float(faults.error_rate) <= 1.0:
                raise ValueError("error_rate must be within 0..1")
            if not 100 <= int(faults.status) <= 599:
                raise ValueError("status must be an HTTP status")
            if int(faults.rate_limit) < 0 or int(faults.daily_limit) < 0:
                raise ValueError("limits cannot be negative")
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Bad fault settings: {exc}") from exc
        return faults


@dataclass(frozen=True)
class Verdict:
    status: int | None  # None: serve the request
    message: str
    headers: dict[str, str]
    latency_s: float


class Gate:
    """Admits or refuses each counted API request and reports the budget headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configure(Faults(), now=0.0)

    def configure(self, faults: Faults, now: float) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._window_start = now
            self._window_used = 0
            self._window_blocked = 0
            self._day = _day(now)
            self._daily_used = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**asdict(self.faults), "window_used": self._window_used,
                    "daily_used": self._daily_used}

    def headers(self, now: float) -> dict[str, str]:
        with self._lock:
            self._roll(now)
            return self._headers(now)

    def admit(self, now: float) -> Verdict:
        with self._lock:
            self._roll(now)
            faults = self.faults
            latency = faults.latency_ms / 1000.0
            if self._daily_used >= faults.daily_limit:
                return Verdict(429, "Daily request budget exceeded", self._headers(now, True),
                               0.0)
            if self._window_used >= faults.rate_limit:
                headers = self._headers(now, True)
                self._window_blocked += 1
                if faults.rate_limit_blocks is not None \
                        and self._window_blocked >= faults.rate_limit_blocks:
                    self._open_window(now)
                return Verdict(429, "Rate limit exceeded", headers, 0.0)
            self._window_used += 1
            self._daily_used += 1
            headers = self._headers(now)
            if faults.error_rate > 0 and self._rng.random() < faults.error_rate:
                return Verdict(faults.status, "Injected fault", headers, latency)
            return Verdict(None, "", headers, latency)

    def _roll(self, now: float) -> None:
        if now >= self._window_start + self.faults.rate_window_s or now < self._window_start:
            self._open_window(now)
        if _day(now) != self._day:
            self._day = _day(now)
            self._daily_used = 0

    def _open_window(self, now: float) -> None:
        self._window_start = now
        self._window_used = 0
        self._window_blocked = 0

    def _headers(self, now: float, refused: bool = False) -> dict[str, str]:
        reset = _seconds(self._window_start + self.faults.rate_window_s - now,
                         self.faults.rate_window_s)
        daily_left = str(max(0, self.faults.daily_limit - self._daily_used))
        headers = {
            "x-ratelimit-limit": str(self.faults.rate_limit),
            "x-ratelimit-remaining": str(max(0, self.faults.rate_limit - self._window_used)),
            "x-ratelimit-reset": reset,
            "x-daily-requests-left": daily_left,
            # The daily budget as the live API reports it besides the documented headers
            # (a request costs one token here).
            "x-daily-ratelimit-token-limit": str(self.faults.daily_limit),
            "x-daily-ratelimit-token-remaining": daily_left,
        }
        if refused:
            headers["retry-after"] = reset
        return headers


def _seconds(left: float, window: float) -> str:
    """Seconds until the window reopens, whole (at least 1) as Pipedrive sends them; a window
    set under a second (tests) is told in milliseconds, so a client waits that little."""
    if window >= 1:
        return str(max(1, math.ceil(left)))
    return f"{max(1, math.ceil(left * 1000)) / 1000:.3f}"


def _day(now: float) -> int:
    return int(now // 86_400)


class Stats:
    """API calls by kind; admin routes never reach it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._throttled = 0
        self._injected = 0

    def count(self, kind: str, status: int | None, injected: bool) -> None:
        with self._lock:
            self._calls[kind] += 1
            if status == 429 and not injected:
                self._throttled += 1
            if injected:
                self._injected += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._throttled = 0
            self._injected = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            calls: dict[str, int] = {"total": sum(self._calls.values())}
            calls.update({kind: self._calls.get(kind, 0) for kind in KINDS})
            return {"api_calls": calls, "throttled": self._throttled,
                    "injected_errors": self._injected}
