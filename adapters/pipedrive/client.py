"""Pipedrive over its REST API with requests: one HTTP layer that sends the API token,
translates failures into our error kinds and retries what can be retried."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from syncledger.adapters.crm_errors import CrmFatal, CrmLimitReached, CrmRetryable, untrusted

V1_PAGE = 500


@dataclass(frozen=True)
class PipedriveCredentials:
    api_url: str  # the company's base, https://acme.pipedrive.com
    api_token: str
    ca_cert: str | None = None


class PipedriveClient:
    def __init__(self, credentials: PipedriveCredentials) -> None:
        self.credentials = credentials
        self.base = credentials.api_url.rstrip("/")
        self.calls: Counter[str] = Counter()
        self.session = requests.Session()
        # Environment CA or proxy settings must never override the CA we were given.
        self.session.trust_env = False
        self.session.verify = credentials.ca_cert or True
        self.session.headers["x-api-token"] = credentials.api_token

    # -- the one HTTP layer ---------------------------------------------------------------
    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        @retry(retry=retry_if_exception_type(CrmRetryable), stop=stop_after_attempt(4),
               wait=wait_exponential(multiplier=0.05, max=2), reraise=True)
        def attempt() -> dict[str, Any]:
            self.calls[kind] += 1
            try:
                response = self.session.request(method, f"{self.base}{path}", timeout=30,
                                                **kwargs)
            except requests.exceptions.SSLError:
                raise CrmFatal(untrusted("Pipedrive", self.base,
                                         self.credentials.ca_cert)) from None
            except requests.RequestException as error:
                raise CrmRetryable(f"Pipedrive at {self.base} did not answer "
                                   f"({type(error).__name__})") from None
            return _answer(response, path)

        return attempt()

    def v1_pages(self, kind: str, path: str) -> Iterator[list[dict[str, Any]]]:
        """v1 start/limit paging, with a guard against a start that does not move."""
        start = 0
        while True:
            body = self.call(kind, "GET", path, params={"start": start, "limit": V1_PAGE})
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


def _answer(response: requests.Response, path: str) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        raise CrmLimitReached("Pipedrive rate limit reached "
                              f"({response.headers.get('x-daily-requests-left', '?')} "
                              "requests left today)")
    if status >= 500:
        raise CrmRetryable(f"Pipedrive error {status} on {path}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if status in (401, 403):
        raise CrmFatal("Pipedrive refused the API token (run `syncledger connect pipedrive` "
                       f"again): {body.get('error') or status}")
    if status >= 400 or not isinstance(body, dict):
        raise CrmFatal(f"Pipedrive rejected {path} ({status}): "
                       f"{body.get('error') if isinstance(body, dict) else body}")
    return body
