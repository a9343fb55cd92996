"""Salesforce over its REST API with simple-salesforce: one HTTP layer that translates
failures into our error kinds, retries what can be retried, refreshes an expired session
once, and counts the calls it spends.

Writes may go several at a time (`collections_pipelined`), and reads side by side from
threads of their own (a run's fixed reads, commands/sync.py): the counter, the budget and the
session refresh are shared under locks, and each thread that sends holds a requests session
of its own while it does (requests documents no thread-safety contract for a Session,
psf/requests#2766, and its maintainers advise one per thread): the client's own when no other
thread sends on it, else a lane of its own."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.crm_errors import CrmFatal, CrmLimitReached, CrmRetryable, untrusted
from syncledger.adapters.json_text import json_bytes, loads
from syncledger.adapters.salesforce import answers
from syncledger.adapters.salesforce.answers import MalformedAnswer
from syncledger.adapters.salesforce.paging import QueryPages

# Re-exported: the connect checks (adapters/crm_connections.py) look for it on each object.
from syncledger.adapters.salesforce.streams import KEY_FIELD as KEY_FIELD

API_VERSION = "59.0"
COLLECTION_SIZE = 200
# Salesforce error codes of a write that a later retry may mend (REQUEST_LIMIT_EXCEEDED:
# a write not sent, or refused, because the API limit or the api_budget was spent).
RETRYABLE_CODES = ("RETRYABLE", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
                   "REQUEST_LIMIT_EXCEEDED")
COMPOSITE_COLLECTIONS = 5  # sObject Collections subrequests one Composite call may carry
IN_FLIGHT = 4  # Composite calls collections_pipelined keeps in flight at most, by default

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


def _failed(calls: list[CollectionsCall], code: str, message: str
            ) -> list[list[dict[str, Any]]]:
    """Each record of the calls failed with one error, as a collections call answers it."""
    return [[{"success": False, "errors": [{"statusCode": code, "message": message[:500],
                                            "fields": []}]} for _ in call.records]
            for call in calls]


def error_code(error: SalesforceError) -> tuple[str, str]:
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("error", "")), str(content.get("error_description", ""))
    return "", str(content)[:200]


@dataclass
class _Lane:
    """A requests session that one sending thread holds at a time, with the simple-salesforce
    client over it for the token it was built with."""

    session: requests.Session
    sf: Salesforce | None = None
    token: str = ""
    instance_url: str = ""


@dataclass
class _Pipeline:
    """One collections_pipelined call's shared state: each Composite call's results, what
    stopped it, and the gates that admit its calls in order."""

    composites: list[list[CollectionsCall]]
    results: list[list[list[dict[str, Any]]] | None]
    gates: list[threading.Event]
    lock: threading.Lock = field(default_factory=threading.Lock)
    limit: CrmLimitReached | None = None  # the first limit met: nothing is sent after it
    failure: BaseException | None = None  # the first fatal failure (or bug): likewise


class WritesStopped(CrmFatal):
    """A fatal failure stopped collections_pipelined; raised once the Composite calls in
    flight had their answers. `results` holds every record's result in the order of the
    calls: the answers that came back, and a RETRYABLE failure for each record of the call
    that failed and of those never sent (none of them was applied)."""

    def __init__(self, message: str, results: list[list[dict[str, Any]]]) -> None:
        super().__init__(message)
        self.results = results


class SalesforceClient:
    attempts = 4  # of a call whose failure a retry can help
    # Its calls cross the network: a run hides their round trips behind one another and
    # behind its own work (see CrmGateway.side_by_side).
    side_by_side = True

    def __init__(self, credentials: SalesforceCredentials,
                 on_refresh: Callable[[SalesforceCredentials], None] | None = None,
                 budget: CallBudget | None = None) -> None:
        self.credentials = credentials
        self.on_refresh = on_refresh
        self.budget = budget or CallBudget()  # the run's api_budget, spent call by call
        self._prepare_threads()
        if credentials.ca_cert and not Path(credentials.ca_cert).is_file():
            raise CrmFatal(f"the CA certificate {credentials.ca_cert} given at connect is not "
                           "there any more (an emulator's goes when it stops): run "
                           "`syncledger connect salesforce` again with --ca-cert")
        self.session = self._new_session()
        self.answered = False  # whether any call was answered with this client's session
        self._sf = self._connect()

    def _prepare_threads(self) -> None:
        """What threads that call through this client share: the counter and budget check
        (`_lock`), the session refresh (`_refresh_lock`), each thread's own settings
        (`_local`: tried_once, the session it holds), and the idle sending sessions."""
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._own_session = threading.Lock()  # held by the one thread sending on it
        self._local = threading.local()
        self._idle_lanes: list[_Lane] = []
        self._lanes: list[_Lane] = []
        # The limit a pipelined write ran into (its records answered REQUEST_LIMIT_EXCEEDED):
        # the caller records the outcomes, then stops as for any CrmLimitReached.
        self.limit_reached: CrmLimitReached | None = None

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # Environment CA or proxy settings must never override the CA we were given.
        session.trust_env = False
        session.verify = self.credentials.ca_cert or True
        return session

    def _connect(self, session: requests.Session | None = None) -> Salesforce:
        return _Salesforce(instance_url=self.credentials.instance_url,
                          session_id=self.credentials.access_token,
                          session=self.session if session is None else session,
                          version=API_VERSION)

    # -- the one HTTP layer ---------------------------------------------------------------
    def call(self, kind: str, action: Callable[[Salesforce], T]) -> T:
        with self._session_held():
            return self._call(kind, action)

    @contextmanager
    def _session_held(self) -> Iterator[None]:
        """A session this thread sends on alone for the call: the lane it holds already (a
        pipelined write), else the client's own when no other thread is on it, else an idle
        lane (a read side by side with others)."""
        if getattr(self._local, "lane", None) is not None or getattr(self._local, "own", False):
            yield
            return
        if self._own_session.acquire(blocking=False):
            self._local.own = True
            try:
                yield
            finally:
                self._local.own = False
                self._own_session.release()
            return
        lane = self._take_lane()
        self._local.lane = lane
        try:
            yield
        finally:
            self._local.lane = None
            self._give_lane(lane)

    def _session(self) -> requests.Session:
        """The requests session this thread sends on (see _session_held)."""
        lane: _Lane | None = getattr(self._local, "lane", None)
        return self.session if lane is None else lane.session

    def _call(self, kind: str, action: Callable[[Salesforce], T]) -> T:
        refreshed = False
        while True:
            token = self.credentials.access_token
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
                with self._refresh_lock:
                    # Calls in flight on other threads meet the same expiry: one refreshes,
                    # the others send again with the token it got.
                    if self.credentials.access_token == token:
                        self.refresh()
                refreshed = True

    @contextmanager
    def tried_once(self) -> Iterator[None]:
        """Calls made inside (on this thread) are sent once, never retried here: a write
        whose answer was lost may have landed, and sent again blindly it could land twice (a
        second Note) or be refused (a create-only field on what is now an update). The
        caller looks first."""
        before = getattr(self._local, "attempts", None)
        self._local.attempts = 1
        try:
            yield
        finally:
            self._local.attempts = before

    @property
    def calls(self) -> Counter[str]:
        return self.budget.calls

    def _spend(self, kind: str) -> None:
        """Count one call, refused with CrmLimitReached once the budget is spent."""
        self.budget.spend(kind)
        admitted = getattr(self._local, "admitted", None)
        if admitted is not None:  # a pipelined call: the next one may now be admitted
            self._local.admitted = None
            admitted()

    def _salesforce(self) -> Salesforce:
        """The simple-salesforce client this thread sends with: over the session it holds
        (a pipelined write), else the client's own."""
        lane: _Lane | None = getattr(self._local, "lane", None)
        if lane is None:
            return self._sf
        credentials = self.credentials
        if lane.sf is None or lane.token != credentials.access_token \
                or lane.instance_url != credentials.instance_url:  # built before a refresh
            lane.sf = self._connect(lane.session)
            lane.token, lane.instance_url = credentials.access_token, credentials.instance_url
        return lane.sf

    def _with_retries(self, kind: str, action: Callable[[Salesforce], T]) -> T:
        @retry(retry=retry_if_exception_type(CrmRetryable),
               stop=stop_after_attempt(getattr(self._local, "attempts", None)
                                       or self.attempts),
               wait=wait_exponential(multiplier=0.05, max=2), reraise=True)
        def attempt() -> T:
            self._spend(kind)
            try:
                return action(self._salesforce())
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
            except json.JSONDecodeError as error:  # requests' own is one too
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
        """(used, limit) of the org's daily API requests, from Sforce-Limit-Info (the latest
        any of this client's sessions was told)."""
        with self._lock:
            clients = [self._sf, *(lane.sf for lane in self._lanes if lane.sf is not None)]
        readings = [(int(usage.used), int(usage.total)) for usage in
                    (sf.api_usage.get("api-usage") for sf in clients) if usage is not None]
        return max(readings) if readings else None

    def refresh(self) -> None:
        base = self.credentials.login_url or self.credentials.instance_url
        self.budget.count("auth")
        try:
            # On this thread's session: another thread may be sending on the client's own.
            response = self._session().post(f"{base}/services/oauth2/token", data={
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
        return iter(pages)

    def describe(self, sobject: str) -> dict[str, Any]:
        result = self.call("describe", lambda sf: answers.describe(
            sf.restful(f"sobjects/{sobject}/describe"), sobject))
        return result

    def userinfo(self) -> dict[str, Any]:
        def get(_: Salesforce) -> dict[str, Any]:
            response = self._session().get(
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

    def collections_pipelined(self, calls: list[CollectionsCall], in_flight: int = IN_FLIGHT
                              ) -> list[list[dict[str, Any]]]:
        """Collections calls as Composite calls of up to COMPOSITE_COLLECTIONS, up to
        `in_flight` of them sent at once; each call's per-record results, in the order of
        `calls`. Each Composite call is sent once (tried_once: never retried here), and
        whatever befalls one fails only its own records:

        - a CrmRetryable (no answer, a 5xx, an answer that cannot be read): each of its
          records fails with RETRYABLE (it may have landed: the caller looks by key first);
        - a CrmLimitReached (the api_budget spent, or Salesforce's REQUEST_LIMIT_EXCEEDED):
          its records, and those of every call not sent yet (none is sent after it), fail
          with REQUEST_LIMIT_EXCEEDED (retryable); the calls already in flight keep their
          answers. The method still returns, so the caller records every outcome; the limit
          stays in `limit_reached`, for the caller to stop on as for any CrmLimitReached.
        - a CrmFatal (refused, or never sent): nothing more is sent; once the calls in flight
          are answered, WritesStopped (a CrmFatal) is raised with every result (the answers
          that came back, RETRYABLE for the records not applied); an error of ours stops it
          likewise and is raised as it is.

        Calls are admitted against the budget in the order given, so a budget that runs out
        leaves the last calls unsent; they may land in any order, so two writes of one record
        never belong in the same pipelined batch."""
        if in_flight < 1:
            raise ValueError("in_flight must be 1 or more")
        if any(len(call.records) > COLLECTION_SIZE for call in calls):
            raise ValueError(f"at most {COLLECTION_SIZE} records a collections call")
        composites = [calls[start:start + COMPOSITE_COLLECTIONS]
                      for start in range(0, len(calls), COMPOSITE_COLLECTIONS)]
        if not composites:
            return []
        pipeline = _Pipeline(composites, [None] * len(composites),
                             [threading.Event() for _ in composites])
        pipeline.gates[0].set()
        with ThreadPoolExecutor(max_workers=min(in_flight, len(composites)),
                                thread_name_prefix="salesforce-composite") as pool:
            try:
                for future in [pool.submit(self._pipelined, pipeline, index)
                               for index in range(len(composites))]:
                    future.result()
            except BaseException as error:  # an interrupt here: send nothing more
                with pipeline.lock:
                    pipeline.failure = pipeline.failure or error
                for gate in pipeline.gates:
                    gate.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        results = [call for composite in pipeline.results for call in composite or []]
        if isinstance(pipeline.failure, CrmFatal):
            raise WritesStopped(str(pipeline.failure), results) from pipeline.failure
        if pipeline.failure is not None:
            raise pipeline.failure
        if pipeline.limit is not None:
            self.limit_reached = pipeline.limit
        return results

    def composites_in_turn(self, calls: list[CollectionsCall]) -> list[list[dict[str, Any]]]:
        """The Composite calls collections_pipelined would send, one after the other on this
        thread: for the clients that never send (a dry run's, a replay's)."""
        return [results for start in range(0, len(calls), COMPOSITE_COLLECTIONS)
                for results in self.collections_many(calls[start:start + COMPOSITE_COLLECTIONS])]

    def _pipelined(self, pipeline: _Pipeline, index: int) -> None:
        """One Composite call of a pipeline, on a thread of the pool with a session of its
        own, admitted once the one before it was; its outcome into `pipeline.results`."""
        calls = pipeline.composites[index]
        following = pipeline.gates[index + 1] if index + 1 < len(pipeline.gates) else None
        try:
            pipeline.gates[index].wait()
            with pipeline.lock:
                stopped = pipeline.limit or pipeline.failure
            if stopped is not None:
                pipeline.results[index] = _failed(
                    calls, "REQUEST_LIMIT_EXCEEDED" if pipeline.failure is None
                    else "RETRYABLE", f"not sent: {stopped}")
                return
            self._local.admitted = following.set if following is not None else None
            lane = self._take_lane()
            self._local.lane = lane
            try:
                with self.tried_once():
                    pipeline.results[index] = self.collections_many(calls)
            except CrmRetryable as error:
                pipeline.results[index] = _failed(calls, "RETRYABLE", str(error))
            except CrmLimitReached as error:
                with pipeline.lock:
                    pipeline.limit = pipeline.limit or error
                pipeline.results[index] = _failed(calls, "REQUEST_LIMIT_EXCEEDED", str(error))
            except CrmFatal as error:  # refused, or never sent: nothing more goes
                with pipeline.lock:
                    pipeline.failure = pipeline.failure or error
                pipeline.results[index] = _failed(calls, "RETRYABLE", f"not applied: {error}")
            except BaseException as error:  # an error of ours, perhaps once it was sent
                with pipeline.lock:
                    pipeline.failure = pipeline.failure or error
                pipeline.results[index] = _failed(calls, "RETRYABLE", "unknown whether applied: "
                                                  f"{type(error).__name__}: {error}")
            finally:
                self._local.lane = None
                self._give_lane(lane)
        finally:
            self._local.admitted = None
            if following is not None:
                following.set()

    def _take_lane(self) -> _Lane:
        with self._lock:
            if self._idle_lanes:
                return self._idle_lanes.pop()
            lane = _Lane(self._new_session())
            self._lanes.append(lane)
            return lane

    def _give_lane(self, lane: _Lane) -> None:
        with self._lock:
            self._idle_lanes.append(lane)

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
        # The body encoded here, several times faster than requests' json= (simple-
        # salesforce sends every call as application/json).
        answer = self.call("collections", lambda sf: sf.restful(
            "composite", method="POST", data=json_bytes(body)))
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
            path, method=method, data=json_bytes(body), headers=headers))
        # Checked once answered, never retried here: the write may have landed.
        return answers.collections_results(result, len(records))


class _Salesforce(Salesforce):
    """simple-salesforce with its answers parsed by orjson, where it used the standard
    parser with an OrderedDict for every object: a query page of 2,000 records holds
    4,000 of them."""

    def parse_result_to_json(self, result: requests.Response) -> Any:
        return loads(result.content)


def _reading_answer(error: Exception) -> bool:
    """Whether the error was raised reading an answer (by the JSON decoder or by
    simple-salesforce), not by some code of ours."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return trace is not None and bool({"json", "simplejson", "simple_salesforce"} & set(
        Path(trace.tb_frame.f_code.co_filename).parts))
