"""Pipedrive people sync, both ways (issue 19), end to end: our handlers (run_sync,
import_file, apply_configuration, the views) against the Pipedrive emulator over HTTPS
loopback, no mocks. Each test is one rule of the issue, of DESIGN.md's ownership table or of
"never damage a customer's CRM", as the Salesforce tests have it (test_people_sync.py,
test_sync_rules.py, test_never_damage.py, test_custom_profile_sync.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipedrive_support import (
    ALICE,
    BOB,
    INTERESTS,
    KEY_FIELD,
    SCORE,
    SOURCE,
    STRANGER,
    Company,
    app_person,
    connected_company,
    pd_person,
    primary,
    steps_named,
)

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.configure import ConfigRejected
from syncledger.commands.replay_run import replay_run
from syncledger.commands.session import caught_up, open_store
from syncledger.commands.status import status
from syncledger.domain.ids import app_person_id, integration_id, run_lease_id
from syncledger.domain.steps import (
    FieldMapping,
    FilterRule,
    OwnerMapping,
    SequenceMapping,
    Step,
    StepFilter,
)
from syncledger.emulator.server import RunningEmulator
from syncledger.replay.explain import explain

IN, OUT = "Persons to People", "People to Persons"
QUIET = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}


def _person_events_after(app: SyncLedger, position: int) -> list[str]:
    """The people's events after `position` (a mirror of a person we created may record
    once what Pipedrive gave it, the owner: no change of anyone's)."""
    new = app.recorder.select_notifications(start=position + 1, limit=10_000)
    return [n.topic for n in new if n.topic.startswith("syncledger.domain.person:")]


def _quiet(pd: Company) -> None:
    """A sync with nothing changed writes nothing to Pipedrive and records no change."""
    writes = pd.writes()
    head = pd.app.recorder.max_notification_id() or 0
    report = pd.sync()
    assert report.outcome == "succeeded", report.errors
    assert pd.writes() == writes, report
    assert report.counts["people"] == QUIET and report.counts["persons"] == QUIET
    assert _person_events_after(pd.app, head) == []


def _owners(pd: Company) -> dict[int, int]:
    return {pid: p["owner_id"] for pid, p in pd.persons().items()}


def _mappings(*extra: FieldMapping) -> Any:
    """Each people step maps `extra` too (both ways)."""
    def change(step: Step) -> Step:
        if step.name in (IN, OUT):
            return replace(step, field_mappings=(*step.field_mappings, *extra))
        return step
    return change


# -- the Default profile: Persons <-> People (name, email, phone) -------------------------
def test_inbound_persons_become_people_and_a_second_sync_makes_no_call_to_write(
        pd: Company) -> None:
    # Given the Default profile: the two people steps, mapping the names, email and phone
    steps = AggregateCache(pd.app).find(integration_id("pipedrive")).steps()
    assert [(s.name, [m.crm for m in s.field_mappings]) for s in steps] == [
        (name, ["first_name", "last_name", "email", "phone"]) for name in (IN, OUT)]
    # And persons of Alice, Bob and a stranger, one with two emails, its primary second
    pd.load(persons=[pd_person(1), pd_person(2, BOB), pd_person(3, STRANGER, emails=[
        {"value": "home3@example.com", "primary": False, "label": "home"},
        {"value": "Work3@Example.com", "primary": True, "label": "work"}])])
    # When it syncs
    report = pd.sync()
    # Then each person is a person of the app, named, with the primary email and the phone;
    # no pairs and no owner_match: the connecting member owns them all
    assert report.outcome == "succeeded", report.errors
    assert report.counts["people"]["created"] == 3
    people = pd.people()
    assert set(people) == {"pd1@example.com", "pd2@example.com", "work3@example.com"}
    one = people["pd1@example.com"]
    assert (one["first_name"], one["last_name"]) == ("Pat1", "Person1")
    assert one["fields"]["phone"] == "+1 555 0101"
    assert {p["owner"] for p in people.values()} == {"tm-alice"}
    (link,) = one["links"]
    assert (link["crm"], link["object"], link["id"]) == ("pipedrive", "person", "1")
    assert link["url"] == f"{pd.emulator.url}/person/1"  # {company_domain}/person/{id}
    assert views.person(pd.app, "1")["email"] == "pd1@example.com"
    # And a second sync writes nothing and records nothing
    _quiet(pd)
    # And the history and explain of a person synced in tell where it came from
    assert "PersonRecorded" in [e["type"] for e in views.history(pd.app, one["id"])]
    said = " ".join(s.text for s in explain(caught_up(pd.app), one["id"], "owner").steps)
    assert "pipedrive person 1" in said and "tm-alice" in said


def test_a_new_inbound_person_is_recorded_with_its_link(pd: Company) -> None:
    # Given a new Pipedrive person
    pd.load(persons=[pd_person(1)])
    head = pd.app.recorder.max_notification_id() or 0
    # When it syncs in
    pd.sync()
    # Then its person is recorded with the link to it (issue 22), no Linked apart; the
    # phone, a field beyond the core ones, follows as an Updated
    assert [topic.partition(":")[2] for topic in _person_events_after(pd.app, head)] == [
        "Person.Recorded", "Person.Updated"]
    recorded = [e for e in views.history(pd.app, "1") if e["type"] == "PersonRecorded"]
    assert recorded[0]["data"]["link"] == {"crm": "pipedrive", "stream": "person",
                                           "record_id": "1",
                                           "url": f"{pd.emulator.url}/person/1"}


