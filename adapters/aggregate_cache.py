"""The unit of work of one decision batch: the aggregates it has loaded or created, saved
together in one save(). `get(id, Person)` answers a Person or None, and refuses an
aggregate of another kind, so callers need no isinstance checks of their own; `find(id)`
answers any kind, for the few callers that take whatever is there (a replay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.step_cursor import StepCursor

PREFETCH = 500  # ids per query: well within SQLite's and PostgreSQL's parameter limits

A = TypeVar("A", bound=Aggregate)


class WrongAggregate(TypeError):
    pass


class AggregateCache:
    def __init__(self, app: SyncLedger) -> None:
        self.app = app
        self._loaded: dict[UUID, Any] = {}

    def get(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate of that kind, or None when it does not exist (yet)."""
        found = self.find(aggregate_id)
        if found is not None and not isinstance(found, kind):
            raise WrongAggregate(f"{aggregate_id} is a {type(found).__name__}, "
                                 f"not a {kind.__name__}")
        return found

    def get_existing(self, aggregate_id: UUID, kind: type[A]) -> A:
        """The aggregate of that kind, which the caller knows exists (it saved it earlier in
        the run): a missing one is a bug, told as such rather than as an AttributeError."""
        found = self.get(aggregate_id, kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} {aggregate_id} in the store")
        return found

    def find(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate whatever its kind (a replay's, an existence check), or None."""
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._load(aggregate_id)
        found: Aggregate | None = self._loaded[aggregate_id]
        return found

    def exists(self, aggregate_id: UUID) -> bool:
        return self.find(aggregate_id) is not None

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
