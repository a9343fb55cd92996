"""Upcasters that events of several aggregates share (eventsourcing runs them on a stored
state older than its class, by `class_version`).

Any upcaster reads three values with `.get`: a stored state leaves out a created event's
`originator_topic` and a `subject` that is the originator itself, and may hold `timestamp`
as ISO text; the mapper puts them back after upcasting (adapters/omitted_values.py)."""

from __future__ import annotations

from typing import Any

# Until issue 18 the events naming a stream (Contact, Lead, person) stored it under
# Salesforce's word for one: the only place the domain still says it.
OLD_STREAM_KEY = "sobject"


def stream_renamed(state: dict[str, Any]) -> None:
    state["stream"] = state.pop(OLD_STREAM_KEY)