def test_outbound_people_become_persons_with_a_composed_name_arrays_and_their_key(
        pd: Company) -> None:
    # Given app people: named, and with no name at all
    pd.import_lines([app_person(1, fields={"phone": "+1 555 7777"}),
                     app_person(2, first_name="Mary", last_name="Ann Smith"),
                     app_person(3, first_name=None, last_name=None)])
    # When it syncs
    report = pd.sync()
    # Then two persons are created, each named from the first and last names, with the
    # email and phone as Pipedrive arrays and the create's key in the "Syncledger key" field
    assert report.counts["persons"]["created"] == 2
    assert report.skip_reasons == {"missing required field name": 1}
    persons = pd.by_email()
    assert set(persons) == {"person1@example.com", "person2@example.com"}
    one = persons["person1@example.com"]
    assert one["name"] == "P1 Person1"
    assert one["emails"] == [{"value": "person1@example.com", "primary": True,
                              "label": "work"}]
    assert [p["value"] for p in one["phones"]] == ["+1 555 7777"]
    assert persons["person2@example.com"]["name"] == "Mary Ann Smith"
    assert persons["person2@example.com"]["first_name"] == "Mary"  # as Pipedrive splits it
    assert len(one["custom_fields"][KEY_FIELD] or "") == 32
    # No owner mapping: no owner_id sent, Pipedrive gives the person the connected user
    assert one["owner_id"] == ALICE
    links = pd.people()["person1@example.com"]["links"]
    assert [(link["id"], link["url"]) for link in links] == [
        (str(one["id"]), f"{pd.emulator.url}/person/{one['id']}")]
    # And the echo of our own writes records nothing: no ping-pong; the nameless one stays
    # due and skipped, with no call spent on it
    writes = pd.writes()
    again = pd.sync()
    assert pd.writes() == writes
    assert again.counts["persons"]["created"] == 0 and again.counts["people"] == QUIET
    assert again.skip_reasons == {"missing required field name": 1}
    assert (pd.people()["person2@example.com"]["first_name"],
            pd.people()["person2@example.com"]["last_name"]) == ("Mary", "Ann Smith")


def test_names_pipedrive_splits_otherwise_read_back_as_they_were_written(pd: Company) -> None:
    # Given app people with a last name only, and with a first name of two words, created
    # in Pipedrive as the names "Solo" and "Mary Ann Smith"
    pd.import_lines([app_person(1, first_name=None, last_name="Solo"),
                     app_person(2, first_name="Mary Ann", last_name="Smith")])
    pd.sync()
    assert {p["name"] for p in pd.persons().values()} == {"Solo", "Mary Ann Smith"}
    # When the next sync reads them back
    report = pd.sync()
    # Then nothing changed for them: no ping-pong, the app keeps its names
    assert report.counts["people"] == QUIET
    names = {e: (p["first_name"], p["last_name"]) for e, p in pd.people().items()}
    assert names == {"person1@example.com": (None, "Solo"),
                     "person2@example.com": ("Mary Ann", "Smith")}


def test_the_primary_email_is_the_email_and_a_change_of_it_is_a_change_of_email(
        pd: Company) -> None:
    # Given a person with a home email (not primary) and a work email (primary)
    pd.load(persons=[pd_person(1, emails=[
        {"value": "home@example.com", "primary": False, "label": "home"},
        {"value": "work@example.com", "primary": True, "label": "work"}])])
    pd.sync()
    assert set(pd.people()) == {"work@example.com"}
    # When a Pipedrive user makes the home email the primary one
    pd.tick()
    pd.edit(1, emails=[{"value": "home@example.com", "primary": True, "label": "home"},
                       {"value": "work@example.com", "primary": False, "label": "work"}])
    report = pd.sync()
    # Then the person's email changes, the same person
    assert report.counts["people"]["updated"] == 1
    (person,) = pd.people().values()
    assert person["email"] == "home@example.com" and person["id"] == "pd-person-1"
    # When the app changes the email
    pd.import_lines([{"kind": "person", "id": "pd-person-1", "email": "new@example.com",
                      "at": "2030-01-01T00:00:00Z"}])
    pd.sync()
    # Then it is the person's primary email in Pipedrive, and the other emails it had stay
    emails = pd.persons()[1]["emails"]
    assert [e["value"] for e in emails if e["primary"]] == ["new@example.com"]
    assert {(e["value"], e["label"]) for e in emails} >= {("home@example.com", "home"),
                                                          ("work@example.com", "work")}
    _quiet(pd)


def test_a_change_of_one_name_goes_out_with_the_other(pd: Company) -> None:
    # Given an app person synced out as "P1 Person1"
    pd.import_lines([app_person(1)])
    pd.sync()
    # When the app changes the last name only
    pd.import_lines([app_person(1, last_name="Renamed", at="2030-01-01T00:00:00Z")])
    report = pd.sync()
    # Then Pipedrive's name is made of both, and both sides agree
    assert report.counts["persons"]["updated"] == 1
    (person,) = pd.persons().values()
    assert (person["name"], person["first_name"], person["last_name"]) == (
        "P1 Renamed", "P1", "Renamed")
    _quiet(pd)
    assert (pd.people()["person1@example.com"]["first_name"],
            pd.people()["person1@example.com"]["last_name"]) == ("P1", "Renamed")


