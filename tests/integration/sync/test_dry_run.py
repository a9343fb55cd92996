"""`sync --dry-run`: the plan a real run would carry out, with nothing written anywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sync_support import connected_org

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.dry_run import dry_run


def test_a_dry_run_plans_creates_updates_and_skips_and_writes_nothing(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[{"Id": "003000000000001AAA", "FirstName": "Ada", "LastName": "L",
                           "Email": "ada@example.com"}])
        org.import_lines([
            {"kind": "person", "id": "p-1", "email": "grace@example.com",
             "last_name": "Hopper", "account": "Navy"},
            {"kind": "person", "id": "p-2", "email": "nocompany@example.com",
             "last_name": "X"}])
        log_before = sqlite_store.recorder.max_notification_id()
        writes_before = org.writes()
        result = dry_run(sqlite_store, "tm-alice", datetime.now(UTC))
        assert sqlite_store.recorder.max_notification_id() == log_before
        assert org.writes() == writes_before
        by_action = {(e["step"], e["action"]) for e in result["plan"]}
        assert ("Contacts to People", "create") in by_action
        assert ("People to Leads", "create") in by_action
        skip = next(e for e in result["plan"] if e["action"] == "skip")
        assert skip["reason"] == "missing required field Company"
        assert skip["record"] == {"app": "p-2", "crm": None}
        create = next(e for e in result["plan"] if e["step"] == "People to Leads")
        assert create["changes"]["LastName"] == [None, "Hopper"]
        assert result["api_calls"]["collections"] == 1
        real = org.sync()
        assert real.counts["leads"]["created"] == 1
        assert org.writes() - writes_before == result["api_calls"]["collections"]
