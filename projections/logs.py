"""The Logs view: one row per sync run, with its counts, skip reasons and errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    cast,
    func,
    or_,
    select,
    tuple_,
    update,
)

from syncledger.adapters.plain_events import Logged, text_of
from syncledger.domain.privacy import FORGOTTEN
from syncledger.domain.sync_run import COUNT_KEYS, COUNT_KINDS, SyncRun, empty_counts
from syncledger.projections.base import AggregateRows, Rows
from syncledger.projections.event_names import event_name, events_of, topic_prefix

# The events the view routes on, named after their classes (see event_names).
STARTED = event_name(SyncRun.Started)
FINISHED = event_name(events_of(SyncRun).Finished)
INTERRUPTED = event_name(events_of(SyncRun).Interrupted)


class LogsView(AggregateRows):
    name = "logs"
    topics = (topic_prefix(SyncRun),)

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"sync_logs{suffix}", metadata,
            Column("uuid", String(32), primary_key=True),
            Column("run_id", String(64), nullable=False, unique=True),
            Column("crm", String(20), nullable=False),
            Column("started_at", String(40), nullable=False, index=True),
            Column("finished_at", String(40)),
            Column("outcome", String(20), nullable=False),
            Column("counts", JSON, nullable=False),
            Column("skip_reasons", JSON, nullable=False),
            Column("errors", JSON, nullable=False),
            Column("api_calls", JSON, nullable=False),
            Column("notes", JSON, nullable=False),
            # Added later (nullable: an older store gains them empty, `rebuild` fills them).
            # The times the log recorded the run's start and end (the clock's, where
            # started_at and finished_at are the run's business time), who ran it, and its
            # steps as "\nname\n...\n" so that one LIKE finds the runs of a step.
            Column("recorded_start", String(40)),
            Column("recorded_end", String(40)),
            Column("actor", String(200)),
            Column("steps", String(4000)),
            # Whose key sealed each of `errors` in the log (hex, or None), in its order, so
            # that `forget` redacts a person's error messages here at once; None: no error
            # is about anyone (or the run predates this column).
            Column("error_subjects", JSON),
        )
        return {"sync_logs": table}

    def apply(self, rows: Rows, event: Logged) -> None:
        kind = event.kind
        data = event.data
        if kind == STARTED:
            rows[event.originator] = {
                "uuid": event.originator, "run_id": data["run_id"], "crm": data["crm"],
                "started_at": text_of(data["at"]), "finished_at": None, "outcome": "running",
                "counts": empty_counts(), "skip_reasons": {}, "errors": [],
                "error_subjects": None, "api_calls": {},
                "notes": [], "recorded_start": text_of(data.get("timestamp")),
                "recorded_end": None, "actor": data.get("actor"),
                "steps": "".join(f"\n{step}" for step in data.get("steps") or []) + "\n"}
            return
        row = rows[event.originator]
        row["finished_at"] = text_of(data["at"])
        # An interrupted run is closed by the next one: its end is not known.
        row["recorded_end"] = text_of(data.get("timestamp")) if kind == FINISHED else None
        if kind == FINISHED:
            subjects = [e.get("subject") if isinstance(e, dict) else None
                        for e in data["errors"]]
            row.update(outcome=data["outcome"], counts=data["counts"],
                       skip_reasons=data["skip_reasons"],
                       errors=[public_error(e) for e in data["errors"]],
                       error_subjects=subjects if any(subjects) else None,
                       api_calls=data["api_calls"], notes=data["notes"])
        elif kind == INTERRUPTED:
            row["outcome"] = "interrupted"


def public_error(error: Any) -> Any:
    """An error as the Logs show it: without the subject its message was sealed under."""
    if isinstance(error, dict) and "subject" in error:
        return {key: value for key, value in error.items() if key != "subject"}
    return error


def forget_errors(connection: Connection, table: Table, subjects: list[str]) -> int:
    """Redact, in the caller's transaction, the error messages about these subjects (hex):
    the log reads them as [forgotten] once their keys are destroyed, and so does this view
    at once, not after a rebuild. Returns how many runs changed."""
    wanted = set(subjects)
    if not wanted:
        return 0
    text = cast(table.c.error_subjects, String)
    query = select(table.c.uuid, table.c.errors, table.c.error_subjects).where(
        table.c.error_subjects.is_not(None), or_(*(text.contains(s) for s in wanted)))
    changed = 0
    for uuid, errors, owners in connection.execute(query).all():
        redacted = [{**error, "message": FORGOTTEN} if owner in wanted else error
                    for error, owner in zip(errors, owners, strict=False)]
        if redacted != errors:
            connection.execute(update(table).where(table.c.uuid == uuid)
                               .values(errors=redacted))
            changed += 1
    return changed


RUN_KEYS = ("run_id", "crm", "actor", "started_at", "finished_at", "outcome", "counts",
            "skip_reasons", "errors", "notes", "api_calls")


def run_json(row: Any) -> dict[str, Any]:
    """A run as `logs --json` and the web view show it, with its real duration in seconds
    (from the times the log recorded, None until it finished) and its API calls in all."""
    found = {key: row[key] for key in RUN_KEYS}
    found["steps"] = [s for s in (row["steps"] or "").split("\n") if s]
    found["api_calls_total"] = sum((row["api_calls"] or {}).values())
    found["duration_seconds"] = _seconds(row["recorded_start"], row["recorded_end"])
    if found["duration_seconds"] is not None and row["started_at"]:
        # The run records its business time, its start, on both ends (decisions never read
        # the clock); its end is when it started and the real duration later.
        found["finished_at"] = (datetime.fromisoformat(row["started_at"]) + timedelta(
            seconds=found["duration_seconds"])).isoformat()
    return found


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start))
                 .total_seconds(), 3)


def list_runs(connection: Connection, table: Table, run_id: str | None) -> list[dict[str, Any]]:
    query = select(table).order_by(table.c.started_at.desc())
    if run_id is not None:
        query = query.where(table.c.run_id == run_id)
    return [run_json(row) for row in connection.execute(query).mappings()]


@dataclass(frozen=True)
class RunFilter:
    crm: str | None = None
    step: str | None = None
    outcome: str | None = None
    since: str | None = None  # ISO date or time: runs started at or after
    until: str | None = None  # ISO date or time: runs started before (a date: its end)
    actor: str | None = None  # runs started by this actor


def page_runs(connection: Connection, table: Table, where: RunFilter,
              after: tuple[str, str] | None, limit: int
              ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """A page of runs, newest first, and the key of the next page (None: the last).

    Keyset paging on (started_at, uuid): a page costs the same however deep it is, where
    OFFSET would read and drop every row before it."""
    query = select(table).order_by(table.c.started_at.desc(), table.c.uuid.desc())
    if where.crm:
        query = query.where(table.c.crm == where.crm)
    if where.outcome:
        query = query.where(table.c.outcome == where.outcome)
    if where.actor:
        query = query.where(table.c.actor == where.actor)
    if where.step:
        escaped = where.step.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(table.c.steps.like(f"%\n{escaped}\n%", escape="\\"))
    if where.since:
        query = query.where(table.c.started_at >= where.since)
    if where.until:
        # A bare date includes its whole day: "2026-11-20" < "2026-11-20T..." < "2026-11-20~".
        bound = where.until + "~" if len(where.until) == 10 else where.until
        query = query.where(table.c.started_at < bound)
    if after is not None:
        query = query.where(tuple_(table.c.started_at, table.c.uuid) < tuple_(*after))
    rows = list(connection.execute(query.limit(limit + 1)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    following = (rows[-1]["started_at"], rows[-1]["uuid"]) if more else None
    return [run_json(row) for row in rows], following


def api_calls_since(connection: Connection, table: Table, crm: str, since: str) -> int:
    """API calls spent by the runs that started at or after `since` (ISO time)."""
    rows = connection.execute(select(table.c.api_calls).where(
        table.c.crm == crm, table.c.started_at >= since))
    return sum(sum(calls.values()) for (calls,) in rows)


@dataclass
class RunTotals:
    """Sums over every run, per CRM: what /metrics exposes."""

    runs: dict[tuple[str, str], int]  # (crm, outcome) -> runs
    records: dict[tuple[str, str, str], int]  # (crm, kind, result) -> records
    api_calls: dict[str, int]  # crm -> calls
    last_success: dict[str, float]  # crm -> when the last succeeded run ended (epoch s)
    durations: dict[str, tuple[int, float]]  # crm -> (finished runs, seconds in all)
    last_duration: dict[str, float]  # crm -> the latest finished run's seconds


def run_totals(connection: Connection, table: Table) -> RunTotals:
    """Summed in the database (a scrape of 100k runs decodes no row's counts in Python);
    only the API calls, whose kinds vary, and the durations are added up here."""
    totals = RunTotals({}, {}, {}, {}, {}, {})
    c = table.c
    for crm, outcome, runs in connection.execute(
            select(c.crm, c.outcome, func.count()).group_by(c.crm, c.outcome)):
        totals.runs[(crm, outcome)] = int(runs)
    pairs = [(kind, result) for kind in COUNT_KINDS for result in COUNT_KEYS]
    sums = [func.coalesce(func.sum(c.counts[kind][result].as_integer()), 0)
            for kind, result in pairs]
    for crm, *found in connection.execute(select(c.crm, *sums).group_by(c.crm)):
        for (kind, result), count in zip(pairs, found, strict=True):
            totals.records[(crm, kind, result)] = int(count)
    for crm, last in connection.execute(
            select(c.crm, func.max(func.coalesce(c.recorded_end, c.finished_at)))
            .where(c.outcome == "succeeded").group_by(c.crm)):
        if last:
            totals.last_success[crm] = datetime.fromisoformat(last).timestamp()
    query = select(c.crm, c.api_calls, c.recorded_start, c.recorded_end).order_by(c.started_at)
    for crm, calls, start, end in connection.execution_options(yield_per=5000).execute(query):
        totals.api_calls[crm] = totals.api_calls.get(crm, 0) + sum((calls or {}).values())
        seconds = _seconds(start, end)
        if seconds is not None:
            runs, total = totals.durations.get(crm, (0, 0.0))
            totals.durations[crm] = (runs + 1, total + seconds)
            totals.last_duration[crm] = seconds
    return totals
