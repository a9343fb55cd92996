"""Serialises the runs of one integration: a run starts only by appending the next event of
this stream, so of two workers starting at once the store lets exactly one through."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.context import Context
from syncledger.domain.ids import run_lease_id


class RunInProgress(RuntimeError):
    def __init__(self, run_id: str, until: datetime) -> None:
        super().__init__(f"run {run_id} is in progress (its lease runs until "
                         f"{until.isoformat()})")
        self.run_id = run_id


class RunLease(Aggregate):
    @staticmethod
    def create_id(crm: str, **_: Any) -> UUID:
        return run_lease_id(crm)

    @classmethod
    def open(cls, crm: str, ctx: Context) -> RunLease:
        return cls(crm=crm, cause=ctx.cause, actor=ctx.actor)

    @event("Opened")
    def __init__(self, crm: str, cause: str, actor: str) -> None:
        self.crm = crm
        self.current: str | None = None
        self.until: datetime | None = None

    def start(self, run_id: str, at: datetime, ttl: timedelta, ctx: Context) -> str | None:
        """Start a run; returns the id of a dead run this one closes as interrupted."""
        interrupted = None
        if self.current is not None and self.until is not None:
            if at < self.until:
                raise RunInProgress(self.current, self.until)
            interrupted = self.current
            self._run_interrupted(run_id=self.current, cause=ctx.cause, actor=ctx.actor)
        self._run_started(run_id=run_id, until=at + ttl, cause=ctx.cause, actor=ctx.actor)
        return interrupted

    def renew(self, run_id: str, at: datetime, ttl: timedelta, ctx: Context) -> None:
        if self.current != run_id:
            raise RuntimeError(f"run {run_id} does not hold the lease")
        self._renewed(run_id=run_id, until=at + ttl, cause=ctx.cause, actor=ctx.actor)

    def finish(self, run_id: str, ctx: Context) -> None:
        if self.current != run_id:
            return
        self._run_finished(run_id=run_id, cause=ctx.cause, actor=ctx.actor)

    @event("SyncRunStarted")
    def _run_started(self, run_id: str, until: datetime, cause: str, actor: str) -> None:
        self.current = run_id
        self.until = until

    @event("Renewed")
    def _renewed(self, run_id: str, until: datetime, cause: str, actor: str) -> None:
        self.until = until

    @event("SyncRunInterrupted")
    def _run_interrupted(self, run_id: str, cause: str, actor: str) -> None:
        self.current = None
        self.until = None

    @event("SyncRunFinished")
    def _run_finished(self, run_id: str, cause: str, actor: str) -> None:
        self.current = None
        self.until = None
