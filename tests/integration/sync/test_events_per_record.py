"""What a new inbound record costs in the log (issue 22, "fewer events per record"): against
the Salesforce emulator, through the real adapter and handlers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sync_support import connected_org, contact, lead

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.ids import app_person_id

# The events about records, their people and their emails (the rest is the run's own
# bookkeeping: its lease, the run, the cursors, the readings).
ABOUT_RECORDS = ("Contact.", "Lead.", "Person.", "EmailClaim.")


def _events_after(app: SyncLedger, position: int) -> list[Any]:
    return [n for n in app.recorder.select_notifications(start=position + 1, limit=10_000)
            if n.topic.partition(":")[2].startswith(ABOUT_RECORDS)]


def test_a_new_inbound_record_saves_three_events(sqlite_store: SyncLedger,
                                                tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        # Given three new Contacts and a new Lead, each with an email of its own
        org.load(Contact=[contact(1), contact(2), contact(3)], Lead=[lead(4)])
        head = sqlite_store.recorder.max_notification_id() or 0
        # When they are synced in
        report = org.sync()
        assert report.counts["people"]["created"] == 4
        # Then each record saved three events: its mirror's Discovered (with its first
        # observation and its person), its email's Claimed (both sides' holders), and its
        # person's Recorded (with the link to it)
        events = _events_after(sqlite_store, head)
        assert Counter(n.topic.partition(":")[2] for n in events) == {
            "Contact.Discovered": 3, "Lead.Discovered": 1, "EmailClaim.Claimed": 4,
            "Person.Recorded": 4}
        assert len(events) == 3 * 4
        # And each person is linked to its record, as a Linked would have linked it
        rows = org.people().values()
        assert len(rows) == 4
        for row in rows:
            (link,) = row["links"]
            assert row["id"] == f"sf-{link['object'].lower()}-{link['id']}"
            assert not link["deleted"] and link["url"].endswith(f"/{link['id']}/view")
            person: Any = sqlite_store.repository.get(app_person_id(row["id"]))
            assert person.links == {f"salesforce:{link['object']}": link}
