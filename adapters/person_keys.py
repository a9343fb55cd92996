"""Per-person encryption keys, kept in a table outside the log so that destroying one
crypto-shreds that person's events while the log itself never changes.

The table holds each key wrapped by the store's key-encryption key (adapters/
key_encryption.py): the store alone opens nothing. Keys are unwrapped once a process and
cached here, never once an event."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    LargeBinary,
    String,
    Table,
    select,
    update,
)

from syncledger.adapters.database import Database, metadata
from syncledger.adapters.in_lists import in_slices
from syncledger.adapters.key_encryption import (
    Kek,
    KeyEncryptionError,
    Unwrapper,
    kek_for_store,
    recorded_kek,
)

person_keys = Table(
    "person_keys", metadata,
    Column("subject", String(32), primary_key=True),
    Column("key", LargeBinary, nullable=True),
    Column("forgotten", Boolean, nullable=False, default=False),
)


class SubjectForgotten(RuntimeError):
    def __init__(self, subject: UUID) -> None:
        super().__init__(f"subject {subject} was forgotten: its key is destroyed")
        self.subject = subject


class KeyConflict(RuntimeError):
    """Another writer created a key we also created: the command must be retried."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} person key(s) were created concurrently; retry")


# On PostgreSQL, keys go as binary arrays (psycopg's %b): a multi-row VALUES of a thousand
# keys, or their text, costs the server more to parse and plan than the rows cost to insert.
_SELECT_ANY = "SELECT subject, key FROM person_keys WHERE subject = ANY(%b)"
_INSERT_UNNESTED = (
    "INSERT INTO person_keys (subject, key, forgotten) "
    "SELECT subject, key, false FROM unnest(%b::varchar[], %b::bytea[]) AS new (subject, key) "
    "ON CONFLICT (subject) DO NOTHING RETURNING subject")

_INSERT_OR_IGNORE = ("INSERT OR IGNORE INTO person_keys (subject, key, forgotten) "
                     "VALUES (?, ?, 0)")

# Bounded, so an import's memory stays flat however many people (about 4 MiB at most); as
# many as a 10k-person run catches up and then plans, so that it unwraps each key once.
CACHED_KEYS = 16384
KEYS_A_QUERY = 512  # subjects named in one statement (see in_lists)


class PersonKeys:
    def __init__(self, database: Database, kek: Kek | None = None) -> None:
        """`kek`: the store's key-encryption key (default: found from SYNCLEDGER_KEY or the
        key file, a store made before wrapping wrapped on the way)."""
        self.database = database
        self.kek = kek or kek_for_store(database)
        self.opened = Unwrapper(self.kek)  # (subject hex, wrapped key) -> the key
        self._cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._pending: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def key_for(self, subject: UUID, create: bool) -> bytes | None:
        """The subject's key; None once forgotten. A new key is buffered until flush()."""
        return self._key(subject.hex, create, subject)

    def cached_hex(self, name: str) -> bytes | None:
        """An existing key by the subject's hex digits (None: none, or forgotten)."""
        return self._key(name, False, None)

    def _key(self, name: str, create: bool, subject: UUID | None) -> bytes | None:
        with self._lock:
            if name in self._pending:
                return self._pending[name]
            if name not in self._cache and not create:
                self._remember(self._read([name]))
            if name in self._cache:
                self._cache.move_to_end(name)
                key = self._cache[name]
                if key is None and create:
                    raise SubjectForgotten(subject or UUID(name))
                return key
            if not create:
                return None
            # Not looked up first: flush() finds a key that exists already (another writer's,
            # or one pushed out of the bounded cache) and makes the command retry with it.
            key = os.urandom(32)
            self._pending[name] = key
            return key

    def flush(self) -> None:
        """Commit new keys before the events encrypted with them are written. If another
        writer created one of them first, our events were encrypted with the wrong key:
        KeyConflict makes the command retry with the winner's key, and none of ours is kept.
        On PostgreSQL one statement inserts only the subjects that have no key yet and
        returns them, so finding the others costs no query of its own."""
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            inserted: set[str] = set()
            try:
                with self.database.writer.begin() as connection:
                    # Waits for a rotate-key in progress (PostgreSQL), and refuses to wrap
                    # with a KEK the store no longer uses.
                    if recorded_kek(connection, shared=True) != self.kek.id:
                        raise KeyEncryptionError("rotate-key changed this store's key while "
                                                 "this command ran: run it again")
                    inserted.update(self._insert_new(connection, pending))
                    if len(inserted) != len(pending):
                        raise KeyConflict(len(pending) - len(inserted))  # rolls ours back
            except KeyConflict:
                self._remember(self._read(set(pending) - inserted))
                raise
            self._remember(pending)

    def _insert_new(self, connection: Connection, raw: dict[str, bytes]) -> list[str]:
        """Insert the keys of subjects that have none yet, wrapped; returns those subjects."""
        wrap = self.kek.wrap
        keys = {subject: wrap(subject, key) for subject, key in raw.items()}
        if self.database.store.kind == "postgres":
            return list(connection.exec_driver_sql(
                _INSERT_UNNESTED, (list(keys), list(keys.values()))).scalars())
        # One single-row statement, executed many times (SQLite's statement cache stays
        # small: see in_lists), which skips a subject that has a key; the count of rows it
        # inserted tells whether it skipped any.
        if connection.exec_driver_sql(_INSERT_OR_IGNORE, list(keys.items())).rowcount \
                == len(keys):
            return list(keys)
        # Some subject had one (another writer's, or a key a crash left before its events):
        # SQLite's writers hold the write lock from BEGIN IMMEDIATE, so the rows holding
        # our keys are the ones this statement inserted.
        return [subject for part in in_slices(list(keys), KEYS_A_QUERY)
                for subject, key in connection.execute(
                    select(person_keys.c.subject, person_keys.c.key)
                    .where(person_keys.c.subject.in_(part))).all()
                if key == keys[subject]]

    def prefetch_hex(self, names: list[str]) -> None:
        """Read, in one query, the keys of the subjects (hex digits) not cached yet."""
        with self._lock:
            missing = [name for name in names if name not in self._cache]
            if missing:
                found = self._read(missing)
                self._remember(found)

    def discard_pending(self) -> None:
        with self._lock:
            self._pending.clear()

    def destroy(self, subjects: Iterable[UUID]) -> None:
        names = [subject.hex for subject in subjects]
        with self._lock, self.database.writer.begin() as connection:
            for name in names:
                updated = connection.execute(
                    update(person_keys).where(person_keys.c.subject == name)
                    .values(key=None, forgotten=True))
                if updated.rowcount == 0:
                    connection.execute(person_keys.insert(),
                                       [{"subject": name, "key": None, "forgotten": True}])
                self._cache[name] = None
                self._pending.pop(name, None)

    def _remember(self, keys: dict[str, bytes] | dict[str, bytes | None]) -> None:
        self._cache.update(keys)
        while len(self._cache) > CACHED_KEYS:
            self._cache.popitem(last=False)

    def _read(self, names: Iterable[str]) -> dict[str, bytes | None]:
        with self.database.reader.connect() as connection:
            if self.database.store.kind == "postgres":
                # One binary array parameter: hundreds of bound names cost more to send and
                # plan than the lookup.
                found = connection.exec_driver_sql(_SELECT_ANY, (list(names),)).all()
            else:
                found = [row for part in in_slices(list(names), KEYS_A_QUERY)
                         for row in connection.execute(
                             select(person_keys.c.subject, person_keys.c.key)
                             .where(person_keys.c.subject.in_(part))).all()]
            opened = self.opened
            return {subject: opened(subject, key) for subject, key in found}
