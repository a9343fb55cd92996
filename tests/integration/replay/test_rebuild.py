"""Rebuilding the read models: in aggregate order, over spans of ids, in one process or in
worker processes, the rebuilt views equal the live ones (which were caught up in log order,
batch by batch), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projection_dump import projection_rows
from replay_support import CONTACT_ID, import_lines, person, run_contact_sync, write_contact
from sqlalchemy import select

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.forget import find_person_id, forget
from syncledger.projections.rebuild import id_spans, plan, rebuild
from syncledger.projections.registry import EVENT_INDEX, LIVE, PEOPLE
from syncledger.replay.history import history


def a_varied_log(app: SyncLedger, tmp_path: Path) -> None:
    """Given: team members, a list, many people (some changed, one deleted, one forgotten and
    imported again under a new key), a Contact synced in and written back, run by run."""
    directory = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example",
                  "name": "Alice"},
                 {"kind": "list", "id": "l-webinar", "name": "Q4 webinar"}]
    people = [person(n, account=f"Company {n % 7}", fields={"title": "CTO"})
              for n in range(1, 301)]
    import_lines(app, tmp_path / "first.jsonl", directory + people)
    changes = [person(n, status="Replied", lists=["l-webinar"], fields={"title": "CEO"},
                      at="2026-11-03T10:00:00Z") for n in range(1, 301, 3)]
    changes.append({"kind": "person_deleted", "id": "p-2", "at": "2026-11-03T10:00:00Z"})
    import_lines(app, tmp_path / "second.jsonl", changes)
    run_contact_sync(app, "p-5", "run-1", "005000000000001AAA",
                     {"Email": "person5@example.com", "LastName": "Last5"})
    write_contact(app, "run-2", {"Email": "person5@example.com", "LastName": "Fifth"})
    forget(app, find_person_id(app, "p-7"), "tm-auditor")
    import_lines(app, tmp_path / "again.jsonl", [person(7, first_name="Again")])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_rebuild_equals_the_live_views(store: SyncLedger, tmp_path: Path,
                                         workers: int) -> None:
    a_varied_log(store, tmp_path)
    live = projection_rows(store)

    read = rebuild(store, list(LIVE.values()), workers=workers)

    assert read == store.recorder.max_notification_id()
    assert projection_rows(store) == live
    again = {row["id"]: row for row in _people(store)}
    assert again["p-7"]["first_name"] == "Again"  # under the key of its second life
    assert again["p-5"]["links"][0]["id"] == CONTACT_ID


def test_one_projection_rebuilt_alone_equals_the_live_one(store: SyncLedger,
                                                          tmp_path: Path) -> None:
    a_varied_log(store, tmp_path)
    live = projection_rows(store)

    for projection in (EVENT_INDEX, PEOPLE):
        rebuild(store, [projection], workers=1)

    assert projection_rows(store) == live
    trail = [entry["type"] for entry in history(store, "p-5")]
    assert trail[0] == "PersonRecorded" and "PersonLinked" in trail


def test_a_rebuild_of_an_empty_log_leaves_empty_views(store: SyncLedger) -> None:
    assert rebuild(store, list(LIVE.values())) == 0
    assert all(rows == [] for rows in projection_rows(store).values())


def test_the_work_covers_every_aggregate_id_and_position_once() -> None:
    spans = id_spans()
    assert spans[0].low == "0" * 32 and spans[-1].high is None
    assert all(a.high == b.low for a, b in zip(spans, spans[1:], strict=False))
    shadows = [p.shadow() for p in LIVE.values()]
    ranges = [t for t in plan(shadows, 1001) if not hasattr(t, "low")]
    covered = [p for r in ranges for p in range(r.first, r.last + 1)]  # type: ignore[union-attr]
    assert covered == list(range(1, 1002))
    assert len(plan(shadows, 1001)) == len(spans) + len(ranges)


def _people(app: SyncLedger) -> list[dict[str, Any]]:
    with app.database.reader.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(PEOPLE.tables["people"])).mappings()]
