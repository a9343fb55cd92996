"""The Logs view: one row per sync run, with its counts, skip reasons and errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, String, Table, select

from syncledger.domain.sync_run import SyncRun, empty_counts
from syncledger.projections.base import Batch, Projection


class LogsView(Projection):
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

    def process(self, connection: Connection, batch: Batch) -> None:
        table = self.tables["sync_logs"]
        events: list[Any] = [e for _, e in batch if isinstance(e, SyncRun.Event)]
        for event in events:
            kind = type(event).__qualname__.split(".")[-1]
            if kind == "Started":
                connection.execute(table.insert(), [{
                    "uuid": event.originator_id.hex, "run_id": event.run_id, "crm": event.crm,
                    "started_at": event.at.isoformat(), "finished_at": None,
                    "outcome": "running", "counts": empty_counts(), "skip_reasons": {},
                    "errors": [], "api_calls": {}, "notes": []}])
                continue
            values: dict[str, Any] = {"finished_at": event.at.isoformat()}
            if kind == "Finished":
                values.update(outcome=event.outcome, counts=event.counts,
                              skip_reasons=event.skip_reasons, errors=event.errors,
                              api_calls=event.api_calls, notes=event.notes)
            elif kind == "Interrupted":
                values["outcome"] = "interrupted"
            connection.execute(table.update().where(
                table.c.uuid == event.originator_id.hex), values)


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
