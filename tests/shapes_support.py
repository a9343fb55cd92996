"""What the tests of stores written by older code share (tests/integration/store/
test_old_event_shapes.py, test_shapes_before_outbound_fold.py): the fake CRM kept beside a
fixture store as JSON, the connection and imports that wrote it, and what the views, `people
show`, `history` and `explain` say of a store, to compare before and after.

Imports of syncledger are made inside the functions: the fixture modules run as scripts too
(to write a fixture), before pytest has put the package on the path."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The key outside the store that wraps the fixtures' person keys (a test key, nothing else).
KEY = "kP8kPq0m1b0eQj3b3yL4oW0xq7pVh2cU9m8nT6rY5sE="
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BOB = "005000000000002AAA"
ACTOR = "tm-alice"
EXPLAINED = ("email", "first_name", "last_name", "owner")
RECORD_EVENTS = ("Person.", "Contact.", "Lead.", "EmailClaim.")


def crm_to_json(crm: Any) -> dict[str, Any]:
    return {"now": crm.now.isoformat(), "made": crm._made,
            "records": {stream: [asdict(r) for r in records.values()]
                        for stream, records in crm.records.items()}}


def crm_from_json(data: dict[str, Any]) -> Any:
    from fake_crm import ALICE, FakeCrm, FakeRecord

    crm = FakeCrm(users_by_id={ALICE: "alice@team.example", BOB: "bob@team.example"})
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


def connect(app: Any, crm: Any) -> None:
    """Salesforce connected with its people steps on, and nothing else."""
    from fake_crm import ALICE

    from syncledger.adapters.aggregate_cache import AggregateCache
    from syncledger.commands.connect import Connection, record_connection
    from syncledger.domain.context import Context
    from syncledger.domain.ids import integration_id

    record_connection(app, Connection(
        crm="salesforce", org_id="00D000000000001AAA", org_name="Fake",
        environment="production", instance_url=crm.url, user_id=ALICE,
        user_email="alice@team.example", missing_keys=[]), ACTOR)
    ctx = Context("config:test", ACTOR)
    integration = AggregateCache(app).find(integration_id("salesforce"))
    integration.switch(True, ctx)
    for step in integration.steps():
        if not step.is_people:
            integration.switch_step(step.name, False, ctx)
    app.save(integration)


def import_lines(app: Any, directory: Path, name: str, lines: list[dict[str, Any]]) -> None:
    from syncledger.commands.app_import import import_file

    path = directory / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    import_file(app, path, ACTOR)
    path.unlink()


def readings(app: Any, explained: Iterable[str] = EXPLAINED) -> dict[str, Any]:
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


def open_store(path: Path) -> Any:
    from syncledger.commands.session import store_session

    return store_session(f"sqlite:///{path}")


def record_events(app: Any, after: int) -> list[str]:
    """The names of the people's, records' and claims' events after position `after`."""
    return [n.topic.partition(":")[2] for n in app.recorder.select_notifications(
        start=after + 1, limit=10_000)
        if n.topic.partition(":")[2].startswith(RECORD_EVENTS)]
