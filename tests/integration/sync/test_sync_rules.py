"""The rules of DESIGN.md against the Salesforce emulator: deletions and merges, converted
leads, duplicates, opt-outs, required fields, conflicts, errors, fallbacks, batching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync_support import ALICE, BOB, NOW, connected_org, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.session import caught_up
from syncledger.commands.sync import run_sync
from syncledger.domain.ids import app_person_id


def contact(n: int, **extra: Any) -> dict[str, Any]:
    return {"Id": f"003{n:012d}AAA", "FirstName": f"C{n}", "LastName": f"Last{n}",
            "Email": f"contact{n}@example.com", "OwnerId": ALICE, **extra}


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"Id": f"00Q000000000{n:03d}AAA", "FirstName": f"L{n}", "LastName": f"Lead{n}",
            "Email": f"lead{n}@example.com", "Company": f"Co{n}", "OwnerId": ALICE, **extra}


def test_a_deleted_record_marks_the_link_and_a_merged_one_moves_it(sqlite_store: SyncLedger,
                                                                   tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2), contact(3, Email="contact2@example.com")])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        org.session.delete(f"{org.emulator.url}/services/data/v59.0/sobjects/Contact/"
                           "003000000000001AAA").raise_for_status()
        org.admin("POST", "merge", {"object": "Contact", "master_id": "003000000000003AAA",
                                    "merged_ids": ["003000000000002AAA"]})
        org.sync()
        people = org.people()
        assert people["contact1@example.com"]["links"][0]["deleted"] is True
        assert "contact1@example.com" in people  # nothing in the app is deleted by the CRM
        links = {(link["id"], link["deleted"])
                 for link in people["contact2@example.com"]["links"]}
        assert ("003000000000003AAA", False) in links


def test_several_records_with_one_email_make_one_person_linked_to_the_contact(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Lead=[lead(1, Email="same@example.com")],
                 Contact=[contact(1, Email="same@example.com"),
                          contact(2, Email="SAME@example.com")])
        report = org.sync()
        people = [p for p in views.people(sqlite_store, None)
                  if p["email"] == "same@example.com"]
        assert len(people) == 1
        objects = {link["object"]: link["id"] for link in people[0]["links"]}
        assert objects["Contact"] == "003000000000001AAA"  # the oldest Contact won
        assert report.skip_reasons.get("duplicate email", 0) >= 1


def test_a_converted_lead_is_followed_to_its_contact_and_never_written(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Lead=[lead(1)])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        org.admin("POST", "convert", {"lead_id": "00Q000000000001AAA"})
        org.sync()
        people = [p for p in views.people(sqlite_store, None) if "lead1" in p["email"]]
        assert len(people) == 1
        assert "Contact" in {link["object"] for link in people[0]["links"]}
        # The app changes the person: the Contact is updated, the converted Lead never.
        org.import_lines([{"kind": "person", "id": people[0]["id"],
                           "email": "lead1@example.com", "last_name": "Renamed",
                           "at": "2030-01-01T00:00:00Z"}])
        report = org.sync()
        assert report.counts["contacts"]["updated"] == 1
        assert report.counts["leads"]["updated"] == 0
        assert [c["LastName"] for c in org.dump("Contact")] == ["Renamed"]


def test_opt_out_syncs_both_ways_and_is_never_undone(sqlite_store: SyncLedger,
                                                    tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1, HasOptedOutOfEmail=True), contact(2)])
        org.sync()
        assert "opted_out" in org.people()["contact1@example.com"]["flags"]
        org.import_lines([{"kind": "person", "id": org.people()["contact2@example.com"]["id"],
                           "email": "contact2@example.com", "flags": ["opted_out"],
                           "at": "2030-01-01T00:00:00Z"}])
        org.sync()
        crm = {c["Email"]: c for c in org.dump("Contact")}
        assert crm["contact2@example.com"]["HasOptedOutOfEmail"] is True
        # The CRM clearing it does not clear the app's flag.
        org.admin("POST", "clock", {"advance": 60})
        org.load(Contact=[{"Id": "003000000000002AAA", "HasOptedOutOfEmail": False}])
        org.sync()
        assert "opted_out" in org.people()["contact2@example.com"]["flags"]


def test_a_missing_required_field_is_skipped_and_stays_due(sqlite_store: SyncLedger,
                                                           tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, account=None)])
        first = org.sync()
        assert first.skip_reasons == {"missing required field Company": 1}
        second = org.sync()  # nothing changed, but it is still due and still skipped
        assert second.skip_reasons == {"missing required field Company": 1}
        org.import_lines([person(1, account="Now Inc", at="2030-01-01T00:00:00Z")])
        third = org.sync()
        assert third.counts["leads"]["created"] == 1


def test_a_field_changed_on_both_sides_follows_the_crm_and_keeps_the_app_value(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        org.sync()
        lead_id = org.dump("Lead")[0]["Id"]
        org.admin("POST", "clock", {"advance": 60})
        org.load(Lead=[{"Id": lead_id, "LastName": "FromCrm"}])
        org.import_lines([person(1, last_name="FromApp", at="2030-01-01T00:00:00Z")])
        org.sync()
        assert org.people()["person1@example.com"]["last_name"] == "FromCrm"
        trail = views.history(sqlite_store, "p-1")
        conflict = next(e for e in trail if e["type"] == "PersonConflictResolved")
        assert conflict["data"]["values"] == {"crm": "FromCrm", "app": "FromApp"}
        assert conflict["data"]["winner"] == "crm"
        assert org.dump("Lead")[0]["LastName"] == "FromCrm"  # nothing bounced back


def test_a_crm_refusal_is_a_per_record_error_and_the_others_go_through(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="broken@localhost"), person(2)])
        report = org.sync()
        assert report.outcome == "partial"
        assert report.counts["leads"]["created"] == 1
        assert report.counts["leads"]["failed"] == 1
        assert report.errors[0]["code"] == "INVALID_EMAIL_ADDRESS"
        assert report.errors[0]["record"] == {"app": "p-1", "crm": None}
        assert report.errors[0]["step"] == "People to Leads"


def test_writes_go_in_collections_of_200_in_one_composite_call(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(n) for n in range(450)])
        before = org.stats()["collections"]
        report = org.sync()
        assert report.counts["leads"]["created"] == 450
        # Three collections (200, 200, 50), one Composite call: one against the API limit.
        assert org.stats()["collections"] - before == 1


def test_without_the_external_id_field_creates_fall_back_and_say_so(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path, options={"external_id_fields": False}) as org:
        org.import_lines([person(1)])
        report = org.sync()
        assert report.counts["leads"]["created"] == 1
        again = org.sync(full=True)
        assert again.counts["leads"]["created"] == 0
        assert len(org.dump("Lead")) == 1


def test_records_sharing_one_systemmodstamp_are_never_missed(sqlite_store: SyncLedger,
                                                             tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(n) for n in range(2300)])  # one timestamp, two pages
        report = org.sync()
        assert report.counts["people"]["created"] == 2300
        org.load(Contact=[contact(5, LastName="Changed")])  # same clock: same timestamp
        again = org.sync()
        assert again.counts["people"]["updated"] == 1
        assert org.people()["contact5@example.com"]["last_name"] == "Changed"


def test_sync_record_syncs_one_person_now(sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1), person(2)])
        report = org.sync(only={app_person_id("p-2")})
        assert report.counts["leads"]["created"] == 1
        assert [lead["Email"] for lead in org.dump("Lead")] == ["person2@example.com"]


def test_owner_of_a_new_lead_is_left_to_the_crm_assignment_rules_without_a_mapping(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(LeadAssignmentRules=[{"field": "Company", "op": "contains", "value": "Acct",
                                       "owner": BOB}])
        org.import_lines([person(1)])
        org.sync()
        assert org.dump("Lead")[0]["OwnerId"] == BOB


def test_the_owner_the_crm_gave_a_lead_we_created_is_learnt_not_taken_by_whoever_syncs(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        # Carol matches no CRM user: her person's Lead goes out with no OwnerId, the CRM
        # gives it the connected user (Alice), and it comes back with a Status of its own.
        org.import_lines([{"kind": "team_member", "id": "tm-carol",
                           "email": "carol@team.example"}, person(1, owner="tm-carol")])
        org.sync()
        [created] = org.dump("Lead")
        assert created["OwnerId"] == ALICE and created["Status"]
        for actor in ("system", "tm-bob"):
            head = sqlite_store.recorder.max_notification_id()
            report = run_sync(sqlite_store, actor, NOW)
            assert report.counts["people"] == {"created": 0, "updated": 0, "skipped": 0,
                                               "failed": 0}, actor
            people = views.people(caught_up(sqlite_store), None)
            assert [p["owner"] for p in people] == ["tm-carol"], actor
            # The email's claim notes which Lead holds it on the CRM side, the first time
            # the Lead is read (one claim an email, since issue 22): the person is untouched.
            person_events = [e for e in views.history(sqlite_store, "p-1")
                             if e["position"] > (head or 0)
                             and not e["type"].startswith("EmailClaim")]
            assert [e["type"] for e in person_events] == [], actor
