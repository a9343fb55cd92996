"""What one sync run knows and tallies: the integration, the CRM client, the directory of
owners, the business time, and the counts, skips and errors that reach the Logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.error_subjects import error_subject
from syncledger.domain.context import Context
from syncledger.domain.ids import step_cursor_id
from syncledger.domain.integration import Integration
from syncledger.domain.mass_changes import StepChanges
from syncledger.domain.ports import CrmGateway
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import Step
from syncledger.domain.sync_run import COUNT_KEYS, empty_counts


@dataclass
class RunContext:
    app: SyncLedger
    gateway: CrmGateway
    integration: Integration
    run_id: str
    ctx: Context
    now: datetime
    connecting_member: str | None
    crm_user_emails: dict[str, str] = field(default_factory=dict)  # CRM user id -> email
    member_emails: dict[str, str] = field(default_factory=dict)  # team member -> email
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved_filters: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=empty_counts)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A SIGTERM lets the current page or batch finish, then the run ends there.
    should_stop: Callable[[], bool] = lambda: False
    # Steps whose configuration changed: everything they cover is decided again.
    fresh_steps: set[str] = field(default_factory=set)
    # A dry run collects, per record, what the run decided (`sync --dry-run`).
    plan: list[dict[str, Any]] | None = None
    # The Lead Status picklist (lowercased label or API name -> API name), read once a run
    # by whichever of the outbound Leads step and the status steps needs it first.
    lead_statuses: dict[str, str] | None = None
    # Told (label, how many) as each batch of records is decided: the command's progress bars.
    progress: Callable[[str, int], None] | None = None
    # `sync --record KEY --recreate`: the one way a record deleted in the CRM comes back.
    recreate: bool = False
    # `sync --allow-mass-changes`: the mass-change guard counts, but does not stop the run.
    allow_mass_changes: bool = False
    # What the outbound people steps' plans would change on linked records (the guard's
    # counts), when the run looked.
    mass_changes: list[StepChanges] = field(default_factory=list)

    @property
    def crm(self) -> str:
        return self.gateway.crm

    @property
    def org(self) -> str:
        assert self.integration.org_id is not None
        return self.integration.org_id

    @property
    def crm_user_by_email(self) -> dict[str, str]:
        return {email.lower(): user for user, email in self.crm_user_emails.items() if email}

    @property
    def member_by_email(self) -> dict[str, str]:
        return {email.lower(): member for member, email in self.member_emails.items() if email}

    def record_url(self, stream: str, record_id: str) -> str:
        return self.gateway.record_url(stream, record_id)

    def _kind(self, kind: str) -> dict[str, int]:
        """A kind's counts; a CRM's own kind (Pipedrive's persons) appears once counted."""
        return self.counts.setdefault(kind, dict.fromkeys(COUNT_KEYS, 0))

    def advanced(self, label: str, records: int) -> None:
        if self.progress is not None:
            self.progress(label, records)

    def count(self, kind: str, outcome: str) -> None:
        self._kind(kind)[outcome] += 1

    def planned(self, step: Step, app: str | None, crm: str | None, action: str,
                reason: str | None, changes: dict[str, list[Any]] | None = None) -> None:
        if self.plan is not None:
            self.plan.append({"step": step.name, "record": {"app": app, "crm": crm},
                              "action": action, "reason": reason, "changes": changes or {}})

    def skip(self, kind: str, reason: str) -> None:
        self._kind(kind)["skipped"] += 1
        self.skip_reasons[reason] += 1

    def error(self, step: Step, kind: str, app: str | None, crm: str | None, code: str,
              message: str) -> None:
        self._kind(kind)["failed"] += 1
        self.errors.append({"step": step.name, "record": {"app": app, "crm": crm},
                            "code": code, "message": message,
                            "subject": error_subject(self.app, kind, app)})


def step_cursor(run: RunContext, step: Step, cache: AggregateCache) -> StepCursor:
    """The step's cursor, opened on its first run."""
    cursor = cache.get(step_cursor_id(run.crm, step.name), StepCursor)
    if cursor is None:
        cursor = StepCursor.open(run.crm, step.name, run.ctx)
        cache.add(cursor)
    return cursor


def changed_originators(run: RunContext, start: int, stop: int,
                        topics: Sequence[str]) -> set[UUID]:
    """The aggregates with events of these topics after position `start`, up to `stop`."""
    return {found for page in originator_pages(run, start, stop, topics) for found in page}


def originator_pages(run: RunContext, start: int, stop: int,
                     topics: Sequence[str]) -> Iterator[set[UUID]]:
    """The same a page of the log at a time (an aggregate may come in more than one), for a
    caller that needs only what each page leads to, not every id at once."""
    position = start
    while position < stop:
        page = run.app.recorder.select_notifications(start=position + 1, limit=5000,
                                                     stop=stop, topics=topics)
        if not page:
            break
        yield {UUID(str(n.originator_id)) for n in page}
        position = page[-1].id
