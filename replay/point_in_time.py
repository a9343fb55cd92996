"""`replay --until TIME|--position N --into URL`: the log as it stood at a point, copied into
another store, with its projections built there.

A save is atomic (its events and its ledger seal commit together), so the log never stood
in the middle of one: a point always ends a save, at its seal. That keeps the copy's seals
whole, so `verify` passes on it too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import func, select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.person_keys import person_keys
from syncledger.domain.ledger import LogSealed
from syncledger.projections.people import list_people
from syncledger.projections.registry import LIVE, PEOPLE
from syncledger.projections.runner import catch_up
from syncledger.replay.copy_log import TargetNotEmpty, copy_log

SEAL_TOPIC = get_topic(LogSealed)


class ReplayPointError(ValueError):
    """A point in the log that cannot be replayed to (before the first event, past the end,
    not a time)."""


@dataclass(frozen=True)
class ReplayPoint:
    position: int  # the last source position to copy: the end of a save
    seal: int | None  # the version of the seal that ends it (None: an unsealed tail)
    time: datetime | None  # when that seal was recorded
    head: int  # the source log's last position, for "N of HEAD"


@dataclass(frozen=True)
class Replayed:
    point: ReplayPoint
    events: int
    keys: int
    people: int
    projections: list[str]


def parse_time(text: str) -> datetime:
    """ISO 8601; a time without an offset is UTC, as the log records it."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ReplayPointError(f"--until {text!r}: expected an ISO 8601 time, "
                               "e.g. 2026-11-01T10:00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def point_at_position(app: SyncLedger, position: int) -> ReplayPoint:
    """The end of the save that holds `position`: the state right after it was recorded."""
    head = _head(app)
    if position < 1 or position > head:
        raise ReplayPointError(f"--position {position}: the log holds positions 1 to {head}")
    seal = _first_seal_from(app, position)
    if seal is None:  # only a tampered or pre-seal log has events after its last seal
        return ReplayPoint(position, None, None, head)
    return ReplayPoint(seal.id, seal.originator_version, _seal_time(app, seal), head)


def point_at_time(app: SyncLedger, when: datetime) -> ReplayPoint:
    """The end of the last save sealed at or before `when`.

    Seals follow one another through the ledger stream's optimistic concurrency, each made
    after the previous one committed, so their times rise with their positions: a binary
    search over positions finds the point with a few short reads, however long the log."""
    head = _head(app)
    low, high = 1, head  # invariant: the answer's seal is the first seal from some p <= high
    best: tuple[Notification, datetime] | None = None
    while low <= high:
        middle = (low + high) // 2
        seal = _first_seal_from(app, middle)
        sealed_at = None if seal is None else _seal_time(app, seal)
        if seal is not None and sealed_at is not None and sealed_at <= when:
            best = (seal, sealed_at)
            low = seal.id + 1
        else:
            high = middle - 1
    if best is None:
        first = _first_seal_from(app, 1)
        since = ""
        if first is not None:
            since = f" (the first save was sealed at {_seal_time(app, first).isoformat()})"
        raise ReplayPointError(f"--until {when.isoformat()}: nothing was recorded by then"
                               f"{since}")
    seal, sealed_at = best
    return ReplayPoint(seal.id, seal.originator_version, sealed_at, head)


def replay_into(source: SyncLedger, target: SyncLedger, point: ReplayPoint,
                progress: Callable[[int], None] | None = None) -> Replayed:
    """Copy the stored log up to `point` (with the person keys, so the copy decrypts as the
    source does, and forgotten people stay forgotten), then build every projection there."""
    refuse_non_empty(target)
    copied = copy_log(source, target, until=point.position, progress=progress)
    catch_up(target, list(LIVE.values()))
    with target.database.reader.connect() as connection:
        keys = int(connection.scalar(select(func.count()).select_from(person_keys)) or 0)
        people = len(list_people(connection, PEOPLE.tables["people"], None))
    return Replayed(point, copied, keys, people, list(LIVE))


def refuse_non_empty(target: SyncLedger) -> None:
    """Only an empty store: replaying over a log, or over keys of another, would mix two
    histories."""
    where = target.store.redacted()
    if target.recorder.max_notification_id():
        raise TargetNotEmpty(f"{where} already holds events: replay into an empty store")
    with target.database.reader.connect() as connection:
        if connection.scalar(select(func.count()).select_from(person_keys)):
            raise TargetNotEmpty(f"{where} already holds person keys: replay into an empty "
                                 "store")


def same_store(a: SyncLedger, b: SyncLedger) -> bool:
    x, y = a.store, b.store
    if x.kind == "sqlite":
        return y.kind == "sqlite" and x.sqlite_path == y.sqlite_path
    return (y.kind, y.host, y.port, y.dbname) == ("postgres", x.host, x.port, x.dbname)


def _head(app: SyncLedger) -> int:
    head = app.recorder.max_notification_id() or 0
    if not head:
        raise ReplayPointError(f"{app.store.redacted()} holds no events: nothing to replay")
    return head


def _first_seal_from(app: SyncLedger, position: int) -> Notification | None:
    found = app.recorder.select_notifications(start=position, limit=1, topics=[SEAL_TOPIC])
    return found[0] if found else None


def _seal_time(app: SyncLedger, seal: Notification) -> datetime:
    event: Any = app.mapper.to_domain_event(seal)
    timestamp: datetime = event.timestamp
    return timestamp
