"""The aggregates one decision batch has loaded or created, saved together in one save()."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.step_cursor import StepCursor

PREFETCH = 500  # ids per query: well within SQLite's and PostgreSQL's parameter limits


class AggregateCache:
    def __init__(self, app: SyncLedger) -> None:
        self.app = app
        self._loaded: dict[UUID, Any] = {}

    def get(self, aggregate_id: UUID) -> Any:
        """The aggregate, or None when it does not exist (yet)."""
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._load(aggregate_id)
        return self._loaded[aggregate_id]

    def prefetch(self, ids: Iterable[UUID]) -> None:
        """Load many aggregates in one query (those that do not exist yet are known at once);
        step cursors, which are snapshotted, still load through the repository. Their
        person keys come with them (select_many)."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self._loaded]
        for start in range(0, len(wanted), PREFETCH):
            chunk = wanted[start:start + PREFETCH]
            for aggregate_id, stored in self.app.select_many(chunk).items():
                events = [self.app.mapper.to_domain_event(s) for s in stored]
                self._loaded[aggregate_id] = self._project(aggregate_id, events)

    def _load(self, aggregate_id: UUID) -> Any:
        # Only step cursors are snapshotted; for the rest one query beats two.
        return self._project(aggregate_id, list(self.app.events.get(aggregate_id)))

    def _project(self, aggregate_id: UUID, events: list[Any]) -> Any:
        if not events:
            return None
        if type(events[0]).__qualname__.startswith(StepCursor.__name__ + "."):
            try:
                return self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        aggregate = None
        for event in events:
            aggregate = event.mutate(aggregate)
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        self._loaded[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._loaded.values()
                if a is not None and getattr(a, "pending_events", None)]
