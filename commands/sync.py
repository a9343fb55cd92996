"""`syncledger sync` ("Sync now"): take the run lock, record the start in the run lease, run
every enabled people step once (inbound first, then outbound), and record the run's counts
and outcome."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from eventsourcing.persistence import IntegrityError

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.credentials import CredentialsError
from syncledger.adapters.crm_errors import CrmError, CrmFatal, CrmLimitReached
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.gateways import live_gateway
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.read_ahead import Ahead
from syncledger.adapters.run_lock import RunLock
from syncledger.commands.sync_activities import (
    activity_steps,
    run_activities,
    run_statuses,
    status_steps,
    task_fields,
)
from syncledger.commands.sync_context import RunContext, RunSettings, Tally, step_cursor
from syncledger.commands.sync_inbound import run_inbound_steps
from syncledger.commands.sync_outbound import (
    MassChangesRefused,
    outbound_steps,
    run_outbound,
)
from syncledger.domain.context import SYSTEM_ACTOR, Context
from syncledger.domain.crm_readings import CrmReadings, RunMatches, crm_readings_id, run_matches_id
from syncledger.domain.ids import integration_id, run_lease_id, sync_run_id
from syncledger.domain.integration import Integration
from syncledger.domain.ports import CrmGateway
from syncledger.domain.run_lease import RunLease
from syncledger.domain.steps import FIRST_CRM
from syncledger.domain.sync_run import SyncRun
from syncledger.projections.directory import entries
from syncledger.projections.follower import ViewsFollower
from syncledger.projections.logs import api_calls_since
from syncledger.projections.registry import DIRECTORY, LIVE, LOGS
from syncledger.projections.runner import catch_up

log = structlog.get_logger(__name__)


class SyncRefused(RuntimeError):
    """The run cannot start: not connected, disabled, credentials or CA unusable, or another
    run holds the run lock (`busy`: then nothing is wrong, it is only not this worker's turn;
    `crm`: the CRM or its credentials are the reason, not connected, unreachable or
    refused)."""

    def __init__(self, message: str, busy: bool = False, crm: bool = False) -> None:
        super().__init__(message)
        self.busy = busy
        self.crm = crm


@dataclass
class RunReport:
    run_id: str
    outcome: str
    counts: dict[str, dict[str, int]]
    skip_reasons: dict[str, int]
    errors: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None
    # The mass-change guard's counts per outbound people step, when the run looked.
    mass_changes: list[dict[str, Any]] = field(default_factory=list)


def run_sync(app: SyncLedger, actor: str, now: datetime, full: bool = False,
             only: set[UUID] | None = None, crm: str = FIRST_CRM,
             should_stop: Callable[[], bool] = lambda: False,
             gateway: CrmGateway | None = None,
             plan: list[dict[str, Any]] | None = None,
             run_id: str | None = None,
             progress: Callable[[str, int], None] | None = None,
             recreate: bool = False, allow_mass_changes: bool = False) -> RunReport:
    """`run_id`: only `replay --run` gives one, to decide a past run again under its id;
    `progress` is told (label, records) as each batch of a step is decided; `recreate`
    (with `only`) creates again a record deleted in the CRM; `allow_mass_changes` lets a
    plan change owners or blank fields on many linked records."""
    integration = AggregateCache(app).get(integration_id(crm), Integration)
    if integration is None or not integration.connected:
        raise SyncRefused(f"{crm} is not connected: run `syncledger connect {crm}` first",
                          crm=True)
    if not integration.enabled:
        raise SyncRefused(f"the {crm} integration is disabled: run `syncledger enable`")
    if gateway is None:
        # Before the lease: a run that cannot reach the CRM at all is refused, not left open.
        try:
            gateway = live_gateway(app.database, integration)
        except (CredentialsError, CrmError) as error:
            raise SyncRefused(str(error), crm=True) from None
    run_id = run_id or uuid4().hex[:12]
    ctx = Context(cause=f"run:{run_id}", actor=actor)
    settings = RunSettings(run_id=run_id, ctx=ctx, now=now,
                           connecting_member=integration.connected_by or _connecting(actor),
                           should_stop=should_stop, progress=progress,
                           recreate=recreate and only is not None,
                           allow_mass_changes=allow_mass_changes)
    # A large run's views are caught up by a follower process as it records.
    views = ViewsFollower(app, list(LIVE.values()))
    run = RunContext(app=app, gateway=gateway, integration=integration, settings=settings,
                     tally=Tally(plan=plan), views=views)
    lock = _take_run_lock(app, crm)
    try:
        interrupted = _start(app, crm, run_id, integration, now, ctx, full, only,
                             settings.allow_mass_changes, settings.recreate)
    except BaseException:
        lock.release()
        raise
    kill_point("run.started")
    fatal = limited = False
    # The CRM's users, asked while the projections catch up: the run waits for their round
    # trip only if catching up takes less.
    users = Ahead(gateway.users, gateway.side_by_side)
    try:
        catch_up(app, list(LIVE.values()))
        _load_directory(run, users)
        _save_readings(run)
        _apply_budget(run)
        run.fresh_steps = _follow_configuration(run)
        kill_point("run.configuration_followed")
        steps = [s for s in integration.steps() if s.enabled and s.is_people]
        run_inbound_steps(run, [s for s in steps
                                if s.inbound and s.source.startswith(f"{crm}.")])
        views.catch_up()
        every = [s for s in integration.steps() if s.enabled]
        activities = activity_steps(every, crm) if only is None else []
        with task_fields(run, activities) as fields:  # asked while the outbound steps run
            # The views catch up with what is recorded while the last writes are in flight
            # and their outcomes are recorded; the run waits for them only after.
            run_outbound(run, outbound_steps(steps, crm), full, only,
                         meanwhile=views.catch_up_meanwhile)
            _save_readings(run)
            if only is None:
                views.catch_up()
                run_activities(run, activities, full, fields)
        if only is None:
            run_statuses(run, status_steps(every), full)
    except MassChangesRefused as error:
        # Nothing was written to the CRM: the due people stay due for the run that says yes.
        fatal = True
        run.tally.run_failed("MASS_CHANGE", str(error))
    except CrmLimitReached as error:
        # The step stops cleanly; its cursor holds, and the next run resumes from it.
        limited = True
        run.tally.run_failed("REQUEST_LIMIT_EXCEEDED", str(error))
    except CrmError as error:
        fatal = True
        code = "FATAL" if isinstance(error, CrmFatal) else "RETRYABLE"
        run.tally.run_failed(code, str(error))
    except Exception as error:
        # A failure of our own: the run is recorded as failed, naming it, never as a
        # success; the traceback goes to the log, for whoever debugs it.
        fatal = True
        run.tally.run_failed("INTERNAL", f"{type(error).__name__}: {error}")
        log.error("sync run failed", run_id=run_id, exc_info=True)
    except BaseException as error:  # an interrupt: recorded as failed, then passed on
        fatal = True
        run.tally.run_failed("INTERRUPTED", type(error).__name__)
        raise
    finally:
        users.close()  # a run that failed before it took them leaves no call behind
        if run.lead_statuses_ahead is not None:
            run.lead_statuses_ahead.close()
        views.close()
        try:
            outcome = _finish(app, crm, run, fatal, limited)
        finally:
            lock.release()
    tally = run.tally
    return RunReport(run_id=run_id, outcome=outcome, counts=tally.counts,
                     skip_reasons=dict(tally.skip_reasons), errors=tally.errors_json(),
                     notes=tally.notes, interrupted=interrupted,
                     mass_changes=[{**c.to_json(), "over_limit": c.too_many(
                         integration.settings.mass_change_limit)} for c in tally.mass_changes])


def _connecting(actor: str) -> str | None:
    """Who owns what syncs in with no other owner when no team member connected: the one
    running the sync."""
    return None if actor == SYSTEM_ACTOR else actor


def _take_run_lock(app: SyncLedger, crm: str) -> RunLock:
    """Whether a run is alive is its lock's to say: held, a run is going on, however long;
    free, no run is, whatever the lease says."""
    lock = app.database.run_lock(crm)
    if not lock.acquire():
        lease = AggregateCache(app).get(run_lease_id(crm), RunLease)
        which = f" ({lease.current})" if lease is not None and lease.current else ""
        raise SyncRefused(f"a run is in progress{which}; try again when it ends", busy=True)
    return lock


def _start(app: SyncLedger, crm: str, run_id: str, integration: Integration, now: datetime,
           ctx: Context, full: bool = False, only: set[UUID] | None = None,
           allow_mass_changes: bool = False, recreate: bool = False) -> str | None:
    """Record the start in the lease stream, holding the run lock: a run the lease still
    shows as current is dead (it would hold the lock), and is closed as interrupted; its
    pending intents are reconciled by this run's steps."""
    def start() -> str | None:
        cache = AggregateCache(app)
        lease = cache.get(run_lease_id(crm), RunLease)
        if lease is None:
            lease = RunLease.open(crm, ctx)
            cache.add(lease)
        interrupted = lease.start(run_id, ctx)
        if interrupted is not None:
            dead = cache.get(sync_run_id(interrupted), SyncRun)
            if dead is not None:
                dead.interrupt(now, ctx)
        steps = [s.name for s in integration.steps() if s.enabled]
        cache.add(SyncRun.begin(run_id, crm, steps, now, ctx, full=full,
                                only=None if only is None else [p.hex for p in only],
                                allow_mass_changes=allow_mass_changes, recreate=recreate))
        app.save(*cache.changed())
        return interrupted

    try:
        # A lost race here is another command's save (the ledger's next seal), not another
        # run's start: the lock keeps those out. It is redone on fresh state.
        return app.decide(start)
    except IntegrityError:
        raise SyncRefused("the run's start could not be recorded: other saves kept winning "
                          "the store; try again", busy=True) from None


