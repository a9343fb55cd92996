"""What `status` says of a connected integration, through the handlers against the emulator:
when the worker is late, which records keep failing across runs, and which no longer do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sync_support import NOW, connected_org, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import caught_up
from syncledger.commands.status import LATE_AFTER, failing_records, problems, status
from syncledger.commands.sync import run_sync


def test_the_worker_is_late_only_past_the_grace_after_the_next_run(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        org.sync()  # started at NOW; every 2h by default
        due = NOW + timedelta(hours=2)
        on_time = status(caught_up(sqlite_store), "salesforce", due + LATE_AFTER)
        assert on_time["next_run"] == due.isoformat() and not on_time["late"]
        assert problems(on_time) == []
        late = status(sqlite_store, "salesforce", due + LATE_AFTER + timedelta(seconds=1))
        assert late["late"]
        assert problems(late) == [f"salesforce: the worker is late: the next run was due at "
                                  f"{due.isoformat()}"]


def test_a_record_fails_across_runs_until_it_is_written(sqlite_store: SyncLedger,
                                                        tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email="broken@localhost"), person(2)])
        first = org.sync()
        assert first.outcome == "partial"
        # Each run a minute after the last, as real runs are: the Logs order runs by start.
        run_sync(sqlite_store, "tm-alice", NOW + timedelta(minutes=1))  # not retried
        run_sync(sqlite_store, "tm-alice", NOW + timedelta(minutes=2), full=True)  # refused
        [failing] = failing_records(caught_up(sqlite_store), "salesforce")
        assert failing["record"] == {"app": "p-1", "crm": None}
        assert failing["step"] == "People to Leads" and failing["runs"] == 2
        assert failing["last_run"] != first.run_id
        org.import_lines([person(1, at="2030-01-01T00:00:00Z")])  # a valid email now
        assert org.sync().outcome == "succeeded"
        assert failing_records(caught_up(sqlite_store), "salesforce") == []
        assert failing_records(sqlite_store, "pipedrive") == []  # never configured
