"""What every projection is: its tables (live, or shadow for a rebuild) and how it applies
the log.

Each projection writes its rows and its tracking position in one transaction, many events a
transaction, so a crash never leaves a half-counted batch. There are two kinds:
- `AggregateRows`: one row per aggregate, keyed by the aggregate's id, changed only by that
  aggregate's own events. Such a view can be rebuilt in aggregate order (each row folded
  once and inserted, never read back), in parallel over ranges of aggregate ids.
- `InDatabase`: reads the plain parts of stored events with SQL; nothing is read out,
  decoded or decrypted."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Connection, MetaData, Table

from syncledger.adapters.log_reader import LogTable
from syncledger.adapters.plain_events import Logged
from syncledger.projections.bulk_rows import insert_rows, rows_by_key, update_rows
from syncledger.projections.event_names import type_name

SHADOW = "__shadow"
ROWS_A_QUERY = 512  # rows read back by id in one statement (see in_lists)

Batch = list[Logged]
Rows = dict[str, dict[str, Any]]  # aggregate id (hex) -> its row


class Changed(NamedTuple):
    """The rows a batch changes: those it read back, and those it made."""

    updated: list[dict[str, Any]]
    new: list[dict[str, Any]]


class Projection(ABC):
    name: str
    # Topic prefixes of the events it reads (None: all); the others are never decoded.
    topics: tuple[str, ...] | None = None
    in_database = False
    # Whether its rows hold personal data: the pages of a dropped table that did are
    # overwritten (SQLite's secure_delete), so a forgotten person's values cannot linger.
    personal = True

    def __init__(self, metadata: MetaData, suffix: str = "") -> None:
        self.suffix = suffix
        self._wanted: dict[str, bool] = {}
        self.tables: dict[str, Table] = self.define(metadata, suffix)

    @abstractmethod
    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        """The projection's tables, each named `<logical name><suffix>`."""

    def wants(self, topic: str) -> bool:
        # Asked about a few dozen topics, once a batch each.
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = self.topics is None or topic.startswith(self.topics)
        return wanted

    def shadow(self) -> Projection:
        return type(self)(MetaData(), SHADOW)


class AggregateRows(Projection):
    """One row per aggregate in its one table, keyed by `uuid` (the aggregate id's hex)."""

    @property
    def table(self) -> Table:
        (table,) = self.tables.values()
        return table

    @abstractmethod
    def apply(self, rows: Rows, event: Logged) -> None:
        """Apply one event of aggregate `event.originator` to its row in `rows` (create it,
        change it); the aggregate's earlier events are applied already."""

    def apply_all(self, rows: Rows, events: Iterable[Logged]) -> None:
        apply = self.apply
        for event in events:
            apply(rows, event)

    def prepare(self, connection: Connection, batch: Batch) -> Changed:
        """A batch of events applied, in log order, to the rows they change, read on
        `connection`: nothing is written yet (see runner._process_batch)."""
        table = self.table
        # An aggregate whose first event here is its first of all has no row yet.
        seen: dict[str, bool] = {}
        for event in batch:
            if event.originator not in seen:
                seen[event.originator] = event.version > 1
        wanted = [uuid for uuid, old in seen.items() if old]
        rows: Rows = rows_by_key(connection, table, wanted, a_query=ROWS_A_QUERY)
        existing = set(rows)
        self.apply_all(rows, batch)
        return Changed([row for uuid, row in rows.items() if uuid in existing],
                       [row for uuid, row in rows.items() if uuid not in existing])

    def write(self, connection: Connection, changed: Changed) -> None:
        """The prepared rows written, in the caller's transaction."""
        update_rows(connection, self.table, changed.updated)
        self.insert(connection, changed.new)

    def insert(self, connection: Connection, rows: Iterable[dict[str, Any]]) -> None:
        insert_rows(connection, self.table, list(rows))


class InDatabase(Projection):
    in_database = True

    @abstractmethod
    def process_range(self, connection: Connection, log: LogTable, where: str) -> None:
        """Apply the events that `where` (a condition on the log table, see LogTable)
        selects, in the caller's transaction."""


def event_type(event: Any) -> str:
    """`Person.OwnerReassigned` reads as PersonOwnerReassigned (see event_names.type_name)."""
    return type_name(type(event))
