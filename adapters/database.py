"""The SQLAlchemy engines for read models, keys and tracking, in the event store's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text

from syncledger.adapters.json_text import loads
from syncledger.adapters.run_lock import AdvisoryRunLock, FileRunLock, RunLock
from syncledger.adapters.sqlite_recorder import WAL_CHECKPOINT_PAGES
from syncledger.adapters.store_url import StoreURL

metadata = MetaData()


@dataclass(frozen=True)
class Database:
    """`writer` transactions take SQLite's write lock up front; `reader` ones never do."""

    store: StoreURL
    writer: Engine
    reader: Engine

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()

    def run_lock(self, crm: str) -> RunLock:
        """The lock a sync run of `crm` holds for its lifetime, which dies with its process
        (adapters/run_lock.py): whether a run is alive is this lock's to say."""
        if self.store.kind == "sqlite":
            assert self.store.sqlite_path is not None
            return FileRunLock(self.store.sqlite_path, crm)
        return AdvisoryRunLock(self.writer, crm)

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """One process at a time creates tables and the library's insert function: two
        running `CREATE OR REPLACE FUNCTION` at once on PostgreSQL fail with "tuple
        concurrently updated". SQLite serialises its schema changes itself."""
        if self.store.kind == "sqlite":
            yield
            return
        with self.writer.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": SCHEMA_LOCK})
                connection.commit()


SCHEMA_LOCK = 0x53594E43  # "SYNC": any fixed key, the same in every process


def _sqlite_engine(store: StoreURL, immediate: bool) -> Engine:
    engine = create_engine(store.sqlalchemy_url(), connect_args={"timeout": 30},
                           json_deserializer=loads)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let the "begin" hook emit BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # Forgotten personal data must not linger in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        # Read models and keys need no fsync of their own: in WAL mode every commit stays
        # consistent, and the library's next event commit (synchronous FULL) syncs the WAL
        # with every frame before it, so a key is always as durable as the events it opens.
        # A power cut can only undo a projection batch, with its tracking, to be redone.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # As the event store's connections (adapters/sqlite_recorder.py): a checkpoint
        # writes a page once for many batches, not again after each.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A read-then-write transaction would fail on a snapshot conflict; writers take the
        # write lock up front instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def drop_table(connection: Connection, name: str, personal: bool) -> None:
    """Drop a table if it exists. On SQLite (secure_delete on) its freed pages are zeroed,
    unless it held nothing personal: zeroing a large index costs more than building it."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and not personal:
        connection.exec_driver_sql("PRAGMA secure_delete=OFF")
    try:
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        if sqlite and not personal:
            connection.exec_driver_sql("PRAGMA secure_delete=ON")


def open_database(store: StoreURL) -> Database:
    if store.kind == "sqlite":
        return Database(store, _sqlite_engine(store, True), _sqlite_engine(store, False))
    engine = create_engine(store.sqlalchemy_url(), pool_size=4, max_overflow=4,
                           pool_pre_ping=True, json_deserializer=loads)
    return Database(store, engine, engine)
