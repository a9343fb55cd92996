"""Envelope encryption of the person keys: each person's key is stored wrapped (AES-GCM) by a
key-encryption key (KEK) derived from the key held outside the store (SYNCLEDGER_KEY, else
the owner-only key file: adapters/credentials.py), so the store file alone decrypts nothing.

A wrapped key is `SLW1`, the KEK's id (8 bytes), a nonce (12) and the sealed key (32 + 16),
bound to its subject (the additional data), so a key copied onto another person's row does
not open. The `key_encryption` table's one row names the KEK the store's keys are wrapped
with: a store opened with another key says so at once, instead of reading as forgotten.

Stores made before wrapping hold raw 32-byte keys: the first open wraps them all, in one
transaction, and records the KEK (and tightens a SQLite store's file modes to owner-only).
`rotate_key` re-wraps every key, and re-encrypts the credentials, under a new key in one
transaction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    column,
    func,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from syncledger.adapters.credentials import (
    KeyEncryptionError,
    MasterKeys,
    check_key,
    master_keys,
    rewrap_credentials,
    write_key_file,
)
from syncledger.adapters.database import Database, metadata
from syncledger.adapters.store_url import StoreURL

key_encryption = Table(
    "key_encryption", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kek", String(32), nullable=False),  # the id of the KEK the keys are wrapped with
)
# The person keys' table (adapters/person_keys.py defines it, and imports this module).
_person_keys = table("person_keys", column("subject", String), column("key", LargeBinary))

MAGIC = b"SLW1"
RAW_KEY = 32
_ID = 8
_NONCE = 12
WRAPPED = len(MAGIC) + _ID + _NONCE + RAW_KEY + 16
REWRAP_BATCH = 5000


@dataclass(frozen=True)
class Kek:
    id: str  # 16 hex digits, stored in key_encryption and in every wrapped key
    master: str = field(repr=False)  # the Fernet key it is derived from: never printed
    aead: AESGCM = field(repr=False)

    @classmethod
    def derive(cls, master: str) -> Kek:
        secret = base64.urlsafe_b64decode(master.encode())
        kek = HKDF(algorithm=SHA256(), length=32, salt=b"syncledger",
                   info=b"person key encryption v1").derive(secret)
        kek_id = hmac.new(kek, b"syncledger key-encryption key id", hashlib.sha256)
        return cls(kek_id.hexdigest()[:2 * _ID], master, AESGCM(kek))

    def wrap(self, subject: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return (MAGIC + bytes.fromhex(self.id) + nonce
                + self.aead.encrypt(nonce, key, subject.encode()))

    def unwrap(self, subject: str, wrapped: bytes) -> bytes:
        wrapped = bytes(wrapped)
        if len(wrapped) != WRAPPED or not wrapped.startswith(MAGIC):
            raise KeyEncryptionError(f"the person key of {subject} is not a wrapped key: the "
                                     "person_keys table was altered")
        if wrapped[4:4 + _ID].hex() != self.id:
            raise KeyEncryptionError(
                f"the person key of {subject} is wrapped with key {wrapped[4:4 + _ID].hex()}, "
                f"not this store's {self.id}: the person_keys table was altered, or rotate-key "
                "ran while this command did (run it again)")
        start = 4 + _ID
        try:
            return self.aead.decrypt(wrapped[start:start + _NONCE], wrapped[start + _NONCE:],
                                     subject.encode())
        except InvalidTag:
            raise KeyEncryptionError(f"the person key of {subject} does not unwrap: the "
                                     "person_keys table was altered") from None


class Unwrapper:
    """Unwrapped keys by their wrapped bytes, so a pass over the log unwraps each person's
    key once, not once an event. Bounded: dropped whole when full. A pass meets each
    person's events close together (a rebuild reads aggregate by aggregate, a catch-up the
    events of a batch of people), so a few thousand suffice; held for the store's lifetime,
    50,000 cost 18 MiB after a catch-up over 100k people, a sync's largest growth with size."""

    LIMIT = 4096

    def __init__(self, kek: Kek) -> None:
        self.kek = kek
        self._opened: dict[bytes, tuple[str, bytes]] = {}

    def __call__(self, subject: str, wrapped: bytes | None) -> bytes | None:
        if wrapped is None:
            return None
        found = self._opened.get(bytes(wrapped))
        if found is not None and found[0] == subject:
            return found[1]
        key = self.kek.unwrap(subject, wrapped)
        if len(self._opened) >= self.LIMIT:
            self._opened.clear()
        self._opened[bytes(wrapped)] = (subject, key)
        return key


