"""A gateway for `sync --dry-run` of a CRM whose writes cost one call each: it reads through
the real gateway and answers every write with a success it did not perform, counting the
call the real run would spend on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import count
from typing import Any

from syncledger.domain.ports import (
    CrmGateway,
    CrmRow,
    PeopleSchema,
    ReadingsSeen,
    RecordWrite,
    Removal,
    WriteOutcome,
)


class DryRunGateway:
    def __init__(self, real: CrmGateway) -> None:
        self.real = real
        self.crm: str = real.crm
        self.people: PeopleSchema = real.people
        self.group_size: int = real.group_size
        self.groups_at_once: int = real.groups_at_once
        # Its writes are answered here, counted as they come: one thread, as the real one's.
        self.side_by_side = False
        self.call_kinds: tuple[str, ...] = (*real.call_kinds, "write")
        self._writes: Counter[str] = Counter()
        self._ids = count(1)

    @property
    def calls(self) -> Mapping[str, int]:
        return Counter(self.real.calls) + self._writes

    @property
    def readings(self) -> ReadingsSeen | None:
        return self.real.readings

    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        outcomes = []
        for group in groups:
            self._writes["write"] += len(group)
            outcomes.append([WriteOutcome(crm_id=w.crm_id or f"DRYRUN{next(self._ids):09d}",
                                          created=w.action == "create") for w in group])
        return outcomes

    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        return self.real.changed(stream, fields, since)

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        return self.real.removed(stream, since)

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        return self.real.by_emails(stream, emails)

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        return self.real.find(stream, conditions, fields)

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        return self.real.by_keys(stream, keys)

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        return self.real.picklist(stream, name)

    def users(self) -> dict[str, str]:
        return self.real.users()

    def record_url(self, stream: str, record_id: str) -> str:
        return self.real.record_url(stream, record_id)

    def api_limit(self) -> tuple[int, int] | None:
        return self.real.api_limit()

    def spend_at_most(self, calls: int) -> None:
        self.real.spend_at_most(calls)

    def parse_stamp(self, stamp: str) -> datetime:
        return self.real.parse_stamp(stamp)

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self.real.as_held(stream, fields)

    def describe(self, stream: str) -> dict[str, Any]:
        return self.real.describe(stream)
