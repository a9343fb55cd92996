"""A store written by the code before the outbound fold (issue 22) reads the same.

Until then a record the sync created in the CRM cost its mirror three events after the call
(Discovered, Written, PersonLinked). tests/fixtures/shapes_before_outbound_fold/ holds a
small SQLite store written by that code, with the fake CRM it synced with: Leads created for
new app people, one of them renamed in the CRM and another's person changed in the app
afterwards, a person created in a later run (and forgotten since), and a create whose answer
was lost, whose Lead the next run found. Today's code must rebuild the views
from it, show and explain its people and their history alike, a further sync over it must
decide nothing new, and its runs must replay the same.

The fixture was made by running this module (`PYTHONPATH=tests .venv/bin/python
tests/integration/store/test_shapes_before_outbound_fold.py`) at commit 8fb5bd7; run again,
it would write today's shapes instead, so it is not to be regenerated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shape_stores import (
    ACTOR,
    BOB,
    KEY,
    NOW,
    copied,
    crm_from_json,
    expected_readings,
    import_lines,
    readings,
    record_events,
    save_fixture,
    store,
    sync_decides_nothing_new,
)

FIXTURE = Path(__file__).parents[2] / "fixtures" / "shapes_before_outbound_fold"
EXPLAINED = ("email", "first_name", "last_name", "account", "owner")


def person(n: int, **values: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "account": f"Acct{n}",
            "owner": "tm-alice", **values}


def write_story(app: Any, crm: Any, directory: Path) -> None:
    """The runs the fixture records, as the code of the day decides and writes them."""
    from fake_crm import ALICE, connect_people_steps

    from syncledger.commands.forget import find_person_id, forget
    from syncledger.commands.sync import run_sync

    connect_people_steps(app, crm, ACTOR)
    import_lines(app, directory, "first.jsonl", [
        {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"},
        person(1), person(2, owner="tm-bob"), person(3), person(4, account=None)])
    # p-4's email is a Contact's already: linked, never created.
    crm.add("Contact", ALICE, FirstName="P4", LastName="Crm4", Email="person4@example.com")
    _succeeded(run_sync(app, ACTOR, NOW, gateway=crm))

    crm.advance(minutes=10)
    (lead_1,) = crm.by_email("Lead", "person1@example.com")
    crm.edit("Lead", lead_1.id, LastName="Renamed")
    import_lines(app, directory, "second.jsonl", [
        {**person(2, owner="tm-bob"), "first_name": "Changed", "at": "2030-01-01T00:00:00Z"},
        person(5)])
    _succeeded(run_sync(app, ACTOR, NOW, gateway=crm))
    crm.advance(minutes=10)

    # A create that landed but whose answer was lost; the next run reconciles it.
    import_lines(app, directory, "third.jsonl", [person(6)])
    crm.fail_next(1, retryable=True, landed=True)
    run_sync(app, ACTOR, NOW, gateway=crm)
    crm.advance(minutes=10)
    _succeeded(run_sync(app, ACTOR, NOW, gateway=crm))
    crm.advance(minutes=10)
    # Forgotten last: the runs that never touched p-5's records (the first and the last)
    # can be decided again.
    forget(app, find_person_id(app, "person5@example.com"), ACTOR)


def _succeeded(report: Any) -> None:
    assert report.outcome == "succeeded", report.errors


def write_fixture(directory: Path) -> None:
    """The store and the CRM, as the code of the day writes them."""
    import os

    from fake_crm import ALICE, FakeCrm

    os.environ["SYNCLEDGER_KEY"] = KEY
    directory.mkdir(parents=True, exist_ok=True)
    crm = FakeCrm(users_by_id={ALICE: "alice@team.example", BOB: "bob@team.example"})
    with store(directory / "store.db") as app:
        write_story(app, crm, directory)
        expected = readings(app, EXPLAINED)
    save_fixture(directory, expected, crm)


if __name__ == "__main__":
    write_fixture(FIXTURE)


@pytest.fixture
def before_fold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copied(FIXTURE, tmp_path, monkeypatch)


def test_the_fixture_holds_outbound_creates_in_the_shapes_before_the_fold(
        before_fold: Path) -> None:
    with store(before_fold) as app:
        topics = record_events(app, 0)
    # Four creates answered (p-1, p-2, p-3, p-5): each Discovered, Written, PersonLinked
    # apart; p-6's lost answer left its Lead to the next run's pull, which found it.
    assert topics.count("Person.CrmCreateRequested") == 5
    assert topics.count("Lead.PersonLinked") == 4
    assert topics.count("Lead.Discovered") == 5
    assert topics.count("Lead.Written") == 5  # the four creates, and p-2's update


def test_the_store_rebuilt_reads_as_it_did(before_fold: Path) -> None:
    from syncledger.commands import views

    expected = expected_readings(FIXTURE)
    with store(before_fold) as app:
        views.rebuild(app, None, lambda _: None)
        found = json.loads(json.dumps(readings(app, EXPLAINED), sort_keys=True))
    for part in ("people", "shown", "history", "explained", "views"):
        assert found[part] == expected[part], part


def test_a_created_persons_history_and_explanations_say_what_the_run_did(
        before_fold: Path) -> None:
    expected = expected_readings(FIXTURE)
    with store(before_fold) as app:
        found = json.loads(json.dumps(readings(app, EXPLAINED), sort_keys=True))
    assert found["history"] == expected["history"]
    assert found["explained"] == expected["explained"]
    created_by = found["history"]["p-1"][2][1]
    assert found["history"]["p-1"][2:4] == [["PersonCrmCreateRequested", created_by, ACTOR],
                                            ["PersonLinked", created_by, ACTOR]]
    written = found["explained"]["p-1"]["account"][2]
    assert written[1:] == ["Acct1", created_by,
                           "'Acct1' was written to salesforce Lead 00Q000000000002AAA"]


def test_a_further_sync_over_it_decides_nothing_new(before_fold: Path) -> None:
    sync_decides_nothing_new(before_fold, crm_from_json(
        json.loads((FIXTURE / "crm.json").read_text())), NOW)


def test_its_runs_replay_the_same(before_fold: Path) -> None:
    """The first run (its creates) and the last decided again by today's code record what
    they recorded. Only the record URLs of the links made differ, as they always have: the
    fake CRM's URLs are not the lightning URLs of the replay's Salesforce gateway. (The
    second and third runs created and observed p-5's Lead, whose person was forgotten since:
    a forgotten person's key encrypts nothing again.)"""
    from syncledger.commands import views
    from syncledger.commands.replay_run import replay_run

    with store(before_fold) as app:
        runs = [run["run_id"] for run in views.logs(app, None)]  # newest first
        results = [replay_run(app, run) for run in (runs[-1], runs[0])]
    for result in results:
        assert result.counts["recorded"] == result.counts["now"]
        for difference in result.differences:
            assert difference["changes"] == {}, difference
            assert difference["recorded"]["events"] == difference["now"]["events"]
            # The created Leads' own facts compare equal: only their people's links differ.
            assert all(name.startswith("Person.") for name in difference["now"]["events"])


def test_the_story_told_today_costs_a_created_person_three_events_and_reads_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture's runs again with today's code: each Lead created for a person is one
    Discovered, and the people, their records, histories and explanations are as before
    (only the types of the events that say so differ: a LeadWritten of a create is its
    Lead's Discovered now, in the same words; and the runs' ids)."""
    from fake_crm import ALICE, FakeCrm

    monkeypatch.setenv("SYNCLEDGER_KEY", KEY)
    crm = FakeCrm(users_by_id={ALICE: "alice@team.example", BOB: "bob@team.example"})
    with store(tmp_path / "store.db") as app:
        write_story(app, crm, tmp_path)
        found = json.loads(json.dumps(readings(app, EXPLAINED), sort_keys=True))
        topics = record_events(app, 0)
    expected = expected_readings(FIXTURE)
    assert found["people"] == expected["people"]
    assert found["shown"] == expected["shown"]
    assert found["views"]["crm_records"] == expected["views"]["crm_records"]
    assert {key: [[kind, actor] for kind, _, actor in trail]
            for key, trail in found["history"].items()} == {
        key: [[kind, actor] for kind, _, actor in trail]
        for key, trail in expected["history"].items()}
    retyped = []
    for key, fields in expected["explained"].items():
        for field, steps in fields.items():
            now = found["explained"][key][field]
            assert [s[1:2] + s[3:] for s in now] == [s[1:2] + s[3:] for s in steps], \
                (key, field)
            retyped += [(was[0], then[0]) for was, then in zip(steps, now, strict=True)
                        if was[0] != then[0]]
    assert set(retyped) == {("LeadWritten", "LeadDiscovered")}
    # Four creates answered, one Discovered each; p-2's update keeps its Written.
    assert topics.count("Lead.Discovered") == 5
    assert topics.count("Lead.Written") == 1
    assert topics.count("Lead.PersonLinked") == 0
