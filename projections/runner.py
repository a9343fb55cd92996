"""Catching projections up with the log, in log order, from each one's tracked position."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from eventsourcing.persistence import IntegrityError
from sqlalchemy.exc import IntegrityError as RowConflict

from syncledger.adapters.collector import collector_paused
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import log_table, read_rows
from syncledger.adapters.plain_events import Logged, PlainDecoder, Row
from syncledger.adapters.tracking import max_position, record_positions
from syncledger.projections.base import AggregateRows, Changed, InDatabase, Projection

BATCH = 2000
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
    decoder = PlainDecoder(app.keys)
    # Paused for the whole pass: a collection between batches walks everything the process
    # holds, and a batch builds no cycles.
    with collector_paused():
        return _catch_up(app, decoder, projections, names, positions, start, progress)


def _catch_up(app: SyncLedger, decoder: PlainDecoder, projections: Sequence[Projection],
              names: list[str], positions: list[int], start: int,
              progress: Progress | None) -> int:
    read = 0
    conflicts = 0
    while True:
        try:
            rows = read_rows(app, start, BATCH, keys=True)
            if not rows:
                return read
            _process_batch(app, decoder, projections, names, positions, rows)
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
        start = rows[-1][0]
        read += len(rows)
        if progress:
            progress(len(rows))


def _process_batch(app: SyncLedger, decoder: PlainDecoder, projections: Sequence[Projection],
                   names: list[str], positions: list[int], rows: Sequence[Row]) -> None:
    wanted = wanted_topics(projections, {row[3] for row in rows})
    # Decoded (and opened) once, and only what some projection reads as events.
    decoded = decoder.decode([row for row in rows if row[3] in wanted]) if wanted else []
    log = log_table(app)
    firsts = [rows[0][0] if rows[0][0] > positions[index] else
              next((row[0] for row in rows if row[0] > positions[index]), None)
              for index in range(len(projections))]
    # Rows are read and changed before the write transaction, which on SQLite holds the
    # store's one write lock (the run's event saves wait for it): it only writes. Should
    # another process catch up the same events meanwhile, the tracking refuses this
    # batch's positions and nothing read stale is kept (see _catch_up).
    changed: dict[int, Changed] = {}
    with app.database.reader.connect() as connection:
        for index, projection in enumerate(projections):
            first = firsts[index]
            if first is not None and isinstance(projection, AggregateRows):
                todo = mine(projection, decoded, wanted, first)
                if todo:
                    changed[index] = projection.prepare(connection, todo)
    with app.database.writer.begin() as connection:
        for index, projection in enumerate(projections):
            first = firsts[index]
            if first is None:
                continue
            last = rows[-1][0]
            if isinstance(projection, InDatabase):
                projection.process_range(connection, log, log.positions(first, last))
            elif index in changed:
                cast(AggregateRows, projection).write(connection, changed[index])
            # Tracked over the whole batch, read or not, so it is never read again.
            record_positions(connection, names[index], [first, last])
            positions[index] = last


def wanted_topics(projections: Sequence[Projection], topics: set[str]) -> set[str]:
    return {topic for topic in topics
            if any(p.wants(topic) for p in projections if not p.in_database)}


def mine(projection: Projection, decoded: list[Logged], wanted: set[str],
         first: int = 0) -> list[Logged]:
    """The decoded events (of the `wanted` topics) that `projection` reads, from `first`."""
    topics = {topic for topic in wanted if projection.wants(topic)}
    if topics == wanted and (not decoded or decoded[0].position >= first):
        return decoded
    return [e for e in decoded if e.topic in topics and e.position >= first]
