"""Opening the store a command works on: event store, read-model tables, caught-up views."""

from __future__ import annotations

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.store_opening import open_store, store_session
from syncledger.projections.registry import LIVE
from syncledger.projections.runner import catch_up

__all__ = ["caught_up", "open_store", "store_session"]


def caught_up(app: SyncLedger) -> SyncLedger:
    """Projections poll: catch them up before answering a query."""
    catch_up(app, list(LIVE.values()))
    return app
