"""API accounting and injected trouble: daily limit, burst limit, latency, random errors, and
writes that are applied but answered with an error (the commit happened, the answer was lost).

Randomness comes from one seeded generator drawn once per API call, so a test that makes
the same calls in the same order sees the same failures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from syncledger.emulator.salesforce.errors import ApiError

KINDS = ("query", "query_more", "describe", "sobject_read", "sobject_write", "collections",
         "collections_read", "bulk", "auth")
WRITE_KINDS = ("sobject_write", "collections", "bulk")
DEFAULT_DAILY_LIMIT = 100_000

_FAULT_CODES = {500: "UNKNOWN_EXCEPTION", 502: "SERVER_UNAVAILABLE", 503: "SERVER_UNAVAILABLE",
                504: "REQUEST_RUNNING_TOO_LONG"}


@dataclass
class Governor:
    error_rate: float = 0.0
    # Of the writes admitted, the share whose changes are kept but whose answer is an error
    # (`status`): what a client sees when the connection drops after the commit.
    applied_error_rate: float = 0.0
    status: int = 503
    seed: int | None = None
    latency_ms: int = 0
    daily_limit: int = DEFAULT_DAILY_LIMIT
    rate_limit: int | None = None
    used: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rng: random.Random = field(default_factory=random.Random)
    _window: tuple[int, int] = (0, 0)

    def configure(self, body: dict[str, Any]) -> None:
        known = {"error_rate", "applied_error_rate", "status", "seed", "latency_ms",
                 "daily_limit", "expire_session", "rate_limit"}
        unknown = set(body) - known
        if unknown:
            raise ApiError(400, "INVALID_INPUT", f"unknown fault settings: {sorted(unknown)}")
        try:
            if "error_rate" in body:
                self.error_rate = float(body["error_rate"] or 0)
            if "applied_error_rate" in body:
                self.applied_error_rate = float(body["applied_error_rate"] or 0)
            if "status" in body:
                self.status = int(body["status"] or 503)
            if "latency_ms" in body:
                self.latency_ms = int(body["latency_ms"] or 0)
            if "daily_limit" in body:
                self.daily_limit = int(body["daily_limit"] or DEFAULT_DAILY_LIMIT)
            if "rate_limit" in body:
                self.rate_limit = int(body["rate_limit"]) if body["rate_limit"] else None
            if "seed" in body:
                self.seed = None if body["seed"] is None else int(body["seed"])
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "INVALID_INPUT", f"bad fault setting: {exc}") from None
        self.rng = random.Random(self.seed)

    def limit_info(self) -> str:
        return f"api-usage={self.used}/{self.daily_limit}"

    def admit(self, kind: str) -> ApiError | None:
        """Count one API call and say whether it is refused or hit by an injected error."""
        self.counts[kind] += 1
        if kind == "auth":
            return None
        if self.used >= self.daily_limit:
            return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.used += 1
        if self.rate_limit:
            second = int(time.monotonic())
            start, calls = self._window
            calls = calls + 1 if start == second else 1
            self._window = (second, calls)
            if calls > self.rate_limit:
                return ApiError(403, "REQUEST_LIMIT_EXCEEDED",
                                "ConcurrentPerOrgShortTxn Limit exceeded.")
        if self.error_rate and self.rng.random() < self.error_rate:
            return self._fault("the server could not serve this request, try again")
        return None

    def applied(self, kind: str) -> ApiError | None:
        """After a write was applied: the error that replaces its answer, if one is drawn
        (drawn only while the rate is set, so other seeded runs see the same failures)."""
        if kind in WRITE_KINDS and self.applied_error_rate \
                and self.rng.random() < self.applied_error_rate:
            return self._fault("the write was applied but its answer was lost")
        return None

    def _fault(self, what: str) -> ApiError:
        code = _FAULT_CODES.get(self.status, "UNKNOWN_EXCEPTION")
        return ApiError(self.status, code, f"injected fault: {what}")

    def stats(self) -> dict[str, Any]:
        return {"api_calls": {"total": sum(self.counts.values()), **self.counts},
                "api_usage": {"used": self.used, "daily_limit": self.daily_limit}}
