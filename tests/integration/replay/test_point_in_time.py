"""`replay --until TIME|--position N --into URL`: the log as it stood at a point, copied byte
for byte into an empty store (SQLite or PostgreSQL), with its projections built there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from replay_support import import_lines, opened, people, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.forget import find_person_id, forget
from syncledger.domain.privacy import FORGOTTEN
from syncledger.replay.copy_log import TargetNotEmpty
from syncledger.replay.point_in_time import (
    ReplayPointError,
    parse_time,
    point_at_position,
    point_at_time,
    replay_into,
)
from syncledger.replay.verify import verify


def three_imports(app: SyncLedger, tmp_path: Path) -> list[tuple[int, list[dict[str, object]]]]:
    """(position after, people view then) for each of three imports."""
    states = []
    for n, lines in enumerate([[person(1), person(2)],
                               [person(1, owner="tm-bob", at="2030-01-01T00:00:00Z"), person(3)],
                               [{"kind": "person_deleted", "id": "p-2"}]]):
        position = import_lines(app, tmp_path / f"{n}.jsonl", lines)
        states.append((position, people(app)))
    return states


def test_replay_to_each_imports_end_gives_the_people_view_as_it_was(
        store: SyncLedger, tmp_path: Path) -> None:
    states = three_imports(store, tmp_path)
    for n, (position, view) in enumerate(states):
        with opened(f"sqlite:///{tmp_path / f'at{n}.db'}") as target:
            done = replay_into(store, target, point_at_position(store, position))
            assert done.events == position
            assert people(target) == view
            assert done.people == len(view)
            assert verify(target).broken is None  # whole saves: every seal is there


def test_a_position_inside_a_save_means_the_end_of_that_save(store: SyncLedger,
                                                             tmp_path: Path) -> None:
    states = three_imports(store, tmp_path)
    first_end, second_end = states[0][0], states[1][0]
    inside = point_at_position(store, first_end + 1)
    assert first_end < inside.position <= second_end
    assert inside.seal is not None and inside.time is not None
    assert point_at_position(store, inside.position) == inside
    with opened(f"sqlite:///{tmp_path / 'inside.db'}") as target:
        replay_into(store, target, inside)
        assert people(target) == states[1][1]  # the import's people are in its first save


def test_until_a_time_finds_the_last_save_sealed_by_then(store: SyncLedger,
                                                         tmp_path: Path) -> None:
    first = import_lines(store, tmp_path / "a.jsonl", [person(1)])
    between = datetime.now(UTC)
    import_lines(store, tmp_path / "b.jsonl", [person(2)])
    assert point_at_time(store, between).position == first
    head = store.recorder.max_notification_id()
    assert point_at_time(store, datetime.now(UTC) + timedelta(days=1)).position == head
    with pytest.raises(ReplayPointError, match="nothing was recorded by then"):
        point_at_time(store, between - timedelta(days=1))


def test_times_without_an_offset_are_utc_and_nonsense_is_refused() -> None:
    assert parse_time("2026-11-01T10:00:00") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_time("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    with pytest.raises(ReplayPointError, match="'yesterday'"):
        parse_time("yesterday")


def test_positions_outside_the_log_are_refused(store: SyncLedger, tmp_path: Path) -> None:
    with pytest.raises(ReplayPointError, match="holds no events"):
        point_at_position(store, 1)
    end = import_lines(store, tmp_path / "a.jsonl", [person(1)])
    for position in (0, end + 1):
        with pytest.raises(ReplayPointError, match=f"positions 1 to {end}"):
            point_at_position(store, position)


def test_a_store_that_is_not_empty_is_refused(store: SyncLedger, tmp_path: Path) -> None:
    end = import_lines(store, tmp_path / "a.jsonl", [person(1)])
    with opened(f"sqlite:///{tmp_path / 'target.db'}") as target:
        replay_into(store, target, point_at_position(store, end))
        with pytest.raises(TargetNotEmpty, match="target.db already holds events"):
            replay_into(store, target, point_at_position(store, end))


def test_replay_into_postgresql_keeps_forgotten_people_forgotten(
        store: SyncLedger, postgres_url: str, tmp_path: Path) -> None:
    end = import_lines(store, tmp_path / "a.jsonl", [person(1), person(2)])
    forget(store, find_person_id(store, "p-1"), "tm-auditor")
    with opened(postgres_url) as target:
        replay_into(store, target, point_at_position(store, end))
        replayed = {p["id"]: p for p in people(target)}
        # Replayed to before the forget, yet unreadable: the key was copied destroyed.
        assert replayed["p-1"]["email"] == FORGOTTEN
        assert "First1" not in str(replayed["p-1"])
        assert replayed["p-2"]["first_name"] == "First2"
        assert verify(target).broken is None