def _finish(app: SyncLedger, crm: str, run: RunContext, fatal: bool,
            limited: bool = False) -> str:
    kill_point("run.before_finish")
    matches = _take_matches(run)

    def finish() -> str:
        cache = AggregateCache(app)
        sync_run = cache.get_existing(sync_run_id(run.run_id), SyncRun)
        tally = run.tally
        sync_run.finish(tally.counts, dict(tally.skip_reasons), tally.errors_json(), fatal,
                        run.now, run.ctx, api_calls=dict(run.gateway.calls), notes=tally.notes,
                        limited=limited)
        cache.get_existing(run_lease_id(crm), RunLease).finish(run.run_id, run.ctx)
        _record_readings(run, cache, matches)
        kill_point("run.finish_decided")
        app.save(*cache.changed())
        return str(sync_run.outcome)

    outcome = app.decide(finish)
    kill_point("run.finished")  # recorded; the lock not yet released
    catch_up(app, list(LIVE.values()))
    return outcome


def _save_readings(run: RunContext) -> None:
    matches = _take_matches(run)

    def save() -> None:
        cache = AggregateCache(run.app)
        _record_readings(run, cache, matches)
        run.app.save(*cache.changed())

    run.app.decide(save)


def _take_matches(run: RunContext) -> dict[str, tuple[int, list[list[Any]]]]:
    # Taken once, outside the retried save, so a retry records them all the same.
    readings = run.gateway.readings
    return readings.take_matches() if readings is not None else {}


