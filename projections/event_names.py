"""The names the log gives events, derived from the event classes themselves.

Views and replays route on these names. Derived rather than written out, a renamed event
breaks at import (or at the type check) instead of leaving a stale string that silently
matches nothing.

An event made by `@event("Name")` is an attribute that mypy cannot see: callers reach it
through the aggregate typed as `Any` (see `events_of`), and a rename fails at import."""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic


def event_name(event_class: type) -> str:
    """"Person.Linked": the class's name in its topic, after the module; the `kind` the
    plain decoder (adapters.plain_events) gives each stored event of the class."""
    return get_topic(event_class).partition(":")[2]


def own_name(event_class: type, *routed_alike: type) -> str:
    """"Observed" for Lead.Observed: the event's name within its aggregate, which the copies
    of an event in every subclass (Lead, Contact) share. With `routed_alike` (Task's
    WriteRequested beside CrmRecord's), their common name: a rename of only one would
    otherwise drop its events without a word."""
    name = event_name(event_class).rpartition(".")[2]
    others = {event_name(c).rpartition(".")[2] for c in routed_alike} - {name}
    if others:
        raise ValueError(f"events routed as {name!r} are named {sorted(others)}")
    return name


def type_name(event_class: type) -> str:
    """"PersonLinked": the event's name without its dot, as history and explain show it."""
    return event_name(event_class).replace(".", "")


def name_prefix(aggregate: type) -> str:
    """"Person.": what the names of an aggregate class's events begin with."""
    return f"{event_name(aggregate)}."


def topic_prefix(aggregate: type) -> str:
    """"syncledger.domain.person:Person.": what the topics of its events begin with."""
    return f"{get_topic(aggregate)}."


def module_prefix(aggregate: type) -> str:
    """"syncledger.domain.crm_record:": what the topics of the events of every aggregate
    defined beside this one begin with."""
    return f"{get_topic(aggregate).partition(':')[0]}:"


def events_of(aggregate: type) -> Any:
    """The aggregate, typed so that its `@event` events can be named: `events_of(Person)
    .Linked`. (Its nested event classes mypy sees anyway: name those on the class.)"""
    return aggregate
