"""`syncledger schedule`: the long-running worker. It syncs a store never synced at once, then
every `every` from the last recorded run (as `status` shows it, across restarts), and follows
the log so that new app-side changes go out within a follow interval; SIGTERM lets the
current batch finish and the worker exit cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import log_table
from syncledger.commands import views
from syncledger.commands.session import caught_up
from syncledger.commands.sync import SyncRefused, run_sync
from syncledger.commands.sync_outbound import PERSON_TOPICS
from syncledger.domain.ids import sync_run_id
from syncledger.domain.schedule import should_run
from syncledger.domain.steps import FIRST_CRM
from syncledger.projections.event_index import positions_for
from syncledger.projections.registry import EVENT_INDEX

FOLLOW = timedelta(seconds=30)


@dataclass
class Worker:
    app: SyncLedger
    actor: str
    every: timedelta
    on_failure: str | None
    # Told each thing the worker does: a line in words, and the same as an event
    # ({"event": "run" | "not_synced" | "signal", ...}) for `schedule --json`.
    report: Callable[[str, dict[str, Any]], None]
    follow: timedelta = FOLLOW
    max_runs: int | None = None  # for tests and one-shot use
    crms: list[str] = field(default_factory=lambda: [FIRST_CRM])  # a run each

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.last_started: datetime | None = None
        self.seen_position = 0
        self.runs = 0

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: Any) -> None:
            self.report(f"signal {signum}: finishing the current batch, then exiting",
                        {"event": "signal", "signal": signum})
            self.stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def resume(self) -> None:
        """Carry on from the last recorded run: a restarted worker (a deploy, a reboot)
        syncs when that run's next is due, or sooner for app changes recorded after it, not
        again at once."""
        runs = views.logs(caught_up(self.app), None)
        if not runs:
            return  # never synced: at once
        last = runs[0]
        self.last_started = datetime.fromisoformat(last["started_at"])
        with self.app.database.reader.connect() as connection:
            found = positions_for(connection, log_table(self.app),
                                  EVENT_INDEX.tables["event_index"],
                                  [sync_run_id(last["run_id"])])
        self.seen_position = max((position for position, _, _ in found), default=0)

    def run_forever(self) -> None:
        self.resume()
        while not self.stop.is_set():
            now = datetime.now(UTC)
            if should_run(now, self.last_started, self.every, self._app_changes_waiting()):
                self._run_once(now)
                if self.max_runs is not None and self.runs >= self.max_runs:
                    return
            self.stop.wait(self.follow.total_seconds())

    def _app_changes_waiting(self) -> bool:
        head = self.app.recorder.max_notification_id() or 0
        if head <= self.seen_position:
            return False
        found = self.app.recorder.select_notifications(
            start=self.seen_position + 1, limit=1, stop=head, topics=PERSON_TOPICS)
        return bool(found)

    def _run_once(self, now: datetime) -> None:
        self.seen_position = self.app.recorder.max_notification_id() or 0
        for crm in self.crms:
            if self.stop.is_set():
                break
            self._sync(crm, now)
        self.last_started = now
        self.runs += 1
        self.seen_position = self.app.recorder.max_notification_id() or 0

    def _sync(self, crm: str, now: datetime) -> None:
        try:
            report = run_sync(self.app, self.actor, now, should_stop=self.stop.is_set,
                              crm=crm)
        except SyncRefused as refused:
            self.report(f"not synced: {refused}",
                        {"event": "not_synced", "crm": crm, "reason": str(refused),
                         "busy": refused.busy, "at": now.isoformat()})
            # Another run going on is no failure; a store that cannot sync at all (its
            # credentials or CA unusable, disconnected) would otherwise fail unheard.
            if not refused.busy and self.on_failure:
                run_on_failure(self.on_failure, "", "refused", str(refused))
            return
        self.report(f"run {report.run_id}: {report.outcome}",
                    {"event": "run", "crm": crm, "run_id": report.run_id,
                     "outcome": report.outcome,
                     "started_at": now.isoformat(), "counts": report.counts,
                     "errors": len(report.errors)})
        if report.outcome == "failed" and self.on_failure:
            run_on_failure(self.on_failure, report.run_id, report.outcome,
                           "; ".join(e["message"] for e in report.errors[:3]))


def run_on_failure(command: str, run_id: str, outcome: str, reason: str) -> None:
    """The operator's hook (a pager, a mail): it learns the run from the environment."""
    env = {**os.environ, "SYNCLEDGER_RUN_ID": run_id, "SYNCLEDGER_OUTCOME": outcome,
           "SYNCLEDGER_REASON": reason}
    subprocess.run(command, shell=True, env=env, check=False)  # noqa: S602
