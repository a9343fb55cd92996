"""Looking for a message body where store_contents = false says it must not be: the log (as
stored and as decrypted), the holding table, and the raw bytes of a SQLite store's files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.held_contents import held_contents
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration


def set_store_contents(app: SyncLedger, on: bool, crm: str = "salesforce") -> None:
    """Through the Integration aggregate, as `config apply` records it (no CRM needed)."""
    ctx = Context("config:test", "tm-alice")
    integration = AggregateCache(app).find(integration_id(crm))
    if integration is None:
        integration = Integration.start(crm, ctx)
    config = integration.configuration()
    integration.apply_configuration(
        replace(config, settings=replace(config.settings, store_contents=on)), [], ctx)
    app.save(integration)


def held_rows(app: SyncLedger) -> list[dict[str, Any]]:
    with app.database.reader.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(held_contents).order_by(held_contents.c.seq)).mappings()]


def log_as_stored(app: SyncLedger) -> bytes:
    return b"\n".join(n.state for n in _notifications(app))


def log_as_decrypted(app: SyncLedger) -> str:
    """Every event with its personal values opened: what the log says to its key holder."""
    return "\n".join(repr(vars(app.mapper.to_domain_event(n))) for n in _notifications(app))


def sqlite_files(url: str) -> bytes:
    """The database file and its WAL, as bytes on disk."""
    path = Path(url.removeprefix("sqlite:///"))
    found = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    return b"".join(p.read_bytes() for p in found)


def _notifications(app: SyncLedger) -> list[Any]:
    found: list[Any] = []
    while page := app.recorder.select_notifications(
            start=found[-1].id + 1 if found else 1, limit=1000):
        found.extend(page)
    return found
