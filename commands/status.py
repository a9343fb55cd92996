"""`syncledger status`: connection, last and next run, failing steps, API budget today."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.connect import connection_facts
from syncledger.domain.ids import integration_id, run_lease_id, sync_run_id
from syncledger.domain.integration import Integration
from syncledger.domain.run_lease import RunLease
from syncledger.domain.schedule import next_run_at, parse_every
from syncledger.domain.sync_run import SyncRun
from syncledger.projections.logs import api_calls_since, list_runs
from syncledger.projections.registry import LOGS


def status(app: SyncLedger, crm: str, now: datetime) -> dict[str, Any]:
    integration = AggregateCache(app).get(integration_id(crm))
    if not isinstance(integration, Integration):
        return {"crm": crm, "connection": None, "enabled": False, "last_run": None,
                "next_run": None, "failing_steps": [], "api_calls_today": 0,
                "api_budget": None}
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    with app.database.reader.connect() as connection:
        runs = [r for r in list_runs(connection, LOGS.tables["sync_logs"], None)]
        spent = api_calls_since(connection, LOGS.tables["sync_logs"], crm, midnight)
    last = runs[0] if runs else None
    if last is not None and last["outcome"] == "running" and died(app, last["run_id"]):
        last["outcome"] = "interrupted"  # as the next run will record it
    failing = sorted({str(e["step"]) for e in (last["errors"] if last else [])
                      if e.get("step")})
    next_run = None
    if integration.enabled and integration.connected:
        started = datetime.fromisoformat(last["started_at"]) if last else None
        due = next_run_at(started, parse_every(integration.settings.every))
        next_run = (due or now).isoformat()
    return {
        "crm": crm,
        "connection": connection_facts(integration),
        "enabled": integration.enabled,
        "profile": integration.profile,
        "last_run": None if last is None else {
            key: last[key] for key in ("run_id", "started_at", "finished_at", "outcome")},
        "next_run": next_run,
        "failing_steps": failing,
        "api_calls_today": spent,
        "api_budget": integration.settings.api_budget,
    }


def died(app: SyncLedger, run_id: str) -> bool:
    """Whether a run the Logs view shows `running` died before recording its end: nobody
    holds its run lock, which dies with the run's process, and it is still the current run."""
    run = AggregateCache(app).get(sync_run_id(run_id))
    if not isinstance(run, SyncRun) or run.outcome != "running":
        return False
    if app.database.run_lock(run.crm).held():
        return False
    # Read after the lock was found free: the run had started before (its events were
    # there), so if it is still the lease's current run, it was dead when asked.
    lease = AggregateCache(app).get(run_lease_id(run.crm))
    return isinstance(lease, RunLease) and lease.current == run_id
