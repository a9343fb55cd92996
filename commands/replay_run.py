"""`replay --run RUN_ID`: decide a past run again with today's code, from what the run
recorded, without calling the CRM, and say where today's decisions differ.

The log as it stood just before the run is copied into a throwaway store; the real sync
(`run_sync`, under the run's own id, business time and actor) runs there against a client
that answers from the run's recorded observations and results; then the events each side
caused are compared record by record. The source store is only read: nothing is appended
to its log and the CRM is never called."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.gateways import replay_gateway
from syncledger.commands.session import store_session
from syncledger.commands.sync import SyncRefused, run_sync
from syncledger.domain.app_records import Activity
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration
from syncledger.domain.person import Person
from syncledger.domain.task import Task
from syncledger.projections.registry import LIVE
from syncledger.projections.runner import catch_up
from syncledger.replay.copy_log import copy_log
from syncledger.replay.run_answers import recorded_answers
from syncledger.replay.run_diff import Identity, decisions, differences, differing
from syncledger.replay.run_record import RunRecord, read_run


class ReplayRefused(ValueError):
    """The run cannot be decided again (the integration as it stood refuses a sync)."""


@dataclass
class RunReplay:
    run_id: str
    started_at: str
    outcome: dict[str, str]  # {"recorded", "now"}
    differences: list[dict[str, Any]]
    counts: dict[str, Any]  # {"recorded": counts or None (never finished), "now": counts}
    skip_reasons: dict[str, Any]
    not_replayed: list[str]  # what the record could not answer, in words

    @property
    def same(self) -> bool:
        recorded = self.counts["recorded"]
        totals = recorded is None or (recorded == self.counts["now"] and
                                      self.skip_reasons["recorded"] == self.skip_reasons["now"])
        return not self.differences and totals

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "started_at": self.started_at, "same": self.same,
                "outcome": self.outcome, "differences": self.differences,
                "counts": self.counts, "skip_reasons": self.skip_reasons,
                "not_replayed": self.not_replayed}


def replay_run(app: SyncLedger, run_id: str) -> RunReplay:
    catch_up(app, list(LIVE.values()))
    record = read_run(app, run_id)
    with tempfile.TemporaryDirectory(prefix="syncledger-replay-") as tmp, \
            store_session(f"sqlite:///{Path(tmp) / 'replay.db'}") as copy:
        copy_log(app, copy, until=record.first - 1)
        catch_up(copy, list(LIVE.values()))
        answers, notes = recorded_answers(app, copy, record)
        as_it_stood = AggregateCache(copy).get(integration_id(record.crm), Integration)
        if as_it_stood is None:
            raise ReplayRefused(f"run {run_id} cannot be decided again: {record.crm} was "
                                "not connected")
        gateway, gaps = replay_gateway(answers, as_it_stood)
        plan: list[dict[str, Any]] = []
        try:
            report = run_sync(copy, record.actor, record.started_at, full=record.full,
                              only=record.only, crm=record.crm, gateway=gateway, plan=plan,
                              run_id=run_id, allow_mass_changes=record.allow_mass_changes,
                              recreate=record.recreate)
        except SyncRefused as refused:
            raise ReplayRefused(f"run {run_id} cannot be decided again: {refused}") from None
        replayed = read_run(copy, run_id)
        recorded_facts = decisions(record.events)
        now_facts = decisions(replayed.events)
        changed = differing(recorded_facts, now_facts)
        identities = {i: _identity(app, copy, i) for i in changed}
        integration = AggregateCache(copy).get_existing(integration_id(record.crm),
                                                        Integration)
        steps = [s for s in integration.steps() if s.enabled]
        found = differences(recorded_facts, now_facts, identities, plan, steps)
    return RunReplay(
        run_id=run_id, started_at=record.started_at.isoformat(),
        outcome={"recorded": record.outcome, "now": report.outcome}, differences=found,
        counts={"recorded": record.counts, "now": report.counts},
        skip_reasons={"recorded": record.skip_reasons, "now": report.skip_reasons},
        not_replayed=_limits(record) + notes + gaps)


def _limits(record: RunRecord) -> list[str]:
    """Where the recorded run itself leaves the comparison short."""
    limits = []
    if not record.finished:
        limits.append(f"the run did not finish ({record.outcome}): what it did not reach "
                      "has nothing recorded to compare with")
    for error in record.errors:
        if error.get("step") is None:
            limits.append(f"the run stopped on a CRM error ({error['code']}: "
                          f"{error['message']}): the replay goes on past that point")
    if record.others:
        limits.append(f"{record.others} events of other commands (an import, a "
                      "configuration change) were recorded while the run ran: the replay "
                      "starts from the log as the run began, without them")
    return limits


def _identity(source: SyncLedger, copy: SyncLedger, aggregate_id: UUID) -> Identity:
    """Who a differing aggregate is about, as the source knows it now (else the replay)."""
    for store in (source, copy):
        cache = AggregateCache(store)
        found = cache.find(aggregate_id)
        if isinstance(found, Person):
            # A Contact before a Lead (a converted lead's person holds both), then any other.
            link = min(found.links.values(), default=None,
                       key=lambda k: (k["object"] != "Contact", k["object"] != "Lead"))
            return Identity(found.app_id, link["id"] if link else None,
                            link["object"] if link else None)
        if isinstance(found, CrmRecord):
            person = cache.find(found.person) if found.person else None
            return Identity(getattr(person, "app_id", None), found.crm_record, found.stream)
        if isinstance(found, Task):
            activity = cache.find(found.activity)
            key = activity.key if isinstance(activity, Activity) else None
            return Identity(key, found.crm_record, "Task")
    return Identity(None, None, None)
