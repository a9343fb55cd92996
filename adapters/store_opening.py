"""Opening a store: its event store and read-model tables, with a one-line StoreError when
it cannot be opened or is found damaged. A command's caught-up views are commands/session.py's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import syncledger.adapters.credentials  # noqa: F401 (registers its table)
import syncledger.adapters.held_contents  # noqa: F401 (registers its table)
from syncledger.adapters.database import open_database
from syncledger.adapters.event_store import SyncLedger, create_tables
from syncledger.adapters.key_encryption import owner_only_creation
from syncledger.adapters.store_problems import check_before_opening, store_problem
from syncledger.adapters.store_url import StoreURL


def open_store(url: str | None) -> SyncLedger:
    """The store at `url`; StoreError (one line) when it cannot be opened."""
    store = StoreURL.from_env(url)
    check_before_opening(store)  # before SQLite makes a new store of an empty file
    try:
        return _open(store)
    except Exception as error:
        problem = store_problem(store, error, opening=True)
        if problem is None:
            raise
        raise problem from None


def _open(store: StoreURL) -> SyncLedger:
    # A new SQLite store (and its -wal and -shm) is created owner-only.
    with owner_only_creation(store):
        database = open_database(store)
        try:
            with database.schema_lock():
                create_tables(database)
                return SyncLedger(store, database)
        except BaseException:  # e.g. a key that does not open this store's person keys
            database.dispose()
            raise


@contextmanager
def store_session(url: str | None) -> Iterator[SyncLedger]:
    app = open_store(url)
    try:
        yield app
    except Exception as error:  # a SQLite file found damaged while the command read it
        problem = store_problem(app.store, error, opening=False)
        if problem is None:
            raise
        raise problem from None
    finally:
        app.close()
        app.database.dispose()
