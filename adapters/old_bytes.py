"""Making the database drop the old bytes of deleted or rewritten rows, after personal data
was removed from its tables (a forgotten person, a message body the CRM now holds)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from syncledger.adapters.database import Database


def drop_old_bytes(database: Database, tables: Iterable[str]) -> None:
    """Old row versions must not linger: SQLite keeps them in its WAL (secure_delete already
    zeroes freed pages, in the database file once checkpointed), PostgreSQL in dead tuples
    until the table is rewritten. SQLite's checkpoint covers every table at once."""
    if database.store.kind == "sqlite":
        raw = database.writer.raw_connection()  # autocommit: no BEGIN around the pragma
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with database.writer.connect().execution_options(
            isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f'VACUUM FULL "{table}"'))
