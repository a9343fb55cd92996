"""What a run reads from the CRM besides its records, kept so that `replay --run` can answer
the run's own questions again without calling the CRM.

- `CrmReadings`, one stream per integration: the CRM's users (owner email matching), the
  text field lengths of each object (truncation) and the Lead Status picklist. Each is
  recorded only when the answer differs from the last one recorded, so an org that does not
  change costs nothing after the first run.
- `RunMatches`, one stream per run that asked: the rows of the batched `Email IN (...)`
  queries of outbound matching. Emails are personal, so a row names its email only by
  `match_key` (a uuid5, like the ids of email claims)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import natural_id
from syncledger.domain.upcasts import stream_renamed


def crm_readings_id(crm: str) -> UUID:
    return natural_id(f"readings:{crm}")


def run_matches_id(run_id: str) -> UUID:
    return natural_id(f"matches:{run_id}")


def match_key(email: str) -> str:
    return natural_id(f"match:{email.strip().lower()}").hex


class CrmReadings(CausedAggregate):
    @staticmethod
    def create_id(crm: str, **_: Any) -> UUID:
        return crm_readings_id(crm)

    @classmethod
    def open(cls, crm: str, ctx: Context) -> CrmReadings:
        return cls._begin(ctx, crm=crm)

    @event("Opened")
    def __init__(self, crm: str) -> None:
        self.crm = crm
        self.users: dict[str, str] | None = None  # CRM user id -> email
        self.lengths: dict[str, dict[str, int]] = {}  # object -> text field -> length
        self.lead_statuses: list[dict[str, str]] | None = None  # ApiName, MasterLabel

    def read_users(self, users: dict[str, str], ctx: Context) -> None:
        ordered = dict(sorted(users.items()))
        if ordered == self.users:
            return
        self._happened(self._users_read, ctx, users=ordered)

    def read_lengths(self, stream: str, lengths: dict[str, int], ctx: Context) -> None:
        ordered = dict(sorted(lengths.items()))
        if ordered == self.lengths.get(stream):
            return
        self._happened(self._lengths_read, ctx, stream=stream, lengths=ordered)

    def read_lead_statuses(self, statuses: list[dict[str, str]], ctx: Context) -> None:
        if statuses == self.lead_statuses:
            return
        self._happened(self._lead_statuses_read, ctx, statuses=statuses)

    @event("UsersRead")
    def _users_read(self, users: dict[str, str]) -> None:
        self.users = dict(users)

    class LengthsRead(CausedAggregate.Event):
        """Until version 2 its `stream` was stored under another name (see domain.upcasts)."""

        class_version = 2
        stream: str
        lengths: dict[str, int]
        upcast_v1_v2 = staticmethod(stream_renamed)

    @event(LengthsRead)
    def _lengths_read(self, stream: str, lengths: dict[str, int]) -> None:
        self.lengths[stream] = dict(lengths)

    @event("LeadStatusesRead")
    def _lead_statuses_read(self, statuses: list[dict[str, str]]) -> None:
        self.lead_statuses = [dict(s) for s in statuses]


class RunMatches(CausedAggregate):
    @staticmethod
    def create_id(run_id: str, **_: Any) -> UUID:
        return run_matches_id(run_id)

    @classmethod
    def open(cls, run_id: str, ctx: Context) -> RunMatches:
        return cls._begin(ctx, run_id=run_id)

    @event("Opened")
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.asked: dict[str, int] = {}  # object -> emails asked
        self.rows: dict[str, list[list[Any]]] = {}  # object -> [match key, Id, IsConverted]

    def answer(self, stream: str, asked: int, rows: list[list[Any]], ctx: Context) -> None:
        """`rows` in the order the CRM returned them: the first unconverted one wins."""
        if not asked:
            return
        self._happened(self._answered, ctx, stream=stream, asked=asked, rows=rows)

    class Answered(CausedAggregate.Event):
        """Until version 2 its `stream` was stored under another name (see domain.upcasts)."""

        class_version = 2
        stream: str
        asked: int
        rows: list[list[Any]]
        upcast_v1_v2 = staticmethod(stream_renamed)

    @event(Answered)
    def _answered(self, stream: str, asked: int, rows: list[list[Any]]) -> None:
        self.asked[stream] = self.asked.get(stream, 0) + asked
        self.rows.setdefault(stream, []).extend([list(r) for r in rows])
