"""A sync killed (SIGKILL) after its activity writes reached Salesforce and before their
results were recorded: the next run finds them and writes each activity once, without the
fields only a create may set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sync_support import connected_org, person
from test_activity_recovery import EMAILS, NOTES, OTHERS

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.kill_points import KILL_AT
from syncledger.commands import views
from syncledger.commands.session import caught_up


def _sync(store: SyncLedger, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "syncledger.commands", "--store", store.store.url,
               "--as", "tm-alice", "sync"]
    env = {**os.environ, **({KILL_AT: kill_at} if kill_at else {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env=env)


def test_a_run_killed_after_its_activity_writes_landed_is_recovered_exactly_once(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        assert org.sync().outcome == "succeeded"
        org.import_lines([*EMAILS[:10], *NOTES[:10], *OTHERS])
        killed = _sync(sqlite_store, "activities.after_write")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert (len(org.dump("Task")), len(org.dump("Note"))) == (13, 10)  # they landed
        before = org.stats()["query"]
        done = _sync(sqlite_store)
        assert done.returncode == 0, done.stdout + done.stderr
        spent = org.stats()["query"] - before
        last = views.logs(caught_up(sqlite_store), None)[0]
        assert last["outcome"] == "succeeded", last["errors"]
        tasks = org.dump("Task")
        assert sorted(Counter(t["Syncledger_Key__c"] for t in tasks).values()) == [1] * 13
        assert Counter(t["TaskSubtype"] for t in tasks) == {
            "Email": 10, "Call": 1, "Task": 1, "LinkedIn": 1}
        assert sorted(n["Title"].split(" [")[0] for n in org.dump("Note")) == \
            sorted(f"Note {i}" for i in range(10))
        writes = org.writes()
        before = org.stats()["query"]
        assert _sync(sqlite_store).returncode == 0
        assert org.writes() == writes  # nothing left to send
        assert spent - (org.stats()["query"] - before) == 2  # one query for Notes, one Tasks
