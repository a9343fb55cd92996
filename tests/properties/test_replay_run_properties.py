"""Properties over random histories of imports, CRM changes against the emulator (records
created, edited, deleted, converted), app edits with statuses, activities, a step reset by a
configuration change, and syncs:

- a run replayed with unchanged code reports no difference, and the replay calls no CRM and
  appends nothing to the log;
- a rebuild of every projection equals the live projections;
- a replay to the position where any operation of the history ended equals the live
  projections as they stood then."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from emulated_world import EmulatedWorld
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection_dump import projection_rows

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.configure import apply_configuration
from syncledger.commands.replay_run import replay_run
from syncledger.commands.session import caught_up, open_store
from syncledger.commands.sync import run_sync
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import SequenceMapping
from syncledger.emulator.server import RunningEmulator, running
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE
from syncledger.replay.point_in_time import point_at_position, replay_into

ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
USERS = [{"Id": user, "FirstName": name, "LastName": "X", "Email": f"{name.lower()}@team.example",
          "Username": f"{name.lower()}@crm", "IsActive": True}
         for user, name in ((ALICE, "Alice"), (BOB, "Bob"))]
NAMES = st.sampled_from(["Ada", "Grace", "Alan", "Ken"])
N = st.integers(0, 3)

operations = st.lists(st.one_of(
    st.tuples(st.sampled_from(["contact", "lead", "crm_edit", "crm_delete", "convert",
                               "app_edit", "activity"]), N, NAMES),
    st.tuples(st.sampled_from(["sync", "tick", "reconfigure"]), st.just(0), st.just(""))),
    min_size=1, max_size=8)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running("salesforce", {"User": USERS}) as running_emulator:
        yield running_emulator


class History(EmulatedWorld):
    """One store and the emulator, driven through our own handlers."""

    def __init__(self, emulator: RunningEmulator, directory: Path) -> None:
        super().__init__(emulator, directory, USERS, ALICE)
        self.at = datetime(2026, 11, 21, tzinfo=UTC)
        self.imports = 0
        self.crm: set[str] = set()
        self.lines([{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
                    {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"},
                    {"kind": "sequence", "id": "seq-1", "name": "S",
                     "steps": [{"number": 1, "delay_days": 0}]}])

    def lines(self, lines: list[dict[str, Any]]) -> None:
        self.imports += 1
        path = self.directory / f"import-{self.imports}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        import_file(self.app, path, "tm-alice")

    def apply(self, kind: str, n: int, name: str) -> None:
        self.at += timedelta(minutes=1)
        if kind == "contact":
            self.load("Contact", f"003{n:012d}AAA", {"FirstName": name, "LastName": name,
                                                    "Email": f"c{n}@example.com",
                                                    "OwnerId": (ALICE, BOB)[n % 2]})
        elif kind == "lead":  # lead n shares its email with person n
            self.load("Lead", f"00Q{n:012d}AAA", {"LastName": name, "Company": "Co",
                                                  "Email": f"p{n}@example.com",
                                                  "OwnerId": ALICE})
        elif kind == "crm_edit" and f"003{n:012d}AAA" in self.crm:
            self.load("Contact", f"003{n:012d}AAA", {"LastName": f"{name}-{n}"})
        elif kind == "crm_delete" and f"003{n:012d}AAA" in self.crm:
            self.crm.discard(f"003{n:012d}AAA")
            self.session.delete(f"{self.emulator.url}/services/data/v59.0/sobjects/Contact/"
                                f"003{n:012d}AAA").raise_for_status()
        elif kind == "convert" and f"00Q{n:012d}AAA" in self.crm:
            self.crm.discard(f"00Q{n:012d}AAA")
            self.admin("convert", {"lead_id": f"00Q{n:012d}AAA"})
        elif kind == "reconfigure":  # a changed step decides all it covers again
            integration = AggregateCache(self.app).find(integration_id("salesforce"))
            current = integration.configuration()
            steps = tuple(replace(s, sequence_mappings=() if s.sequence_mappings else (
                SequenceMapping("*", "seq-1"),)) if s.name == "Contacts to People" else s
                for s in current.steps)
            apply_configuration(self.app, replace(current, profile="custom", steps=steps),
                                "tm-alice", "test")
        elif kind == "app_edit":
            self.lines([{"kind": "person", "id": f"p-{n}", "email": f"p{n}@example.com",
                         "last_name": name, "account": "Acme" if n else None,
                         "owner": ("tm-alice", "tm-bob")[n % 2],
                         "status": "Working - Contacted" if name == "Ada" else None,
                         "at": self.at.isoformat()}])
        elif kind == "activity":
            self.lines([{"kind": "email", "id": f"e-{n}", "person": f"p-{n}",
                         "subject": name, "body": f"About {name}", "at": self.at.isoformat()}])
        elif kind == "sync":
            assert run_sync(self.app, "tm-alice", self.at).outcome == "succeeded"
        elif kind == "tick":
            self.admin("clock", {"advance": 600})

    def load(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        self.crm.add(record_id)
        self.admin("load", {sobject: [{"Id": record_id, **fields}]})


@settings(max_examples=10, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations)
def test_a_run_replayed_with_unchanged_code_reports_no_difference(
        emulator: RunningEmulator, ops: list[tuple[str, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = History(emulator, Path(tmp))
        try:
            for operation in [*ops, ("sync", 0, "")]:
                history.apply(*operation)
            calls = history.calls()
            head = history.app.recorder.max_notification_id()
            for run in views.logs(caught_up(history.app), None):
                result = replay_run(history.app, run["run_id"])
                assert result.differences == [], result.differences
                assert result.same, result.to_json()
                assert result.not_replayed == []
            assert history.calls() == calls
            assert history.app.recorder.max_notification_id() == head
        finally:
            history.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations, st.data())
def test_a_rebuild_and_a_replay_to_any_operation_equal_the_live_views(
        emulator: RunningEmulator, ops: list[tuple[str, int, str]],
        data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = History(emulator, Path(tmp))
        try:
            states = {}  # log position after an operation -> the live views then
            for operation in [*ops, ("sync", 0, "")]:
                history.apply(*operation)
                head = history.app.recorder.max_notification_id() or 0
                states[head] = projection_rows(history.app)
            position = data.draw(st.sampled_from(sorted(states)), label="position")
            target = open_store(f"sqlite:///{Path(tmp) / 'replayed.db'}")
            try:
                replay_into(history.app, target, point_at_position(history.app, position))
                assert projection_rows(target) == states[position]
            finally:
                target.close()
                target.database.dispose()
            live = projection_rows(history.app)
            rebuild(history.app, list(LIVE.values()))
            assert projection_rows(history.app) == live
        finally:
            history.close()
