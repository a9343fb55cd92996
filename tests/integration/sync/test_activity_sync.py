"""Activities and statuses to Salesforce (Default profile): Tasks, Notes, Lead Status."""

from __future__ import annotations

from pathlib import Path

from sync_support import STATUSES, connected_org, contact, person

from syncledger.adapters.event_store import SyncLedger

ACTIVITIES = [
    {"kind": "email", "id": "e-1", "person": "p-1", "at": "2026-11-01T23:30:00Z",
     "subject": "Hello there", "body": "The body", "direction": "sent"},
    {"kind": "call", "id": "c-1", "person": "p-1", "at": "2026-11-02T10:00:00Z",
     "outcome": "Connected", "duration_s": 60, "notes": "Talked"},
    {"kind": "task", "id": "t-1", "person": "p-1", "at": "2026-11-02T10:00:00Z",
     "title": "Follow up", "due": "2026-11-09", "done": False},
    {"kind": "linkedin", "id": "li-1", "person": "p-1", "at": "2026-11-02T10:00:00Z",
     "action": "message", "message": "Hi on LinkedIn"},
    {"kind": "note", "id": "n-1", "person": "p-1", "at": "2026-11-02T10:00:00Z",
     "text": "First line of the note\nsecond line"},
]


def test_activities_become_lead_tasks_and_notes_exactly_once(sqlite_store: SyncLedger,
                                                             tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1), *ACTIVITIES])
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        for kind in ("emails", "calls", "tasks", "linkedin", "notes"):
            assert report.counts[kind]["created"] == 1, kind
        lead_id = org.dump("Lead")[0]["Id"]
        tasks = {t["TaskSubtype"]: t for t in org.dump("Task")}
        assert set(tasks) == {"Email", "Call", "Task", "LinkedIn"}
        email = tasks["Email"]
        assert (email["WhoId"], email["Subject"], email["Type"], email["Status"]) == \
            (lead_id, "Hello there", "Email", "Completed")
        assert email["ActivityDate"] == "2026-11-01"  # the business day in UTC
        assert email["Description"] == "The body"  # the Default profile includes contents
        assert (tasks["Task"]["Status"], tasks["Task"]["ActivityDate"]) == \
            ("Not Started", "2026-11-09")
        assert tasks["LinkedIn"]["Type"] == "Other"
        note = org.dump("Note")[0]
        assert note["ParentId"] == lead_id
        assert note["Title"].startswith("First line of the note [")
        writes = org.writes()
        again = org.sync()
        assert org.writes() == writes
        assert all(again.counts[k]["created"] == 0 for k in ("emails", "notes"))
        # A changed activity updates its Task.
        org.import_lines([{**ACTIVITIES[0], "subject": "Hello again"}])
        changed = org.sync()
        assert changed.counts["emails"]["updated"] == 1
        assert {t["Subject"] for t in org.dump("Task")} >= {"Hello again"}
        assert len(org.dump("Task")) == 4


def test_an_activity_waits_until_its_person_is_linked(sqlite_store: SyncLedger,
                                                      tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, account=None), ACTIVITIES[0]])  # no Company: no Lead yet
        first = org.sync()
        assert first.skip_reasons.get("person not linked yet") == 1
        assert org.dump("Task") == []
        org.import_lines([person(1, account="Later Inc", at="2030-01-01T00:00:00Z")])
        second = org.sync()
        assert second.counts["leads"]["created"] == 1
        assert second.counts["emails"]["created"] == 1
        assert org.dump("Task")[0]["WhoId"] == org.dump("Lead")[0]["Id"]


def test_an_activity_of_a_person_not_yet_in_the_app_goes_once_a_contact_records_it(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    """Its person, made from the Contact, is recorded with the link (issue 22): no Linked
    apart, and the activity step still finds it linked since its last run."""
    with connected_org(sqlite_store, tmp_path) as org:
        # Given an email of the person the Contact will make, before the Contact exists
        key = "sf-contact-003000000000001AAA"
        org.import_lines([{**ACTIVITIES[0], "person": key}])
        first = org.sync()
        assert first.outcome == "succeeded", first.errors
        assert org.dump("Task") == []
        # When the Contact appears and a sync records its person
        org.load(Contact=[contact(1)])
        second = org.sync()
        # Then the email goes to the Contact, in the same run
        assert second.counts["people"]["created"] == 1
        assert second.counts["emails"]["created"] == 1
        assert org.dump("Task")[0]["WhoId"] == org.dump("Contact")[0]["Id"]
        assert org.people()["contact1@example.com"]["id"] == key


def test_a_status_updates_the_lead_status_of_the_same_label(sqlite_store: SyncLedger,
                                                            tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(LeadStatus=STATUSES)
        org.import_lines([person(1, status="Replied"), person(2, status="Unknown status")])
        report = org.sync()
        assert report.counts["statuses"]["updated"] == 1
        assert report.skip_reasons.get("no matching Lead Status") == 1
        leads = {lead["Email"]: lead for lead in org.dump("Lead")}
        assert leads["person1@example.com"]["Status"] == "Replied"
        writes = org.writes()
        org.sync()
        assert org.writes() == writes


def test_a_task_without_the_key_field_is_still_written_once(sqlite_store: SyncLedger,
                                                            tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path, options={"external_id_fields": False}) as org:
        org.import_lines([person(1), ACTIVITIES[0]])
        org.sync()
        org.sync(full=True)
        assert len(org.dump("Task")) == 1


def test_a_subject_longer_than_the_field_is_truncated_with_a_note_in_the_logs(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    from syncledger.commands import views
    from syncledger.commands.session import caught_up

    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1), {**ACTIVITIES[0], "subject": "x" * 300}])
        report = org.sync()
        assert len(org.dump("Task")[0]["Subject"]) == 255
        run = views.logs(caught_up(sqlite_store), report.run_id)[0]
        assert run["notes"] == ["email e-1: Subject truncated to 255 characters"]
        writes = org.writes()
        org.sync()
        assert org.writes() == writes  # the truncated value is what we know we wrote
