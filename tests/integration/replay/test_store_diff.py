"""`replay diff URL_A URL_B`: the people views compared row by row, and every projection's
row counts, across SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from replay_support import import_lines, opened, people, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import caught_up
from syncledger.replay.diff import diff_stores
from syncledger.replay.point_in_time import point_at_position, replay_into


def test_a_replay_of_the_whole_log_has_no_differences_even_across_databases(
        store: SyncLedger, postgres_url: str, tmp_path: Path) -> None:
    # Enough people that an order by app id would differ between the two databases.
    import_lines(store, tmp_path / "a.jsonl",
                 [person(n, fields={"title": f"T{n}"}) for n in range(1, 40)])
    with opened(postgres_url) as target:
        replay_into(store, target, point_at_position(store, store.recorder.max_notification_id()))
        result = diff_stores(caught_up(store), caught_up(target))
        assert result.empty
        assert result.counts["people"] == {"a": 39, "b": 39}
        assert result.to_json()["changed"] == []


def test_added_removed_and_changed_people_field_by_field(store: SyncLedger,
                                                         tmp_path: Path) -> None:
    with opened(f"sqlite:///{tmp_path / 'other.db'}") as other:
        import_lines(store, tmp_path / "a.jsonl", [
            person(1, fields={"title": "CTO", "team": "x"}), person(2), person(3)])
        import_lines(other, tmp_path / "b.jsonl", [
            person(1, owner="tm-bob", fields={"title": "CEO", "team": "x"}), person(3),
            person(4)])
        import_lines(other, tmp_path / "c.jsonl", [{"kind": "person_deleted", "id": "p-3"}])
        result = diff_stores(caught_up(store), caught_up(other))
    assert not result.empty
    assert [row["id"] for row in result.added] == ["p-4"]
    assert [row["id"] for row in result.removed] == ["p-2"]
    assert result.added[0] == next(p for p in people(store) if p["id"] == "p-1") | {
        "id": "p-4", "email": "person4@example.com", "first_name": "First4",
        "last_name": "Last4", "fields": {}}
    assert result.changed == [
        {"id": "p-1", "changes": {"owner": ["tm-alice", "tm-bob"],
                                  "fields.title": ["CTO", "CEO"]}},
        {"id": "p-3", "changes": {"deleted": [False, True]}}]
    assert result.counts["people"] == {"a": 3, "b": 3}  # deleted rows stay in the view
    assert set(result.to_json()) == {"a", "b", "counts", "added", "removed", "changed"}
