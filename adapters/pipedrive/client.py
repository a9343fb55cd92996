"""Pipedrive over its REST API with requests: one HTTP layer that sends the API token, keeps
to the rate limits the answers announce, translates failures into our error kinds and retries
what can be retried.

Limits, as Pipedrive announces them on every answer: `x-ratelimit-remaining` and
`x-ratelimit-reset` for the burst window (a few seconds), and the daily budget, as
`x-daily-ratelimit-token-limit` / `-remaining` (what the live API sends; the documented
`x-daily-requests-left` is read when those are missing). A spent window is waited out before
the next call; a 429 of the window is waited out as its `Retry-After` says and the call goes
again (nothing was done); a spent daily budget stops with `CrmLimitReached`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.crm_errors import CrmFatal, CrmLimitReached, CrmRetryable, untrusted

V1_PAGE = 500
# The person custom field (text) that holds a create's idempotency key.
KEY_FIELD_NAME = "Syncledger key"
# A 429 of the burst window is tried again this many times in all, waiting at most this long
# each time; other retryable failures (5xx, timeouts) of reads, FAILURE_ATTEMPTS times.
RATE_LIMIT_ATTEMPTS = 6
MAX_RATE_WAIT_S = 30.0
FAILURE_ATTEMPTS = 4


@dataclass(frozen=True)
class PipedriveCredentials:
    api_url: str  # the company's base, https://acme.pipedrive.com
    api_token: str
    ca_cert: str | None = None


class PipedriveRejected(CrmFatal):
    """Pipedrive refused the request (4xx other than auth): its status, and its error code
    when it gave one."""

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PipedriveUnavailable(CrmRetryable):
    """A 5xx, a timeout or a dropped connection (status None): a write may have landed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(CrmRetryable):
    """A 429 of the burst window: Pipedrive did nothing, the call may go again after
    `wait_s` seconds."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


@dataclass(frozen=True)
class DailyBudget:
    left: int
    limit: int | None  # None when only x-daily-requests-left was sent


class PipedriveClient:
    def __init__(self, credentials: PipedriveCredentials,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 budget: CallBudget | None = None) -> None:
        self.credentials = credentials
        self.base = credentials.api_url.rstrip("/")
        self.budget = budget or CallBudget()  # the run's api_budget, spent call by call
        self.daily: DailyBudget | None = None  # as the last answer told it
        self.sleep = sleep
        self.clock = clock
        self._window_opens: float | None = None  # when a spent burst window reopens
        self.session = requests.Session()
        # Environment CA or proxy settings must never override the CA we were given.
        self.session.trust_env = False
        self.session.verify = credentials.ca_cert or True
        self.session.headers["x-api-token"] = credentials.api_token

    @property
    def calls(self) -> Counter[str]:
        return self.budget.calls

    # -- the one HTTP layer ---------------------------------------------------------------
    def call(self, kind: str, method: str, path: str, *, retry_failures: bool = True,
             **kwargs: Any) -> dict[str, Any]:
        """One API call. A 429 of the burst window is always tried again (nothing was done);
        5xx and timeouts only with `retry_failures` (reads: a write's lost answer may hide a
        write that landed, so writes pass False)."""
        retried = CrmRetryable if retry_failures else RateLimited
        retrying = Retrying(retry=retry_if_exception_type(retried), stop=_stop, wait=_wait,
                            sleep=self.sleep, reraise=True)
        answer: dict[str, Any] = retrying(self._attempt, kind, method, path, kwargs)
        return answer

    def _attempt(self, kind: str, method: str, path: str,
                 kwargs: dict[str, Any]) -> dict[str, Any]:
        self.budget.spend(kind)  # refused before any wait for the burst window
        self._await_window()
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        except requests.exceptions.SSLError:
            raise CrmFatal(untrusted("Pipedrive", self.base,
                                     self.credentials.ca_cert)) from None
        except requests.exceptions.Timeout:
            raise PipedriveUnavailable(f"Pipedrive at {self.base} did not answer {path} in "
                                       "time") from None
        except requests.RequestException as error:
            raise PipedriveUnavailable(f"Pipedrive at {self.base} did not answer "
                                       f"({type(error).__name__})") from None
        self._note_limits(response.headers)
        return _answer(response, path)

    def _await_window(self) -> None:
        """The last answer spent the burst window: wait until it reopens, as it said."""
        if self._window_opens is None:
            return
        wait = self._window_opens - self.clock()
        self._window_opens = None
        if wait > 0:
            self.sleep(min(wait, MAX_RATE_WAIT_S))

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if remaining is not None and remaining <= 0 and reset is not None:
            self._window_opens = self.clock() + reset
        left = _daily_left(headers)
        if left is not None:
            limit = _number(headers.get("x-daily-ratelimit-token-limit"))
            self.daily = DailyBudget(int(left), int(limit) if limit is not None else None)

    def api_limit(self) -> tuple[int, int] | None:
        """(used, allowed) of the daily budget, from the last answer; None before any call
        or when Pipedrive did not say the budget's size."""
        if self.daily is None or self.daily.limit is None:
            return None
        return max(0, self.daily.limit - self.daily.left), self.daily.limit

    def v1_pages(self, kind: str, path: str, params: Mapping[str, Any] | None = None
                 ) -> Iterator[list[dict[str, Any]]]:
        """v1 start/limit paging, with a guard against a start that does not move."""
        start = 0
        while True:
            body = self.call(kind, "GET", path,
                             params={**(params or {}), "start": start, "limit": V1_PAGE})
            yield list(body.get("data") or [])
            pagination = (body.get("additional_data") or {}).get("pagination") or {}
            if not pagination.get("more_items_in_collection"):
                return
            following = int(pagination.get("next_start", start + V1_PAGE))
            if following <= start:
                raise CrmFatal(f"Pipedrive paged {path} back to {following}: the cursor does "
                               "not move")
            start = following

    # -- what the engine asks -------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The connected user, with company_id and company_domain."""
        data: dict[str, Any] = self.call("users", "GET", "/api/v1/users/me")["data"]
        return data

    def users(self) -> list[dict[str, Any]]:
        return list(self.call("users", "GET", "/api/v1/users").get("data") or [])

    def person_fields(self) -> list[dict[str, Any]]:
        return [f for page in self.v1_pages("fields", "/api/v1/personFields") for f in page]


