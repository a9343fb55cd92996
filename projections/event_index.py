"""Where each event sits in the log, by originator, subject and cause: what `history` reads
to find a record's trail without scanning the log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import chain
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
from syncledger.adapters.json_text import loads
from syncledger.adapters.log_reader import LogTable
from syncledger.adapters.plain_events import Logged, Row
from syncledger.projections.base import InDatabase
from syncledger.projections.bulk_rows import copy_text

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

    def copy_entries(self, connection: Connection, entries: list[str]) -> None:
        """Insert rows spelled by `Entries` (PostgreSQL), in the caller's transaction."""
        copy_text(connection, self.tables["event_index"], COLUMNS, entries)


COLUMNS = ("position", "originator_id", "originator_version", "subject", "cause")
NULL = "\\N"  # in COPY's text format
# A backslash, tab, newline or carriage return within a value, escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Entries:
    """The index's rows of events, as lines of COPY's text format: what `process_range`'s
    SQL makes of them, from states parsed in Python (PostgreSQL parsing each state again
    cost more than the rest of a rebuild's work on it)."""

    def __init__(self) -> None:
        # A cause stands for a run or an import: thousands of events each.
        self._causes: dict[str, str] = {}

    def __call__(self, decoded: Iterable[Logged], others: Sequence[Row]) -> list[str]:
        """`decoded`: events a rebuild has decoded already (their plain parts are as
        stored: no upcaster touches a subject or a cause); `others`: rows as read (events
        no folded view reads), parsed here."""
        found: list[str] = []
        append = found.append
        causes = self._causes
        for position, originator, version, data in chain(
                ((e.position, e.originator, e.version, e.data) for e in decoded),
                ((row[0], row[1], row[2], loads(row[4])) for row in others)):
            subject = data.get("subject")
            cause = data.get("cause")
            cause = causes.get(cause) or self._cause(cause) if type(cause) is str else \
                _text(cause)
            append(f"{position}\t{originator}\t{version}\t"
                   f"{NULL if subject is None else _subject(subject, originator)}\t{cause}\n")
        return found

    def _cause(self, cause: str) -> str:
        text = self._causes[cause] = _text(cause)
        return text


def _subject(subject: Any, originator: str) -> str:
    # `#>> '{_data_}'`: a stored UUID's hex; anything else under `subject` gives none, and
    # an event filed under its own originator has none.
    found = subject.get("_data_") if isinstance(subject, dict) else None
    return NULL if found is None or found == originator else _text(found)


def _text(value: Any) -> str:
    # As json_to_record's text columns and `#>>` give a value: a string as it is, anything
    # else as its JSON text.
    if value is None:
        return NULL
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text.translate(_ESCAPES)


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


def files_under_other_keys(connection: Connection, table: Table) -> bool:
    """Whether any event is filed under another aggregate's key (found in the partial index
    on subjects, without reading the table)."""
    return connection.scalar(select(table.c.subject).where(table.c.subject.isnot(None))
                             .limit(1)) is not None


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
