"""Properties of the people sync over random interleavings of CRM edits, app imports and
syncs, against one Salesforce emulator (reset per example) and a fresh store each time."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from emulated_world import EmulatedWorld
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.session import caught_up
from syncledger.commands.sync import RunReport, run_sync
from syncledger.emulator.server import RunningEmulator, running

ALICE = "005000000000001AAA"
USERS = [{"Id": ALICE, "FirstName": "Alice", "LastName": "A", "Email": "alice@team.example",
          "Username": "alice@crm", "IsActive": True}]
NAMES = st.sampled_from(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken"])

crm_edit = st.tuples(st.just("crm_edit"), st.integers(0, 4), NAMES)
crm_new = st.tuples(st.just("crm_new"), st.integers(0, 4), NAMES)
app_edit = st.tuples(st.just("app_edit"), st.integers(0, 4), NAMES)
sync = st.tuples(st.just("sync"), st.just(0), st.just(""))
tick = st.tuples(st.just("tick"), st.just(0), st.just(""))
activity = st.tuples(st.just("activity"), st.integers(0, 4), NAMES)
operations = st.lists(st.one_of(crm_edit, crm_new, app_edit, sync, tick, activity),
                      min_size=1, max_size=10)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running("salesforce", {"User": USERS}) as running_emulator:
        yield running_emulator


class World(EmulatedWorld):
    def __init__(self, emulator: RunningEmulator, directory: Path) -> None:
        super().__init__(emulator, directory, USERS, ALICE)
        self.imports = 0
        self.at = datetime(2026, 11, 21, tzinfo=UTC)

    def writes(self) -> int:
        calls = self.calls()
        return calls["collections"] + calls["sobject_write"]

    def apply(self, operation: tuple[str, int, str]) -> None:
        kind, n, name = operation
        if kind in ("crm_edit", "crm_new"):
            record = {"Id": f"003{n:012d}AAA", "LastName": name, "OwnerId": ALICE}
            if kind == "crm_new":
                record.update(FirstName=f"C{n}", Email=f"contact{n}@example.com")
            existing = {c["Id"] for c in self.dump().get("Contact", [])}
            if kind == "crm_edit" and record["Id"] not in existing:
                return
            self.admin("load", {"Contact": [record]})
        elif kind == "app_edit":
            self.imports += 1
            self.at += timedelta(minutes=1)
            path = self.directory / f"import-{self.imports}.jsonl"
            path.write_text(json.dumps({
                "kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
                "first_name": f"P{n}", "last_name": name, "account": "Acme",
                "owner": "tm-alice", "at": self.at.isoformat()}) + "\n")
            import_file(self.app, path, "tm-alice")
        elif kind == "activity":  # an email to person n; its id repeats, so it may change
            self.imports += 1
            self.at += timedelta(minutes=1)
            path = self.directory / f"import-{self.imports}.jsonl"
            path.write_text(json.dumps({
                "kind": "email", "id": f"e-{n}", "person": f"p-{n}", "subject": name,
                "body": f"About {name}", "at": self.at.isoformat()}) + "\n")
            import_file(self.app, path, "tm-alice")
        elif kind == "sync":
            self.sync()
        elif kind == "tick":
            self.admin("clock", {"advance": 600})

    def sync(self) -> RunReport:
        before = self.dump()
        report = run_sync(self.app, "tm-alice", datetime.now(UTC))
        assert report.outcome == "succeeded", report.errors
        # The run's counts (what the Logs show) are the CRM's actual changes.
        after = self.dump()
        for sobjects, kinds in ((("Contact", "Lead"), ("contacts", "leads")),
                                (("Task",), ("emails",))):
            created, updated = crm_changes(before, after, sobjects)
            assert sum(report.counts[k]["created"] for k in kinds) == created, kinds
            assert sum(report.counts[k]["updated"] for k in kinds) == updated, kinds
        return report


def crm_changes(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]],
                sobjects: tuple[str, ...]) -> tuple[int, int]:
    """(records created, records changed) in these objects between two dumps. The clock
    may stand still between them, so a change is told by the record's values, not its
    SystemModstamp."""
    created = updated = 0
    for sobject in sobjects:
        earlier = {r["Id"]: r for r in before.get(sobject, [])}
        for record in after.get(sobject, []):
            if record["Id"] not in earlier:
                created += 1
            elif record != earlier[record["Id"]]:
                updated += 1
    return created, updated


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations)
def test_syncs_converge_without_ping_pong_or_missed_changes(
        emulator: RunningEmulator, ops: list[tuple[str, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = World(emulator, Path(tmp))
        try:
            for operation in ops:
                world.apply(operation)
            world.sync()
            settled = world.writes()
            before = world.app.recorder.max_notification_id()
            quiet = world.sync()
            # A sync with nothing changed writes nothing to the CRM and records no change.
            assert world.writes() == settled
            assert quiet.counts["people"] == {"created": 0, "updated": 0, "skipped": 0,
                                              "failed": 0}
            new = world.app.recorder.select_notifications(start=before + 1, limit=1000)
            assert not [n.topic for n in new if "Person." in n.topic]
            # Both sides agree on every mapped field of every linked person.
            crm = {r["Id"]: r for objects in ("Contact", "Lead")
                   for r in world.dump().get(objects, []) if not r.get("IsDeleted")}
            people = views.people(caught_up(world.app), None)
            for person in people:
                for link in person["links"]:
                    record = crm[link["id"]]
                    assert (record.get("FirstName"), record["LastName"],
                            record["Email"].lower()) == (person["first_name"],
                                                         person["last_name"],
                                                         person["email"])
            # Every CRM contact became, or matched, a person: no change was missed.
            emails = {p["email"] for p in people}
            assert {r["Email"].lower() for r in crm.values()} <= emails
            # Each activity of a linked person is one Task, with its latest subject.
            tasks = [t for t in world.dump().get("Task", []) if not t.get("IsDeleted")]
            keys = [t["Syncledger_Key__c"] for t in tasks]
            assert len(keys) == len(set(keys))
            emailed = {op[1]: op[2] for op in ops if op[0] == "activity"}
            linked = {p["id"] for p in people if p["links"]}
            expected = {f"p-{n}": subject for n, subject in emailed.items()
                        if f"p-{n}" in linked}
            assert sorted(t["Subject"] for t in tasks) == sorted(expected.values())
        finally:
            world.close()
