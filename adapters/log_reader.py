"""Reading the notification log in pages, as the library's `select_notifications` does,
for the passes that read all of it (catch-up, rebuild, verify).

On SQLite the library builds each originator id with `UUID(str)` and each row through
`sqlite3.Row`; over a long log that costs as much as reading the rows, so this reads plain
tuples and builds the ids from their hex digits. PostgreSQL's driver returns UUIDs itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.transcoder import uuid_from_hex


def read_notifications(app: SyncLedger, after: int, limit: int) -> Sequence[Notification]:
    """Up to `limit` notifications with ids above `after`, in log order."""
    if app.store.kind != "sqlite":
        return app.recorder.select_notifications(start=after + 1, limit=limit)
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as wrapper:
        cursor = wrapper.sqlite_cursor
        cursor.row_factory = None
        cursor.execute(f"SELECT rowid, originator_id, originator_version, topic, state "
                       f"FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit))
        rows = cursor.fetchall()
    return [Notification(id=rowid, originator_id=uuid_from_hex(originator), topic=topic,
                         originator_version=version, state=state)
            for rowid, originator, version, topic, state in rows]


@dataclass(frozen=True)
class LogTable:
    """Where the library keeps the log, for projections that read it inside the database."""

    kind: str  # "sqlite" or "postgres"
    name: str  # quoted, schema-qualified on PostgreSQL

    def plain_rows(self, first: int, last: int, **paths: tuple[str, ...]) -> str:
        """SQL for the events at positions first..last: columns `position`, `originator`
        (32 hex digits), `version`, and one per path, named as given, holding the JSON text
        at that path inside the stored state (NULL when absent); each state parsed once."""
        if self.kind == "sqlite":
            found = ", ".join(f"json_extract(CAST(state AS TEXT), '$.{'.'.join(path)}') "
                              f"AS {name}" for name, path in paths.items())
            return (f"SELECT rowid AS position, originator_id AS originator, "
                    f"originator_version AS version, {found} FROM {self.name} "
                    f"WHERE rowid BETWEEN {int(first)} AND {int(last)}")
        found = ", ".join(f"state #>> '{{{','.join(path)}}}' AS {name}"
                          for name, path in paths.items())
        return (f"SELECT notification_id AS position, replace(originator_id::text, '-', '') "
                f"AS originator, originator_version AS version, {found} "
                f"FROM (SELECT notification_id, originator_id, "
                f"originator_version, convert_from(state, 'UTF8')::json AS state "
                f"FROM {self.name} WHERE notification_id BETWEEN {int(first)} AND {int(last)}"
                f") AS logged")


def log_table(app: SyncLedger) -> LogTable:
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    if app.store.kind == "sqlite":
        return LogTable("sqlite", f'"{table}"')
    schema = app.recorder.datastore.schema  # type: ignore[attr-defined]
    return LogTable("postgres", f'"{schema}"."{table}"')
