"""Issue 22: a person the sync creates in the CRM costs three events: the person's intent
before the call (CrmCreateRequested, the crash guarantee), its link, and the new record's
Discovered, which carries what was written and the person (until then the record's
Discovered, Written and PersonLinked were three). Counted in the SQLite store's own table,
against the emulators through the real adapters; and read back as before: the view, explain,
a second sync that writes nothing, and `replay --run`."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from pipedrive_support import Company, app_person
from sync_support import connected_org, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.replay_run import replay_run
from syncledger.commands.session import caught_up
from syncledger.replay.explain import explain

PEOPLE = 3
RECORD_EVENTS = ("syncledger.domain.person:", "syncledger.domain.crm_record:")


def topics_after(database: Path, head: int) -> Counter[str]:
    """The people's and records' events stored after position `head`, by topic."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT topic FROM stored_events WHERE rowid > ?", (head,))
        return Counter(topic.partition(":")[2] for (topic,) in rows
                       if topic.startswith(RECORD_EVENTS))


def _database(sqlite_url: str) -> Path:
    return Path(sqlite_url.removeprefix("sqlite:///"))


def test_a_lead_created_for_a_person_is_three_events(sqlite_store: SyncLedger, sqlite_url: str,
                                                     tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(n) for n in range(1, PEOPLE + 1)])
        head = org.app.recorder.max_notification_id() or 0
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        assert report.counts["leads"]["created"] == PEOPLE
        assert topics_after(_database(sqlite_url), head) == {
            "Person.CrmCreateRequested": PEOPLE, "Person.Linked": PEOPLE,
            "Lead.Discovered": PEOPLE}

        # The mirror knows the Lead's email and person, as from the three events before.
        people = org.people()
        (link,) = people["person1@example.com"]["links"]
        assert views.person(caught_up(org.app), link["id"])["id"] == "p-1"
        # explain says the run wrote it, in the words of a Written
        steps = explain(org.app, "p-1", "last_name").steps
        assert [(s.type, s.cause) for s in steps][-1] == ("LeadDiscovered",
                                                          f"run:{report.run_id}")
        assert steps[-1].text == f"'Person1' was written to salesforce Lead {link['id']}"

        # Decided again, the run records the same; a second sync writes nothing.
        replay = replay_run(org.app, report.run_id)
        assert replay.differences == [] and replay.same
        writes = org.writes()
        head = org.app.recorder.max_notification_id() or 0
        again = org.sync()
        assert again.outcome == "succeeded", again.errors
        assert org.writes() == writes
        assert not [t for t in topics_after(_database(sqlite_url), head)
                    if t.startswith("Person.") or t.endswith((".Written", ".PersonLinked"))]


def test_a_pipedrive_person_created_for_a_person_is_three_events(pd: Company,
                                                                 sqlite_url: str) -> None:
    pd.import_lines([app_person(n) for n in range(1, PEOPLE + 1)])
    head = pd.app.recorder.max_notification_id() or 0
    report = pd.sync()
    assert report.outcome == "succeeded", report.errors
    assert report.counts["persons"]["created"] == PEOPLE
    assert topics_after(_database(sqlite_url), head) == {
        "Person.CrmCreateRequested": PEOPLE, "Person.Linked": PEOPLE,
        "PipedrivePerson.Discovered": PEOPLE}
    replay = replay_run(pd.app, report.run_id)
    assert replay.differences == [] and replay.same
    writes = pd.writes()
    head = pd.app.recorder.max_notification_id() or 0
    assert pd.sync().outcome == "succeeded"
    assert pd.writes() == writes
    assert not [t for t in topics_after(_database(sqlite_url), head)
                if t.startswith("Person.") or t.endswith((".Written", ".PersonLinked"))]
