"""Last-writer-wins by business time, so imports of the same record in any order agree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def _rank(value: Any) -> str:
    return repr(value)


def newer_changes(current: Mapping[str, Any], times: Mapping[str, datetime],
                  incoming: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The incoming values that differ from the current ones and are not older than them.

    A tie in business time is broken by the values themselves, so that the order in which
    two writers arrive never decides the outcome."""
    accepted: dict[str, Any] = {}
    for key, new in incoming.items():
        old = current.get(key)
        if new == old:
            continue
        recorded_at = times.get(key)
        if recorded_at is not None and (
            at < recorded_at or (at == recorded_at and _rank(new) < _rank(old))
        ):
            continue
        accepted[key] = new
    return accepted