def kek_for_store(database: Database, keys: MasterKeys | None = None) -> Kek:
    """The KEK of this store's person keys, from the keys held outside it. A store opened
    the first time by this version records it, wrapping any raw keys an older version left."""
    keys = keys or master_keys()
    keks = {kek.id: kek for kek in map(Kek.derive, keys.keys)}
    with database.reader.connect() as connection:
        recorded = connection.scalar(select(key_encryption.c.kek))
    if recorded is None:
        with database.writer.begin() as connection:
            recorded = connection.scalar(select(key_encryption.c.kek))
            if recorded is None:  # no other process did it meanwhile
                kek = Kek.derive(keys.keys[0])
                if _wrap_raw_keys(connection, kek):
                    owner_only_files(database.store)  # made by a version that left them 0644
                dialect = postgresql if database.store.kind == "postgres" else sqlite
                connection.execute(dialect.insert(key_encryption).on_conflict_do_nothing(
                    index_elements=["id"]), [{"id": 1, "kek": kek.id}])
                recorded = connection.scalar(select(key_encryption.c.kek))
    if recorded not in keks:
        raise KeyEncryptionError(
            f"this store's person keys are wrapped with key {recorded}, which {keys.source} "
            "does not hold: give the key the store was made with (SYNCLEDGER_KEY or the key "
            "file), or the new one after rotate-key")
    return keks[recorded]


def _wrap_raw_keys(connection: Connection, kek: Kek) -> int:
    """Wrap the raw keys a store made before wrapping holds (all of them, at once)."""
    raw = list(connection.execute(select(_person_keys.c.subject, _person_keys.c.key).where(
        func.length(_person_keys.c.key) == RAW_KEY)))
    for start in range(0, len(raw), REWRAP_BATCH):
        _set_keys(connection, [(subject, kek.wrap(subject, bytes(key)))
                               for subject, key in raw[start:start + REWRAP_BATCH]])
    return len(raw)