# -- the Custom profile: custom fields, filters, sequences ---------------------------------
def test_custom_fields_sync_both_ways_by_their_hash_keys(pd: Company) -> None:
    # Given the text and number custom fields mapped both ways
    pd.configure(change=_mappings(FieldMapping(SOURCE, "source"), FieldMapping(SCORE, "score")))
    pd.load(persons=[pd_person(1, custom_fields={SOURCE: "Web", SCORE: 12.5})])
    pd.import_lines([app_person(2, fields={"source": "Event", "score": 42})])
    # When it syncs
    report = pd.sync()
    # Then the values travel by the fields' keys, typed as personFields says
    assert report.outcome == "succeeded", report.errors
    fields = pd.people()["pd1@example.com"]["fields"]
    assert (fields["source"], fields["score"]) == ("Web", 12.5)
    made = pd.by_email()["person2@example.com"]["custom_fields"]
    assert (made[SOURCE], made[SCORE]) == ("Event", 42)
    # And a change in Pipedrive comes in, a change in the app goes out, once
    pd.tick()
    pd.edit(1, custom_fields={SOURCE: "Referral"})
    pd.import_lines([app_person(2, fields={"source": "Partner", "score": 42},
                                at="2030-01-01T00:00:00Z")])
    pd.sync()
    assert pd.people()["pd1@example.com"]["fields"]["source"] == "Referral"
    assert pd.by_email()["person2@example.com"]["custom_fields"][SOURCE] == "Partner"
    _quiet(pd)


def test_a_multiple_options_field_and_an_unknown_key_are_refused(pd: Company) -> None:
    # When a mapping names the multiple-options field, or a key no personField has
    unknown = "f" * 40
    with pytest.raises(ConfigRejected) as refused:
        pd.configure(change=_mappings(FieldMapping(INTERESTS, "interests"),
                                      FieldMapping(unknown, "mystery")))
    # Then the configuration is refused, naming each, and nothing is recorded
    said = str(refused.value)
    assert f"{INTERESTS} is a multi-select picklist" in said
    assert unknown in said and said.count(IN) >= 2 and said.count(OUT) >= 2
    integration = AggregateCache(pd.app).find(integration_id("pipedrive"))
    assert integration.profile == "default"


def test_filters_choose_what_syncs_each_way(pd: Company) -> None:
    # Given an inbound filter on a custom field and an outbound filter on an app list
    def change(step: Step) -> Step:
        if step.name == IN:
            return replace(step, filter=StepFilter(rules=(FilterRule(SOURCE, "eq", "Web"),)))
        if step.name == OUT:
            return replace(step, filter=StepFilter(list="Q4 webinar"))
        return step
    pd.import_lines([{"kind": "list", "id": "l-webinar", "name": "Q4 webinar"},
                     app_person(1, lists=["l-webinar"]), app_person(2)])
    pd.configure(change=change)
    pd.load(persons=[pd_person(1, custom_fields={SOURCE: "Web"}),
                     pd_person(2, custom_fields={SOURCE: "Event"}), pd_person(3)])
    # When it syncs
    report = pd.sync()
    # Then only the Web person comes in, and only the listed person goes out
    assert set(pd.people()) == {"pd1@example.com", "person1@example.com",
                                "person2@example.com"}
    assert report.skip_reasons.get("filtered out") == 2
    assert set(pd.by_email()) == {"pd1@example.com", "pd2@example.com", "pd3@example.com",
                                  "person1@example.com"}


def test_sequence_mappings_route_new_people_of_the_owner_at_the_step(pd: Company) -> None:
    # Given pairs for Alice and Bob, and Bob's new people routed to step 2 of Q4, ignoring
    # the step's delay, only new records
    pd.import_lines([
        {"kind": "sequence", "id": "seq-q4", "name": "Q4",
         "steps": [{"number": 1, "delay_days": 0}, {"number": 2, "delay_days": 3}]},
        app_person(7, email="pd7@example.com", owner="tm-bob")])
    pd.configure(pairs=(OwnerMapping(str(ALICE), "tm-alice"), OwnerMapping(str(BOB), "tm-bob")),
                 change=steps_named(IN, lambda s: replace(s, sequence_mappings=(
                     SequenceMapping("tm-bob", "seq-q4", 2, True, True),))))
    pd.load(persons=[pd_person(1, BOB), pd_person(2, ALICE), pd_person(7, BOB)])
    # When it syncs
    pd.sync()
    # Then Bob's new person joins Q4 at step 2; Alice's, and Bob's existing one, do not
    people = pd.people()
    assert people["pd1@example.com"]["owner"] == "tm-bob"
    assert people["pd1@example.com"]["sequence"] == {"id": "seq-q4", "step": 2,
                                                     "ignore_step_delay": True}
    assert people["pd2@example.com"]["sequence"] is None
    assert people["pd7@example.com"]["sequence"] is None
    assert people["pd7@example.com"]["links"][0]["id"] == "7"


# -- the ownership table, inbound ----------------------------------------------------------
def test_inbound_without_pairs_an_email_match_owns_else_the_connecting_member(
        pd: Company) -> None:
    # Given owners matched by email, no pairs, and tm-bob's person with a stranger's email
    pd.configure(owner_match="email")
    pd.import_lines([app_person(3, email="pd3@example.com", owner="tm-bob")])
    pd.load(persons=[pd_person(1, BOB), pd_person(2, STRANGER), pd_person(3, STRANGER)])
    # When it syncs
    pd.sync()
    # Then Bob's person is tm-bob's (email match); the stranger's new person goes to the
    # connecting member, by default, which is never written to Pipedrive; the existing
    # person keeps its owner, which goes out as the user its email matches (outbound row
    # "no pairs, email match")
    owners = {email: p["owner"] for email, p in pd.people().items()}
    assert owners == {"pd1@example.com": "tm-bob", "pd2@example.com": "tm-alice",
                      "pd3@example.com": "tm-bob"}
    assert _owners(pd) == {1: BOB, 2: STRANGER, 3: BOB}
    said = " ".join(s.text for s in explain(caught_up(pd.app), "p-3", "owner").steps)
    assert "connecting team member" not in said
    _quiet(pd)