def _record_readings(run: RunContext, cache: AggregateCache,
                     matches: dict[str, tuple[int, list[list[Any]]]]) -> None:
    """What the run read besides records (users, field lengths, Lead Statuses, email
    matches), so `replay --run` can answer it again; an unchanged org records nothing."""
    crm = run.integration.crm
    readings = cache.get(crm_readings_id(crm), CrmReadings)
    if readings is None:
        readings = CrmReadings.open(crm, run.ctx)
        cache.add(readings)
    if run.directory.crm_user_emails:  # empty: the run failed before it read them
        readings.read_users(run.directory.crm_user_emails, run.ctx)
    seen = run.gateway.readings
    if seen is None:
        return
    for stream, lengths in seen.lengths.items():
        readings.read_lengths(stream, lengths, run.ctx)
    if seen.lead_statuses is not None:
        readings.read_lead_statuses(seen.lead_statuses, run.ctx)
    for stream, (asked, rows) in matches.items():
        answers = cache.get(run_matches_id(run.run_id), RunMatches)
        if answers is None:
            answers = RunMatches.open(run.run_id, run.ctx)
            cache.add(answers)
        answers.answer(stream, asked, rows, run.ctx)


def _follow_configuration(run: RunContext) -> set[str]:
    """Steps whose mappings, filter or owners changed since their last run start afresh."""
    settings = run.integration.settings
    policy = (settings.conflict, settings.owner_mappings, settings.owner_match,
              settings.store_contents, settings.timezone)

    def follow() -> set[str]:
        cache = AggregateCache(run.app)
        fresh = set()
        for step in run.integration.steps():
            if not step.enabled:
                continue
            fingerprint = hashlib.sha256(repr((replace(step, enabled=True), policy)).encode())
            cursor = step_cursor(run, step, cache)
            if cursor.follow_configuration(fingerprint.hexdigest(), run.ctx) and \
                    cursor.version > 2:
                fresh.add(step.name)
        run.app.save(*cache.changed())
        return fresh

    return run.app.decide(follow)


def _apply_budget(run: RunContext) -> None:
    """At most `api_budget` of the org's daily API limit per day, counting today's runs."""
    limit = run.gateway.api_limit()
    if limit is None:
        return
    midnight = run.now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    with run.app.database.reader.connect() as connection:
        spent = api_calls_since(connection, LOGS.tables["sync_logs"], run.crm, midnight)
    allowed = int(run.integration.settings.api_budget * limit[1])
    run.gateway.spend_at_most(max(allowed - spent, 0) + sum(run.gateway.calls.values()))


def _load_directory(run: RunContext, users: Ahead[dict[str, str]]) -> None:
    with run.app.database.reader.connect() as connection:
        table = DIRECTORY.tables["directory"]
        members = entries(connection, table, "team_member")
        run.directory.lists = entries(connection, table, "list")
        run.directory.saved_filters = entries(connection, table, "saved_filter")
    run.directory.member_emails = {key: str(attrs.get("email") or "")
                                   for key, attrs in members.items()}
    run.directory.crm_user_emails.update(users.result())
