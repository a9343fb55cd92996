"""A restarted worker carries on the schedule of the last recorded run (as `status` shows
it) instead of syncing again at once; app changes recorded after that run still go out
within a follow interval."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sync_support import NOW, connected_org, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.schedule import Worker
from syncledger.domain.schedule import should_run

EVERY = timedelta(hours=2)


def worker(app: SyncLedger) -> Worker:
    restarted = Worker(app, "tm-alice", EVERY, None, report=lambda *_: None)
    restarted.resume()
    return restarted


def due(restarted: Worker, after: timedelta) -> bool:
    return should_run(NOW + after, restarted.last_started, EVERY,
                      restarted._app_changes_waiting())


def test_a_worker_never_run_syncs_at_once(sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path):
        assert due(worker(sqlite_store), timedelta(0))


def test_a_restarted_worker_waits_for_the_next_run_unless_app_changes_wait(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        assert org.sync().outcome == "succeeded"  # at NOW
        restarted = worker(sqlite_store)
        assert restarted.last_started == NOW
        assert not due(restarted, timedelta(minutes=5))
        assert due(restarted, EVERY)
        org.import_lines([person(2)])  # an app change after the run
        assert due(worker(sqlite_store), timedelta(minutes=5))
