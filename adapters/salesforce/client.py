"""Salesforce over its REST API with simple-salesforce: one HTTP layer that translates
failures into our error kinds, retries what can be retried, refreshes an expired session
once, and counts the calls it spends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from syncledger.adapters.crm_errors import CrmFatal, CrmLimitReached, CrmRetryable, untrusted
from syncledger.adapters.salesforce import answers
from syncledger.adapters.salesforce.answers import MalformedAnswer
from syncledger.adapters.salesforce.paging import QueryPages
from syncledger.adapters.salesforce.readings import Readings

API_VERSION = "59.0"
COLLECTION_SIZE = 200
# The external id field on Lead, Contact, Account and Task that holds our idempotency key.
KEY_FIELD = "Syncledger_Key__c"
# Salesforce error codes of a write that a later retry may mend.
RETRYABLE_CODES = ("RETRYABLE", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE")
COMPOSITE_COLLECTIONS = 5  # sObject Collections subrequests one Composite call may carry

T = TypeVar("T")


@dataclass(frozen=True)
class SalesforceCredentials:
    instance_url: str
    access_token: str
    refresh_token: str | None = None
    client_id: str | None = None
    login_url: str | None = None  # where refresh_token grants go (default: instance_url)
    ca_cert: str | None = None

    def redacted(self) -> dict[str, Any]:
        return {"instance_url": self.instance_url, "login_url": self.login_url}


@dataclass(frozen=True)
class CollectionsCall:
    """One sObject Collections write: upsert on a key field, create or update."""

    method: str
    path: str
    sobject: str
    records: list[dict[str, Any]]
    auto_assign: bool


def collections_call(action: str, sobject: str, records: list[dict[str, Any]],
                     auto_assign: bool, key_field: str | None = None) -> CollectionsCall:
    if action == "upsert":
        return CollectionsCall("PATCH", f"composite/sobjects/{sobject}/{key_field}", sobject,
                               records, auto_assign)
    method = "POST" if action == "create" else "PATCH"
    return CollectionsCall(method, "composite/sobjects", sobject, records, auto_assign)


def _subrequest_results(sub: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """A Composite subrequest's answer as per-record results: a subrequest refused whole
    (its body a list of errors) fails each of its records with that error."""
    status = int(sub.get("httpStatusCode") or 0)
    body = sub.get("body")
    if status < 300 and isinstance(body, list) and len(body) == count:
        return [dict(r) for r in body]
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = str(first.get("errorCode") or ("RETRYABLE" if status >= 500 else "UNKNOWN"))
    error = {"statusCode": code, "message": str(first.get("message", ""))[:500],
             "fields": []}
    return [{"success": False, "errors": [error]} for _ in range(count)]


def error_code(error: SalesforceError) -> tuple[str, str]:
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("error", "")), str(content.get("error_description", ""))
    return "", str(content)[:200]


class SalesforceClient:
    attempts = 4  # of a call whose failure a retry can help

    def __init__(self, credentials: SalesforceCredentials,
                 on_refresh: Callable[[SalesforceCredentials], None] | None = None) -> None:
        self.credentials = credentials
        self.on_refresh = on_refresh
        self.calls: Counter[str] = Counter()
        self.budget: int | None = None  # calls this client may still spend (api_budget)
        # A sync run sets this to keep what it read beyond records, for `replay --run`.
        self.readings: Readings | None = None
        self.session = requests.Session()
        # Environment CA or proxy settings must never override the CA we were given.
        self.session.trust_env = False
        if credentials.ca_cert and not Path(credentials.ca_cert).is_file():
            raise CrmFatal(f"the CA certificate {credentials.ca_cert} given at connect is not "
                           "there any more (an emulator's goes when it stops): run "
                           "`syncledger connect salesforce` again with --ca-cert")
        self.session.verify = credentials.ca_cert or True
        self.answered = False  # whether any call was answered with this client's session
        self._sf = self._connect()

    def _connect(self) -> Salesforce:
        return Salesforce(instance_url=self.credentials.instance_url,
                          session_id=self.credentials.access_token, session=self.session,
                          version=API_VERSION)

    # -- the one HTTP layer ---------------------------------------------------------------
    def call(self, kind: str, action: Callable[[Salesforce], T]) -> T:
        refreshed = False
        while True:
            try:
                answer = self._with_retries(kind, action)
                self.answered = True
                return answer
            except SalesforceExpiredSession:
                # simple-salesforce cannot refresh a session it was given: we do, once.
                if not refreshed and not self.credentials.refresh_token and not self.answered:
                    # Refused from the first call on: the token, not a session that ended.
                    raise CrmFatal("Salesforce refused the access token (INVALID_SESSION_ID): "
                                   "it is wrong or no longer valid, and there is no refresh "
                                   "token to get another; give a valid token to `syncledger "
                                   "connect salesforce`, or use --login") from None
                if refreshed or not self.credentials.refresh_token:
                    raise CrmFatal("the Salesforce session expired and cannot be refreshed: "
                                   "run `syncledger connect salesforce` again") from None
                self.refresh()
                refreshed = True

    @contextmanager
    def tried_once(self) -> Iterator[None]:
        """Calls made inside are sent once, never retried here: a write whose answer was
        lost may have landed, and sent again blindly it could land twice (a second Note) or
        be refused (a create-only field on what is now an update). The caller looks first."""
        attempts, self.attempts = self.attempts, 1
        try:
            yield
        finally:
            self.attempts = attempts

    def _with_retries(self, kind: str, action: Callable[[Salesforce], T]) -> T:
        @retry(retry=retry_if_exception_type(CrmRetryable),
               stop=stop_after_attempt(self.attempts),
               wait=wait_exponential(multiplier=0.05, max=2), reraise=True)
        def attempt() -> T:
            if self.budget is not None and self.calls.total() >= self.budget:
                raise CrmLimitReached(f"the api_budget for today is spent ({self.budget} "
                                      "calls in this run)")
            self.calls[kind] += 1
            try:
                return action(self._sf)
            except SalesforceExpiredSession:
                raise
            except SalesforceRefusedRequest as error:
                code, message = error_code(error)
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise CrmLimitReached(f"Salesforce API limit reached: {message}") from None
                raise CrmFatal(f"Salesforce refused the request ({code}): {message}") from None
            except SalesforceGeneralError as error:
                code, message = error_code(error)
                if error.status >= 500:
                    raise CrmRetryable(f"Salesforce error {error.status} {code}: "
                                       f"{message}") from None
                raise CrmFatal(f"Salesforce error {error.status} {code}: {message}") from None
            except (SalesforceMalformedRequest, SalesforceResourceNotFound) as error:
                code, message = error_code(error)
                raise CrmFatal(f"Salesforce rejected {kind} ({code}): {message}") from None
            except requests.JSONDecodeError as error:
                raise MalformedAnswer(f"Salesforce's answer to {kind} is not JSON ({error.msg} "
                                      f"at character {error.pos})") from None
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
                if not _reading_answer(error):
                    raise
                # e.g. a number of thousands of digits, past what Python reads, or JSON that
                # is no object nor list (simple-salesforce takes its len())
                raise MalformedAnswer(f"Salesforce's answer to {kind} cannot be read "
                                      f"({type(error).__name__}: "
                                      f"{str(error).partition(';')[0]})") from None
            except requests.exceptions.SSLError:
                raise CrmFatal(untrusted("Salesforce", self.credentials.instance_url,
                                         self.credentials.ca_cert)) from None
            except requests.RequestException as error:
                raise CrmRetryable(f"Salesforce at {self.credentials.instance_url} did not "
                                   f"answer ({type(error).__name__})") from None
            except OSError as error:  # the connection could not even be set up (TLS files)
                raise CrmFatal(f"no connection to Salesforce could be opened: {error}") \
                    from None

        return attempt()

    def api_limit(self) -> tuple[int, int] | None:
        """(used, limit) of the org's daily API requests, from Sforce-Limit-Info."""
        usage = self._sf.api_usage.get("api-usage")
        if usage is None:
            return None
        return int(usage.used), int(usage.total)

    def refresh(self) -> None:
        base = self.credentials.login_url or self.credentials.instance_url
        self.calls["auth"] += 1
        try:
            response = self.session.post(f"{base}/services/oauth2/token", data={
                "grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token,
                "client_id": self.credentials.client_id or ""}, timeout=30)
        except requests.RequestException as error:
            raise CrmRetryable(f"Salesforce token endpoint did not answer: "
                               f"{type(error).__name__}") from None
        if response.status_code != 200:
            raise CrmFatal("the Salesforce session expired and the refresh was refused "
                           f"({response.status_code}): run `syncledger connect salesforce`")
        body = response.json()
        self.credentials = replace(self.credentials, access_token=body["access_token"],
                                   instance_url=body.get("instance_url")
                                   or self.credentials.instance_url)
        self._sf = self._connect()
        if self.on_refresh:
            self.on_refresh(self.credentials)

    # -- what the engine asks -------------------------------------------------------------
    def query(self, soql: str, include_deleted: bool = False) -> Iterator[list[dict[str, Any]]]:
        fields = answers.selected(soql)
        pages = QueryPages(
            first=lambda: self.call("query", lambda sf: answers.query_page(sf.query(
                soql, include_deleted=include_deleted), soql, fields)),
            more=lambda url: self.call("query_more", lambda sf: answers.query_page(
                sf.query_more(url, identifier_is_url=True), soql, fields)),
            counted=bool(fields))  # a COUNT() query's total is its answer, with no records
        if self.readings is not None:
            return self.readings.watch(soql, iter(pages))
        return iter(pages)

    def describe(self, sobject: str) -> dict[str, Any]:
        result = self.call("describe", lambda sf: answers.describe(
            sf.restful(f"sobjects/{sobject}/describe"), sobject))
        if self.readings is not None:
            self.readings.described(sobject, result)
        return result

    def userinfo(self) -> dict[str, Any]:
        def get(_: Salesforce) -> dict[str, Any]:
            response = self.session.get(
                f"{self.credentials.instance_url}/services/oauth2/userinfo",
                headers={"Authorization": f"Bearer {self.credentials.access_token}"},
                timeout=30)
            if response.status_code == 401:
                raise SalesforceExpiredSession(response.url, 401, "userinfo", response.content)
            response.raise_for_status()
            info: dict[str, Any] = response.json()
            return info

        return self.call("auth", get)

    def organization(self) -> dict[str, Any]:
        for page in self.query("SELECT Id, Name, IsSandbox FROM Organization"):
            if page:
                return page[0]
        raise CrmFatal("Salesforce returned no Organization record")

    def upsert(self, sobject: str, external_id: str, records: list[dict[str, Any]],
               auto_assign: bool) -> list[dict[str, Any]]:
        """sObject Collections upsert on an external id field, at most 200 records a call.

        `auto_assign=False` sends Sforce-Auto-Assign: FALSE, so Lead assignment rules cannot
        overwrite an OwnerId we set; a batch never mixes the two."""
        return self._collections("PATCH", f"composite/sobjects/{sobject}/{external_id}",
                                 sobject, records, auto_assign)

    def create(self, sobject: str, records: list[dict[str, Any]],
               auto_assign: bool) -> list[dict[str, Any]]:
        return self._collections("POST", "composite/sobjects", sobject, records, auto_assign)

    def update(self, sobject: str, records: list[dict[str, Any]],
               auto_assign: bool) -> list[dict[str, Any]]:
        return self._collections("PATCH", "composite/sobjects", sobject, records, auto_assign)

    def collections_many(self, calls: list[CollectionsCall]) -> list[list[dict[str, Any]]]:
        """Several sObject Collections calls as one Composite call (at most
        COMPOSITE_COLLECTIONS, each with its own Sforce-Auto-Assign header), which the daily
        API limit counts once; each call's per-record results, in order."""
        if len(calls) > COMPOSITE_COLLECTIONS:
            raise ValueError(f"at most {COMPOSITE_COLLECTIONS} collections a composite call")
        if len(calls) == 1:
            call = calls[0]
            return [self._collections(call.method, call.path, call.sobject, call.records,
                                      call.auto_assign)]
        return self._composite(calls)

    def _composite(self, calls: list[CollectionsCall]) -> list[list[dict[str, Any]]]:
        subrequests = []
        for index, call in enumerate(calls):
            if len(call.records) > COLLECTION_SIZE:
                raise ValueError(f"at most {COLLECTION_SIZE} records a collections call")
            subrequest: dict[str, Any] = {
                "method": call.method, "url": f"/services/data/v{API_VERSION}/{call.path}",
                "referenceId": f"collection{index}",
                "body": {"allOrNone": False, "records": [
                    {"attributes": {"type": call.sobject}, **r} for r in call.records]}}
            if not call.auto_assign:
                subrequest["httpHeaders"] = {"Sforce-Auto-Assign": "FALSE"}
            subrequests.append(subrequest)
        body = {"allOrNone": False, "compositeRequest": subrequests}
        answer = self.call("collections", lambda sf: sf.restful(
            "composite", method="POST", json=body))
        # Checked once answered, never retried here: the writes may have landed.
        found = answers.composite(answer, len(calls))
        results = []
        for index, call in enumerate(calls):
            sub = found.get(f"collection{index}")
            if sub is None:
                raise CrmRetryable(f"Salesforce answered a composite call of {len(calls)} "
                                   "collections without an answer for each")
            count = len(call.records)
            results.append(answers.collections_results(sub["body"], count)
                           if sub["httpStatusCode"] < 300 else _subrequest_results(sub, count))
        return results

    def _collections(self, method: str, path: str, sobject: str,
                     records: list[dict[str, Any]], auto_assign: bool) -> list[dict[str, Any]]:
        if len(records) > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} records a collections call")
        body = {"allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        headers = {} if auto_assign else {"Sforce-Auto-Assign": "FALSE"}
        result = self.call("collections", lambda sf: sf.restful(
            path, method=method, json=body, headers=headers))
        # Checked once answered, never retried here: the write may have landed.
        return answers.collections_results(result, len(records))


def _reading_answer(error: Exception) -> bool:
    """Whether the error was raised reading an answer (by the JSON decoder or by
    simple-salesforce), not by some code of ours."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return trace is not None and bool({"json", "simplejson", "simple_salesforce"} & set(
        Path(trace.tb_frame.f_code.co_filename).parts))
