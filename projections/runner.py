"""Catching projections up with the log, and rebuilding them into shadow tables that are
swapped in whole, so readers never see a half-built view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError as RowConflict

from syncledger.adapters.collector import collector_paused
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import log_table, read_notifications
from syncledger.adapters.tracking import forget_positions, max_position, record_positions
from syncledger.projections.base import Projection

BATCH = 2000
KEYS_A_QUERY = 500
MAX_CONFLICTS = 20  # a race settles in a few; more is a fault, not a race

Progress = Callable[[int], None]


def catch_up(app: SyncLedger, projections: Sequence[Projection],
             progress: Progress | None = None, names: Sequence[str] | None = None) -> int:
    """Process every event after each projection's position; returns how many were read.

    Several projections share one read of the log; `names` tracks them under other names
    (a rebuild's shadow)."""
    names = list(names or [p.name for p in projections])
    with app.database.reader.connect() as connection:
        positions = [max_position(connection, name) or 0 for name in names]
    start = min(positions, default=0)
    read = 0
    conflicts = 0
    while True:
        notifications = read_notifications(app, start, BATCH)
        if not notifications:
            return read
        try:
            with collector_paused():
                decoded = _decode_wanted(app, projections, notifications)
                _process_batch(app, projections, names, positions, notifications, decoded)
        except (IntegrityError, RowConflict):
            # Another process tracked these positions first (two commands catching up at
            # once): nothing was counted twice; carry on from where the tracking now stands.
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise
            with app.database.reader.connect() as connection:
                positions = [max_position(connection, name) or 0 for name in names]
            start = min(positions)
            continue
        conflicts = 0
        start = notifications[-1].id
        read += len(notifications)
        if progress:
            progress(len(notifications))


def _process_batch(app: SyncLedger, projections: Sequence[Projection], names: list[str],
                   positions: list[int], notifications: Sequence[Any],
                   decoded: dict[int, Any]) -> None:
    log = log_table(app)
    with app.database.writer.begin() as connection:
        topics = {n.topic for n in notifications}
        for index, projection in enumerate(projections):
            fresh = notifications if notifications[0].id > positions[index] else \
                [n for n in notifications if n.id > positions[index]]
            if not fresh:
                continue
            if projection.in_database:
                projection.process_range(connection, log, fresh[0].id, fresh[-1].id)
            else:
                wanted = {topic for topic in topics if projection.wants(topic)}
                todo = [(n.id, decoded[n.id]) for n in fresh if n.topic in wanted]
                if todo:
                    projection.process(connection, todo)
            # Tracked over the whole batch, read or not, so it is never read again.
            record_positions(connection, names[index], [fresh[0].id, fresh[-1].id])
            positions[index] = fresh[-1].id


def _decode_wanted(app: SyncLedger, projections: Sequence[Projection],
                   notifications: Sequence[Any]) -> dict[int, Any]:
    """Decode (and decrypt) only what some projection reads as events."""
    readers = [p for p in projections if not p.in_database]
    topics = {t for t in {n.topic for n in notifications} if any(p.wants(t) for p in readers)}
    wanted = [n for n in notifications if n.topic in topics]
    _prefetch_keys(app, wanted)
    return {n.id: app.mapper.to_domain_event(n) for n in wanted}


def _prefetch_keys(app: SyncLedger, notifications: Sequence[Any]) -> None:
    """Most events are filed under their originator's key: read them in a few queries."""
    subjects: list[UUID] = list(dict.fromkeys(n.originator_id for n in notifications))
    for start in range(0, len(subjects), KEYS_A_QUERY):
        app.keys.prefetch(subjects[start:start + KEYS_A_QUERY])


def rebuild(app: SyncLedger, projections: Sequence[Projection],
            progress: Progress | None = None) -> int:
    shadows = [p.shadow() for p in projections]
    shadow_names = [f"{p.name}{p.suffix}" for p in shadows]
    with app.database.writer.begin() as connection:
        for shadow, name in zip(shadows, shadow_names, strict=True):
            _drop(connection, shadow)
            forget_positions(connection, name)
            for table in shadow.tables.values():
                # Secondary indexes are built once at the swap: kept up to date row by row
                # they rewrite pages all over the index at every batch. Projections only
                # look their own rows up by primary key.
                table.create(connection)
                for index in table.indexes:
                    connection.execute(text(f'DROP INDEX "{index.name}"'))
    read = catch_up(app, shadows, progress, names=shadow_names)
    with app.database.writer.begin() as connection:
        for live, shadow, name in zip(projections, shadows, shadow_names, strict=True):
            _swap(connection, live, shadow)
            forget_positions(connection, live.name)
            connection.execute(text("UPDATE projection_tracking SET projection = :live "
                                    "WHERE projection = :shadow"),
                               {"live": live.name, "shadow": name})
    return read


def _drop(connection: Connection, projection: Projection) -> None:
    existing = set(inspect(connection).get_table_names())
    for table in projection.tables.values():
        if table.name in existing:
            table.drop(connection)


def _swap(connection: Connection, live: Projection, shadow: Projection) -> None:
    postgres = connection.dialect.name == "postgresql"
    for logical, table in live.tables.items():
        shadow_table = shadow.tables[logical]
        connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
        for index in shadow_table.indexes:
            connection.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
        connection.execute(text(f'ALTER TABLE "{shadow_table.name}" RENAME TO "{table.name}"'))
        if postgres:
            connection.execute(text(
                f'ALTER TABLE "{table.name}" RENAME CONSTRAINT "{shadow_table.name}_pkey" '
                f'TO "{table.name}_pkey"'))
        for index in table.indexes:
            index.create(connection)


def read_all(app: SyncLedger, progress: Progress | None = None) -> Any:
    """Decode the whole log once (the baseline the benchmarks compare against)."""
    start = 0
    count = 0
    while True:
        notifications = read_notifications(app, start, BATCH)
        if not notifications:
            return count
        _prefetch_keys(app, notifications)
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id
        if progress:
            progress(len(notifications))
