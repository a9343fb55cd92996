"""What the engine never does to a CRM (DESIGN.md): write an owner nobody chose, take a person
from its owner, blank a filled field, bring back a deleted record, overwrite a merge's master,
or change owners or blank fields en masse without a yes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync_support import ALICE, BOB, STRANGER, Org, connected_org, person

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.configure import apply_configuration
from syncledger.commands.dry_run import dry_run
from syncledger.commands.replay_run import replay_run
from syncledger.commands.session import caught_up
from syncledger.domain.ids import app_person_id, integration_id
from syncledger.domain.steps import (
    FieldMapping,
    FilterRule,
    OwnerMapping,
    Step,
    StepFilter,
)
from syncledger.replay.explain import explain

PAIRS = (OwnerMapping(ALICE, "tm-alice"), OwnerMapping(BOB, "tm-bob"))


def contact(n: int, owner: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {"Id": f"003{n:012d}AAA", "FirstName": f"C{n}", "LastName": f"Last{n}",
            "Email": f"contact{n}@example.com", "OwnerId": owner, **extra}


def _custom(store: SyncLedger, pairs: tuple[OwnerMapping, ...] = (),
            change: Any = None, **settings: Any) -> None:
    """Switch to the Custom profile with integration-level pairs; `change` edits each step."""
    integration = AggregateCache(store).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = tuple(change(s) if change else s for s in current.steps)
    apply_configuration(store, replace(
        current, profile="custom", steps=steps,
        settings=replace(current.settings, owner_mappings=pairs, **settings)),
        "tm-alice", "test")


def _owners(org: Org) -> dict[str, str]:
    return {c["Id"]: c["OwnerId"] for c in org.dump("Contact")}


def _delete(org: Org, sobject: str, record_id: str) -> None:
    org.session.delete(f"{org.emulator.url}/services/data/v59.0/sobjects/{sobject}/"
                       f"{record_id}").raise_for_status()


def test_an_owner_given_by_default_is_never_written_to_an_existing_record(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given Contacts of Bob and of a stranger synced in under the Default profile: their
    # people go to the connecting member by default (no pairs, no email match)
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1, BOB), contact(2, STRANGER), contact(3, STRANGER)])
        org.sync()
        before = _owners(org)
        assert {p["owner"] for p in org.people().values()} == {"tm-alice"}
        # When pairs for Alice and Bob are applied and everything syncs again
        _custom(sqlite_store, PAIRS)
        report = org.sync(full=True)
        # Then no Contact changes owner; Bob's person follows the pair in the app
        assert _owners(org) == before
        assert report.counts["contacts"]["updated"] == 0
        assert org.people()["contact1@example.com"]["owner"] == "tm-bob"


def test_an_existing_person_keeps_its_owner_when_no_rule_matches(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given an app person owned by tm-bob, and a Contact with its email whose owner no rule
    # matches
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(3, email="contact3@example.com", owner="tm-bob")])
        org.load(Contact=[contact(3, STRANGER)])
        # When it links inbound
        org.sync()
        # Then the person keeps its owner, and the Contact keeps its own
        assert org.people()["contact3@example.com"]["owner"] == "tm-bob"
        assert _owners(org) == {"003000000000003AAA": STRANGER}
        said = " ".join(step.text for step in explain(caught_up(sqlite_store), "p-3",
                                                      "owner").steps)
        assert "connecting team member" not in said


def _title_both_ways(inbound_filter: StepFilter | None) -> Any:
    def change(step: Step) -> Step:
        if step.name == "Contacts to People":
            return replace(step, filter=inbound_filter, field_mappings=(
                *step.field_mappings, FieldMapping("Title", "title", conflict="app")))
        if step.name == "People to Contacts":
            return replace(step, field_mappings=(*step.field_mappings,
                                                 FieldMapping("Title", "title")))
        return step
    return change


def test_an_empty_app_value_never_blanks_a_filled_crm_field(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given a Contact titled Founder, an app person with no title, Title mapped both ways,
    # and an inbound filter that leaves the Contact out
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="contact1@example.com")])
        org.load(Contact=[contact(1, Title="Founder")])
        _custom(sqlite_store, change=_title_both_ways(
            StepFilter(rules=(FilterRule("Email", "ends_with", "@nowhere.example"),))))
        # When it syncs, twice, everything due
        org.sync(full=True)
        org.sync(full=True)
        # Then the CRM keeps its title
        assert org.dump("Contact")[0]["Title"] == "Founder"


def test_a_title_the_app_cleared_is_cleared_in_the_crm(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="contact1@example.com",
                                 fields={"title": "CEO"}, at="2030-01-01T00:00:00Z")])
        org.load(Contact=[contact(1, Title="Founder")])
        _custom(sqlite_store, change=_title_both_ways(None))
        org.sync()
        assert org.dump("Contact")[0]["Title"] == "CEO"  # first link: the app won
        # When the app clears the title
        org.import_lines([{"kind": "person", "id": "p-1", "email": "contact1@example.com",
                           "fields": {"title": None}, "at": "2030-01-02T00:00:00Z"}])
        org.sync()
        # Then the clearing is the change, and it goes out
        assert org.dump("Contact")[0].get("Title") in (None, "")


def test_an_empty_crm_value_never_blanks_a_filled_app_field(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="contact1@example.com", first_name="Ann",
                                 at="2020-01-01T00:00:00Z")])
        org.load(Contact=[contact(1, FirstName=None)])
        org.sync()
        assert org.people()["contact1@example.com"]["first_name"] == "Ann"


def test_a_record_deleted_in_the_crm_is_never_created_again(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given an app person linked to a Contact, which is then deleted in Salesforce
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="contact1@example.com")])
        org.load(Contact=[contact(1)])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        _delete(org, "Contact", "003000000000001AAA")
        # When syncs follow, --full too, and the app changes the person
        org.sync()
        org.sync(full=True)
        org.import_lines([{"kind": "person", "id": "p-1", "email": "contact1@example.com",
                           "last_name": "Changed", "at": "2030-01-01T00:00:00Z"}])
        report = org.sync()
        # Then nothing is created; the person says its record was deleted in the CRM
        assert org.dump("Contact") == [] and org.dump("Lead") == []
        assert report.skip_reasons.get("deleted in CRM") == 1
        (link,) = org.people()["contact1@example.com"]["links"]
        assert link["deleted"] is True
        # And only --record --recreate brings it back, once
        org.sync(only={app_person_id("p-1")}, recreate=True)
        org.sync(only={app_person_id("p-1")}, recreate=True)
        org.sync(full=True)
        created = org.dump("Contact") + org.dump("Lead")
        assert [r["Email"] for r in created] == ["contact1@example.com"]
        assert [link["deleted"] for link in org.people()["contact1@example.com"]["links"]
                ] == [False]


def test_a_merge_never_overwrites_the_master(sqlite_store: SyncLedger,
                                             tmp_path: Path) -> None:
    # Given two Contacts, each synced to a person, then merged in Salesforce
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1, BOB, FirstName="Tony", Email="tony@example.com"),
                          contact(2, STRANGER, FirstName="Raymond",
                                  Email="raymond@example.com")])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        org.admin("POST", "merge", {"object": "Contact", "master_id": "003000000000002AAA",
                                    "merged_ids": ["003000000000001AAA"]})
        # When the next syncs run, everything due, after the app changed Tony
        org.sync()
        org.import_lines([{"kind": "person", "id": "sf-contact-003000000000001AAA",
                           "email": "tony@example.com", "first_name": "Anthony",
                           "at": "2030-01-01T00:00:00Z"}])
        report = org.sync(full=True)
        # Then the master keeps its values and owner; Tony's person is skipped, named
        (master,) = org.dump("Contact")
        assert (master["FirstName"], master["OwnerId"]) == ("Raymond", STRANGER)
        assert report.skip_reasons.get("merged into 003000000000002AAA") == 1
        people = org.people()
        assert [link["id"] for link in people["raymond@example.com"]["links"]] == [
            "003000000000002AAA"]


def test_a_merged_persons_values_meet_the_master_through_the_conflict_policy(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given a Contact synced to a person, and a duplicate by email the sync skipped
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1, FirstName="Tony", Email="same@example.com"),
                          contact(2, STRANGER, FirstName="Raymond", Title="Boss",
                                  Email="same@example.com")])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        # When the duplicate is kept as the master of a merge
        org.admin("POST", "merge", {"object": "Contact", "master_id": "003000000000002AAA",
                                    "merged_ids": ["003000000000001AAA"]})
        org.sync()
        org.sync(full=True)
        # Then the person follows the master, whose values win (conflict = crm), and nothing
        # is written over it
        (master,) = org.dump("Contact")
        assert (master["FirstName"], master["OwnerId"]) == ("Raymond", STRANGER)
        same = org.people()["same@example.com"]
        assert same["first_name"] == "Raymond"
        assert [(link["id"], link["deleted"]) for link in same["links"]] == [
            ("003000000000002AAA", False)]


def _many_linked(org: Org, n: int) -> None:
    """n app people owned by tm-alice, linked to Bob's Contacts under the Default profile."""
    org.import_lines([person(i, email=f"contact{i}@example.com") for i in range(1, n + 1)])
    org.load(Contact=[contact(i, BOB) for i in range(1, n + 1)])
    org.sync()


