"""What one sync run recorded: when and by whom it ran, how it ended, and every event it
caused, decoded, in log order. The event index finds the run's positions by cause; the log
is then read once over that range, so a large run costs one pass, not a query per record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import and_, func, select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import log_table
from syncledger.domain.ids import sync_run_id
from syncledger.domain.sync_run import SyncRun
from syncledger.projections.event_index import positions_for
from syncledger.projections.registry import EVENT_INDEX

PAGE = 2000


class UnknownRun(LookupError):
    """No run with that id in this log."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    crm: str
    actor: str
    started_at: datetime
    full: bool  # `sync --full`
    only: set[UUID] | None  # `sync --record`: the people it covered
    allow_mass_changes: bool  # `sync --allow-mass-changes`
    recreate: bool  # `sync --record ... --recreate`
    outcome: str  # running, succeeded, partial, failed or interrupted
    counts: dict[str, dict[str, int]] | None  # None: the run never finished
    skip_reasons: dict[str, int] | None
    errors: list[dict[str, Any]]
    first: int  # the position of the run's first event (its start)
    last: int  # the position of its last event
    events: list[tuple[int, Any]]  # (position, event) of every event the run caused
    others: int  # events of other causes (an import, say) recorded while it ran

    @property
    def finished(self) -> bool:
        return self.counts is not None


def read_run(app: SyncLedger, run_id: str) -> RunRecord:
    """The run as recorded; the caller catches the event index up first."""
    try:
        run: Any = app.repository.get(sync_run_id(run_id))
    except AggregateNotFoundError:
        raise UnknownRun(f"no run {run_id!r} in this log (`syncledger logs` lists the "
                         "runs)") from None
    assert isinstance(run, SyncRun)
    cause = f"run:{run_id}"
    table = EVENT_INDEX.tables["event_index"]
    with app.database.reader.connect() as connection:
        wanted = {position for position, _, _ in positions_for(connection, log_table(app),
                                                                table, [], cause)}
        if not wanted:
            raise UnknownRun(f"run {run_id!r} has no events in the index: catch the read "
                             "models up (`syncledger rebuild event_index`)")
        first, last = min(wanted), max(wanted)
        others = int(connection.scalar(select(func.count()).select_from(table).where(and_(
            table.c.position.between(first, last), table.c.cause.is_not(None),
            table.c.cause != cause))) or 0)
    events = _events_at(app, wanted, first, last)
    actor = next(e.actor for _, e in events if e.originator_id == run.id)
    finished = run.outcome not in ("running", "interrupted")
    return RunRecord(run_id=run_id, crm=run.crm, actor=actor, started_at=run.started_at,
                     full=run.full, only=None if run.only is None else {
                         UUID(hex_id) for hex_id in run.only},
                     allow_mass_changes=run.allow_mass_changes, recreate=run.recreate,
                     outcome=run.outcome, counts=run.counts if finished else None,
                     skip_reasons=run.skip_reasons if finished else None,
                     errors=run.errors, first=first, last=last, events=events, others=others)


def _events_at(app: SyncLedger, wanted: set[int], start: int, stop: int
               ) -> list[tuple[int, Any]]:
    """The decoded events at these positions, reading the log once from start to stop."""
    found: list[tuple[int, Any]] = []
    position = start - 1
    while position < stop:
        page = app.recorder.select_notifications(start=position + 1, limit=PAGE, stop=stop)
        if not page:
            break
        found += [(n.id, app.mapper.to_domain_event(n)) for n in page if n.id in wanted]
        position = page[-1].id
    return found
