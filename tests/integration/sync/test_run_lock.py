"""Whether a run is alive is its run lock's to say, and the lock dies with the process: a
run killed with SIGKILL never blocks the next, `status` never shows it running, and a run
alive in another process is never taken for dead. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from sync_support import NOW, connected_org, person

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.kill_points import KILL_AT
from syncledger.commands import views
from syncledger.commands.session import caught_up
from syncledger.commands.status import status
from syncledger.commands.sync import run_sync
from syncledger.domain.ids import run_lease_id
from syncledger.domain.run_lease import RunLease

# A process that starts a run as `sync` does (the lock, then SyncRunStarted), says so, and
# then only waits: a run in the middle of its work, for as long as the test wants.
LIVE_RUN = """
import sys
from datetime import UTC, datetime
from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.commands.session import open_store
from syncledger.commands.sync import _start
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
app = open_store(sys.argv[1])
lock = app.database.run_lock("salesforce")
assert lock.acquire()
integration = AggregateCache(app).find(integration_id("salesforce"))
_start(app, "salesforce", "other-process", integration, datetime.now(UTC),
       Context("run:other-process", "system"))
print("started", flush=True)
sys.stdin.read()
"""


def cli(store: SyncLedger, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "syncledger.commands", "--store", store.store.url,
               "--as", "tm-alice", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})})


def test_a_run_killed_once_started_is_closed_as_interrupted_by_the_next_at_once(
        store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(store, tmp_path) as org:
        org.import_lines([person(n) for n in range(5)])
        killed = cli(store, "sync", env={KILL_AT: "run.started"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        [dead] = views.logs(caught_up(store), None)
        assert dead["outcome"] == "running"  # as recorded: it never recorded its end
        # Nobody holds its lock: not shown running, and the next run need not wait.
        health = status(caught_up(store), "salesforce", NOW)
        assert health["last_run"]["run_id"] == dead["run_id"]
        assert health["last_run"]["outcome"] == "interrupted"
        shown = cli(store, "status", "--json")
        [shown_health] = json.loads(shown.stdout)  # one entry a CRM: the one connected
        assert shown_health["last_run"]["outcome"] == "interrupted", shown.stderr
        logs = cli(store, "logs", "--run", dead["run_id"])
        assert f"run {dead['run_id']}" in logs.stdout and "interrupted" in logs.stdout
        done = cli(store, "sync")
        assert done.returncode == 0, done.stderr
        assert f"run {dead['run_id']} had died; closed as interrupted" in done.stdout
        runs = {run["run_id"]: run for run in views.logs(caught_up(store), None)}
        assert runs[dead["run_id"]]["outcome"] == "interrupted"
        assert [run["outcome"] for run in runs.values()].count("succeeded") == 1
        assert len(org.dump("Lead")) == 5  # each person once
        lease = AggregateCache(store).find(run_lease_id("salesforce"))
        assert lease.current is None


def test_a_run_alive_in_another_process_is_never_taken_for_dead(
        store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(store, tmp_path):
        with subprocess.Popen([sys.executable, "-c", LIVE_RUN, store.store.url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) as other:
            try:
                assert other.stdout is not None
                assert other.stdout.readline() == "started\n"  # blocks until it is
                busy = cli(store, "sync")
                assert busy.returncode == 4, busy  # busy: another run holds the lock
                assert "a run is in progress (other-process)" in busy.stderr, busy
                health = status(caught_up(store), "salesforce", NOW)
                assert health["last_run"]["run_id"] == "other-process"
                assert health["last_run"]["outcome"] == "running"
            finally:
                other.kill()  # SIGKILL
                other.wait(timeout=60)
        report = run_sync(store, "tm-alice", NOW)
        assert report.interrupted == "other-process"
        assert report.outcome == "succeeded"


def test_asking_whether_a_run_holds_the_lock_never_takes_it(store: SyncLedger) -> None:
    run = store.database.run_lock("salesforce")
    asker = store.database.run_lock("salesforce")
    assert not asker.held()
    assert run.acquire()
    try:
        assert asker.held() and run.held()
        assert not asker.acquire()  # a second run, even in the same process
        assert not store.database.run_lock("pipedrive").held()  # each CRM its own
    finally:
        run.release()
    assert not asker.held()
    assert asker.acquire()
    asker.release()
    asker.release()  # twice: nothing happens


def test_the_sqlite_run_lock_is_a_private_file_beside_the_store(
        sqlite_store: SyncLedger) -> None:
    lock = sqlite_store.database.run_lock("salesforce")
    assert lock.acquire()
    lock.release()
    store_file = sqlite_store.store.sqlite_path
    assert store_file is not None
    lock_file = store_file.with_name(f"{store_file.name}.run-salesforce.lock")
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600


# As a version with a lease of 30 minutes recorded them: the start carried `until`, and a
# lease could be renewed.
OLD_LEASE = [
    ("Opened", b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-20T09:00:00+00:00"},'
               b'"originator_topic":"syncledger.domain.run_lease:RunLease","crm":"salesforce",'
               b'"cause":"run:old-run","actor":"system","class_version":1}'),
    ("SyncRunStarted",
     b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-20T09:00:01+00:00"},'
     b'"run_id":"old-run","until":{"_type_":"datetime_iso","_data_":"2026-11-20T09:30:01+00:00"'
     b'},"cause":"run:old-run","actor":"system","class_version":1}'),
    ("Renewed",
     b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-20T09:20:00+00:00"},'
     b'"run_id":"old-run","until":{"_type_":"datetime_iso","_data_":"2026-11-20T09:50:00+00:00"'
     b'},"cause":"run:old-run","actor":"system","class_version":1}'),
]


def test_a_lease_recorded_with_expiry_times_still_replays(sqlite_store: SyncLedger,
                                                           tmp_path: Path) -> None:
    from eventsourcing.persistence import StoredEvent

    lease_id: UUID = run_lease_id("salesforce")
    stored = [StoredEvent(originator_id=lease_id, originator_version=version,
                          topic=f"syncledger.domain.run_lease:RunLease.{name}", state=state)
              for version, (name, state) in enumerate(OLD_LEASE, start=1)]
    stored.append(sqlite_store.mapper.to_stored_event(sqlite_store._seal(stored)))
    sqlite_store.recorder.insert_events(stored)
    lease = AggregateCache(sqlite_store).find(lease_id)
    assert isinstance(lease, RunLease) and lease.current == "old-run"
    with connected_org(sqlite_store, tmp_path):
        report = run_sync(sqlite_store, "tm-alice", NOW)
    assert report.interrupted == "old-run"
    assert AggregateCache(sqlite_store).find(lease_id).current is None
