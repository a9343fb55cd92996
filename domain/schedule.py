"""When the worker syncs: a newly connected, enabled integration at once, then every
`every`; new app-side changes sooner, so they go out within the follow interval."""

from __future__ import annotations

from datetime import datetime, timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST = timedelta(days=366)  # a longer interval is a mistake (and soon beyond any date)


def parse_every(text: str) -> timedelta:
    """"2h", "30m", "45s", "1d"."""
    number, unit = text[:-1], text[-1:]
    if unit not in UNITS or not number.isascii() or not number.isdigit() \
            or not number.strip("0"):
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 1d")
    if too_long(text):
        raise ValueError(f"{text!r} is longer than a year")
    return timedelta(seconds=int(number) * UNITS[unit])


def too_long(text: str) -> bool:
    """Whether a duration written as digits and a unit ("90d") is longer than LONGEST."""
    number, unit = text[:-1], text[-1:]
    if unit not in UNITS or not number.isascii() or not number.isdigit():
        return False
    return len(number.lstrip("0")) > 9 or \
        int(number) * UNITS[unit] > LONGEST.total_seconds()


def next_run_at(last_started: datetime | None, every: timedelta) -> datetime | None:
    """None: at once (never synced)."""
    return None if last_started is None else last_started + every


def should_run(now: datetime, last_started: datetime | None, every: timedelta,
               app_changes_waiting: bool) -> bool:
    due = next_run_at(last_started, every)
    return due is None or now >= due or app_changes_waiting
