"""A sync reads the links it made to find their people's activities only when the log may
hold an activity: a first sync of people alone reads none, and an activity recorded later,
or one the event index has not caught up with, is still found."""

from __future__ import annotations

from pathlib import Path

from sync_support import connected_org, contact

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import caught_up
from syncledger.commands.sync_activities import may_hold_activities


def _position(store: SyncLedger) -> int:
    return store.recorder.max_notification_id() or 0


def test_an_activity_recorded_after_a_first_sync_of_people_alone_still_goes_out(
        store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2)])
        assert org.sync().outcome == "succeeded"
        # Caught up, and no event is filed under a person's key: no activity anywhere.
        assert not may_hold_activities(caught_up(store), _position(store))
        person = org.people()["contact1@example.com"]["id"]
        org.import_lines([{"kind": "email", "id": "e-1", "person": person,
                           "at": "2026-11-02T10:00:00Z", "subject": "Email 1",
                           "direction": "sent"}])
        # Not caught up with the email yet: the index cannot say there is none.
        assert may_hold_activities(store, _position(store))
        assert may_hold_activities(caught_up(store), _position(store))
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        contacts = {c["Email"]: c["Id"] for c in org.dump("Contact")}
        assert [(t["Subject"], t["WhoId"]) for t in org.dump("Task")] == [
            ("Email 1", contacts["contact1@example.com"])]
        assert report.counts["emails"]["created"] == 1