def test_inbound_with_pairs_the_pair_owns_else_an_email_match_else_it_is_skipped(
        pd: Company) -> None:
    # Given a pair for Alice at integration level, and owners matched by email
    pd.configure(pairs=(OwnerMapping(str(ALICE), "tm-bob"),), owner_match="email")
    pd.load(persons=[pd_person(1, ALICE), pd_person(2, BOB), pd_person(3, STRANGER)])
    # When it syncs
    report = pd.sync()
    # Then Alice's person goes to the pair's member, Bob's to the matched one, and the
    # stranger's is not synced
    owners = {email: p["owner"] for email, p in pd.people().items()}
    assert owners == {"pd1@example.com": "tm-bob", "pd2@example.com": "tm-bob"}
    assert report.skip_reasons == {"owner not mapped": 1}
    _quiet(pd)


def test_a_steps_own_pairs_replace_the_integrations(pd: Company) -> None:
    # Given integration pairs sending Bob's persons to tm-alice, and the inbound step's own
    # list sending them to tm-bob
    pd.configure(pairs=(OwnerMapping(str(BOB), "tm-alice"),),
                 change=steps_named(IN, lambda s: replace(s, owner_mappings=(
                     OwnerMapping(str(BOB), "tm-bob"),))))
    pd.load(persons=[pd_person(1, BOB), pd_person(2, ALICE)])
    # When it syncs
    report = pd.sync()
    # Then the step's list decides: Bob's person is tm-bob's, Alice's is not mapped; the
    # outbound step reads the integration's pairs, where tm-bob is in none
    assert {e: p["owner"] for e, p in pd.people().items()} == {"pd1@example.com": "tm-bob"}
    assert report.counts["people"]["skipped"] == 1
    assert report.counts["persons"]["skipped"] == 1
    assert report.skip_reasons == {"owner not mapped": 2}
    assert _owners(pd) == {1: BOB, 2: ALICE}


def test_ownership_mappings_are_checked_as_for_salesforce(pd: Company) -> None:
    # When pairs name a user Pipedrive has not, a member the app has not, one member twice
    # on the source side of the outbound step, and the inbound step filters on the owner
    with pytest.raises(ConfigRejected) as refused:
        pd.configure(pairs=(OwnerMapping("999", "tm-alice"), OwnerMapping(str(BOB), "tm-zed"),
                            OwnerMapping(str(ALICE), "tm-alice")),
                     change=steps_named(IN, lambda s: replace(s, filter=StepFilter(
                         rules=(FilterRule("owner_id", "eq", str(BOB)),)))))
    # Then the configuration is refused, each problem named, and nothing is recorded
    said = str(refused.value)
    assert "no CRM user 999 in the connected org" in said
    assert "no team member tm-zed" in said
    assert "the team member tm-alice is mapped twice" in said
    assert "a filter on owner_id contradicts the step's ownership mappings" in said
    assert AggregateCache(pd.app).find(integration_id("pipedrive")).profile == "default"


# -- the ownership table, outbound ---------------------------------------------------------
def test_outbound_without_pairs_an_email_match_is_the_owner_else_none_is_sent(
        pd: Company) -> None:
    # Given owners matched by email, no pairs; tm-carol matches no Pipedrive user
    pd.configure(owner_match="email")
    pd.import_lines([{"kind": "team_member", "id": "tm-carol", "email": "carol@team.example"},
                     app_person(1, owner="tm-bob"), app_person(2, owner="tm-carol")])
    # When it syncs, and again as someone else
    pd.sync()
    # Then tm-bob's person is Bob's; tm-carol's went with no owner: Pipedrive gave it the
    # connected user, and that is learnt, never a change of owner
    persons = pd.by_email()
    assert persons["person1@example.com"]["owner_id"] == BOB
    assert persons["person2@example.com"]["owner_id"] == ALICE
    for actor in ("system", "tm-bob"):
        writes = pd.writes()
        pd.sync(actor=actor)
        assert pd.writes() == writes, actor
        assert pd.people()["person2@example.com"]["owner"] == "tm-carol", actor


def test_outbound_with_pairs_the_pair_is_the_owner_else_an_email_match_else_skipped(
        pd: Company) -> None:
    # Given the outbound step's own pair tm-alice -> Bob (read the step's way), owners
    # matched by email; tm-carol matches no one
    pd.configure(owner_match="email", change=steps_named(OUT, lambda s: replace(
        s, owner_mappings=(OwnerMapping(str(BOB), "tm-alice"),))))
    pd.import_lines([{"kind": "team_member", "id": "tm-carol", "email": "carol@team.example"},
                     app_person(1, owner="tm-alice"), app_person(2, owner="tm-bob"),
                     app_person(3, owner="tm-carol")])
    # When it syncs
    report = pd.sync()
    # Then tm-alice's person is Bob's (the pair), tm-bob's Bob's (email match), and
    # tm-carol's is not synced
    persons = pd.by_email()
    assert persons["person1@example.com"]["owner_id"] == BOB
    assert persons["person2@example.com"]["owner_id"] == BOB
    assert "person3@example.com" not in persons
    assert report.skip_reasons.get("owner not mapped") == 1


