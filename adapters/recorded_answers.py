"""What a past run's CRM answered, as far as the run recorded it: plain data, the same whatever
the CRM. replay/run_answers.py rebuilds it from the log; the replay gateway the factory gives
(adapters/gateways.py `replay_gateway`) answers from it and never calls the CRM.

How a CRM's answers are keyed (the query a pull is found by, the field a write's idempotency
key travels in, how a modstamp is written) is the CRM adapter's business: the factory gives it
as `AnswerKeys` (adapters/gateways.py `answer_keys`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncledger.domain.content import content_hash
from syncledger.domain.steps import Step

Record = dict[str, Any]


@dataclass
class RecordedPull:
    """What one inbound query returned, as far as the run recorded it."""

    observed: list[Record] = field(default_factory=list)  # records the run observed
    known: list[Record] = field(default_factory=list)  # mirrored before the run: a full
    #                                                    pull returns them too
    boundaries: list[tuple[str, str]] = field(default_factory=list)  # (SystemModstamp, Id)
    #                                                                  ending each page


@dataclass
class WriteAnswers:
    """The results the run recorded, found again by the write's idempotency key, its record
    id, or (a create without the key field) the hash of what it sends."""

    key_field: str
    by_key: dict[str, deque[Record]] = field(default_factory=dict)
    by_id: dict[str, deque[Record]] = field(default_factory=dict)
    by_content: dict[str, deque[Record]] = field(default_factory=dict)
    _used: set[int] = field(default_factory=set)

    def add(self, answer: Record, key: str | None = None, record_id: str | None = None,
            content: dict[str, Any] | None = None) -> None:
        if key:
            self.by_key.setdefault(key, deque()).append(answer)
        if record_id:
            self.by_id.setdefault(record_id, deque()).append(answer)
        if content:
            self.by_content.setdefault(content_hash(content), deque()).append(answer)

    def answer_for(self, body: Record, key: str) -> Record | None:
        """The answer to a write of `body`, whose idempotency key (where the CRM's adapter
        says the record keeps it) is `key`, "" when it has none."""
        sent = {k: v for k, v in body.items() if k not in (self.key_field, "Id")}
        queues = (self.by_key.get(key) if key else None,
                  self.by_id.get(str(body.get("Id") or "")),
                  self.by_content.get(content_hash(sent)))
        for queue in queues:
            while queue:
                answer = queue.popleft()
                if id(answer) not in self._used:  # one answer sits in several indexes
                    self._used.add(id(answer))
                    return answer
        return None


@dataclass
class RecordedAnswers:
    users: list[Record] | None  # None: the run did not record them
    lengths: dict[str, dict[str, int]]  # object -> text field -> length
    lead_statuses: list[Record] | None
    pulls: dict[str, RecordedPull]  # the pull's key (AnswerKeys.pull_key) -> what it returned
    deletions: dict[str, list[Record]]  # object -> deleted or merged records
    matches: dict[str, dict[str, list[tuple[str, bool]]]] | None  # object -> match key ->
    #                                                  (Id, IsConverted); None: not recorded
    writes: WriteAnswers


@dataclass(frozen=True)
class AnswerKeys:
    """How one CRM's recorded answers are keyed, so that its replay client finds them."""

    key_field: str  # the field a write's idempotency key travels in
    pull_key: Callable[[Step], str]  # what an inbound step's pull is recorded under
    modstamp: Callable[[datetime], str]  # a moment as the CRM writes a record's modstamp


def paged(pull: RecordedPull, full: bool) -> list[list[Record]]:
    """The records in pull order (modstamp, id), cut where the run's pages ended; a full
    pull (a step's first, or one reset) returns the records known before the run too."""
    records = {r["Id"]: r for r in (pull.known if full else [])}
    records.update({r["Id"]: r for r in pull.observed})
    ordered = sorted(records.values(), key=_order)
    pages: list[list[Record]] = []
    page: list[Record] = []
    bounds = iter(sorted(pull.boundaries))
    bound = next(bounds, None)
    for record in ordered:
        while bound is not None and _order(record) > bound:
            if page:
                pages.append(page)
                page = []
            bound = next(bounds, None)
        page.append(record)
    if page:
        pages.append(page)
    return pages or [[]]


def _order(record: Record) -> tuple[str, str]:
    return str(record.get("SystemModstamp") or ""), str(record["Id"])
