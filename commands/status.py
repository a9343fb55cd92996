"""`syncledger status`: connection, last and next run, failing steps and records, whether the
worker is late, API budget today."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.connect import connection_facts
from syncledger.commands.sync_activities import KIND_OF_SOURCE
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.ids import (
    activity_id,
    app_person_id,
    crm_record_id,
    integration_id,
    run_lease_id,
    sync_run_id,
)
from syncledger.domain.integration import Integration
from syncledger.domain.person import Person
from syncledger.domain.run_lease import RunLease
from syncledger.domain.schedule import next_run_at, parse_every
from syncledger.domain.steps import Step
from syncledger.domain.sync_run import SyncRun
from syncledger.domain.task import Task
from syncledger.projections.logs import RunFilter, api_calls_since, page_runs
from syncledger.projections.registry import LOGS

# How far past its next run a worker may be before `status --check` calls it late (a run
# takes its time; the worker looks every follow interval).
LATE_AFTER = timedelta(minutes=15)
# How many of the CRM's latest runs `status` reads for the records failing across runs.
RECENT_RUNS = 100
PROBLEM_OUTCOMES = ("failed", "interrupted")


def status(app: SyncLedger, crm: str, now: datetime) -> dict[str, Any]:
    integration = AggregateCache(app).get(integration_id(crm), Integration)
    if integration is None:
        return {"crm": crm, "connection": None, "enabled": False, "profile": None,
                "last_run": None, "next_run": None, "late": False, "failing_steps": [],
                "run_errors": [], "api_calls_today": 0, "api_budget": None}
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    table = LOGS.tables["sync_logs"]
    with app.database.reader.connect() as connection:
        latest, _ = page_runs(connection, table, RunFilter(crm=crm), None, 1)
        spent = api_calls_since(connection, table, crm, midnight)
    last = latest[0] if latest else None
    if last is not None and last["outcome"] == "running" and died(app, last["run_id"]):
        last["outcome"] = "interrupted"  # as the next run will record it
    errors = last["errors"] if last else []
    failing = sorted({str(e["step"]) for e in errors if e.get("step")})
    next_run = None
    late = False
    if integration.enabled and integration.connected:
        started = datetime.fromisoformat(last["started_at"]) if last else None
        due = next_run_at(started, parse_every(integration.settings.every))
        next_run = (due or now).isoformat()
        running = last is not None and last["outcome"] == "running"
        late = due is not None and not running and now - due > LATE_AFTER
    return {
        "crm": crm,
        "connection": connection_facts(integration),
        "enabled": integration.enabled,
        "profile": integration.profile,
        "last_run": None if last is None else {
            key: last[key] for key in ("run_id", "started_at", "finished_at", "outcome")},
        "next_run": next_run,
        "late": late,
        "failing_steps": failing,
        # What stopped the last run as a whole (a CRM that did not answer, the mass-change
        # guard, ...): errors of no one step.
        "run_errors": [{"code": e["code"], "message": e["message"]} for e in errors
                       if not e.get("step")],
        "api_calls_today": spent,
        "api_budget": integration.settings.api_budget,
    }


def problems(health: dict[str, Any]) -> list[str]:
    """What `status --check` fails on: the last run failed (or died), or the worker is late."""
    found = []
    last = health["last_run"]
    if last is not None and last["outcome"] in PROBLEM_OUTCOMES:
        found.append(f"{health['crm']}: the last run {last['run_id']} {last['outcome']}")
    if health["late"]:
        found.append(f"{health['crm']}: the worker is late: the next run was due at "
                     f"{health['next_run']}")
    return found


def failing_records(app: SyncLedger, crm: str) -> list[dict[str, Any]]:
    """The records whose last write still fails, across the CRM's latest runs: each with
    its step, record, the CRM's last code, since when and in how many runs it failed.

    Candidates come from the runs' errors; each is then asked of its own aggregate, so one
    written since (or linked, for a create) is no longer failing, even when no later run
    retried it in the Logs' sight (a refusal no retry can help waits for a change)."""
    integration = AggregateCache(app).get(integration_id(crm), Integration)
    if integration is None:
        return []
    table = LOGS.tables["sync_logs"]
    with app.database.reader.connect() as connection:
        runs, _ = page_runs(connection, table, RunFilter(crm=crm), None, RECENT_RUNS)
    found: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    for run in reversed(runs):  # oldest first
        for error in run["errors"]:
            record = error.get("record") or {}
            app_id, crm_id = record.get("app"), record.get("crm")
            if not error.get("step") or not (app_id or crm_id):
                continue
            key = (str(error["step"]), app_id, crm_id)
            entry = found.setdefault(key, {"step": key[0], "record": {"app": app_id,
                                                                      "crm": crm_id},
                                           "since": run["started_at"], "runs": 0})
            entry.update(code=error["code"], last_run=run["run_id"],
                         last_at=run["started_at"])
            entry["runs"] += 1
    steps = {step.name: step for step in integration.steps()}
    checker = _Failing(app, crm, integration.org_id)
    latest = runs[0]["run_id"] if runs else None
    still = [entry for entry in found.values()
             if checker.failing(steps.get(entry["step"]), entry, latest)]
    return sorted(still, key=lambda e: (e["last_at"], e["step"]), reverse=True)


class _Failing:
    """Whether a record's last write still fails, asked of its aggregate."""

    def __init__(self, app: SyncLedger, crm: str, org: str | None) -> None:
        self.cache = AggregateCache(app)
        self.crm = crm
        self.org = org

    def failing(self, step: Step | None, entry: dict[str, Any], latest: str | None) -> bool:
        app_id, crm_id = entry["record"]["app"], entry["record"]["crm"]
        if step is None or self.org is None:
            return bool(entry["last_run"] == latest)  # a step since removed: as the Logs say
        if step.is_people and not step.inbound:
            if crm_id:
                return self._record_failing(step.crm_object, crm_id)
            person = self.cache.get(app_person_id(app_id), Person) if app_id else None
            if person is None:
                return False
            return not any(link["crm"] == self.crm and not link.get("deleted")
                           for link in person.links.values())
        kind = KIND_OF_SOURCE.get(step.source)
        if kind is not None and app_id:
            activity = activity_id(kind, app_id)
            task = self.cache.get(Task.create_id(self.crm, self.org, activity), Task)
            return task is not None and task.last_error is not None
        if crm_id:
            return self._record_failing(step.crm_object, crm_id)
        return bool(entry["last_run"] == latest)

    def _record_failing(self, stream: str, crm_id: str) -> bool:
        assert self.org is not None
        record = self.cache.get(crm_record_id(self.crm, self.org, stream, crm_id), CrmRecord)
        return record is not None and record.last_error is not None


def died(app: SyncLedger, run_id: str) -> bool:
    """Whether a run the Logs view shows `running` died before recording its end: nobody
    holds its run lock, which dies with the run's process, and it is still the current run."""
    run = AggregateCache(app).get(sync_run_id(run_id), SyncRun)
    if not isinstance(run, SyncRun) or run.outcome != "running":
        return False
    if app.database.run_lock(run.crm).held():
        return False
    # Read after the lock was found free: the run had started before (its events were
    # there), so if it is still the lease's current run, it was dead when asked.
    lease = AggregateCache(app).get(run_lease_id(run.crm), RunLease)
    return isinstance(lease, RunLease) and lease.current == run_id
