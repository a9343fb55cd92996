"""Stores written by an older version of the code, kept as fixtures (tests/fixtures/...), and
what today's code must read from them the same: the helpers their tests share.

A fixture is a small SQLite store, the fake CRM it synced with (`crm.json`) and what the
views, `people show`, `history` and `explain` said of it when it was written
(`expected.json`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_crm import ALICE, FakeCrm, FakeRecord

from syncledger.adapters.event_store import SyncLedger

# The key outside the store that wraps the fixtures' person keys (a test key, nothing else).
KEY = "kP8kPq0m1b0eQj3b3yL4oW0xq7pVh2cU9m8nT6rY5sE="
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BOB = "005000000000002AAA"
ACTOR = "tm-alice"
USERS = {ALICE: "alice@team.example", BOB: "bob@team.example"}
EXPLAINED = ("email", "first_name", "last_name", "owner")
RECORD_EVENTS = ("Person.", "Contact.", "Lead.", "EmailClaim.")


def crm_to_json(crm: FakeCrm) -> dict[str, Any]:
    return {"now": crm.now.isoformat(), "made": crm._made,
            "records": {stream: [asdict(r) for r in records.values()]
                        for stream, records in crm.records.items()}}


def crm_from_json(data: dict[str, Any], crm: FakeCrm | None = None) -> FakeCrm:
    """The CRM as saved, into `crm` when given (a fake of another shape)."""
    crm = crm if crm is not None else FakeCrm(users_by_id=dict(USERS))
    crm.now = datetime.fromisoformat(data["now"])
    crm._made = data["made"]
    for stream, records in data["records"].items():
        for record in records:
            if record.get("converted") is not None:
                record["converted"] = tuple(record["converted"])
            crm.records[stream][record["id"]] = FakeRecord(**record)
            if record["key"] is not None:  # what an upsert on the key field finds
                crm._keys[(stream, record["key"])] = record["id"]
    return crm


def import_lines(app: SyncLedger, directory: Path, name: str,
                 lines: list[dict[str, Any]]) -> None:
    """The lines imported as the app's file `name` (left in `directory`)."""
    from syncledger.commands.app_import import import_file

    path = directory / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    import_file(app, path, ACTOR)


def readings(app: SyncLedger, explained: Iterable[str] = EXPLAINED) -> dict[str, Any]:
    """What the views, `people show`, `history` and `explain` say of the store."""
    from projection_dump import projection_rows

    from syncledger.commands import views
    from syncledger.commands.session import caught_up
    from syncledger.replay.explain import explain

    caught_up(app)
    people = views.people(app, None)
    found: dict[str, Any] = {"views": projection_rows(app), "people": people,
                             "shown": {}, "history": {}, "explained": {}}
    for person in people:
        key = person["id"]
        found["shown"][key] = views.person(app, key)
        found["history"][key] = [[e["type"], e["cause"], e["actor"]]
                                 for e in views.history(app, key)]
        found["explained"][key] = {
            field: [[s.type, s.value, s.cause, s.text] for s in explain(app, key, field).steps]
            for field in explained}
    return found


def as_json(found: dict[str, Any]) -> dict[str, Any]:
    """As it reads back from expected.json."""
    loaded: dict[str, Any] = json.loads(json.dumps(found, sort_keys=True))
    return loaded


def store(path: Path) -> AbstractContextManager[SyncLedger]:
    from syncledger.commands.session import store_session

    return store_session(f"sqlite:///{path}")


def record_events(app: SyncLedger, after: int) -> list[str]:
    """The names of the people's, records' and claims' events after position `after`."""
    return [n.topic.partition(":")[2] for n in app.recorder.select_notifications(
        start=after + 1, limit=10_000)
        if n.topic.partition(":")[2].startswith(RECORD_EVENTS)]


def copied(fixture: Path, directory: Path, monkeypatch: pytest.MonkeyPatch,
           key: str = KEY) -> Path:
    """The fixture's store, copied for a test to open, the key that opens it set."""
    monkeypatch.setenv("SYNCLEDGER_KEY", key)
    shutil.copy(fixture / "store.db", directory / "store.db")
    return directory / "store.db"


def expected_readings(fixture: Path) -> dict[str, Any]:
    """What the store's readings were when the fixture was written."""
    loaded: dict[str, Any] = json.loads((fixture / "expected.json").read_text())
    return loaded


def sync_decides_nothing_new(path: Path, crm: FakeCrm, now: datetime) -> None:
    """A further sync over the store, with the CRM as it was left, records nothing about
    people, records or claims, counts nothing created or updated, and sends nothing."""
    from syncledger.commands.sync import run_sync

    with store(path) as app:
        head = app.recorder.max_notification_id() or 0
        report = run_sync(app, ACTOR, now, gateway=crm)
        assert report.outcome == "succeeded", report.errors
        assert {kind: (counts["created"], counts["updated"])
                for kind, counts in report.counts.items()} == {
            kind: (0, 0) for kind in report.counts}
        assert record_events(app, head) == []
    assert crm.sent == []


def save_fixture(directory: Path, expected: dict[str, Any], crm: FakeCrm) -> None:
    """Beside the fixture's store: what it read as (`expected.json`) and the CRM it synced
    with (`crm.json`); the files a writing leaves that are not the store's (imports, the
    run lock's) removed."""
    (directory / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True)
                                             + "\n")
    (directory / "crm.json").write_text(json.dumps(crm_to_json(crm), indent=1) + "\n")
    for leftover in [*directory.glob("*.jsonl"), *directory.glob("store.db.run-*")]:
        leftover.unlink()