# -- never damage a customer's CRM ---------------------------------------------------------
def test_an_owner_given_by_default_is_never_written_to_an_existing_person(
        pd: Company) -> None:
    # Given persons of Bob and of a stranger synced in by default to the connecting member
    pd.load(persons=[pd_person(1, BOB), pd_person(2, STRANGER)])
    pd.sync()
    assert {p["owner"] for p in pd.people().values()} == {"tm-alice"}
    # When pairs for Alice and Bob are applied and everything syncs again
    pd.configure(pairs=(OwnerMapping(str(ALICE), "tm-alice"),
                        OwnerMapping(str(BOB), "tm-bob")))
    report = pd.sync(full=True)
    # Then no person changes owner in Pipedrive; Bob's person follows the pair in the app
    assert _owners(pd) == {1: BOB, 2: STRANGER}
    assert report.counts["persons"]["updated"] == 0
    assert pd.people()["pd1@example.com"]["owner"] == "tm-bob"


def test_an_empty_app_value_never_blanks_a_filled_pipedrive_field(pd: Company) -> None:
    # Given a person with a phone and a source, an app person with neither, the source
    # mapped both ways, and an inbound filter that leaves the person out
    pd.import_lines([app_person(1, email="pd1@example.com")])
    pd.load(persons=[pd_person(1, custom_fields={SOURCE: "Web"})])
    pd.configure(change=lambda s: replace(
        s, field_mappings=(*s.field_mappings, FieldMapping(SOURCE, "source")),
        filter=StepFilter(rules=(FilterRule("email", "ends_with", "@nowhere.example"),))
        if s.name == IN else s.filter))
    # When it syncs, twice, everything due
    pd.sync(full=True)
    pd.sync(full=True)
    # Then Pipedrive keeps the phone and the source
    kept = pd.persons()[1]
    assert [p["value"] for p in kept["phones"]] == ["+1 555 0101"]
    assert kept["custom_fields"][SOURCE] == "Web"


def test_a_field_changed_on_both_sides_follows_pipedrive_and_keeps_the_app_value(
        pd: Company) -> None:
    pd.import_lines([app_person(1)])
    pd.sync()
    (made,) = pd.persons()
    # Given the last name changed in Pipedrive and in the app since the last sync
    pd.tick()
    pd.edit(made, last_name="FromCrm")
    pd.import_lines([app_person(1, last_name="FromApp", at="2030-01-01T00:00:00Z")])
    # When it syncs
    pd.sync()
    # Then Pipedrive wins (conflict = crm), the app's value is kept in the event, and
    # nothing bounces back
    assert pd.people()["person1@example.com"]["last_name"] == "FromCrm"
    conflict = next(e for e in views.history(pd.app, "p-1")
                    if e["type"] == "PersonConflictResolved")
    assert conflict["data"]["values"] == {"crm": "FromCrm", "app": "FromApp"}
    assert pd.persons()[made]["last_name"] == "FromCrm"
    _quiet(pd)


def test_a_deleted_person_marks_the_link_and_is_never_created_again(pd: Company) -> None:
    # Given an app person linked to a person, which is then deleted in Pipedrive
    pd.import_lines([app_person(1, email="pd1@example.com")])
    pd.load(persons=[pd_person(1)])
    pd.sync()
    pd.tick()
    pd.delete(1)
    # When syncs follow, --full too, and the app changes the person
    pd.sync()
    pd.sync(full=True)
    pd.import_lines([app_person(1, email="pd1@example.com", last_name="Changed",
                                at="2030-01-01T00:00:00Z")])
    report = pd.sync()
    # Then nothing is created; the person says its record was deleted in the CRM
    assert pd.persons() == {}
    assert report.skip_reasons.get("deleted in CRM") == 1
    (link,) = pd.people()["pd1@example.com"]["links"]
    assert (link["id"], link["deleted"]) == ("1", True)
    # And only --record --recreate brings it back, once
    pd.sync(only={app_person_id("p-1")}, recreate=True)
    pd.sync(only={app_person_id("p-1")}, recreate=True)
    pd.sync(full=True)
    assert [primary(p) for p in pd.persons().values()] == ["pd1@example.com"]
    assert [link["deleted"] for link in pd.people()["pd1@example.com"]["links"]] == [False]


def test_a_merge_never_overwrites_the_survivor(pd: Company) -> None:
    # Given two persons, each synced to a person of the app, then merged in Pipedrive
    pd.load(persons=[pd_person(1, BOB, name="Tony Last", emails=[
                         {"value": "tony@example.com", "primary": True, "label": "work"}]),
                     pd_person(2, STRANGER, name="Raymond Last", emails=[
                         {"value": "raymond@example.com", "primary": True, "label": "work"}])])
    pd.sync()
    pd.tick()
    pd.merge(1, 2)
    # When the next syncs run, everything due, after the app changed Tony
    pd.sync()
    pd.import_lines([{"kind": "person", "id": "pd-person-1", "email": "tony@example.com",
                      "first_name": "Anthony", "at": "2030-01-01T00:00:00Z"}])
    report = pd.sync(full=True)
    # Then the survivor keeps its values and owner; Tony's person is skipped, naming it
    (survivor,) = pd.persons().values()
    assert (survivor["id"], survivor["first_name"], survivor["owner_id"]) == (
        2, "Raymond", STRANGER)
    assert report.skip_reasons.get("merged into 2") == 1
    people = pd.people()
    assert [link["id"] for link in people["raymond@example.com"]["links"]] == ["2"]
    assert [(link["id"], link["deleted"]) for link in people["tony@example.com"]["links"]] \
        == [("1", True)]


