"""A gateway for `replay --run` of a CRM whose run is replayed through the port itself
(Pipedrive): it answers a past run's questions from what the run recorded
(replay/run_answers.py) and never calls the CRM. What the record cannot answer is answered
as empty, or a write as a success never sent, and said in `gaps`, as the Salesforce replay
client does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import count
from typing import Any

from syncledger.adapters.recorded_answers import Record, RecordedAnswers, paged
from syncledger.domain.crm_readings import match_key
from syncledger.domain.ports import (
    CrmRow,
    PeopleSchema,
    ReadingsSeen,
    RecordWrite,
    Removal,
    WriteOutcome,
)

KEY = "_key"  # where a write's idempotency key travels in the recorded answers' bodies


def pull_key(stream: str, fields: Sequence[str]) -> str:
    """What a pull of these fields of the stream is recorded under."""
    return f"{stream}: {', '.join(dict.fromkeys(fields))}"


class ReplayGateway:
    call_kinds: tuple[str, ...] = ("read", "search", "write")
    group_size = 50
    groups_at_once = 1
    side_by_side = False  # answers from memory: nothing to hide, the run's own order kept

    def __init__(self, crm: str, people: PeopleSchema, answers: RecordedAnswers,
                 record_url: Callable[[str, str], str],
                 parse_stamp: Callable[[str], datetime],
                 as_held: Callable[[str, Mapping[str, Any]], dict[str, Any]]) -> None:
        self.crm = crm
        self.people = people
        self.answers = answers
        self._record_url = record_url
        self._parse_stamp = parse_stamp
        self._as_held = as_held
        self._calls: Counter[str] = Counter()
        self.gaps: list[str] = []
        self._made_up = count(1)

    @property
    def calls(self) -> Mapping[str, int]:
        return self._calls

    @property
    def readings(self) -> ReadingsSeen | None:
        return None

    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        pull = self.answers.pulls.get(pull_key(stream, fields))
        if pull is None:
            self._gap(f"a pull of {stream} the run did not make: answered as no records")
            yield []
            return
        for page in paged(pull, since is None):
            self._calls["read"] += 1
            yield [self._row(record) for record in page]

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        self._calls["read"] += 1
        yield [Removal(str(r["Id"]), r.get("SystemModstamp"), r.get("MasterRecordId"))
               for r in self.answers.deletions.get(stream, [])]

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        self._calls["search"] += len(emails)
        found = (self.answers.matches or {}).get(stream)
        if found is None:
            self._gap(f"email matches of {stream} were not recorded by this run: answered "
                      "as no match")
            return
        rows = [CrmRow(id=record_id, stamp="", values={self.people.email_field: email})
                for email in emails for record_id, _ in found.get(match_key(email), [])]
        if rows:
            yield rows

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        self._gap(f"a look-up of {stream} by field values, not recorded: answered as none")
        yield []

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        self._gap(f"a look-up of {stream} by key, not recorded: answered as none")
        return {}

    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        outcomes = []
        for group in groups:
            self._calls["write"] += len(group)
            outcomes.append([self._outcome(write) for write in group])
        return outcomes

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        self._gap(f"the {stream} {name} picklist, not recorded: answered as empty")
        return []

    def users(self) -> dict[str, str]:
        if self.answers.users is None:
            self._gap("the CRM's users (owner email matching) were not recorded: answered "
                      "as none")
            return {}
        return {str(u["Id"]): str(u.get("Email") or "") for u in self.answers.users}

    def record_url(self, stream: str, record_id: str) -> str:
        return self._record_url(stream, record_id)

    def api_limit(self) -> tuple[int, int] | None:
        return None

    def spend_at_most(self, calls: int) -> None:
        """A replay spends no call."""

    def parse_stamp(self, stamp: str) -> datetime:
        return self._parse_stamp(stamp)

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._as_held(stream, fields)

    def describe(self, stream: str) -> dict[str, Any]:
        return {name: {"length": length}
                for name, length in self.answers.lengths.get(stream, {}).items()}

    def _row(self, record: Record) -> CrmRow:
        values = {k: v for k, v in record.items()
                  if k not in ("Id", "SystemModstamp", "CreatedDate", "OwnerId")}
        return CrmRow(id=str(record["Id"]), stamp=str(record.get("SystemModstamp") or ""),
                      values={**values, self.people.owner_field: record.get("OwnerId")},
                      owner=record.get("OwnerId"), created=record.get("CreatedDate"),
                      opted_out=values.get(self.people.opt_out_field) is True)

    def _outcome(self, write: RecordWrite) -> WriteOutcome:
        body = {**write.fields, KEY: write.key, "Id": write.crm_id}
        answer = self.answers.writes.answer_for(body, write.key)
        if answer is None:
            self._gap("writes today's code makes that the run did not: answered as "
                      "succeeded, never sent (made-up ids contain REPLAY)")
            return WriteOutcome(crm_id=write.crm_id or f"REPLAY{next(self._made_up):09d}",
                                created=write.action == "create")
        if answer.get("success"):
            return WriteOutcome(crm_id=str(answer.get("id") or write.crm_id),
                                created=write.action == "create")
        error = (answer.get("errors") or [{}])[0]
        return WriteOutcome.failed(str(error.get("statusCode", "UNKNOWN")),
                                   str(error.get("message", "")),
                                   bool(error.get("retryable")), write.crm_id)

    def _gap(self, text: str) -> None:
        if text not in self.gaps:
            self.gaps.append(text)
