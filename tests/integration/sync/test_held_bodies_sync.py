"""store_contents = false: message bodies go to the CRM but not into the log. The import
records each body's digest and holds the body outside the log; the sync sends it and then
deletes it, so it ends up in the CRM only."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from held_support import held_rows, log_as_decrypted, log_as_stored, sqlite_files
from sqlalchemy import delete
from sync_support import NOW, connected_org

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.held_contents import held_contents
from syncledger.commands import views
from syncledger.commands.configure import apply_configuration, current_configuration
from syncledger.commands.dry_run import dry_run
from syncledger.commands.session import caught_up

BODY = "Held body zq6x: our Q4 pricing, for your eyes only"
NOTE_TEXT = "Note wv9k about the renewal\nsecond line wv9k"
ADA = {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada",
       "last_name": "Lovelace", "account": "Analytical", "owner": "tm-alice"}
EMAIL = {"kind": "email", "id": "e-1", "person": "p-1", "at": "2026-11-01T10:00:00Z",
         "subject": "Pricing", "body": BODY, "direction": "sent"}
NOTE = {"kind": "note", "id": "n-1", "person": "p-1", "at": "2026-11-01T10:00:00Z",
        "text": NOTE_TEXT}


def store_contents(app: SyncLedger, on: bool) -> None:
    config = current_configuration(app, "salesforce")
    apply_configuration(app, replace(config, settings=replace(config.settings,
                                                              store_contents=on)),
                        "tm-alice", "test")


def events(app: SyncLedger) -> int:
    return app.recorder.max_notification_id() or 0


def tasks_by_subject(org: Any) -> dict[str, dict[str, Any]]:
    return {t["Subject"]: t for t in org.dump("Task")}


def test_bodies_reach_the_crm_never_the_log_and_leave_the_holding_table(
        store: SyncLedger, store_url: str, tmp_path: Path) -> None:
    with connected_org(store, tmp_path) as org:
        store_contents(store, False)
        org.import_lines([ADA, EMAIL, NOTE])
        digest = hashlib.sha256(BODY.encode()).hexdigest()
        recorded = next(e for e in views.history(caught_up(store), "p-1")
                        if e["type"] == "ActivityRecorded" and e["data"]["kind"] == "email")
        assert recorded["data"]["details"]["body"] == {"sha256": digest}  # history shows it
        assert {r["body"] for r in held_rows(store)} == {BODY, NOTE_TEXT}

        # The same records again record nothing and hold nothing more: the same file, and
        # the same lines in another file (their digests are what the log compares).
        before = events(store)
        org.import_lines([ADA, EMAIL, NOTE])
        org.import_lines([NOTE, EMAIL])
        assert events(store) == before and len(held_rows(store)) == 2

        # A dry run plans the digest, shows no body, and leaves the held bodies held.
        plan = dry_run(store, "tm-alice", NOW)["plan"]
        email = next(p for p in plan if p["record"]["app"] == "e-1")
        assert email["changes"]["Description"] == [None, f"sha256:{digest}"]
        assert "zq6x" not in repr(plan) and len(held_rows(store)) == 2

        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        assert (report.counts["emails"]["created"], report.counts["notes"]["created"]) == (1, 1)
        assert report.notes == []
        assert tasks_by_subject(org)["Pricing"]["Description"] == BODY
        note = org.dump("Note")[0]
        assert note["Body"] == NOTE_TEXT
        assert note["Title"].startswith("Note wv9k about the renewal [")
        assert held_rows(store) == []  # in the CRM only now

        for secret in ("zq6x", "wv9k"):  # nowhere in the log, even decrypted
            assert secret not in log_as_decrypted(store)
            assert secret.encode() not in log_as_stored(store)
            if store_url.startswith("sqlite"):  # nor in the database's bytes on disk
                assert secret.encode() not in sqlite_files(store_url)

        # A changed body is noticed (its digest differs), held, and goes out as an update.
        org.import_lines([{**EMAIL, "body": "A second body kj7y"}])
        assert [r["body"] for r in held_rows(store)] == ["A second body kj7y"]
        again = org.sync()
        assert again.counts["emails"]["updated"] == 1
        assert tasks_by_subject(org)["Pricing"]["Description"] == "A second body kj7y"
        assert held_rows(store) == [] and "kj7y" not in log_as_decrypted(store)
        assert len(org.dump("Task")) == 1


def test_switching_store_contents_records_no_change_by_itself(sqlite_store: SyncLedger,
                                                              tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        store_contents(sqlite_store, False)
        org.import_lines([ADA, EMAIL])
        store_contents(sqlite_store, True)
        # Held under false, it still goes out under true; it never enters the log.
        report = org.sync()
        assert report.counts["emails"]["created"] == 1
        assert org.dump("Task")[0]["Description"] == BODY
        assert held_rows(sqlite_store) == []
        before = events(sqlite_store)
        org.import_lines([EMAIL, ADA])  # the same body, now under true: nothing new
        assert events(sqlite_store) == before
        assert "zq6x" not in log_as_decrypted(sqlite_store)

        # The other way: a body logged under true stays as it is under false.
        org.import_lines([{**EMAIL, "id": "e-2", "subject": "Clear"}])
        store_contents(sqlite_store, False)
        before = events(sqlite_store)
        org.import_lines([{**EMAIL, "id": "e-2", "subject": "Clear"}, ADA])
        assert events(sqlite_store) == before and held_rows(sqlite_store) == []
        org.sync()
        assert tasks_by_subject(org)["Clear"]["Description"] == BODY


def test_a_body_no_longer_held_is_written_without_it_and_noted_in_the_logs(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        store_contents(sqlite_store, False)
        org.import_lines([ADA, EMAIL])
        with sqlite_store.database.writer.begin() as connection:  # lost, e.g. a restore
            connection.execute(delete(held_contents))
        report = org.sync()
        assert report.outcome == "succeeded" and report.counts["emails"]["created"] == 1
        assert "Description" not in org.dump("Task")[0] or \
            not org.dump("Task")[0]["Description"]
        run = views.logs(caught_up(sqlite_store), report.run_id)[0]
        assert run["notes"] == ["email e-1: its body is no longer held, so Description went "
                                "without it"]
        # A later update (the subject) touches neither the body nor the Logs again.
        org.import_lines([{**EMAIL, "subject": "Pricing, again"}])
        later = org.sync()
        assert later.counts["emails"]["updated"] == 1 and later.notes == []
