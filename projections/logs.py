"""The Logs view: one row per sync run, with its counts, skip reasons and errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, String, Table, select

from syncledger.adapters.plain_events import Logged, text_of
from syncledger.domain.sync_run import empty_counts
from syncledger.projections.base import AggregateRows, Rows


class LogsView(AggregateRows):
    name = "logs"
    topics = ("syncledger.domain.sync_run:SyncRun.",)

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
        )
        return {"sync_logs": table}

    def apply(self, rows: Rows, event: Logged) -> None:
        kind = event.kind.rpartition(".")[2]
        data = event.data
        if kind == "Started":
            rows[event.originator] = {
                "uuid": event.originator, "run_id": data["run_id"], "crm": data["crm"],
                "started_at": text_of(data["at"]), "finished_at": None, "outcome": "running",
                "counts": empty_counts(), "skip_reasons": {}, "errors": [], "api_calls": {},
                "notes": []}
            return
        row = rows[event.originator]
        row["finished_at"] = text_of(data["at"])
        if kind == "Finished":
            row.update(outcome=data["outcome"], counts=data["counts"],
                       skip_reasons=data["skip_reasons"], errors=data["errors"],
                       api_calls=data["api_calls"], notes=data["notes"])
        elif kind == "Interrupted":
            row["outcome"] = "interrupted"


def list_runs(connection: Connection, table: Table, run_id: str | None) -> list[dict[str, Any]]:
    query = select(table).order_by(table.c.started_at.desc())
    if run_id is not None:
        query = query.where(table.c.run_id == run_id)
    return [{key: row[key] for key in ("run_id", "started_at", "finished_at", "outcome",
                                       "counts", "skip_reasons", "errors", "notes")}
            for row in connection.execute(query).mappings()]


def api_calls_since(connection: Connection, table: Table, crm: str, since: str) -> int:
    """API calls spent by the runs that started at or after `since` (ISO time)."""
    rows = connection.execute(select(table.c.api_calls).where(
        table.c.crm == crm, table.c.started_at >= since))
    return sum(sum(calls.values()) for (calls,) in rows)
