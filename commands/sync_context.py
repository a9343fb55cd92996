"""What one sync run knows and tallies: the integration, the CRM client, the directory of
owners, the business time, and the counts, skips and errors that reach the Logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.read_ahead import Ahead
from syncledger.commands.error_subjects import error_subject
from syncledger.domain.context import Context
from syncledger.domain.ids import step_cursor_id
from syncledger.domain.integration import Integration
from syncledger.domain.mass_changes import StepChanges
from syncledger.domain.ports import CrmGateway
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import Step
from syncledger.domain.sync_run import COUNT_KEYS, empty_counts
from syncledger.projections.follower import ViewsFollower


@dataclass(frozen=True)
class RunSettings:
    """What the run was asked to do, fixed for its whole length."""

    run_id: str
    ctx: Context
    now: datetime  # the run's business time
    # Who owns what syncs in with no other owner: the member who connected, else the one
    # running the sync.
    connecting_member: str | None
    # A SIGTERM lets the current page or batch finish, then the run ends there.
    should_stop: Callable[[], bool] = lambda: False
    # Told (label, how many) as each batch of records is decided: the command's progress bars.
    progress: Callable[[str, int], None] | None = None
    # `sync --record KEY --recreate`: the one way a record deleted in the CRM comes back.
    recreate: bool = False
    # `sync --allow-mass-changes`: the mass-change guard counts, but does not stop the run.
    allow_mass_changes: bool = False


@dataclass
class Directory:
    """Who is who, read once at the start of a run: the CRM's users and the app's team
    members (each by email), lists and saved filters."""

    crm_user_emails: dict[str, str] = field(default_factory=dict)  # CRM user id -> email
    member_emails: dict[str, str] = field(default_factory=dict)  # team member -> email
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved_filters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def crm_user_by_email(self) -> dict[str, str]:
        return {email.lower(): user for user, email in self.crm_user_emails.items() if email}

    @property
    def member_by_email(self) -> dict[str, str]:
        return {email.lower(): member for member, email in self.member_emails.items() if email}


@dataclass(frozen=True)
class RunError:
    """One error in the Logs: about a record of a step, or (no step) about the run."""

    code: str
    message: str
    step: str | None = None
    app: str | None = None
    crm: str | None = None
    # Whose key seals the message, when it is about a person (see error_subjects).
    subject: str | None = None

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"step": self.step, "record": {"app": self.app,
                                                                "crm": self.crm},
                                 "code": self.code, "message": self.message}
        if self.step is not None:
            found["subject"] = self.subject
        return found


@dataclass
class Tally:
    """What reaches the Logs: counts per kind, skip reasons, errors, notes; with a dry run's
    plan and the mass-change guard's counts."""

    counts: dict[str, dict[str, int]] = field(default_factory=empty_counts)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    errors: list[RunError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A dry run collects, per record, what the run decided (`sync --dry-run`).
    plan: list[dict[str, Any]] | None = None
    # What the outbound people steps' plans would change on linked records (the guard's
    # counts), when the run looked.
    mass_changes: list[StepChanges] = field(default_factory=list)

    def kind(self, kind: str) -> dict[str, int]:
        """A kind's counts; a CRM's own kind appears once counted."""
        return self.counts.setdefault(kind, dict.fromkeys(COUNT_KEYS, 0))

    def run_failed(self, code: str, message: str) -> None:
        """An error about the run, not one record: it stopped there."""
        self.errors.append(RunError(code, message))

    def errors_json(self) -> list[dict[str, Any]]:
        return [error.to_json() for error in self.errors]


@dataclass
class RunContext:
    """One run: its settings, the store, the CRM gateway, the integration, who is who, and
    the tally; with what it learns as it goes."""

    app: SyncLedger
    gateway: CrmGateway
    integration: Integration
    settings: RunSettings
    directory: Directory = field(default_factory=Directory)
    tally: Tally = field(default_factory=Tally)
    # Steps whose configuration changed: everything they cover is decided again.
    fresh_steps: set[str] = field(default_factory=set)
    # Told how many records the run has decided: a large run's views follow in a process of
    # their own (projections/follower.py).
    views: ViewsFollower | None = None
    # The Lead Status picklist (lowercased label or API name -> API name), read once a run
    # by whichever of the outbound Leads step and the status steps needs it first.
    lead_statuses: dict[str, str] | None = None
    lead_statuses_ahead: Ahead[dict[str, str]] | None = None  # asked with the Lead's describe
    # People whose Lead write went through this run, and whom the status steps, deciding
    # again, would write nothing to, with the reasons they would skip them for: those
    # steps tally the skips of the ones due without loading them again. Held for every
    # person the run wrote, so kept small: keyed by the id's int, each distinct tuple of
    # reasons held once (UUID keys and a tuple each cost 19 MiB at 100k people, this 5).
    statuses_sent: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _skip_reasons: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def status_settled(self, person: UUID, reasons: list[str]) -> None:
        """The Leads step wrote `person`'s Status, or would write it none, for `reasons`."""
        held = tuple(reasons)
        self.statuses_sent[person.int] = self._skip_reasons.setdefault(held, held)

    @property
    def run_id(self) -> str:
        return self.settings.run_id

    @property
    def ctx(self) -> Context:
        return self.settings.ctx

    @property
    def now(self) -> datetime:
        return self.settings.now

    @property
    def crm(self) -> str:
        return self.gateway.crm

    @property
    def org(self) -> str:
        assert self.integration.org_id is not None
        return self.integration.org_id

    def record_url(self, stream: str, record_id: str) -> str:
        return self.gateway.record_url(stream, record_id)

    def advanced(self, label: str, records: int) -> None:
        if self.views is not None:
            self.views.decided(records)
        if self.settings.progress is not None:
            self.settings.progress(label, records)

    def should_stop(self) -> bool:
        return self.settings.should_stop()

    def note(self, *notes: str) -> None:
        self.tally.notes.extend(notes)

    def count(self, kind: str, outcome: str) -> None:
        self.tally.kind(kind)[outcome] += 1

    def planned(self, step: Step, app: str | None, crm: str | None, action: str,
                reason: str | None, changes: dict[str, list[Any]] | None = None) -> None:
        if self.tally.plan is not None:
            self.tally.plan.append({"step": step.name, "record": {"app": app, "crm": crm},
                                    "action": action, "reason": reason,
                                    "changes": changes or {}})

    def skip(self, kind: str, reason: str) -> None:
        self.tally.kind(kind)["skipped"] += 1
        self.tally.skip_reasons[reason] += 1

    def error(self, step: Step, kind: str, app: str | None, crm: str | None, code: str,
              message: str) -> None:
        self.tally.kind(kind)["failed"] += 1
        self.tally.errors.append(RunError(code, message, step.name, app, crm,
                                          error_subject(self.app, kind, app)))


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


def originator_pages(run: RunContext, start: int, stop: int, topics: Sequence[str],
                     keep: Callable[[Notification], bool] | None = None
                     ) -> Iterator[set[UUID]]:
    """The same a page of the log at a time (an aggregate may come in more than one), for a
    caller that needs only what each page leads to, not every id at once; `keep`: only the
    events it keeps lead anywhere."""
    position = start
    while position < stop:
        page = run.app.recorder.select_notifications(start=position + 1, limit=5000,
                                                     stop=stop, topics=topics)
        if not page:
            break
        yield {UUID(str(n.originator_id)) for n in page if keep is None or keep(n)}
        position = page[-1].id
