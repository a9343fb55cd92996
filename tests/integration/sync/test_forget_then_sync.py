"""A person forgotten after their record was synced: the next syncs go on, and nothing of
theirs comes back from the CRM (the CRM keeps its own copy; the log never takes it again)."""

from __future__ import annotations

from pathlib import Path

from sync_support import connected_org, contact, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.forget import find_person_id, forget


def test_syncs_after_a_forget_go_on_and_bring_nothing_back(sqlite_store: SyncLedger,
                                                           tmp_path: Path) -> None:
    # Given a person synced both ways, then forgotten
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, status="Working")])
        org.load(Contact=[contact(2)])
        org.sync()
        forget(sqlite_store, find_person_id(sqlite_store, "p-1"), "tm-auditor")
        forget(sqlite_store, find_person_id(sqlite_store, "contact2@example.com"), "tm-auditor")
        # When the CRM changes their records and syncs run, everything due
        org.admin("POST", "clock", {"advance": 600})
        lead = org.dump("Lead")[0]
        org.load(Lead=[{**lead, "FirstName": "Changed"}],
                 Contact=[{**contact(2), "FirstName": "Changed"}])
        first = org.sync()
        second = org.sync(full=True)
        # Then the runs succeed, and neither person reads anything but forgotten
        assert (first.outcome, second.outcome) == ("succeeded", "succeeded"), (
            first.errors, second.errors)
        people = org.people()
        assert "person1@example.com" not in people and "contact2@example.com" not in people
        assert first.skip_reasons.get("forgotten") == 2
