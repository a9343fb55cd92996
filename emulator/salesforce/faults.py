"""API accounting and injected trouble: daily limit, burst limit, latency, random errors,
writes that are applied but answered with an error (the commit happened, the answer was lost),
and malformed answers (what a proxy that cuts a body, or an API that answers in another shape,
would give): `{"malformed": "json" | "missing_fields" | "huge_values", "rate": 1.0}`, with
`kinds` (the API calls hit, by their stats kind; default every one) and the mode's shape:

- json: the body cut after the share `cut` of it (default half), then `junk` (default none);
- missing_fields: the keys in `fields` taken out of every object of the answer, at any depth
  (default: one key of each object, drawn);
- huge_values: every text value padded to `size` characters (default 200,000, more than any
  Salesforce field holds), and, with `digits`, every number made that many digits long.

The request itself is served as usual (a write is applied) before its answer is spoiled.

`match` (a text) aims error_rate, applied_error_rate and malformed at the API calls whose path
or body holds it: the others are served untouched and draw nothing. With several calls at
once, which one draws first is the threads' to say; a `match` picks out one call whatever
the order.

Randomness comes from one seeded generator drawn once per API call, so a test that makes
the same calls in the same order sees the same failures.

`latency_ms` holds every API call that long (outside the org's lock: calls overlap, as they
do in Salesforce); it starts at SYNCLEDGER_EMULATOR_LATENCY_MS when that is set (to run any
test against a slow org), else 0. The stats say how many calls were in flight at once at
most (`concurrency`), since the org was reset.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from syncledger.emulator.salesforce.errors import ApiError

KINDS = ("query", "query_more", "describe", "sobject_read", "sobject_write", "collections",
         "collections_read", "bulk", "auth")
WRITE_KINDS = ("sobject_write", "collections", "bulk")
DEFAULT_DAILY_LIMIT = 100_000
MALFORMED = ("json", "missing_fields", "huge_values")
API_KINDS = tuple(k for k in KINDS if k != "auth")
_HUGE_NUMBER = "\u0000huge number\u0000"  # stands for a number json cannot write (too long)

LATENCY_VARIABLE = "SYNCLEDGER_EMULATOR_LATENCY_MS"

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
    latency_ms: int = field(default_factory=lambda: int(os.environ.get(LATENCY_VARIABLE) or 0))
    daily_limit: int = DEFAULT_DAILY_LIMIT
    rate_limit: int | None = None
    used: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rng: random.Random = field(default_factory=random.Random)
    malformed: Malformed | None = None
    spoiled: int = 0  # answers malformed so far
    injected: int = 0  # errors injected so far (error_rate, applied_error_rate)
    match: str | None = None  # only calls whose path or body holds it meet injected trouble
    in_flight: int = 0  # API calls admitted and not yet answered
    max_in_flight: int = 0
    _window: tuple[int, int] = (0, 0)

    def configure(self, body: dict[str, Any]) -> None:
        known = {"error_rate", "applied_error_rate", "status", "seed", "latency_ms",
                 "daily_limit", "expire_session", "rate_limit", "match", *Malformed.SETTINGS}
        unknown = set(body) - known
        if unknown:
            raise ApiError(400, "INVALID_INPUT", f"unknown fault settings: {sorted(unknown)}")
        if "malformed" in body:
            self.malformed = Malformed.of(body) if body["malformed"] else None
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
            if "match" in body:
                self.match = str(body["match"]) if body["match"] else None
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "INVALID_INPUT", f"bad fault setting: {exc}") from None
        self.rng = random.Random(self.seed)

    def limit_info(self) -> str:
        return f"api-usage={self.used}/{self.daily_limit}"

    def aimed_at(self, path: str, body: bytes) -> bool:
        """Whether injected trouble may hit a call with this path and body (`match`)."""
        return self.match is None or self.match in path or self.match.encode() in body

    def started(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1

    def admit(self, kind: str, aimed: bool = True) -> ApiError | None:
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
        if aimed and self.error_rate and self.rng.random() < self.error_rate:
            return self._fault("the server could not serve this request, try again")
        return None

    def applied(self, kind: str, aimed: bool = True) -> ApiError | None:
        """After a write was applied: the error that replaces its answer, if one is drawn
        (drawn only while the rate is set, so other seeded runs see the same failures)."""
        if aimed and kind in WRITE_KINDS and self.applied_error_rate \
                and self.rng.random() < self.applied_error_rate:
            return self._fault("the write was applied but its answer was lost")
        return None

    def spoil(self, kind: str, body: bytes, aimed: bool = True) -> bytes | None:
        """The answer's body malformed, if a malformed answer is drawn for this call (drawn
        only while the fault is set); None: the answer goes as it is."""
        bad = self.malformed
        if bad is None or not aimed or kind not in bad.kinds or not body \
                or self.rng.random() >= bad.rate:
            return None
        spoiled = bad.spoil(body, self.rng)
        if spoiled == body:
            return None
        self.spoiled += 1
        return spoiled

    def _fault(self, what: str) -> ApiError:
        self.injected += 1
        code = _FAULT_CODES.get(self.status, "UNKNOWN_EXCEPTION")
        return ApiError(self.status, code, f"injected fault: {what}")

    def stats(self) -> dict[str, Any]:
        return {"api_calls": {"total": sum(self.counts.values()), **self.counts},
                "api_usage": {"used": self.used, "daily_limit": self.daily_limit},
                "faults_injected": self.injected, "malformed_answers": self.spoiled,
                "concurrency": {"in_flight": self.in_flight,
                                "max_in_flight": self.max_in_flight}}


@dataclass(frozen=True)
class Malformed:
    """How answers are spoiled (see the module's doc)."""

    SETTINGS = ("malformed", "rate", "kinds", "cut", "junk", "fields", "size", "digits")

    mode: str
    rate: float = 1.0
    kinds: tuple[str, ...] = API_KINDS
    cut: float = 0.5
    junk: str = ""
    fields: tuple[str, ...] = ()
    size: int = 200_000
    digits: int = 0

    @classmethod
    def of(cls, body: dict[str, Any]) -> Malformed:
        mode = body["malformed"]
        if mode not in MALFORMED:
            raise ApiError(400, "INVALID_INPUT", f"malformed: expected one of {MALFORMED}")
        try:
            kinds = tuple(str(k) for k in body.get("kinds") or API_KINDS)
            fields = tuple(str(f) for f in body.get("fields") or ())
            found = cls(str(mode), float(body.get("rate", 1.0)), kinds,
                        float(body.get("cut", 0.5)), str(body.get("junk") or ""), fields,
                        int(body.get("size", 200_000)), int(body.get("digits") or 0))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "INVALID_INPUT", f"bad malformed setting: {exc}") from None
        unknown = set(found.kinds) - set(API_KINDS)
        if unknown or not 0 <= found.cut <= 1 or found.size < 0 or found.digits < 0:
            raise ApiError(400, "INVALID_INPUT", "bad malformed setting: kinds among "
                           f"{API_KINDS}, cut in [0, 1], size and digits >= 0")
        return found

    def spoil(self, body: bytes, rng: random.Random) -> bytes:
        if self.mode == "json":
            return body[:int(len(body) * self.cut)] + self.junk.encode()
        try:
            answer = json.loads(body)
        except ValueError:  # not JSON to begin with: nothing to take out or pad
            return body
        if self.mode == "missing_fields":
            return json.dumps(self._without(answer, rng), separators=(",", ":")).encode()
        text = json.dumps(self._padded(answer), separators=(",", ":"))
        return text.replace(json.dumps(_HUGE_NUMBER), "9" * self.digits).encode()

    def _without(self, value: Any, rng: random.Random) -> Any:
        if isinstance(value, list):
            return [self._without(item, rng) for item in value]
        if not isinstance(value, dict):
            return value
        gone = set(self.fields) if self.fields else \
            {rng.choice(sorted(value))} if value else set()
        return {k: self._without(v, rng) for k, v in value.items() if k not in gone}

    def _padded(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._padded(item) for item in value]
        if isinstance(value, dict):
            return {k: self._padded(v) for k, v in value.items()}
        if isinstance(value, str):
            return value + "x" * max(self.size - len(value), 0)
        if isinstance(value, int | float) and not isinstance(value, bool) and self.digits:
            return _HUGE_NUMBER
        return value
