from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncledger.domain.schedule import parse_every, should_run

T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_durations() -> None:
    assert parse_every("2h") == timedelta(hours=2)
    assert parse_every("30m") == timedelta(minutes=30)
    for bad in ("2", "h", "0h", "-1h", "2w"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_every(bad)


def test_a_never_synced_integration_runs_at_once_then_every_interval_or_on_app_changes(
        ) -> None:
    every = timedelta(hours=2)
    assert should_run(T0, None, every, False)
    assert not should_run(T0 + timedelta(hours=1), T0, every, False)
    assert should_run(T0 + timedelta(hours=1), T0, every, True)
    assert should_run(T0 + timedelta(hours=2), T0, every, False)
