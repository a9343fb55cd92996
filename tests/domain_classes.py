"""The domain's aggregate classes and the event classes they trigger, found by walking its
modules: for tests that must hold for every one of them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from eventsourcing.domain import Aggregate, DomainEvent

import syncledger.domain


def aggregates() -> list[type[Aggregate]]:
    """Every aggregate class the domain's modules declare."""
    found: list[type[Aggregate]] = []
    for module in pkgutil.iter_modules(syncledger.domain.__path__):
        loaded = importlib.import_module(f"syncledger.domain.{module.name}")
        found += [value for value in vars(loaded).values() if inspect.isclass(value)
                  and issubclass(value, Aggregate) and value.__module__ == loaded.__name__]
    return found


def aggregate_events(declared_in: list[type[Aggregate]]) -> set[type[DomainEvent]]:
    """The event classes those aggregates hold (the ones the library copies into each; a
    class declared by hand before it is copied is never built)."""
    return {value for aggregate in declared_in for value in vars(aggregate).values()
            if inspect.isclass(value) and issubclass(value, DomainEvent)}
