"""`explain KEY FIELD`: the chain of events behind a person's field, oldest first, with the
sync's events (observations of the linked CRM record, reassignments with their reason,
conflicts) in their place, and a forgotten person's values as [forgotten]."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_support import (
    AT,
    CONTACT_ID,
    import_lines,
    person,
    run_contact_sync,
    settle_conflict,
    settle_conflict_by_side,
    write_contact,
)

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up
from syncledger.domain.context import Context
from syncledger.domain.ids import app_person_id
from syncledger.domain.privacy import FORGOTTEN
from syncledger.replay.explain import UnknownField, explain
from syncledger.replay.history import UnknownRecord

MAPPING = "ownership mapping 005000000000002AAA -> tm-bob of step 'Contacts to People'"


def test_owner_explained_from_import_through_a_run_and_a_conflict(store: SyncLedger,
                                                                  tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    run_contact_sync(store, "p-1", "r1", "005000000000002AAA",
                     {"Email": "person1@example.com", "FirstName": "First1"},
                     owner="tm-bob", reason=MAPPING)
    # The CRM changes the name only: nothing new about the owner.
    run_contact_sync(store, "p-1", "r2", "005000000000002AAA",
                     {"Email": "person1@example.com", "FirstName": "Ada"})
    settle_conflict(store, "p-1", "r3", "owner", "tm-bob", "tm-carol", "crm")

    story = explain(caught_up(store), CONTACT_ID, "owner")  # found by its CRM id
    assert story.person == "p-1" and story.value == "tm-bob"
    steps = [(s.type, s.value, s.cause) for s in story.steps]
    assert steps[0][:2] == ("PersonRecorded", "tm-alice")
    # The Contact's first observation is part of its Discovered (issue 22).
    assert steps[1:] == [("ContactDiscovered", "005000000000002AAA", "run:r1"),
                         ("PersonOwnerReassigned", "tm-bob", "run:r1"),
                         ("SyncConflictResolved", "tm-bob", "run:r3")]
    assert [s.position for s in story.steps] == sorted(s.position for s in story.steps)
    observed, reassigned, conflict = story.steps[1:]
    assert observed.source == f"salesforce Contact {CONTACT_ID}"
    assert reassigned.reason == MAPPING and reassigned.previous == "tm-alice"
    assert reassigned.text == f"changed from 'tm-alice' to 'tm-bob' (reason: {MAPPING})"
    assert conflict.conflict == {"policy": "crm", "winner": "tm-bob", "loser": "tm-carol"}
    assert "conflict settled by the crm policy" in conflict.text
    assert "the losing value was 'tm-carol'" in conflict.text
    assert set(reassigned.to_json()) == {"position", "time", "type", "cause", "actor",
                                         "source", "value", "previous", "reason", "conflict",
                                         "text"}


def test_a_conflict_kept_as_both_sides_values_reads_the_same(store: SyncLedger,
                                                             tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    settle_conflict_by_side(store, "p-1", "r1", "last_name", "app",
                            {"crm": "Byron", "app": "Last1"}, "app")
    step = explain(caught_up(store), "p-1", "last_name").steps[-1]
    assert step.value == "Last1"
    assert step.conflict == {"policy": "app", "winner": "app", "loser": "Byron"}
    assert step.text == ("conflict settled by the app policy: 'Last1' won; the losing value "
                         "was 'Byron'")


def test_a_mapped_crm_field_shows_each_observed_change_once(store: SyncLedger,
                                                            tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    for run, name in (("r1", "First1"), ("r2", "First1"), ("r3", "Ada")):
        run_contact_sync(store, "p-1", run, "005A", {"FirstName": name, "LastName": run})
    story = explain(caught_up(store), "p-1", "first_name")
    assert [(s.type, s.value) for s in story.steps] == [
        ("PersonRecorded", "First1"), ("ContactDiscovered", "First1"),
        ("ContactObserved", "Ada")]
    assert story.steps[2].previous == "First1"
    # The person's own value is unchanged: the sync that would apply it is not there yet.
    assert story.value == "First1"


def test_writes_to_the_crm_show_the_intent_and_the_result(store: SyncLedger,
                                                          tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    run_contact_sync(store, "p-1", "r1", "005A", {"LastName": "Last1"})
    write_contact(store, "r2", {"LastName": "Lovelace"})
    steps = explain(caught_up(store), "p-1", "last_name").steps
    assert [(s.type, s.value) for s in steps] == [
        ("PersonRecorded", "Last1"), ("ContactDiscovered", "Last1"),
        ("ContactWriteRequested", "Lovelace"), ("ContactWritten", "Lovelace")]
    assert steps[2].text == (f"a write of 'Lovelace' to salesforce Contact {CONTACT_ID} was "
                             "requested")
    assert steps[3].text == f"'Lovelace' was written to salesforce Contact {CONTACT_ID}"


def test_fields_lists_and_sequence_are_explained_too(store: SyncLedger, tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [
        {"kind": "sequence", "id": "seq-q4", "name": "Q4", "steps": [{"number": 1}]},
        person(1, fields={"title": "CTO"}, lists=["l-a"])])
    import_lines(store, tmp_path / "b.jsonl", [
        person(1, fields={"title": "CEO"}, lists=["l-a", "l-b"], at="2030-01-01T00:00:00Z")])
    caught_up(store)
    title = explain(store, "person1@example.com", "fields.title")
    assert [(s.type, s.value) for s in title.steps] == [("PersonRecorded", "CTO"),
                                                        ("PersonUpdated", "CEO")]
    assert explain(store, "p-1", "lists").value == ["l-a", "l-b"]
    member = store.repository.get(app_person_id("p-1"))
    member.join_sequence("seq-q4", 2, True, AT, Context(cause="run:r1"))
    store.save(member)
    sequence = explain(caught_up(store), "p-1", "sequence")
    assert sequence.value == {"id": "seq-q4", "step": 2, "ignore_step_delay": True}
    assert [(s.type, s.value) for s in sequence.steps] == [
        ("PersonRecorded", None), ("PersonSequenceJoined", sequence.value)]
    nothing = explain(store, "p-1", "fields.nickname")
    assert nothing.value is None
    assert [(s.type, s.value) for s in nothing.steps] == [("PersonRecorded", None)]


def test_a_forgotten_person_reads_as_forgotten_without_failing(store: SyncLedger,
                                                               tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1, fields={"title": "CTO"})])
    run_contact_sync(store, "p-1", "r1", "005A", {"FirstName": "First1"})
    settle_conflict(store, "p-1", "r2", "first_name", "First1", "Other", "crm")
    settle_conflict_by_side(store, "p-1", "r3", "first_name", "crm",
                            {"crm": "First1", "app": "Other"}, "crm")
    forget(store, find_person_id(store, "p-1"), "tm-auditor")
    caught_up(store)

    story = explain(store, "p-1", "first_name")
    assert story.value == FORGOTTEN
    assert [s.type for s in story.steps] == ["PersonRecorded", "ContactDiscovered",
                                             "SyncConflictResolved", "SidesConflictResolved",
                                             "PersonForgotten"]
    assert {s.value for s in story.steps} == {FORGOTTEN}
    assert "First1" not in str([s.to_json() for s in story.steps])
    owner = explain(store, "p-1", "owner")  # not personal: still readable
    assert [s.value for s in owner.steps] == ["tm-alice", "005A"]


def test_an_unknown_key_or_field_is_refused_naming_it(store: SyncLedger,
                                                      tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    caught_up(store)
    with pytest.raises(UnknownRecord, match="'nobody@example.com'"):
        explain(store, "nobody@example.com", "owner")
    with pytest.raises(UnknownField, match="'phone'"):
        explain(store, "p-1", "phone")
    with pytest.raises(UnknownField, match="'fields.'"):
        explain(store, "p-1", "fields.")
