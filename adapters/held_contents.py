"""Message bodies held outside the log (`store_contents = false`), in the same database,
from their import until the CRM has accepted them; then they are deleted.

A row is one body of one activity, named by its digest, so a body held by an import whose
events were then not saved (a crash, a lost race) cannot stand in for the one the log names.
`seq` orders the rows: a sync deletes only the rows it read, never one held after it looked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from syncledger.adapters.database import Database, metadata

held_contents = Table(
    "held_contents", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("activity", String(32), nullable=False),
    Column("field", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("subject", String(32), nullable=False, index=True),  # whose `forget` drops it
    Column("body", Text, nullable=False),
    UniqueConstraint("activity", "field", "sha256", name="held_contents_body"),
)


@dataclass(frozen=True)
class HeldBody:
    activity: UUID
    field: str
    sha256: str
    subject: UUID
    body: str


@dataclass(frozen=True)
class Held:
    """The bodies held for one activity: digest -> text, and the last row read."""

    bodies: dict[str, str]
    seq: int


def hold(database: Database, bodies: Iterable[HeldBody]) -> list[int]:
    """Before the events that name them are saved, as keys are: a crash in between leaves
    a body without its event (which the import, run again, names), never the reverse.
    Returns the rows this call added (a body held already, by another writer, is kept)."""
    rows = [{"activity": b.activity.hex, "field": b.field, "sha256": b.sha256,
             "subject": b.subject.hex, "body": b.body} for b in bodies]
    if not rows:
        return []
    dialect = postgresql if database.store.kind == "postgres" else sqlite
    statement = dialect.insert(held_contents).on_conflict_do_nothing(
        index_elements=["activity", "field", "sha256"]).returning(held_contents.c.seq)
    with database.writer.begin() as connection:
        return list(connection.scalars(statement, rows))


def discard(database: Database, rows: list[int]) -> None:
    """Rows held for events that were then not saved."""
    if rows:
        with database.writer.begin() as connection:
            connection.execute(delete(held_contents).where(held_contents.c.seq.in_(rows)))


def held_for(database: Database, activities: Iterable[UUID]) -> dict[UUID, Held]:
    names = [a.hex for a in activities]
    if not names:
        return {}
    bodies: dict[UUID, dict[str, str]] = defaultdict(dict)
    last: dict[UUID, int] = {}
    with database.reader.connect() as connection:
        rows = connection.execute(
            select(held_contents.c.activity, held_contents.c.sha256, held_contents.c.body,
                   held_contents.c.seq).where(held_contents.c.activity.in_(names)))
        for activity, digest, body, seq in rows:
            key = UUID(activity)
            bodies[key][digest] = body
            last[key] = max(seq, last.get(key, 0))
    return {key: Held(bodies[key], last[key]) for key in bodies}


def release(database: Database, settled: Mapping[UUID, int]) -> int:
    """Delete each activity's bodies up to the last row read for it (activity -> seq): the
    CRM has them, or they will never go. Returns how many rows went."""
    if not settled:
        return 0
    condition = or_(*(and_(held_contents.c.activity == activity.hex,
                           held_contents.c.seq <= seq) for activity, seq in settled.items()))
    with database.writer.begin() as connection:
        return int(connection.execute(delete(held_contents).where(condition)).rowcount)


def forget_subjects(database: Database, subjects: Iterable[UUID]) -> int:
    names = [s.hex for s in subjects]
    if not names:
        return 0
    with database.writer.begin() as connection:
        return int(connection.execute(
            delete(held_contents).where(held_contents.c.subject.in_(names))).rowcount)
