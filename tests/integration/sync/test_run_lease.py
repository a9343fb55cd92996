"""Runs are serialised by the run lock and recorded in the lease: a live run refuses a
second however long it runs, a dead one is closed as interrupted by the next at once, and
two processes started at once leave exactly one running."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sync_support import NOW, connected_org

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.credentials import load_credentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.client import SalesforceClient, SalesforceCredentials
from syncledger.adapters.salesforce.gateway import SalesforceGateway
from syncledger.commands import views
from syncledger.commands.session import caught_up, open_store
from syncledger.commands.status import status
from syncledger.commands.sync import SyncRefused, _start, run_sync
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id


def test_a_live_run_refuses_a_second_however_long_and_a_dead_one_is_closed_at_once(
        store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(store, tmp_path):
        integration = AggregateCache(store).find(integration_id("salesforce"))
        # A live run: it holds the run lock (a lock object of its own, as another process's
        # would be) and has recorded its start.
        lock = store.database.run_lock("salesforce")
        assert lock.acquire()
        _start(store, "salesforce", "live-run", integration, NOW,
               Context("run:live-run", "system"))
        for later in (timedelta(minutes=1), timedelta(hours=2), timedelta(days=400)):
            with pytest.raises(SyncRefused, match=r"a run is in progress \(live-run\)") as refused:
                run_sync(store, "tm-alice", NOW + later)
            assert refused.value.busy
        assert status(caught_up(store), "salesforce", NOW + timedelta(days=400)
                      )["last_run"]["outcome"] == "running"
        # Its process dies: the lock goes with it, and the next run starts at once.
        lock.release()
        assert status(caught_up(store), "salesforce", NOW)["last_run"]["outcome"] == \
            "interrupted"
        report = run_sync(store, "tm-alice", NOW)
        assert report.interrupted == "live-run"
        runs = {run["run_id"]: run for run in views.logs(caught_up(store), None)}
        assert runs["live-run"]["outcome"] == "interrupted"
        assert runs[report.run_id]["outcome"] == "succeeded"
        # The lock was given back at the end: the next run starts, closing nothing.
        assert run_sync(store, "tm-alice", NOW).interrupted is None


def test_two_sync_processes_started_at_once_run_once(store_url: str, tmp_path: Path) -> None:
    app = open_store(store_url)
    try:
        with connected_org(app, tmp_path) as org:
            org.import_lines([{"kind": "person", "id": f"p-{n}", "email": f"p{n}@example.com",
                               "last_name": f"L{n}", "account": "Acme"} for n in range(30)])
            command = [sys.executable, "-m", "syncledger.commands", "--store", store_url,
                       "--as", "tm-alice", "sync"]
            processes = [subprocess.Popen(command, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
                         for _ in range(2)]
            results = []
            for process in processes:
                stdout, stderr = process.communicate(timeout=300)
                results.append((process.returncode, stdout, stderr))
            codes = sorted(code for code, _, _ in results)
            assert codes in ([0, 0], [0, 4]), results  # 4: busy, another run holds the lock
            refused = [err for code, _, err in results if code == 4]
            assert all("a run is in progress" in err for err in refused), results
            assert len(org.dump("Lead")) == 30  # nothing written twice
    finally:
        app.close()
        app.database.dispose()


class ClientThatBreaks(SalesforceClient):
    """A CRM client whose reading fails with an error no CRM failure kind covers, as a bug
    in the engine would."""

    def query(self, soql: str, include_deleted: bool = False) -> Iterator[list[dict[str, Any]]]:
        if "FROM Contact" in soql:
            raise ValueError("a page nobody expected")
        return super().query(soql, include_deleted)


def test_a_run_that_breaks_inside_is_recorded_failed_naming_the_error(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path):
        client = ClientThatBreaks(SalesforceCredentials(**load_credentials(
            sqlite_store.database, "salesforce")))
        gateway = SalesforceGateway(client, "https://unused.example")
        report = run_sync(sqlite_store, "tm-alice", NOW, gateway=gateway)
        assert report.outcome == "failed"
        [run] = views.logs(caught_up(sqlite_store), None)
        assert run["outcome"] == "failed"
        assert [(e["code"], e["message"]) for e in run["errors"]] == [
            ("INTERNAL", "ValueError: a page nobody expected")]
        # The lease was given back: the next run starts at once.
        assert run_sync(sqlite_store, "tm-alice", NOW).outcome == "succeeded"


def test_a_run_whose_ca_certificate_is_gone_is_refused_and_records_nothing(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path):
        pass  # the emulator stops and takes its CA certificate with it
    head = sqlite_store.recorder.max_notification_id()
    with pytest.raises(SyncRefused, match="CA certificate .* is not there any more"):
        run_sync(sqlite_store, "tm-alice", NOW)
    assert sqlite_store.recorder.max_notification_id() == head
    command = [sys.executable, "-m", "syncledger.commands", "--store",
               sqlite_store.store.url, "sync", "--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 3, done.stderr  # 3: the CRM or its credentials
    assert "CA certificate" in done.stderr and "Traceback" not in done.stderr
