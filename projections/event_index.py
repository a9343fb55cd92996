"""Where each event sits in the log, by originator, subject and cause: what `history` reads
to find a record's trail without scanning the log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    or_,
    select,
)

from syncledger.adapters.in_lists import in_slices
from syncledger.adapters.log_reader import LogTable
from syncledger.projections.base import InDatabase

SUBJECTS_A_QUERY = 1000


class EventIndex(InDatabase):
    """Kept for what the log's own index cannot find: events filed under another
    aggregate's key (the subject) and every event's cause."""

    name = "event_index"
    personal = False  # positions, ids and causes

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            # On SQLite the position is the rowid (an INTEGER PRIMARY KEY), not an index of
            # its own beside it.
            f"event_index{suffix}", metadata,
            Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                   autoincrement=False),
            Column("originator_id", String(32), nullable=False),
            Column("originator_version", Integer, nullable=False),
            # Only when the event is filed under another aggregate's key (an activity under
            # its person's): most are not, and their rows and the index stay small.
            Column("subject", String(32)),
            Column("cause", String(200), index=True),
        )
        Index(f"ix_event_index{suffix}_subject", table.c.subject,
              sqlite_where=table.c.subject.isnot(None),
              postgresql_where=table.c.subject.isnot(None))
        return {"event_index": table}

    def process_range(self, connection: Connection, log: LogTable, where: str) -> None:
        table = self.tables["event_index"].name
        rows = log.plain_rows(where, subject=("subject", "_data_"), cause=("cause",))
        # An activity's events are filed under its person's key (the `subject`), the rest
        # under their originator; the transcoder stores a UUID as {"_type_", "_data_": hex}.
        connection.exec_driver_sql(
            f'INSERT INTO "{table}" (position, originator_id, originator_version, subject, '
            f"cause) SELECT position, originator, version, NULLIF(subject, originator), "
            f"cause FROM ({rows}) AS found")


def positions_for(connection: Connection, log: LogTable, table: Table, ids: list[UUID],
                  cause: str | None = None) -> list[tuple[int, str, int]]:
    """(position, originator id hex, version) of events about these ids (their own, and
    those filed under them as subject), or with this cause, in log order. An aggregate's
    own events are found in the log's own index on originator ids, not in this one."""
    found: set[tuple[int, str, int]] = set()
    if ids:
        hexes = [i.hex for i in ids]
        literals = ", ".join(log.id_literal(h) for h in hexes)
        found.update((int(p), o if log.kind == "sqlite" else UUID(str(o)).hex, int(v))
                     for p, o, v in connection.exec_driver_sql(
            f"SELECT {log.position}, originator_id, originator_version FROM {log.name} "
            f"WHERE originator_id IN ({literals})"))
    conditions: list[Any] = [table.c.subject.in_([i.hex for i in ids])] if ids else []
    if cause is not None:
        conditions.append(table.c.cause == cause)
    if conditions:
        query = select(table.c.position, table.c.originator_id, table.c.originator_version
                       ).where(or_(*conditions))
        found.update((int(p), o, int(v)) for p, o, v in connection.execute(query))
    return sorted(found)


def subjects_of(connection: Connection, table: Table, subjects: set[UUID]) -> set[UUID]:
    """Other originators filed under these subjects (e.g. the activities of these people);
    the index keeps no topic, so callers load the aggregates and check what they are.

    Asked in slices: a first run links every person, and one statement naming them all
    would hold a hundred thousand parameters at once."""
    hexes = sorted(s.hex for s in subjects)
    found: set[UUID] = set()
    for part in in_slices(hexes, SUBJECTS_A_QUERY):
        query = select(table.c.originator_id).where(
            table.c.subject.in_(part), table.c.originator_id.notin_(part)).distinct()
        found.update(UUID(o) for o in connection.scalars(query))
    return found
