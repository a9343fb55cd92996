"""Every live projection's rows, in a canonical order: what "the views are equal" compares."""

from __future__ import annotations

import json

from sqlalchemy import select

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import caught_up
from syncledger.projections.registry import LIVE


def projection_rows(app: SyncLedger) -> dict[str, list[str]]:
    """Each live table's rows as sorted JSON texts, after catching the views up."""
    caught_up(app)
    dump = {}
    with app.database.reader.connect() as connection:
        for projection in LIVE.values():
            for table in projection.tables.values():
                rows = connection.execute(select(table)).mappings()
                dump[table.name] = sorted(json.dumps(dict(row), sort_keys=True, default=str)
                                          for row in rows)
    return dump
