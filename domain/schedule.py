"""When the worker syncs: a newly connected, enabled integration at once, then every
`every`; new app-side changes sooner, so they go out within the follow interval."""

from __future__ import annotations

from datetime import datetime, timedelta


def parse_every(text: str) -> timedelta:
    """"2h", "30m", "45s", "1d"."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 1d")
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


def next_run_at(last_started: datetime | None, every: timedelta) -> datetime | None:
    """None: at once (never synced)."""
    return None if last_started is None else last_started + every


def should_run(now: datetime, last_started: datetime | None, every: timedelta,
               app_changes_waiting: bool) -> bool:
    due = next_run_at(last_started, every)
    return due is None or now >= due or app_changes_waiting
