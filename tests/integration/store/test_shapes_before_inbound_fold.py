"""A store written by the code before a new inbound person's link was folded into its
Person.Recorded (issue 22, "fewer events per record") reads the same.

tests/fixtures/shapes_before_inbound_fold/ holds a small SQLite store written by that code,
where a person made from a CRM record was recorded and then linked to it in two events
(Person.Recorded, then Person.Linked, with an Updated for its custom fields and another for
its opt-out between them, and its SequenceJoined after), and the fake CRM it synced with.
Today's code must rebuild the views from it, explain and show its people and their history,
a further sync over it must decide nothing new, and its second run must replay the same.

The fixture was made at commit 8fb5bd7 by running this module
(`PYTHONPATH=tests .venv/bin/python tests/integration/store/test_shapes_before_inbound_fold.py`);
run again, it would write today's shapes instead, so it is not to be regenerated."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_crm import ALICE, FakeCrm, connect_people_steps
from shape_stores import (
    ACTOR,
    BOB,
    USERS,
    as_json,
    copied,
    crm_from_json,
    expected_readings,
    import_lines,
    readings,
    save_fixture,
    store,
    sync_decides_nothing_new,
)

from syncledger.adapters.event_store import SyncLedger

FIXTURE = Path(__file__).parents[2] / "fixtures" / "shapes_before_inbound_fold"
# The key outside the store that wraps the fixture's person keys (a test key, nothing else).
KEY = "Zm9sZC1pbmJvdW5kLXRlc3Qta2V5LTAxMjM0NTY3ODk="
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@dataclass
class LightningCrm(FakeCrm):
    """Record URLs as the Salesforce gateway makes them, so that a run replayed (which
    links through that gateway) links to the very URLs the run recorded."""

    def record_url(self, stream: str, record_id: str) -> str:
        return f"{self.url}/lightning/r/{stream}/{record_id}/view"


def _configure(app: SyncLedger) -> None:
    """Contacts bring a custom field (Title as the person's `title`), and Bob's join a
    sequence: a new person's first events then hold more than its record and link. (Applied
    to the integration itself: `config apply` would read the fields of a live org.)"""
    from syncledger.adapters.aggregate_cache import AggregateCache
    from syncledger.domain.context import Context
    from syncledger.domain.ids import integration_id
    from syncledger.domain.steps import FieldMapping, SequenceMapping

    integration = AggregateCache(app).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = tuple(replace(step, field_mappings=(*step.field_mappings,
                                                FieldMapping("Title", "title")),
                          sequence_mappings=(SequenceMapping("tm-bob", "seq-1"),))
                  if step.name == "Contacts to People" else step for step in current.steps)
    settings = replace(current.settings, owner_match="email")  # Bob's records are tm-bob's
    integration.apply_configuration(replace(current, profile="custom", steps=steps,
                                            settings=settings), [],
                                    Context("config:test", ACTOR))
    app.save(integration)


def write_fixture(directory: Path) -> None:
    """The store and the CRM, as the code of the day writes them."""
    import os

    from syncledger.commands.forget import find_person_id, forget
    from syncledger.commands.sync import run_sync

    os.environ["SYNCLEDGER_KEY"] = KEY
    directory.mkdir(parents=True, exist_ok=True)
    crm = LightningCrm(users_by_id=dict(USERS))
    with store(directory / "store.db") as app:
        connect_people_steps(app, crm, ACTOR)
        import_lines(app, directory, "team.jsonl", [
            {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
            {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"},
            {"kind": "sequence", "id": "seq-1", "name": "Welcome",
             "steps": [{"number": 1, "delay_days": 0}]},
            # matched by email by a Contact: linked apart, before and after the fold
            {"kind": "person", "id": "p-9", "email": "person9@example.com",
             "first_name": "P9", "last_name": "Person9", "owner": "tm-alice"},
            # created as a Lead by the sync: linked when the create lands
            {"kind": "person", "id": "p-8", "email": "person8@example.com",
             "first_name": "P8", "last_name": "Person8", "account": "Acct8",
             "owner": "tm-alice"}])
        _configure(app)
        plain = crm.add("Contact", ALICE, FirstName="Ada", LastName="Byron",
                        Email="ada@example.com")
        crm.add("Contact", ALICE, FirstName="Grace", LastName="Hopper",
                Email="grace@example.com", Title="Rear Admiral")
        crm.add("Contact", ALICE, FirstName="Alan", LastName="Turing",
                Email="alan@example.com", HasOptedOutOfEmail=True)
        bobs = crm.add("Contact", BOB, FirstName="Edsger", LastName="Dijkstra",
                       Email="edsger@example.com")
        crm.add("Contact", ALICE, FirstName="P9", LastName="Crm9", Email="person9@example.com")
        crm.add("Lead", ALICE, FirstName="Ada", LastName="Lead", Email="ada@example.com",
                Company="Co1")  # the Contact wins the email: skipped
        crm.add("Lead", ALICE, FirstName="Barbara", LastName="Liskov",
                Email="barbara@example.com", Company="MIT")
        run_sync(app, ACTOR, NOW, gateway=crm)
        crm.advance(minutes=10)
        crm.edit("Contact", plain, LastName="Lovelace")
        crm.delete("Contact", bobs)
        # New in the second run, the one replayed: custom field and opt-out together.
        crm.add("Contact", BOB, FirstName="Frances", LastName="Allen",
                Email="frances@example.com", Title="Fellow", HasOptedOutOfEmail=True)
        crm.add("Contact", ALICE, FirstName="John", LastName="Backus",
                Email="john@example.com")
        run_sync(app, ACTOR, NOW, gateway=crm)
        crm.advance(minutes=10)
        forget(app, find_person_id(app, "alan@example.com"), ACTOR)
        expected = readings(app)
    save_fixture(directory, expected, crm)


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copied(FIXTURE, tmp_path, monkeypatch, KEY)


def test_the_store_rebuilt_reads_as_it_did(old_store: Path) -> None:
    from syncledger.commands import views

    expected = expected_readings(FIXTURE)
    with store(old_store) as app:
        views.rebuild(app, None, lambda _: None)
        found = as_json(readings(app))
    for part in ("people", "shown", "history", "explained", "views"):
        assert found[part] == expected[part], part


def test_its_people_made_from_records_are_linked_to_them(old_store: Path) -> None:
    with store(old_store) as app:
        found = as_json(readings(app))
    links = {person["id"]: [(link["object"], link["id"], link["deleted"])
                            for link in person["links"]] for person in found["people"]}
    assert all(links.values()), links
    assert ("Contact", "003000000000004AAA", True) in links["sf-contact-003000000000004AAA"]


def test_a_further_sync_over_it_decides_nothing_new(old_store: Path) -> None:
    sync_decides_nothing_new(old_store, crm_from_json(
        json.loads((FIXTURE / "crm.json").read_text()), LightningCrm(users_by_id=dict(USERS))),
        NOW)


def test_its_second_run_replays_the_same(old_store: Path) -> None:
    """The second run made two people from new Contacts in the shapes of the day; decided
    again, today's code records what it records, and `replay --run` finds it the same.
    (The first run is not replayed: it made the person forgotten since, and a forgotten
    person's key encrypts nothing again.)"""
    from syncledger.commands import views
    from syncledger.commands.replay_run import replay_run

    with store(old_store) as app:
        runs = [run["run_id"] for run in views.logs(app, None)]  # newest first
        result = replay_run(app, runs[0])
    assert result.same and result.differences == [], result.differences
    assert result.counts["recorded"] == result.counts["now"]


def test_its_story_told_again_today_reads_the_same_without_a_linked_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code, over the same story: the same people, records and explanations; each
    person made from a record has its link in its Recorded, with no Linked of its own."""
    monkeypatch.setenv("SYNCLEDGER_KEY", KEY)
    write_fixture(tmp_path)
    expected = expected_readings(FIXTURE)
    with store(tmp_path / "store.db") as app:
        found = as_json(readings(app))
    assert found["people"] == expected["people"]
    assert found["shown"] == expected["shown"]
    assert found["views"]["crm_records"] == expected["views"]["crm_records"]
    for key, fields in expected["explained"].items():
        for field, steps in fields.items():
            # the same values, in the same words (the causes name other runs)
            assert [s[1:2] + s[3:] for s in found["explained"][key][field]] == \
                [s[1:2] + s[3:] for s in steps], (key, field)
    for key, trail in expected["history"].items():
        made_here = key.startswith("sf-")  # made from a record: linked by its Recorded
        assert [e[0] for e in found["history"][key]] == [
            e[0] for e in trail if not (made_here and e[0] == "PersonLinked")], key


if __name__ == "__main__":
    write_fixture(FIXTURE)
