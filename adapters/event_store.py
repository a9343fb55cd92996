"""The event store: eventsourcing's own SQLite or PostgreSQL recorder, chosen by URL, with
per-person encryption of personal data and a ledger seal appended to every save."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    Recording,
    StoredEvent,
)
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier
from sqlalchemy import inspect

from syncledger.adapters.collector import collector_paused
from syncledger.adapters.database import Database, metadata
from syncledger.adapters.person_keys import KeyConflict, PersonKeys
from syncledger.adapters.personal_data_mapper import PersonalDataMapper
from syncledger.adapters.store_url import StoreURL
from syncledger.adapters.transcoder import FastJSONTranscoder, uuid_from_hex
from syncledger.domain.ids import LEDGER_ID
from syncledger.domain.ledger import GENESIS, LogSealed, chain, covered_digest
from syncledger.domain.step_cursor import StepCursor

T = TypeVar("T")

# A save that lost a race (an aggregate's or the ledger's next version, or a new key) is
# redone from freshly loaded state; this bounds how often under heavy contention.
MAX_ATTEMPTS = 20


class SyncLedger(Application[UUID]):
    name = "syncledger"
    snapshotting_intervals = {StepCursor: 50}  # noqa: RUF012 (the library's class attribute)

    def __init__(self, store: StoreURL, database: Database) -> None:
        self.store = store
        self.database = database
        self.keys = PersonKeys(database)
        env = {**store.eventsourcing_env(), "IS_SNAPSHOTTING_ENABLED": "y"}
        super().__init__(env=env)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """As the library's save(), without its runtime protocol checks per object, which
        cost more than the write itself in a batch of thousands of aggregates. It returns
        no recordings: nothing here follows saves in-process (projections read the log),
        and a Recording and a Notification built for each event cost a tenth of a save."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            if aggregate is None:
                continue
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def construct_transcoder(self) -> FastJSONTranscoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = PersonalDataMapper(transcoder=self.construct_transcoder())
        mapper.keys = self.keys
        return mapper

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        events = processing_event.events
        if not events:
            return []
        try:
            stored = [self.mapper.to_stored_event(event) for event in events]
            self.keys.flush()
        except BaseException:
            self.keys.discard_pending()
            raise
        seal = self._seal(stored)
        stored.append(self.mapper.to_stored_event(seal))
        self.recorder.insert_events(stored, tracking=processing_event.tracking,
                                    **processing_event.saved_kwargs)
        return []

    def _seal(self, stored: Sequence[StoredEvent]) -> LogSealed:
        version, previous = self.ledger_head()
        covered = covered_digest((s.originator_id, s.originator_version, s.topic, s.state)
                                 for s in stored)
        return LogSealed(originator_id=LEDGER_ID, originator_version=version + 1,
                         timestamp=LogSealed.create_timestamp(), covered=covered,
                         count=len(stored), previous=previous, head=chain(previous, covered))

    def ledger_head(self) -> tuple[int, str]:
        """(version, head hash) of the last seal, read fresh: a stale head loses the race."""
        last = self.recorder.select_events(LEDGER_ID, desc=True, limit=1)
        if not last:
            return 0, GENESIS
        seal = self.mapper.to_domain_event(last[0])
        assert isinstance(seal, LogSealed)
        return seal.originator_version, seal.head

    def select_many(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of many aggregates in one query: a batch of decisions loads what
        it needs at once instead of a round trip per aggregate (and none for the ones that do
        not exist yet). The library's recorders select one originator at a time.

        The person keys of the aggregates found are read with them, in one more query: the
        events are opened with them, and a batch that records for those people again must
        encrypt with them. An aggregate not recorded yet has no key to read (a key left by
        a crash before its events is found by PersonKeys.flush, and the command retried)."""
        found: dict[UUID, list[StoredEvent]] = {i: [] for i in ids}
        if not ids:
            return found
        for originator, version, topic, state in self._select_rows(ids):
            uuid = originator if isinstance(originator, UUID) else uuid_from_hex(originator)
            found[uuid].append(StoredEvent(originator_id=uuid, originator_version=version,
                                           topic=topic, state=bytes(state)))
        self.keys.prefetch_hex([uuid.hex for uuid, stored in found.items() if stored])
        return found

    def _select_rows(self, ids: Sequence[UUID]) -> list[tuple[Any, ...]]:
        """Rows (originator, version, topic, state) of the aggregates, in version order."""
        table = self.recorder.events_table_name  # type: ignore[attr-defined]
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        columns = "originator_id, originator_version, topic, state"
        order = "ORDER BY originator_id, originator_version"
        if self.store.kind == "sqlite":
            marks = ",".join("?" * len(ids))
            with datastore.transaction(commit=False) as wrapper:
                cursor = wrapper.sqlite_cursor
                cursor.row_factory = None
                cursor.execute(f"SELECT {columns} FROM {table} "
                               f"WHERE originator_id IN ({marks}) {order}",
                               [i.hex for i in ids])
                return list(cursor.fetchall())
        query = SQL("SELECT {columns} FROM {schema}.{table} WHERE originator_id = ANY(%b) "
                    "{order}").format(columns=SQL(columns), schema=Identifier(datastore.schema),
                                      table=Identifier(table), order=SQL(order))
        # One statement on an autocommit connection is its own snapshot: no BEGIN and
        # ROLLBACK round trips around it. The ids go as a binary array: the server parses
        # the text of a thousand UUIDs slower than it finds their rows.
        with datastore.get_connection() as connection, \
                connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, [list(ids)])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def decide(self, command: Callable[[], T]) -> T:
        """Run load-decide-save; a save that lost a race is redone on fresh state.

        With the cycle collector paused: a batch of decisions builds tens of thousands of
        aggregates, events and stored rows that reference counting frees, and the collector
        would walk them, and everything else the process holds, again and again while they
        are built (a sixth of an inbound sync's time). It runs again between commands."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with collector_paused():
                    return command()
            except (IntegrityError, KeyConflict):
                if attempt == MAX_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")


def create_tables(database: Database) -> None:
    """Create the read-model, key and tracking tables registered on the shared metadata, and
    add the nullable columns a newer version of a table has (a store made by an older
    version keeps its rows; the new column is empty until a rebuild fills it)."""
    inspector = inspect(database.writer)
    existing = set(inspector.get_table_names())
    missing = [t for t in metadata.sorted_tables if t.name not in existing]
    if missing:
        metadata.create_all(database.writer, tables=missing)
    for table in metadata.sorted_tables:
        if table.name not in existing:
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        added = [c for c in table.columns if c.name not in present and c.nullable]
        if added:
            with database.writer.begin() as connection:
                for column in added:
                    kind = column.type.compile(dialect=connection.dialect)
                    connection.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