def key_field(person_fields: list[dict[str, Any]]) -> str | None:
    """The hash key of the "Syncledger key" person field, if an admin added it."""
    for raw in person_fields:
        if str(raw.get("name") or "").strip().lower() == KEY_FIELD_NAME.lower():
            return str(raw["key"])
    return None


def _stop(state: RetryCallState) -> bool:
    error = state.outcome.exception() if state.outcome else None
    attempts = RATE_LIMIT_ATTEMPTS if isinstance(error, RateLimited) else FAILURE_ATTEMPTS
    return state.attempt_number >= attempts


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RateLimited):
        return min(error.wait_s, MAX_RATE_WAIT_S)
    return float(min(0.05 * 2 ** (state.attempt_number - 1), 2.0))


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None and raw != "" else None
    except ValueError:
        return None


def _daily_left(headers: Mapping[str, str]) -> float | None:
    left = _number(headers.get("x-daily-ratelimit-token-remaining"))
    return left if left is not None else _number(headers.get("x-daily-requests-left"))


def _answer(response: requests.Response, path: str) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        if _daily_left(response.headers) == 0:
            raise CrmLimitReached("Pipedrive's daily API budget is spent (it renews at "
                                  "midnight UTC); the sync resumes from here on its next run")
        wait = _number(response.headers.get("retry-after")) \
            or _number(response.headers.get("x-ratelimit-reset")) or 2.0
        raise RateLimited(f"Pipedrive rate limit reached on {path}", wait)
    if status >= 500:
        raise PipedriveUnavailable(f"Pipedrive error {status} on {path}", status)
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else body
    if status in (401, 403):
        raise CrmFatal("Pipedrive refused the API token (run `syncledger connect pipedrive` "
                       f"again): {error or status}")
    if status >= 400 or not isinstance(body, dict):
        code = body.get("code") if isinstance(body, dict) else None
        raise PipedriveRejected(f"Pipedrive rejected {path} ({status}): {error}", status,
                                str(code) if code else None)
    return body
