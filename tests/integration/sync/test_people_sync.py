"""People sync against the Salesforce emulator, both directions, with the Default profile."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sync_support import BOB, NOW, STRANGER, connected_org, contact, lead

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import sync_inbound, views
from syncledger.commands.sync import run_sync
from syncledger.domain.ids import step_cursor_id
from syncledger.replay.history import UnknownRecord


def test_inbound_contacts_and_leads_become_people_and_a_second_sync_records_nothing(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2, BOB)], Lead=[lead(1)])
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        assert report.counts["people"]["created"] == 3
        people = org.people()
        # Default profile: no pairs and no owner_match, so the connecting member owns all.
        assert people["contact2@example.com"]["owner"] == "tm-alice"
        assert people["lead1@example.com"]["account"] == "Co1"
        link = people["contact1@example.com"]["links"][0]
        assert (link["crm"], link["object"], link["id"]) == ("salesforce", "Contact",
                                                              "003000000000001AAA")
        assert link["url"].endswith("/lightning/r/Contact/003000000000001AAA/view")
        before = sqlite_store.recorder.max_notification_id()
        writes = org.writes()
        again = org.sync()
        assert again.counts["people"] == {"created": 0, "updated": 0, "skipped": 0,
                                          "failed": 0}
        assert org.writes() == writes
        # Only the run's own bookkeeping (lease, run, cursors) was appended.
        new = sqlite_store.recorder.select_notifications(start=before + 1, limit=1000)
        assert all("Person" not in n.topic and "Contact." not in n.topic for n in new)


def test_people_of_no_other_owner_go_to_the_member_who_connected_whoever_syncs(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:  # connected by tm-alice
        org.load(Contact=[contact(1, STRANGER)])
        run_sync(sqlite_store, "system", NOW)  # the scheduled worker
        org.load(Contact=[contact(2, STRANGER)])
        run_sync(sqlite_store, "tm-bob", NOW)
        people = org.people()
        assert [people[f"contact{n}@example.com"]["owner"] for n in (1, 2)] == ["tm-alice"] * 2


def test_outbound_new_people_become_leads_with_the_mapped_owner(sqlite_store: SyncLedger,
                                                                 tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([
            {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada",
             "last_name": "Lovelace", "account": "Analytical", "owner": "tm-bob"},
            {"kind": "person", "id": "p-2", "email": "nocompany@example.com",
             "last_name": "Nobody", "owner": "tm-alice"},
        ])
        report = org.sync()
        assert report.counts["leads"]["created"] == 1
        assert report.skip_reasons.get("missing required field Company") == 1
        leads = {r["Email"]: r for r in org.dump("Lead")}
        assert leads["ada@example.com"]["Company"] == "Analytical"
        assert org.dump("Contact") == []
        ada = org.people()["ada@example.com"]
        assert ada["links"][0]["object"] == "Lead"
        writes = org.writes()
        second = org.sync()
        assert org.writes() == writes, second  # no ping-pong: the echo recorded nothing
        assert second.counts["leads"]["created"] == 0


def test_unmapped_owner_is_skipped_when_the_step_has_pairs_stranger_owner(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1, STRANGER)])
        report = org.sync()
        # No pairs (Default profile): the connecting team member owns it.
        assert org.people()["contact1@example.com"]["owner"] == "tm-alice"
        assert report.counts["people"]["created"] == 1


def test_a_page_is_decided_in_batches_each_saved_with_its_watermark(
        sqlite_store: SyncLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a page of 7 Contacts and batches of 3,
    monkeypatch.setattr(sync_inbound, "BATCH", 3)
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(n) for n in range(1, 8)])
        # when a run is asked to stop, it stops after its first batch,
        stopped = org.sync(should_stop=lambda: True)
        assert stopped.counts["people"]["created"] == 3
        pulled = sorted(org.dump("Contact"), key=lambda r: (r["SystemModstamp"], r["Id"]))
        cursor = AggregateCache(sqlite_store).find(
            step_cursor_id("salesforce", "Contacts to People"))
        assert cursor.watermark[1] == pulled[2]["Id"]  # the batch's last record
        # then the next run takes the rest of the page, and nothing twice.
        rest = org.sync()
        assert rest.counts["people"]["created"] == 4
        assert rest.counts["people"]["updated"] == 0
        assert set(org.people()) == {f"contact{n}@example.com" for n in range(1, 8)}


def test_a_synced_person_is_found_by_app_id_email_and_crm_id(store: SyncLedger,
                                                              tmp_path: Path) -> None:
    with connected_org(store, tmp_path) as org:
        org.load(Contact=[contact(1)], Lead=[lead(1)])
        org.sync()
        by_crm = views.person(store, "003000000000001AAA")
        assert by_crm["email"] == "contact1@example.com"
        assert views.person(store, by_crm["id"]) == by_crm
        assert views.person(store, " Contact1@Example.com ") == by_crm
        with pytest.raises(UnknownRecord):
            views.person(store, "003000000000009AAA")


def test_a_run_tells_its_progress_step_by_step_in_records(sqlite_store: SyncLedger,
                                                          tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2, BOB)], Lead=[lead(1)])
        org.import_lines([{"kind": "person", "id": "p-9", "email": "p9@example.com",
                           "last_name": "Nine", "account": "Acme", "owner": "tm-alice"}])
        told: Counter[str] = Counter()
        run_sync(sqlite_store, "tm-alice", NOW, progress=lambda label, n: told.update({label: n}))
        assert told["Contacts to People"] == 2 and told["Leads to People"] == 1
        # Outbound, only p-9 (now a Lead) was decided: the three people the run made from
        # their records, and nothing else changed, hold what an update would send, and are
        # not read at all (in an org of 100,000 that was two passes over every person).
        assert told["People to Contacts + People to Leads"] == 1
        assert len(org.dump("Lead")) == 2