def test_a_merged_persons_person_is_relinked_to_the_survivor(pd: Company) -> None:
    # Given two persons with one email: the older is the person's, the other skipped
    pd.load(persons=[pd_person(1, name="Tony Last", emails=[
                         {"value": "same@example.com", "primary": True, "label": "work"}]),
                     pd_person(2, STRANGER, name="Raymond Boss", add_time="2026-11-02T00:00:00Z",
                               emails=[{"value": "same@example.com", "primary": True,
                                        "label": "work"}])])
    report = pd.sync()
    assert report.skip_reasons.get("duplicate email") == 1
    # When the older is merged into the other
    pd.tick()
    pd.merge(1, 2)
    pd.sync()
    pd.sync(full=True)
    # Then the person follows the survivor, whose values win (conflict = crm), and nothing
    # is written over it
    (survivor,) = pd.persons().values()
    assert (survivor["first_name"], survivor["owner_id"]) == ("Raymond", STRANGER)
    same = pd.people()["same@example.com"]
    assert same["first_name"] == "Raymond"
    assert [(link["id"], link["deleted"]) for link in same["links"]] == [("2", False)]


def test_persons_sharing_an_email_make_one_person_linked_to_the_oldest(pd: Company) -> None:
    # Given three persons with one email, added at one time: ids 9, 10 and 11
    pd.load(persons=[pd_person(n, emails=[{"value": "same@example.com", "primary": True,
                                           "label": "work"}]) for n in (11, 10, 9)])
    # When it syncs
    report = pd.sync()
    # Then one person, linked to the oldest (the lowest id); the others skipped
    (person,) = pd.people().values()
    assert [link["id"] for link in person["links"]] == ["9"]
    assert report.skip_reasons.get("duplicate email") == 2


def _many_linked(pd: Company, n: int) -> None:
    """n app people of tm-alice, linked to Bob's persons under the Default profile."""
    pd.import_lines([app_person(i, email=f"pd{i}@example.com") for i in range(1, n + 1)])
    pd.load(persons=[pd_person(i, BOB) for i in range(1, n + 1)])
    pd.sync()


def test_a_mass_change_of_owners_stops_before_its_first_write(pd: Company) -> None:
    # Given 25 app people of tm-alice linked to Bob's persons
    _many_linked(pd, 25)
    writes = pd.writes()
    # When pairs would move all 25 to Alice
    pd.configure(pairs=(OwnerMapping(str(ALICE), "tm-alice"),))
    report = pd.sync()
    # Then the run writes nothing, and says why
    assert pd.writes() == writes
    assert set(_owners(pd).values()) == {BOB}
    assert report.outcome == "failed"
    (error,) = [e for e in report.errors if e["code"] == "MASS_CHANGE"]
    assert "on 25 of 25 linked persons" in error["message"]
    assert "owner_id 12 -> 11" in error["message"]
    # And with a yes, it goes
    assert pd.sync(allow_mass_changes=True).outcome == "succeeded"
    assert set(_owners(pd).values()) == {ALICE}


# -- matching, keys, opt-out ----------------------------------------------------------------
def test_outbound_matches_by_the_mirror_and_searches_only_what_it_cannot_answer(
        pd: Company) -> None:
    # Given ten new app people, and a person in Pipedrive with the email of one of them
    pd.load(persons=[pd_person(1, emails=[{"value": "person1@example.com", "primary": True,
                                           "label": "work"}])])
    pd.import_lines([app_person(n) for n in range(1, 11)])
    # When it syncs with the inbound step on
    pd.sync()
    # Then the person is matched through the mirror the pull keeps, nine are created, and
    # no search is spent on any of them
    persons = pd.by_email()
    assert len(persons) == 10 and persons["person1@example.com"]["id"] == 1
    assert pd.calls()["search"] == 0
    assert pd.people()["person1@example.com"]["links"][0]["id"] == "1"


def test_with_no_inbound_pull_a_person_is_matched_by_search_not_created_twice(
        pd: Company) -> None:
    # Given only the outbound step on, and a person with the email of an app person
    pd.configure(change=lambda s: replace(s, enabled=s.name != IN))
    pd.load(persons=[pd_person(1, emails=[{"value": "person1@example.com", "primary": True,
                                           "label": "work"}])])
    pd.import_lines([app_person(1), app_person(2)])
    # When it syncs
    report = pd.sync()
    # Then each email the mirror cannot answer costs one search, the person found is
    # updated, not created again
    assert report.counts["persons"] == {"created": 1, "updated": 1, "skipped": 0,
                                        "failed": 0}
    assert len(pd.persons()) == 2
    assert pd.calls()["search"] == 2
    assert pd.people()["person1@example.com"]["links"][0]["id"] == "1"


