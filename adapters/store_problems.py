"""A store that cannot be opened or read, said in one line: a SQLite path that names a
folder, a missing folder, an empty file, a file that is not a database, a damaged one; a
PostgreSQL server that refuses the connection, an unknown role or database.

`check_before_opening` looks at a SQLite path before SQLite does (SQLite would silently make
a new store of an empty file, and says only "unable to open database file" of a folder);
`store_problem` reads the error of a failed open, or of a damaged SQLite file met later."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from syncledger.adapters.store_url import StoreURL, StoreURLError

SQLITE_HEADER = b"SQLite format 3\x00"
# SQLite writes the first page of a new database within moments of creating its file (when
# it switches the file to WAL mode): an empty file younger than this may be another process
# creating the store right now, and is given that long before being called empty.
CREATION_GRACE = 2.0


class StoreError(StoreURLError):
    """The store cannot be opened or read: one line naming it and why (exit 2)."""


def check_before_opening(store: StoreURL) -> None:
    """Refuse, before SQLite sees it, a path that cannot be a store."""
    if store.kind != "sqlite":
        return
    path = store.sqlite_path
    assert path is not None
    try:
        _check_sqlite_path(path)
    except OSError as error:  # a name too long, a folder we may not read, ...
        raise StoreError(f"store {path}: {error.strerror or error}") from None


def _check_sqlite_path(path: Path) -> None:
    if path.is_dir():
        raise StoreError(f"store {path} is a folder; name a file in it, e.g. "
                         f"sqlite:///{path / 'syncledger.db'}")
    if not path.exists():
        parent = path.parent
        if not parent.exists():
            raise StoreError(f"store {path}: the folder {parent} does not exist")
        if not parent.is_dir():
            raise StoreError(f"store {path}: {parent} is not a folder")
        return  # a new store
    size = _settled_size(path)
    if size == 0:
        raise StoreError(f"store {path} is an empty file (0 bytes), not a store; remove it "
                         "to start a new store there")
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StoreError(f"store {path} is not a SQLite database (the file does not start "
                         "with SQLite's header)")
    if size < 512:  # the smallest page SQLite writes
        raise StoreError(f"store {path} is damaged: cut short at {size} bytes")


def _settled_size(path: Path) -> int:
    """The file's size; an empty file just created is waited for (see CREATION_GRACE)."""
    while True:
        stat = path.stat()
        age = time.time() - stat.st_mtime
        if stat.st_size or not 0 <= age < CREATION_GRACE:
            return stat.st_size
        time.sleep(0.05)


# SQLite's primary result codes that mean the file, not the statement, is at fault (and
# SQLITE_CORRUPT and SQLITE_NOTADB: a damaged file).
_SQLITE_FILE = {"SQLITE_CANTOPEN": "cannot be opened", "SQLITE_READONLY": "is read-only",
                "SQLITE_IOERR": "cannot be read or written", "SQLITE_FULL": "is on a full disk",
                "SQLITE_PERM": "may not be opened"}


def store_problem(store: StoreURL, error: BaseException, opening: bool) -> StoreError | None:
    """The one-line StoreError for `error`, when it says the store cannot be used: at any
    time a damaged or unreadable SQLite file; while `opening`, any database error (a
    PostgreSQL server that cannot be reached, an unknown role or database, ...)."""
    for cause in _causes(error):
        if isinstance(cause, sqlite3.Error):
            name = getattr(cause, "sqlite_errorname", "") or ""
            primary = "_".join(name.split("_")[:2])
            if primary == "SQLITE_CORRUPT":
                return StoreError(f"store {store.sqlite_path} is damaged (SQLite: {cause}); "
                                  "restore it from a backup")
            if primary == "SQLITE_NOTADB":
                return StoreError(f"store {store.sqlite_path} is not a SQLite database, or "
                                  f"is damaged (SQLite: {cause})")
            if primary in _SQLITE_FILE or (opening and name):
                what = _SQLITE_FILE.get(primary, "cannot be opened")
                return StoreError(f"store {store.sqlite_path} {what} (SQLite: {cause})")
        if opening and isinstance(cause, psycopg.Error):
            return StoreError(f"store {store.redacted()}: cannot open it "
                              f"({_postgres_reason(cause)})")
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it was raised from, and a SQLAlchemy error's driver error."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nested in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(nested, BaseException):
                pending.append(nested)


def _postgres_reason(error: psycopg.Error) -> str:
    """libpq's reason, without the address it already named or the advice after it:
    'connection to server at "127.0.0.1", port 1 failed: Connection refused ...'."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    reason = lines[0].rpartition(" failed: ")[2] or lines[0]
    return reason.removeprefix("FATAL:").strip()
