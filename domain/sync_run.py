"""One sync run: its steps, counts and outcome. Per-record outcomes live on the records'
own aggregates, so this stream stays small however large the run."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import sync_run_id

COUNT_KINDS = ("people", "contacts", "leads", "persons", "accounts", "emails", "tasks",
               "calls", "notes", "linkedin", "statuses")
COUNT_KEYS = ("created", "updated", "skipped", "failed")
OUTCOMES = ("succeeded", "partial", "limited", "failed", "interrupted")


def empty_counts() -> dict[str, dict[str, int]]:
    return {kind: dict.fromkeys(COUNT_KEYS, 0) for kind in COUNT_KINDS}


def outcome_of(counts: dict[str, dict[str, int]], fatal: bool, limited: bool = False) -> str:
    """`limited`: a CRM limit or the api_budget stopped a step before its end (the next run
    resumes it), which says more than how its records fared."""
    if fatal:
        return "failed"
    if limited:
        return "limited"
    failed = sum(kind["failed"] for kind in counts.values())
    return "partial" if failed else "succeeded"


class SyncRun(CausedAggregate):
    @staticmethod
    def create_id(run_id: str, **_: Any) -> UUID:
        return sync_run_id(run_id)

    class Started(Aggregate.Created):
        """Version 2 adds what the run was asked to cover (`sync --full`, `--record`), so
        that `replay --run` can ask the same; a version 1 run covered what was due. Version
        3 adds what it was allowed (`--allow-mass-changes`, `--recreate`), so that a replay
        decides under the same leave; a run before it was allowed neither."""

        class_version = 3
        run_id: str
        crm: str
        steps: list[str]
        at: datetime
        full: bool
        only: list[str] | None  # person aggregate ids (hex), or None: every due record
        allow_mass_changes: bool
        recreate: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["full"] = False
            state["only"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["allow_mass_changes"] = False
            state["recreate"] = False

    @classmethod
    def begin(cls, run_id: str, crm: str, steps: list[str], at: datetime, ctx: Context,
              full: bool = False, only: list[str] | None = None,
              allow_mass_changes: bool = False, recreate: bool = False) -> SyncRun:
        return cls._begin(ctx, run_id=run_id, crm=crm, steps=steps, at=at, full=full,
                          only=sorted(only) if only is not None else None,
                          allow_mass_changes=allow_mass_changes, recreate=recreate)

    @event(Started)
    def __init__(self, run_id: str, crm: str, steps: list[str], at: datetime, full: bool,
                 only: list[str] | None, allow_mass_changes: bool, recreate: bool) -> None:
        self.run_id = run_id
        self.crm = crm
        self.steps = list(steps)
        self.full = full
        self.only = only
        self.allow_mass_changes = allow_mass_changes
        self.recreate = recreate
        self.started_at = at
        self.finished_at: datetime | None = None
        self.outcome = "running"
        self.counts = empty_counts()
        self.skip_reasons: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []

    def finish(self, counts: dict[str, dict[str, int]], skip_reasons: dict[str, int],
               errors: list[dict[str, Any]], fatal: bool, at: datetime, ctx: Context,
               api_calls: dict[str, int] | None = None, notes: list[str] | None = None,
               limited: bool = False) -> None:
        """`notes`: what the Logs should say beyond counts (a truncated field, ...).
        An error about one person carries `subject`, the hex of that person's key: its
        `message` is personal (domain.privacy.PERSONAL_ITEMS)."""
        if self.outcome != "running":
            raise RuntimeError(f"run {self.run_id} already ended ({self.outcome})")
        self._happened(self._finished, ctx, counts=counts, skip_reasons=skip_reasons,
                       errors=errors, outcome=outcome_of(counts, fatal, limited),
                       api_calls=api_calls or {}, notes=notes or [], at=at)

    def interrupt(self, at: datetime, ctx: Context) -> None:
        if self.outcome != "running":
            return
        self._happened(self._interrupted, ctx, at=at)

    @event("Finished")
    def _finished(self, counts: dict[str, dict[str, int]], skip_reasons: dict[str, int],
                  errors: list[dict[str, Any]], outcome: str, api_calls: dict[str, int],
                  notes: list[str], at: datetime) -> None:
        self.counts = counts
        self.skip_reasons = skip_reasons
        self.errors = errors
        self.outcome = outcome
        self.finished_at = at

    @event("Interrupted")
    def _interrupted(self, at: datetime) -> None:
        self.outcome = "interrupted"
        self.finished_at = at
