"""Copy the log, as stored (ciphertext and seals byte for byte), with the person keys, into
another store up to a position; its projections are then built there from position 0."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.key_encryption import rewrap_rows
from syncledger.adapters.person_keys import person_keys

BATCH = 2000


class TargetNotEmpty(ValueError):
    pass


def copy_log(source: SyncLedger, target: SyncLedger, until: int | None = None,
             progress: Callable[[int], None] | None = None) -> int:
    if target.recorder.max_notification_id():
        raise TargetNotEmpty(f"{target.store.redacted()} already holds events: replay into "
                             "an empty store")
    with source.database.reader.connect() as connection:
        keys = [dict(row) for row in connection.execute(select(person_keys)).mappings()]
    # Each store's keys are wrapped with its own key-encryption key (the same, unless the
    # key file holds a key the source was not rotated to).
    keys = list(rewrap_rows(keys, source.keys.kek, target.keys.kek))
    if keys:
        with target.database.writer.begin() as connection:
            connection.execute(person_keys.insert(), keys)
    copied, start = 0, 0
    while True:
        limit = BATCH if until is None else min(BATCH, until - start)
        if limit <= 0:
            return copied
        notifications = source.recorder.select_notifications(start=start + 1, limit=limit,
                                                              stop=until)
        if not notifications:
            return copied
        target.recorder.insert_events(list(notifications))
        copied += len(notifications)
        start = notifications[-1].id
        if progress:
            progress(len(notifications))
