"""The library's SQLite application recorder, checkpointing the WAL less often.

SQLite copies the write-ahead log back into the database file (a checkpoint, with an fsync)
whenever a commit leaves more than 1,000 pages in it. A save inserts its events in the
order of random aggregate ids, into the index on (originator, version), so each save
dirties pages all over it; checkpointing after every save wrote each hot page again and
again (a first sync of 100,000 Contacts spent a sixth of its time there). With a larger
threshold a checkpoint writes a page once for many saves. Durability is unchanged: every
commit still syncs the log (synchronous FULL, the library's default).

And a save's events go in one executemany, as the library's aggregate recorder inserts
them, where its application recorder executes one statement an event to collect each one's
notification id (its rowid). The ids are found after: once its first row is in, the save
holds the database's write lock until it commits, so its rows took the rowids that follow
one another (the largest one's plus one, each) up to the last.

Chosen through the library's own setting (APPLICATION_RECORDER_TOPIC): table, statements
and notification ids stay the library's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder, SQLiteCursor

WAL_CHECKPOINT_PAGES = 10_000  # about 40 MB of log between checkpoints


class CheckpointingRecorder(SQLiteApplicationRecorder):
    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        # A connection's own setting, and the pool may open new connections: set on the
        # one this save uses (it costs microseconds).
        c.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        if not stored_events:
            return []
        SQLiteAggregateRecorder._insert_events(self, c, stored_events, **kwargs)
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))