def _set_keys(connection: Connection, rows: list[tuple[str, bytes]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        # One statement a batch: executemany of thousands of UPDATEs is a round trip each.
        connection.exec_driver_sql(
            "UPDATE person_keys AS p SET key = n.key FROM unnest(%(s)s::varchar[], "
            "%(k)s::bytea[]) AS n (subject, key) WHERE p.subject = n.subject",
            {"s": [s for s, _ in rows], "k": [k for _, k in rows]})
        return
    connection.execute(update(_person_keys).where(_person_keys.c.subject == bindparam("s"))
                       .values(key=bindparam("k")), [{"s": s, "k": k} for s, k in rows])


def recorded_kek(connection: Connection, shared: bool) -> str | None:
    """The KEK id the store's keys are wrapped with, read in the caller's transaction; with
    `shared` a rotation in progress is waited for (PostgreSQL: FOR SHARE; SQLite's writers
    are serialised already)."""
    query = select(key_encryption.c.kek)
    if shared:
        query = query.with_for_update(read=True)
    return connection.scalar(query)


@dataclass(frozen=True)
class Rotated:
    old: str
    new: str
    keys: int
    credentials: int
    key_file: Path | None  # where the new key was written, if it was


class RotationRefused(KeyEncryptionError):
    pass


def new_master_key(new_key_file: Path | None) -> tuple[str | None, str]:
    """The new key (None: make one) and where it came from: --new-key-file (or `-`:
    standard input), else SYNCLEDGER_NEW_KEY; never an argument `ps` would show."""
    if new_key_file is not None:
        where = "standard input" if str(new_key_file) == "-" else str(new_key_file)
        try:
            text = sys.stdin.read() if str(new_key_file) == "-" else new_key_file.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise RotationRefused(f"{where}: {error}") from None
        lines = text.split()
        if len(lines) != 1:
            raise RotationRefused(f"{where}: expected one key (a Fernet key) on one line")
        return check_key(lines[0], where), where
    key = os.environ.get("SYNCLEDGER_NEW_KEY")
    if key:
        return check_key(key.strip(), "SYNCLEDGER_NEW_KEY"), "SYNCLEDGER_NEW_KEY"
    return None, "a new key"


def rotate_key(database: Database, new: str | None) -> Rotated:
    """Re-wrap every person key, and re-encrypt the credentials, under `new` (None: a new
    key is made, which needs the key file), in one transaction.

    When the current key comes from the key file, the new key is written there first (as
    its first line, the old one kept below it, retired: other stores under it still open,
    and so does this one should the transaction not commit); with SYNCLEDGER_KEY nothing is
    written, and the caller tells the user to change it."""
    keys = master_keys()
    current = kek_for_store(database, keys)
    if new is None:
        if keys.path is None:
            raise RotationRefused("SYNCLEDGER_KEY holds the key: give the new one in "
                                  "SYNCLEDGER_NEW_KEY or with --new-key-file FILE")
        new = Fernet.generate_key().decode()
    target = Kek.derive(new)
    if target.id == current.id:
        raise RotationRefused("the new key is the key in use: nothing to rotate")
    if keys.path is not None:
        write_key_file(keys.path, (new, *(k for k in keys.keys if k != new)))
    old_fernet = MultiFernet([Fernet(k.encode()) for k in keys.keys])
    with database.writer.begin() as connection:
        if connection.scalar(select(key_encryption.c.kek).with_for_update()) != current.id:
            raise RotationRefused("the store's key changed while rotate-key ran: run it again")
        # The marker row first: on PostgreSQL its lock is what a writer's flush waits on
        # (recorded_kek), so no key wrapped with the old KEK commits after this transaction.
        connection.execute(update(key_encryption).values(kek=target.id))
        count = _rewrap_all(connection, current, target)
        sealed = rewrap_credentials(connection, old_fernet, Fernet(new.encode()))
    return Rotated(current.id, target.id, count, sealed, keys.path)


def _rewrap_all(connection: Connection, old: Kek, new: Kek) -> int:
    count = 0
    rows = connection.execute(select(_person_keys.c.subject, _person_keys.c.key)
                              .where(_person_keys.c.key.is_not(None))
                              .order_by(_person_keys.c.subject)).all()
    for start in range(0, len(rows), REWRAP_BATCH):
        batch = rows[start:start + REWRAP_BATCH]
        _set_keys(connection, [(s, new.wrap(s, old.unwrap(s, k))) for s, k in batch])
        count += len(batch)
    return count


def rewrap_rows(rows: Iterable[dict[str, Any]], source: Kek, target: Kek
                ) -> Iterator[dict[str, Any]]:
    """person_keys rows of one store, wrapped for another (a replay's copy)."""
    for row in rows:
        key = row["key"]
        if key is not None and source.id != target.id:
            key = target.wrap(row["subject"], source.unwrap(row["subject"], key))
        yield {**row, "key": key}


# -- owner-only store files -------------------------------------------------------------------

_UMASK = Lock()


@contextmanager
def owner_only_creation(store: StoreURL) -> Iterator[None]:
    """A SQLite store created in this block is created owner-only (0600), and so are its
    -wal and -shm files (SQLite gives them the database file's mode). The umask is the
    process's: held under a lock, and only while the file is new."""
    path = store.sqlite_path
    if store.kind != "sqlite" or path is None or path.exists():
        yield
        return
    with _UMASK:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)
    owner_only_files(store)


def owner_only_files(store: StoreURL) -> None:
    """chmod 0600 a SQLite store and its -wal and -shm files (those we own)."""
    path = store.sqlite_path
    if store.kind != "sqlite" or path is None:
        return
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{path}{suffix}")
        try:
            if file.stat().st_mode & 0o077 and file.stat().st_uid == os.getuid():
                file.chmod(0o600)
        except OSError:
            continue
