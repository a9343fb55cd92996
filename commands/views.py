"""Queries the CLI answers from read models and the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncledger.adapters.event_store import SyncLedger
from syncledger.projections.logs import RunFilter, RunTotals, list_runs, page_runs, run_totals
from syncledger.projections.people import find_person, list_people
from syncledger.projections.rebuild import rebuild as rebuild_projections
from syncledger.projections.registry import CRM_RECORDS, LIVE, LOGS, PEOPLE
from syncledger.replay import history as history_module
from syncledger.replay import run_decisions as run_decisions_module
from syncledger.replay import verify as verify_module
from syncledger.replay.history import UnknownRecord


def people(app: SyncLedger, linked: str | None) -> list[dict[str, Any]]:
    with app.database.reader.connect() as connection:
        return list_people(connection, PEOPLE.tables["people"], linked)


def person(app: SyncLedger, key: str) -> dict[str, Any]:
    with app.database.reader.connect() as connection:
        row = find_person(connection, PEOPLE.tables["people"],
                         CRM_RECORDS.tables["crm_records"], key)
    if row is None:
        raise UnknownRecord(f"no person found for {key!r}")
    return row


def logs(app: SyncLedger, run_id: str | None) -> list[dict[str, Any]]:
    with app.database.reader.connect() as connection:
        return list_runs(connection, LOGS.tables["sync_logs"], run_id)


def runs_page(app: SyncLedger, where: RunFilter, after: tuple[str, str] | None, limit: int
              ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """A page of the Logs, newest first (keyset paging), and the next page's key."""
    with app.database.reader.connect() as connection:
        return page_runs(connection, LOGS.tables["sync_logs"], where, after, limit)


def totals(app: SyncLedger) -> RunTotals:
    with app.database.reader.connect() as connection:
        return run_totals(connection, LOGS.tables["sync_logs"])


def history(app: SyncLedger, key: str) -> list[dict[str, Any]]:
    return history_module.history(app, key)


def history_page(app: SyncLedger, key: str, after: int, limit: int
                 ) -> tuple[list[dict[str, Any]], int | None]:
    return history_module.history_page(app, key, after, limit)


def run_decisions(app: SyncLedger, run_id: str) -> run_decisions_module.RunDecisions:
    return run_decisions_module.run_decisions(app, run_id)


def rebuild(app: SyncLedger, name: str | None,
            progress: Callable[[int], None]) -> tuple[list[str], int]:
    if name is not None and name not in LIVE:
        raise UnknownRecord(f"no projection {name!r}; projections: {', '.join(LIVE)}")
    chosen = [LIVE[name]] if name else list(LIVE.values())
    return [p.name for p in chosen], rebuild_projections(app, chosen, progress)


def verify(app: SyncLedger, progress: Callable[[int], None],
           expect: str | None = None) -> verify_module.Verification:
    return verify_module.verify(app, progress, expect)