def test_a_mass_change_of_owners_stops_before_its_first_write(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given 25 app people of tm-alice linked to Bob's Contacts
    with connected_org(sqlite_store, tmp_path) as org:
        _many_linked(org, 25)
        writes = org.writes()
        # When pairs would move all 25 to Alice
        _custom(sqlite_store, (OwnerMapping(ALICE, "tm-alice"),))
        report = org.sync()
        # Then the run writes nothing, and says why
        assert org.writes() == writes
        assert set(_owners(org).values()) == {BOB}
        assert report.outcome == "failed"
        (error,) = [e for e in report.errors if e["code"] == "MASS_CHANGE"]
        assert "OwnerId on 25 of 25" in error["message"]
        assert "--allow-mass-changes" in error["message"]
        # And with a yes, it goes
        report = org.sync(allow_mass_changes=True)
        assert report.outcome == "succeeded"
        assert set(_owners(org).values()) == {ALICE}
        # And the run decided again replays under the same yes: the same 25 writes
        replayed = replay_run(sqlite_store, report.run_id)
        assert replayed.same, replayed.differences


def test_the_mass_change_limit_in_the_configuration_lets_a_run_go(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        _many_linked(org, 25)
        _custom(sqlite_store, (OwnerMapping(ALICE, "tm-alice"),), mass_change_limit=1.0)
        report = org.sync()
        assert report.outcome == "succeeded"
        assert set(_owners(org).values()) == {ALICE}


def test_few_owner_changes_need_no_yes(sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        _many_linked(org, 19)
        _custom(sqlite_store, (OwnerMapping(ALICE, "tm-alice"),))
        assert org.sync().outcome == "succeeded"
        assert set(_owners(org).values()) == {ALICE}


def test_a_dry_run_shows_the_mass_change_counts_on_top_of_its_plan(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        _many_linked(org, 25)
        _custom(sqlite_store, (OwnerMapping(ALICE, "tm-alice"),))
        result = dry_run(sqlite_store, "tm-alice", datetime.now(UTC))
        (contacts,) = [c for c in result["mass_changes"] if c["object"] == "Contact"]
        assert (contacts["owner_changes"], contacts["linked"], contacts["over_limit"]) == (
            25, 25, True)
        assert len(contacts["examples"]) == 5
        updates = [p for p in result["plan"] if p["action"] == "update"
                   and "OwnerId" in p["changes"]]
        assert len(updates) == 25 and updates[0]["changes"]["OwnerId"] == [BOB, ALICE]
        assert set(_owners(org).values()) == {BOB}
