"""Where each event sits in the log, by originator, subject and cause: what `history` reads
to find a record's trail without scanning the log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    or_,
    select,
)

from syncledger.adapters.log_reader import LogTable
from syncledger.projections.base import Projection

SUBJECTS_A_QUERY = 1000


class EventIndex(Projection):
    name = "event_index"

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"event_index{suffix}", metadata,
            Column("position", BigInteger, primary_key=True, autoincrement=False),
            Column("originator_id", String(32), nullable=False, index=True),
            Column("originator_version", Integer, nullable=False),
            Column("subject", String(32), nullable=False, index=True),
            Column("cause", String(200), index=True),
        )
        return {"event_index": table}

    in_database = True  # plain parts of the stored state: nothing to read out or decrypt

    def process_range(self, connection: Connection, log: LogTable, first: int,
                      last: int) -> None:
        table = self.tables["event_index"].name
        rows = log.plain_rows(first, last, subject=("subject", "_data_"), cause=("cause",))
        # An activity's events are filed under its person's key (the `subject`), the rest
        # under their originator; the transcoder stores a UUID as {"_type_", "_data_": hex}.
        connection.exec_driver_sql(
            f'INSERT INTO "{table}" (position, originator_id, originator_version, subject, '
            f"cause) SELECT position, originator, version, COALESCE(subject, originator), "
            f"cause FROM ({rows}) AS found")


def positions_for(connection: Connection, table: Table, ids: list[UUID],
                  cause: str | None = None) -> list[tuple[int, str, int]]:
    """(position, originator id hex, version) of events about these ids, or with this cause."""
    hexes = [i.hex for i in ids]
    conditions: list[Any] = [table.c.originator_id.in_(hexes), table.c.subject.in_(hexes)]
    if cause is not None:
        conditions.append(table.c.cause == cause)
    query = (select(table.c.position, table.c.originator_id, table.c.originator_version)
             .where(or_(*conditions)).order_by(table.c.position))
    return [(int(p), o, int(v)) for p, o, v in connection.execute(query)]


def subjects_of(connection: Connection, table: Table, subjects: set[UUID]) -> set[UUID]:
    """Originators filed under these subjects (e.g. the activities of these people); the
    index keeps no topic, so callers load the aggregates and check what they are.

    Asked in slices: a first run links every person, and one statement naming them all
    would hold a hundred thousand parameters at once."""
    hexes = sorted(s.hex for s in subjects)
    found: set[UUID] = set()
    for start in range(0, len(hexes), SUBJECTS_A_QUERY):
        part = hexes[start:start + SUBJECTS_A_QUERY]
        query = select(table.c.originator_id).where(
            table.c.subject.in_(part), table.c.originator_id.notin_(part)).distinct()
        found.update(UUID(o) for o in connection.scalars(query))
    return found