def _sync_killed_after_the_write(pd: Company, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYNCLEDGER_KILL_AT": "outbound.after_write"}
    return subprocess.run([sys.executable, "-m", "syncledger.commands", "--store", url,
                           "--as", "tm-alice", "sync", "--crm", "pipedrive"], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("inbound", [True, False], ids=["pulled", "searched"])
def test_a_create_whose_answer_was_lost_never_makes_a_second_person(
        sqlite_url: str, sqlite_store: SyncLedger, tmp_path: Path,
        pipedrive_server: RunningEmulator, inbound: bool) -> None:
    with connected_company(sqlite_store, tmp_path, pipedrive_server) as pd:
        # Given a sync killed once Pipedrive held its creates, before their results were
        # recorded (the intents, with their keys, were)
        pd.import_lines([app_person(1), app_person(2)])
        killed = _sync_killed_after_the_write(pd, sqlite_url)
        assert killed.returncode == -9, killed.stderr
        assert len(pd.persons()) == 2
        # When the next sync runs: its inbound pull reads them back, or, that step off, the
        # outbound step cannot trust its mirror and searches their emails
        if not inbound:
            pd.configure(change=lambda s: replace(s, enabled=s.name != IN))
        report = pd.sync()
        # Then the persons are found and linked, and none is made twice
        assert report.outcome == "succeeded", report.errors
        assert report.counts["persons"]["created"] == 0
        assert sorted(primary(p) for p in pd.persons().values()) == [
            "person1@example.com", "person2@example.com"]
        assert pd.calls()["search"] == (0 if inbound else 2)
        people = pd.people()
        assert {people[e]["links"][0]["id"] for e in people} == {str(i) for i in pd.persons()}
        _quiet(pd)


def test_opt_out_syncs_both_ways_and_is_never_undone(pd: Company) -> None:
    # Given a person unsubscribed in Pipedrive and another not
    pd.load(persons=[pd_person(1, marketing_status="unsubscribed"), pd_person(2)])
    pd.sync()
    assert "opted_out" in pd.people()["pd1@example.com"]["flags"]
    # When the app opts the other out
    pd.import_lines([{"kind": "person", "id": "pd-person-2", "email": "pd2@example.com",
                      "flags": ["opted_out"], "at": "2030-01-01T00:00:00Z"}])
    pd.sync()
    # Then Pipedrive's marketing status says unsubscribed
    assert pd.persons()[2]["marketing_status"] == "unsubscribed"
    # And Pipedrive subscribing it again does not clear the app's flag
    pd.tick()
    pd.edit(2, marketing_status="subscribed")
    pd.sync()
    assert "opted_out" in pd.people()["pd2@example.com"]["flags"]


# -- limits ---------------------------------------------------------------------------------
def test_the_burst_window_and_its_429s_are_waited_out_and_nothing_is_lost(
        pd: Company) -> None:
    # Given a frozen clock and a burst window of 3 calls that a 429 reopens (Retry-After
    # 50 ms)
    pd.admin("clock", {"now": "2026-11-20T10:00:00Z"})
    pd.faults(rate_limit=3, rate_window_s=0.05, rate_limit_blocks=1)
    pd.load(persons=[pd_person(n) for n in range(1, 6)])
    pd.import_lines([app_person(n) for n in range(1, 6)])
    # When it syncs
    report = pd.sync()
    # Then the run waited as told, and everything went both ways
    assert report.outcome == "succeeded", report.errors
    assert pd.admin("stats", method="GET")["throttled"] > 0
    assert len(pd.people()) == 10 and len(pd.persons()) == 10


def test_a_spent_daily_budget_stops_the_run_cleanly_and_the_next_resumes(
        pd: Company) -> None:
    # Given a daily budget of 16 calls (the run may spend half of it), and ten app people
    pd.load(persons=[pd_person(n) for n in range(1, 4)])
    pd.import_lines([app_person(n) for n in range(1, 11)])
    pd.faults(daily_limit=16)
    # When it syncs
    stopped = pd.sync()
    # Then it stops at the budget, saying so in the Logs
    assert [e["code"] for e in stopped.errors] == ["REQUEST_LIMIT_EXCEEDED"]
    assert stopped.outcome == "limited"
    (logged,) = views.logs(caught_up(pd.app), stopped.run_id)
    assert logged["errors"][0]["code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "budget" in logged["errors"][0]["message"]
    assert len(pd.persons()) < 13
    # When the budget renews and it syncs again
    pd.faults(daily_limit=1_000_000)
    rest = pd.sync()
    # Then nothing was lost, and nothing made twice
    assert rest.outcome == "succeeded", rest.errors
    assert sorted(primary(p) for p in pd.persons().values()) == sorted(
        [f"pd{n}@example.com" for n in range(1, 4)]
        + [f"person{n}@example.com" for n in range(1, 11)])
    assert len(pd.people()) == 13
    _quiet(pd)


def test_persons_sharing_an_update_time_are_never_missed_across_pages_and_runs(
        pd: Company) -> None:
    # Given a frozen clock, and seven persons sharing one update time, read three a page
    pd.admin("clock", {"now": "2026-11-20T10:00:00Z"})
    stamp = "2026-11-20T10:00:00Z"
    pd.load(persons=[pd_person(n, add_time=stamp, update_time=stamp)
                     for n in (17, 3, 11, 5, 23, 8, 2)])
    report = pd.sync(gateway=pd.gateway(page_size=3))
    assert report.counts["people"]["created"] == 7
    assert pd.calls()["persons_list"] == 3  # cursor paging to the end
    # When one changes, and one is added, both at that same time
    pd.edit(5, last_name="Changed")
    pd.load(persons=[pd_person(1, add_time=stamp, update_time=stamp)])
    again = pd.sync(gateway=pd.gateway(page_size=3))
    # Then the next run sees both
    assert (again.counts["people"]["created"], again.counts["people"]["updated"]) == (1, 1)
    assert pd.people()["pd5@example.com"]["last_name"] == "Changed"
    assert len(pd.people()) == 8


# -- both CRMs -----------------------------------------------------------------------------
def test_sync_with_no_crm_syncs_each_connected_enabled_crm_under_its_own_lease(
        sqlite_url: str, sqlite_store: SyncLedger, tmp_path: Path,
        pipedrive_server: RunningEmulator) -> None:
    from sync_support import connected_org, contact

    with connected_org(sqlite_store, tmp_path) as org, \
            connected_company(sqlite_store, tmp_path, pipedrive_server) as pd:
        # Given Salesforce and Pipedrive both connected and enabled
        org.load(Contact=[contact(1)])
        pd.load(persons=[pd_person(1)])
        # When `syncledger sync` runs with no --crm
        done = subprocess.run([sys.executable, "-m", "syncledger.commands", "--store",
                               sqlite_url, "--as", "tm-alice", "sync", "--json"],
                              capture_output=True, text=True, timeout=120)
        # Then each CRM had a run of its own, under its own lease, and both are in the
        # Logs and in the status
        assert done.returncode == 0, done.stderr
        runs = {r["crm"]: r for r in json.loads(done.stdout)}
        assert set(runs) == {"salesforce", "pipedrive"}
        assert {r["outcome"] for r in runs.values()} == {"succeeded"}
        assert set(pd.people()) == {"contact1@example.com", "pd1@example.com"}
        for crm in ("salesforce", "pipedrive"):
            lease = AggregateCache(sqlite_store).find(run_lease_id(crm))
            assert lease is not None and lease.current is None, crm
            health = status(caught_up(sqlite_store), crm, datetime.now(UTC))
            assert health["last_run"]["run_id"] == runs[crm]["run_id"], crm
        logged = {r["crm"] for r in views.logs(sqlite_store, None)}
        assert logged == {"salesforce", "pipedrive"}


# -- the properties that hold for Salesforce -----------------------------------------------
NAMES = st.sampled_from(["Ada", "Grace", "Alan", "Edsger", "Barbara"])
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("crm_edit"), st.integers(1, 4), NAMES),
    st.tuples(st.just("crm_email"), st.integers(1, 4), NAMES),
    st.tuples(st.just("crm_new"), st.integers(1, 4), NAMES),
    st.tuples(st.just("app_edit"), st.integers(1, 4), NAMES),
    st.tuples(st.just("sync"), st.just(0), st.just("")),
    st.tuples(st.just("tick"), st.just(0), st.just(""))), min_size=1, max_size=8)


