"""Activities after a run whose writes landed in Salesforce but whose answers were lost (the
state a killed run leaves: intents recorded, the CRM write applied, no result recorded), and
updates that leave out what only a create may set (TaskSubtype, a Note's ParentId).

The emulator's `applied_error_rate` fault applies each write and answers it with a 503."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sync_support import Org, connected_org, person

from syncledger.adapters.event_store import SyncLedger

AT = "2026-11-02T10:00:00Z"
EMAILS: list[dict[str, Any]] = [
    {"kind": "email", "id": f"e-{i}", "person": "p-1", "at": AT, "subject": f"Email {i}",
     "body": f"Body {i}", "direction": "sent"} for i in range(30)]
NOTES: list[dict[str, Any]] = [
    {"kind": "note", "id": f"n-{i}", "person": "p-1", "at": AT, "text": f"Note {i}"}
    for i in range(30)]
OTHERS: list[dict[str, Any]] = [
    {"kind": "call", "id": "c-1", "person": "p-1", "at": AT, "outcome": "Connected"},
    {"kind": "task", "id": "t-1", "person": "p-1", "at": AT, "title": "Follow up",
     "due": "2026-11-09", "done": False},
    {"kind": "linkedin", "id": "li-1", "person": "p-1", "at": AT, "action": "message",
     "message": "Hi"}]


def _queries_of_a_quiet_run(org: Org) -> int:
    before = org.stats()["query"]
    assert org.sync().outcome == "succeeded"
    return org.stats()["query"] - before


def _lost_answers(org: Org, lines: list[dict[str, Any]]) -> None:
    """Record the activities, then sync while every write lands but is answered 503."""
    org.import_lines(lines)
    org.admin("POST", "faults", {"applied_error_rate": 1.0})
    lost = org.sync()
    assert lost.outcome != "succeeded"
    org.admin("POST", "faults", {"applied_error_rate": 0})


def _codes(errors: list[dict[str, Any]]) -> set[str]:
    return {str(e["code"]) for e in errors}


def test_activities_whose_answers_were_lost_end_up_in_the_crm_exactly_once(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        assert org.sync().outcome == "succeeded"  # the Lead the activities go to
        _lost_answers(org, [*EMAILS, *NOTES, *OTHERS])
        # A lost answer is never retried blindly: a Note create sent again is a second Note.
        assert len(org.dump("Note")) <= len(NOTES)
        before = org.stats()["query"]
        recovered = org.sync()
        spent = org.stats()["query"] - before
        assert "INVALID_FIELD_FOR_INSERT_UPDATE" not in _codes(recovered.errors)
        assert recovered.outcome == "succeeded", recovered.errors
        tasks = org.dump("Task")
        assert sorted(Counter(t["Syncledger_Key__c"] for t in tasks).values()) == [1] * 33
        assert Counter(t["Subject"] for t in tasks)["Email 7"] == 1
        assert Counter(t["TaskSubtype"] for t in tasks) == {
            "Email": 30, "Call": 1, "Task": 1, "LinkedIn": 1}
        notes = org.dump("Note")
        assert sorted(n["Title"].split(" [")[0] for n in notes) == \
            sorted(f"Note {i}" for i in range(30))
        writes = org.writes()
        quiet = _queries_of_a_quiet_run(org)
        assert org.writes() == writes  # nothing left to send
        # The 30 pending Notes took one query, the 33 pending Tasks another: never one each.
        assert spent - quiet == 2


def test_a_later_change_to_an_activity_whose_answer_was_lost_updates_its_task(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        org.sync()
        _lost_answers(org, [EMAILS[0], NOTES[0]])
        org.import_lines([{**EMAILS[0], "subject": "Changed meanwhile"},
                          {**NOTES[0], "text": "Changed note"}])
        recovered = org.sync()
        assert recovered.outcome == "succeeded", recovered.errors
        [task] = org.dump("Task")
        assert (task["Subject"], task["TaskSubtype"]) == ("Changed meanwhile", "Email")
        [note] = org.dump("Note")
        assert note["Title"].startswith("Changed note [")


def test_tasks_without_the_key_field_are_reconciled_in_batches(sqlite_store: SyncLedger,
                                                               tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path,
                       options={"external_id_fields": False}) as org:
        org.import_lines([person(1)])
        assert org.sync().outcome == "succeeded"
        _lost_answers(org, EMAILS)
        before = org.stats()["query"]
        recovered = org.sync()
        spent = org.stats()["query"] - before
        assert recovered.outcome == "succeeded", recovered.errors
        assert sorted(Counter(t["Subject"] for t in org.dump("Task")).values()) == [1] * 30
        assert spent - _queries_of_a_quiet_run(org) == 1


def test_changed_activities_update_without_the_fields_only_a_create_sets(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1), EMAILS[0], NOTES[0]])
        assert org.sync().outcome == "succeeded"
        org.import_lines([{**EMAILS[0], "subject": "Changed"},
                          {**NOTES[0], "text": "Changed note"}])
        changed = org.sync()
        assert changed.outcome == "succeeded", changed.errors
        assert (changed.counts["emails"]["updated"], changed.counts["notes"]["updated"]) == \
            (1, 1)
        assert [t["Subject"] for t in org.dump("Task")] == ["Changed"]
        assert org.dump("Note")[0]["Title"].startswith("Changed note [")


def test_under_lost_answers_and_errors_one_more_run_leaves_every_activity_once(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        assert org.sync().outcome == "succeeded"
        org.import_lines([*EMAILS, *NOTES, *OTHERS])
        org.admin("POST", "faults", {"applied_error_rate": 0.3, "error_rate": 0.1,
                                     "seed": 3})
        org.sync()
        org.admin("POST", "faults", {"applied_error_rate": 0, "error_rate": 0})
        final = org.sync()
        assert final.outcome == "succeeded", final.errors
        tasks = org.dump("Task")
        assert sorted(Counter(t["Syncledger_Key__c"] for t in tasks).values()) == [1] * 33
        assert sorted(n["Title"].split(" [")[0] for n in org.dump("Note")) == \
            sorted(f"Note {i}" for i in range(30))
        # and the log knows each one as written: a full run finds nothing to send
        writes = org.writes()
        again = org.sync(full=True)
        assert again.outcome == "succeeded", again.errors
        assert org.writes() == writes
