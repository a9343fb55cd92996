"""The record of an integration's runs: which run is current, how each ended. Whether the
current run is still alive is not this stream's to say but the run lock's
(adapters/run_lock.py), which dies with the run's process: a run starts only while holding
that lock, so a run found current then is dead, and is closed as interrupted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import run_lease_id


class RunLease(CausedAggregate):
    @staticmethod
    def create_id(crm: str, **_: Any) -> UUID:
        return run_lease_id(crm)

    class SyncRunStarted(CausedAggregate.Event):
        """Version 2 drops `until`, the time a version 1 lease expired: liveness is the run
        lock's now, so the time only ever misjudged a run (a dead one blocked the next for
        its whole term, a long one was declared dead while it still wrote)."""

        class_version = 2
        run_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.pop("until", None)

    @classmethod
    def open(cls, crm: str, ctx: Context) -> RunLease:
        return cls._begin(ctx, crm=crm)

    @event("Opened")
    def __init__(self, crm: str) -> None:
        self.crm = crm
        self.current: str | None = None

    def start(self, run_id: str, ctx: Context) -> str | None:
        """Start a run; the caller holds the run lock, so a run still current is dead: it is
        closed as interrupted, and its id returned."""
        interrupted = self.current
        if interrupted is not None:
            self._happened(self._run_interrupted, ctx, run_id=interrupted)
        self._happened(self._run_started, ctx, run_id=run_id)
        return interrupted

    def finish(self, run_id: str, ctx: Context) -> None:
        if self.current != run_id:
            return
        self._happened(self._run_finished, ctx, run_id=run_id)

    @event(SyncRunStarted)
    def _run_started(self, run_id: str) -> None:
        self.current = run_id

    @event("Renewed")
    def _renewed(self, run_id: str, until: Any) -> None:
        """Recorded by no version any more (a lease's extension); older logs still replay."""

    @event("SyncRunInterrupted")
    def _run_interrupted(self, run_id: str) -> None:
        self.current = None

    @event("SyncRunFinished")
    def _run_finished(self, run_id: str) -> None:
        self.current = None