@settings(max_examples=10, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(OPERATIONS)
def test_syncs_converge_without_ping_pong_or_missed_changes(
        pipedrive_server: RunningEmulator, operations: list[tuple[str, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = open_store(f"sqlite:///{tmp}/store.db")
        try:
            with connected_company(app, Path(tmp), pipedrive_server) as pd:
                at = datetime(2026, 11, 21, tzinfo=UTC)
                for kind, n, name in operations:
                    if kind == "crm_new":
                        pd.load(persons=[pd_person(n, name=f"Pat{n} {name}", add_time=None,
                                                   update_time=None)])  # stamped now
                    elif kind == "crm_edit" and n in pd.persons():
                        pd.edit(n, last_name=name)
                    elif kind == "crm_email" and n in pd.persons():  # a new primary email
                        others = [dict(e, primary=False) for e in pd.persons()[n]["emails"]]
                        pd.edit(n, emails=[{"value": f"{name.lower()}{n}@example.com",
                                            "primary": True, "label": "work"}, *others])
                    elif kind == "app_edit":
                        at = at.replace(minute=at.minute + 1)
                        pd.import_lines([app_person(n, last_name=name, at=at.isoformat())])
                    elif kind == "sync":
                        assert pd.sync().outcome == "succeeded"
                    elif kind == "tick":
                        pd.tick(600)
                assert pd.sync().outcome == "succeeded"
                # A sync with nothing changed writes nothing and records nothing
                _quiet(pd)
                # Both sides agree on every mapped field of every linked person
                persons = pd.persons()
                people = views.people(caught_up(app), None)
                for person in people:
                    for link in person["links"]:
                        record = persons[int(link["id"])]
                        assert (record["first_name"], record["last_name"], primary(record)) \
                            == (person["first_name"], person["last_name"], person["email"])
                # Every person became, or matched, a person of the app
                assert {primary(p) for p in persons.values()} <= {p["email"] for p in people}
                assert all(p["links"] for p in people)
        finally:
            app.close()
            app.database.dispose()


# -- replay --run ---------------------------------------------------------------------------
def test_a_pipedrive_run_is_decided_again_the_same_without_calling_pipedrive(
        pd: Company) -> None:
    # Given a first run (persons in, people out) and an incremental second one
    pd.load(persons=[pd_person(1), pd_person(2, owner=BOB)])
    pd.import_lines([app_person(3)])
    first = pd.sync()
    pd.tick()
    pd.edit(1, name="Ada Renamed")
    pd.import_lines([app_person(4)])
    second = pd.sync()
    assert (first.outcome, second.outcome) == ("succeeded", "succeeded")
    for run in (first, second):
        calls, head = pd.calls(), pd.app.recorder.max_notification_id()
        # When each is decided again with today's code
        replay = replay_run(pd.app, run.run_id)
        # Then it decides the same, calls nothing and appends nothing
        assert replay.differences == [] and replay.counts["now"] == replay.counts["recorded"]
        assert replay.outcome == {"recorded": "succeeded", "now": "succeeded"}
        assert pd.calls() == calls and pd.app.recorder.max_notification_id() == head


def test_a_run_that_matched_by_search_is_decided_again_from_its_recorded_matches(
        pd: Company) -> None:
    # Given a run with only the outbound step on, which matched app people by search
    pd.configure(change=lambda s: replace(s, enabled=s.name != IN))
    pd.load(persons=[pd_person(1, emails=[{"value": "person1@example.com", "primary": True,
                                           "label": "work"}])])
    pd.import_lines([app_person(1), app_person(2)])
    run = pd.sync()
    assert pd.calls()["search"] == 2
    calls = pd.calls()
    # When it is decided again
    replay = replay_run(pd.app, run.run_id)
    # Then its recorded matches answer the searches: the same decisions, nothing called
    assert replay.differences == [] and replay.counts["now"] == replay.counts["recorded"]
    assert not [gap for gap in replay.not_replayed if "match" in gap]
    assert pd.calls() == calls
