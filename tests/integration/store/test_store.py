"""The event store on SQLite and PostgreSQL: import, seals, encryption at rest, retries."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import text

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.person_keys import KeyConflict
from syncledger.adapters.sqlite_recorder import WAL_CHECKPOINT_PAGES
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.import_format import ImportLineError
from syncledger.commands.session import caught_up, open_store
from syncledger.domain.app_records import TeamMember
from syncledger.domain.context import Context
from syncledger.domain.ids import team_member_id
from syncledger.replay.verify import verify

CTX = Context(cause="test", actor="tm-test")


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"First{n}", "last_name": f"Last{n}", "owner": "tm-alice", **extra}


def event_count(app: SyncLedger) -> int:
    return app.recorder.max_notification_id() or 0


def test_import_records_people_and_a_second_import_records_nothing(
        store: SyncLedger, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "app.jsonl", [
        {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        person(1), person(2, fields={"title": "CTO"}),
        {"kind": "email", "id": "e-1", "person": "p-1", "subject": "Hi", "body": "Hello"},
    ])
    summary = import_file(store, data, "tm-alice")
    assert summary.recorded == {"team_member": 1, "person": 2, "email": 1}
    before = event_count(store)
    again = import_file(store, data, "tm-alice")
    assert again.already_imported
    assert event_count(store) == before
    people = views.people(caught_up(store), None)
    assert [p["id"] for p in people] == ["p-1", "p-2"]
    assert people[1]["fields"] == {"title": "CTO"}


def test_the_same_lines_in_another_file_record_nothing_new(store: SyncLedger,
                                                           tmp_path: Path) -> None:
    import_file(store, write_lines(tmp_path / "a.jsonl", [person(1), person(2)]), "system")
    before = event_count(store)
    other = write_lines(tmp_path / "b.jsonl", [person(2), person(1)])
    summary = import_file(store, other, "system")
    assert summary.recorded == {}
    assert event_count(store) == before


def test_an_invalid_line_names_file_and_line_and_records_nothing(store: SyncLedger,
                                                                 tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps(person(1)) + "\n" + '{"kind": "person", "id": "p-2"}\n')
    with pytest.raises(ImportLineError, match=r"bad.jsonl:2: email"):
        import_file(store, data, "system")
    assert event_count(store) == 0


def test_a_second_person_with_a_taken_email_is_skipped_naming_the_holder(
        store: SyncLedger, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "dup.jsonl", [
        person(1), {**person(2), "email": "PERSON1@example.com"}])
    summary = import_file(store, data, "system")
    # The reason is kept in the log in the clear, so it names the holder, not the email.
    assert summary.skipped == [{"line": 2, "reason": "email already belongs to person p-1"}]
    assert len(views.people(caught_up(store), None)) == 1


def test_an_import_cut_off_by_a_crash_is_finished_by_running_it_again(
        store: SyncLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("syncledger.commands.app_import.LINES_PER_BATCH", 2)
    data = write_lines(tmp_path / "app.jsonl", [person(n) for n in range(1, 6)])

    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(store, data, "system", progress=crash)
    assert len(views.people(caught_up(store), None)) == 2
    summary = import_file(store, data, "system")
    assert not summary.already_imported
    assert summary.recorded == {"person": 3}
    assert len(views.people(caught_up(store), None)) == 5
    assert import_file(store, data, "system").already_imported


def test_every_event_is_sealed_and_the_chain_verifies(store: SyncLedger,
                                                      tmp_path: Path) -> None:
    import_file(store, write_lines(tmp_path / "a.jsonl", [person(n) for n in range(30)]),
                "system")
    import_file(store, write_lines(tmp_path / "b.jsonl", [person(1, first_name="Changed")]),
                "system")
    result = verify(store)
    assert result.broken is None
    assert result.events == event_count(store) - result.seals
    assert result.seals == 4  # each import: one batch save, then its completion
    assert result.head == store.ledger_head()[1]


def test_a_writer_that_loses_a_race_retries_its_command_on_fresh_state(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        first.save(TeamMember.record("tm-a", {"name": "A"}, datetime.now(UTC), CTX))
        attempts = []

        def command() -> None:
            attempts.append(1)
            member = second.repository.get(team_member_id("tm-a"))
            member.change({"name": f"B{len(attempts)}"}, datetime.now(UTC), CTX)
            if len(attempts) == 1:  # another writer changes the same record in between
                theirs = first.repository.get(team_member_id("tm-a"))
                theirs.change({"name": "Theirs"}, datetime.now(UTC), CTX)
                first.save(theirs)
            second.save(member)

        second.decide(command)
        assert len(attempts) == 2
        assert first.repository.get(team_member_id("tm-a")).version == 3
        assert verify(first).broken is None
    finally:
        for app in (first, second):
            app.close()
            app.database.dispose()


def test_a_command_runs_with_the_cycle_collector_paused_and_it_runs_again_after(
        store: SyncLedger) -> None:
    # A batch's aggregates and events are freed by reference counting; the collector
    # walking them while they are built cost a sixth of an inbound sync.
    assert gc.isenabled()
    assert store.decide(gc.isenabled) is False
    assert gc.isenabled()

    def failing() -> None:
        assert not gc.isenabled()
        raise ValueError("a command that fails")

    with pytest.raises(ValueError, match="a command that fails"):
        store.decide(failing)
    assert gc.isenabled()


def test_a_stale_seal_head_is_refused_by_the_store(store: SyncLedger) -> None:
    store.save(TeamMember.record("tm-a", {"name": "A"}, datetime.now(UTC), CTX))
    version, head = store.ledger_head()
    store.ledger_head = lambda: (version - 1, head)  # type: ignore[method-assign]
    with pytest.raises(IntegrityError):
        store.save(TeamMember.record("tm-b", {"name": "B"}, datetime.now(UTC), CTX))


def test_a_key_another_writer_created_first_is_learnt_and_none_of_ours_is_kept(
        store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        taken, fresh = uuid4(), uuid4()
        theirs = first.keys.key_for(taken, create=True)
        first.keys.flush()
        second.keys.key_for(taken, create=True)
        second.keys.key_for(fresh, create=True)
        with pytest.raises(KeyConflict):
            second.keys.flush()
        assert second.keys.key_for(taken, create=True) == theirs
        assert first.keys.key_for(fresh, create=False) is None
    finally:
        for app in (first, second):
            app.close()
            app.database.dispose()


def test_history_is_oldest_first_with_position_time_type_cause_actor_and_data(
        store: SyncLedger, tmp_path: Path) -> None:
    import_file(store, write_lines(tmp_path / "a.jsonl", [person(1)]), "tm-alice")
    import_file(store, write_lines(tmp_path / "b.jsonl", [
        {**person(1), "owner": "tm-bob", "at": "2030-01-01T00:00:00Z"}]), "tm-bob")
    entries = views.history(caught_up(store), "PERSON1@example.com")
    assert [e["type"] for e in entries] == ["PersonRecorded", "EmailClaimClaimed",
                                            "PersonOwnerReassigned"]
    assert entries == sorted(entries, key=lambda e: e["position"])
    assert set(entries[0]) == {"position", "time", "type", "cause", "actor", "data"}
    assert entries[2]["actor"] == "tm-bob"
    assert entries[2]["data"]["previous"] == "tm-alice"
    assert views.history(store, "p-1") == entries


def test_personal_data_is_never_stored_in_the_clear(sqlite_url: str, tmp_path: Path) -> None:
    app = open_store(sqlite_url)
    try:
        import_file(app, write_lines(tmp_path / "a.jsonl", [
            person(1, first_name="Zebediah", fields={"title": "Quartermaster"}),
            {"kind": "email", "id": "e-1", "person": "p-1", "subject": "Xylophone",
             "body": "Marmalade"}]), "system")
        states = b"".join(row.state for row in app.recorder.select_notifications(1, 1000))
    finally:
        app.close()
        app.database.dispose()
    for secret in (b"Zebediah", b"Quartermaster", b"person1@example.com", b"Xylophone",
                   b"Marmalade"):
        assert secret not in states


def test_a_seal_whose_fields_were_renamed_is_reported_not_crashed(sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    import sqlite3

    app = open_store(sqlite_url)
    try:
        import_file(app, write_lines(tmp_path / "a.jsonl", [person(1)]), "system")
        database = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        with database:
            database.execute("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT),"
                             " '\"head\"', '\"hexd\"') AS BLOB) WHERE topic LIKE '%LogSealed'")
        database.close()
        result = verify(app)
        assert result.broken is not None and "fields were altered" in result.broken
    finally:
        app.close()
        app.database.dispose()


def test_sqlite_checkpoints_the_log_after_many_saves_not_each(sqlite_store: SyncLedger) -> None:
    sqlite_store.save(TeamMember.record("tm-ada", {"email": "ada@team.example"},
                                        datetime(2026, 11, 1, tzinfo=UTC), CTX))
    with sqlite_store.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore
        cursor.execute("PRAGMA wal_autocheckpoint")
        (events_connection,) = cursor.fetchone()
    with sqlite_store.database.writer.connect() as connection:
        views_connection = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    assert events_connection == views_connection == WAL_CHECKPOINT_PAGES
