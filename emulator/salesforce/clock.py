"""Time as the org sees it: settable, so tests can give many writes one timestamp."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
)


class Clock:
    """Real UTC time unless pinned; a pinned clock stays put until moved."""

    def __init__(self) -> None:
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        return self._pinned if self._pinned is not None else datetime.now(UTC)

    def pin(self, moment: datetime | None) -> None:
        self._pinned = moment

    def advance(self, seconds: float) -> None:
        self._pinned = self.now() + timedelta(seconds=seconds)

    @property
    def pinned(self) -> bool:
        return self._pinned is not None


def parse_datetime(text: str) -> datetime | None:
    """Accept the forms clients send: Z, +00:00, +0000, with or without fractions."""
    match = _DATETIME.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second), micro, tzinfo=UTC)
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment -= sign * offset
    return moment


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def format_datetime(moment: datetime) -> str:
    """Salesforce's wire form; being fixed-width UTC it also sorts as a plain string."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+0000"


def canonical_datetime(text: str) -> str | None:
    moment = parse_datetime(text)
    return format_datetime(moment) if moment is not None else None


def day_start(day: date) -> str:
    return format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
