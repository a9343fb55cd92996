"""The `CrmGateway` port: what a sync run asks of any CRM, in plain values.

The engine owns this protocol; each CRM adapter implements it and keeps its own names (query
languages, object names, headers, error codes, URLs) to itself. A "stream" is what a step
reads or writes: Salesforce's `Contact` or `Lead`, Pipedrive's `person`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from syncledger.domain.quick_init import quick_init


@quick_init
@dataclass(frozen=True)
class CrmRow:
    """One record as the CRM holds it now (or held it, for a replay)."""

    id: str
    # The replication key: the record's modification stamp as the CRM writes it. Pages come
    # ordered by (stamp, id), so the last row of a page is where the next pull starts.
    stamp: str
    # The step's fields by the CRM's own names, as the adapter read them, flattened (a
    # Pipedrive person's primary email is `email`).
    values: Mapping[str, Any]
    owner: str | None = None
    created: str | None = None
    opted_out: bool = False
    # A converted Lead: (contact id, account id). Only Salesforce converts.
    converted: tuple[str | None, str | None] | None = None


@quick_init
@dataclass(frozen=True)
class Removal:
    """A record deleted in the CRM since a moment; merged into `merged_into` when it was
    merged away."""

    id: str
    stamp: str | None = None
    merged_into: str | None = None


@quick_init
@dataclass(frozen=True)
class RecordWrite:
    """One record to create or update. `key` is the write's idempotency key: the adapter
    makes a retried create land on the record the first one made (an external id upsert, or
    a key field it reads back), never a second record."""

    stream: str
    action: Literal["create", "update"]
    fields: Mapping[str, Any]
    key: str  # "" for a write that carries none (it changes a record another write keyed)
    crm_id: str | None = None
    # Whether the CRM may apply its own assignment rules (no owner is sent).
    auto_assign: bool = True
    # A create whose earlier attempt may have landed (its intent was pending): an adapter
    # without an external-id upsert looks for the key before it creates.
    reconcile: bool = False


NO_ANSWER = "RETRYABLE"  # the code of a write whose call got no answer


@quick_init
@dataclass(frozen=True)
class WriteOutcome:
    """What became of one RecordWrite."""

    crm_id: str | None
    created: bool = False
    code: str | None = None  # the CRM's error code when the write failed
    message: str = ""
    retryable: bool = False  # whether a later run may mend the failure by trying again

    @property
    def ok(self) -> bool:
        return self.code is None

    @property
    def unanswered(self) -> bool:
        """No answer came back (the call failed on its way): the write may have landed."""
        return self.code == NO_ANSWER

    @classmethod
    def failed(cls, code: str, message: str, retryable: bool,
               crm_id: str | None = None) -> WriteOutcome:
        return cls(crm_id=crm_id, code=code, message=message, retryable=retryable)


class WritesStopped(Exception):
    """A batch of writes stopped part way (a limit met, the CRM refusing us): `outcomes`
    holds one for every write, those never applied failed as retryable, for the run to
    record before it stops on `cause`."""

    def __init__(self, outcomes: list[list[WriteOutcome]], cause: Exception) -> None:
        super().__init__(str(cause))
        self.outcomes = outcomes
        self.cause = cause


@quick_init
@dataclass(frozen=True)
class PeopleSchema:
    """How a CRM names what every people step needs of a record."""

    streams: tuple[str, ...]  # the people streams, in the order a person prefers them
    owner_field: str
    opt_out_field: str
    email_field: str = "email"
    # Fields of a new record that the CRM refuses to go without, per stream.
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Required fields the adapter composes from others when not given (Pipedrive's name,
    # from the first and last names): present when any of those is.
    composed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Fields a stream's mirror observes besides the mapped ones, per stream (a Lead's
    # Status, which the status steps write too).
    observed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The app key of a person first seen in this CRM: "{prefix}-{stream}-{record id}".
    app_key_prefix: str = ""
    # The count kind of each stream in a run's counts and the Logs.
    kinds: Mapping[str, str] = field(default_factory=dict)


class ReadingsSeen(Protocol):
    """What a run read besides records (field lengths, picklists, email matches), kept so
    that `replay --run` can answer it again."""

    lengths: dict[str, dict[str, int]]
    lead_statuses: list[dict[str, str]] | None

    def take_matches(self) -> dict[str, tuple[int, list[list[Any]]]]: ...


class CrmGateway(Protocol):
    """The port. Calls it makes are counted in `calls` (kind -> calls), and it stops with the
    adapter's limit error once its budget of calls is spent."""

    crm: str
    people: PeopleSchema
    # The kinds its calls are counted by in `calls`, reported even when none was made.
    call_kinds: tuple[str, ...]
    # Writes one group may hold, and how many full groups `write` packs best at once.
    group_size: int
    groups_at_once: int
    # Whether a run may make its calls from threads of its own, side by side with one
    # another and with its own work (a CRM across the network, whose round trips are worth
    # hiding); else it makes each where it needs it, one at a time (one that answers from
    # memory, or whose client is not made for threads).
    side_by_side: bool

    @property
    def calls(self) -> Mapping[str, int]: ...

    @property
    def readings(self) -> ReadingsSeen | None: ...

    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        """Records changed at or after `since` (all, when None), ordered by (stamp, id), a
        page at a time, to the end."""
        ...

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        """Records deleted or merged away at or after `since`."""
        ...

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        """Records with any of the emails, in as few calls as the CRM allows."""
        ...

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        """Records meeting any of the conditions (each: field -> value, every one equal; a
        `date` value compares as a date), reading `fields`, in as few calls as it may."""
        ...

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        """Of these idempotency keys, those a record of the stream carries: key -> record
        id (how a write that may have landed is found before it is sent again)."""
        ...

    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        """Each group shares a stream, an action and `auto_assign`; the adapter sends them
        in as few calls as it may, each write once (never retried blindly: a write whose
        answer was lost may have landed; the caller reconciles by key first)."""
        ...

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        """A picklist field's values as (value, label)."""
        ...

    def users(self) -> dict[str, str]:
        """CRM user id -> email."""
        ...

    def record_url(self, stream: str, record_id: str) -> str: ...

    def api_limit(self) -> tuple[int, int] | None:
        """(used, allowed) of the CRM's daily API limit, when the CRM says."""
        ...

    def spend_at_most(self, calls: int) -> None:
        """From now on, stop with a limit error before the call past `calls` in all."""
        ...

    def parse_stamp(self, stamp: str) -> datetime: ...

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """What the CRM will hold once these fields are written, by the names a pull reads
        (Pipedrive keeps a composed name, split again at its first space): what the mirror
        records of a write, and what a planned write is compared with."""
        ...

    def describe(self, stream: str) -> dict[str, Any]:
        """The stream's fields as the CRM describes them: name -> {length, ...}."""
        ...


def write_outcomes(groups: Sequence[Sequence[RecordWrite]],
                   answers: Sequence[Sequence[WriteOutcome]]) -> list[tuple[RecordWrite,
                                                                              WriteOutcome]]:
    """Each write with its outcome, in order."""
    return [pair for group, answer in zip(groups, answers, strict=True)
            for pair in zip(group, answer, strict=True)]
