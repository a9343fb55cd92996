"""Per-person encryption keys, kept in a table outside the log so that destroying one
crypto-shreds that person's events while the log itself never changes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import Boolean, Column, LargeBinary, String, Table, select, update

from syncledger.adapters.database import Database, metadata

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


class PersonKeys:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: dict[str, bytes | None] = {}
        self._pending: dict[str, bytes] = {}
        self._loaded_all = False
        self._lock = threading.Lock()

    def key_for(self, subject: UUID, create: bool) -> bytes | None:
        """The subject's key; None once forgotten. A new key is buffered until flush()."""
        name = subject.hex
        with self._lock:
            if name in self._pending:
                return self._pending[name]
            if not self._loaded_all:
                self._load_all()
            if name not in self._cache and not create:
                # Written by another process since we loaded: one query, then cached.
                self._cache.update(self._read([name]))
            if name in self._cache:
                key = self._cache[name]
                if key is None and create:
                    raise SubjectForgotten(subject)
                return key
            if not create:
                return None
            key = os.urandom(32)
            self._pending[name] = key
            return key

    def flush(self) -> None:
        """Commit new keys before the events encrypted with them are written. If another
        writer created one of them first, our events were encrypted with the wrong key:
        KeyConflict makes the command retry with the winner's key."""
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            with self.database.writer.begin() as connection:
                existing = set(connection.scalars(
                    select(person_keys.c.subject).where(
                        person_keys.c.subject.in_(list(pending)))))
                if not existing:
                    connection.execute(person_keys.insert(), [
                        {"subject": s, "key": k, "forgotten": False}
                        for s, k in pending.items()])
            if existing:
                self._cache.update(self._read(existing))
                raise KeyConflict(len(existing))
            self._cache.update(pending)

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

    def _load_all(self) -> None:
        # One read of the whole table beats a query per subject on catch-up and import.
        self._loaded_all = True
        with self.database.reader.connect() as connection:
            for subject, key in connection.execute(
                    select(person_keys.c.subject, person_keys.c.key)):
                self._cache[subject] = key

    def _read(self, names: Iterable[str]) -> dict[str, bytes | None]:
        with self.database.reader.connect() as connection:
            return {subject: key for subject, key in connection.execute(
                select(person_keys.c.subject, person_keys.c.key)
                .where(person_keys.c.subject.in_(list(names))))}
