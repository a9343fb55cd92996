"""The CRM's answers to a past run, rebuilt from what the run recorded, for the replay gateway
(adapters/gateways.py `replay_gateway`), as the plain data of adapters/recorded_answers.py
keyed as the factory's `answer_keys` says:

- the records each inbound step pulled: a record's `Observed` event holds its mapped content,
  owner and SystemModstamp; its mirror holds its id, CreatedDate and conversion; the step's
  watermark events say where each page ended. A record the run found unchanged recorded
  nothing and decides nothing again; a full pull (a step's first, or one reset by a
  configuration change) also returns every record mirrored before the run;
- deletions and merges (`Removed`);
- the results of its writes (`Written`, `WriteFailed`, and a created record's link);
- the CRM's users, field lengths, Lead Statuses (`CrmReadings`, as they stood when the run
  read them) and the email matches it asked for (`RunMatches`).

`before` is a store holding the log as it stood just before the run: the state every
recorded event is applied to."""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import OriginatorVersionError
from eventsourcing.utils import get_topic
from sqlalchemy import select

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.gateways import answer_keys
from syncledger.adapters.recorded_answers import RecordedAnswers, RecordedPull, WriteAnswers
from syncledger.domain.content import content_hash
from syncledger.domain.crm_readings import CrmReadings, RunMatches, crm_readings_id
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.ids import integration_id, step_cursor_id
from syncledger.domain.integration import Integration
from syncledger.domain.ledger import LogSealed
from syncledger.domain.person import Person
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import Step
from syncledger.domain.task import Task
from syncledger.projections.event_names import own_name
from syncledger.projections.registry import CRM_RECORDS
from syncledger.replay.event_kinds import (
    CONVERTED,
    CREATE_FAILED,
    CREATE_REQUESTED,
    DISCOVERED,
    INBOUND_ADVANCED,
    LINKED,
    OBSERVED,
    PERSON_LINKED,
    RECONFIGURED,
    REMOVED,
    SKIPPED,
    WRITE_FAILED,
    WRITE_REQUESTED,
    WRITTEN,
)
from syncledger.replay.run_record import RunRecord

SEAL_TOPIC = get_topic(LogSealed)
TRACKED = (CrmRecord.Event, CrmReadings.Event, RunMatches.Event, Task.Event)  # state read



def recorded_answers(source: SyncLedger, before: SyncLedger, run: RunRecord
                     ) -> tuple[RecordedAnswers, list[str]]:
    """The answers, and what the record cannot tell, in words."""
    integration = AggregateCache(before).get_existing(integration_id(run.crm), Integration)
    rebuilt = _Rebuilt(source, before, run, integration)
    return rebuilt.answers(), rebuilt.notes


class _Rebuilt:
    def __init__(self, source: SyncLedger, before: SyncLedger, run: RunRecord,
                 integration: Integration) -> None:
        self.source = source
        self.before = before
        self.run = run
        self.integration = integration
        self.notes: list[str] = []
        self.cache = AggregateCache(before)
        self.cache.prefetch({e.originator_id for _, e in run.events if isinstance(e, TRACKED)}
                            | {crm_readings_id(run.crm)})
        self.states: dict[UUID, Any] = {}  # pre-run state advanced by the run's events
        self.steps = [s for s in integration.steps() if s.enabled and s.is_people
                      and s.inbound and s.source.startswith(f"{run.crm}.")]
        self.keys = answer_keys(run.crm)
        self.writes = WriteAnswers(self.keys.key_field)
        self.observed: list[tuple[int, Any]] = []  # (position, Observed)
        self.deleted: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pages_ended: dict[UUID, list[tuple[int, str, str]]] = defaultdict(list)
        self.reset: set[UUID] = set()  # step cursors reset in the run: full pulls
        self.account: dict[UUID, str | None] = {}  # a converted lead's account
        self.touched: set[UUID] = set()  # mirrors an inbound step decided about
        self.created = _created_records(run.events)
        self._walk()

    # -- the run's events, in order ---------------------------------------------------------
    def _walk(self) -> None:
        creating: dict[UUID, tuple[str, dict[str, Any]]] = {}  # person -> (key, content)
        writing: dict[UUID, tuple[str, str, dict[str, Any]]] = {}  # mirror or task ->
        #                                                 (key, action, content) pending
        event: Any
        for position, event in self.run.events:
            oid = event.originator_id
            kind = own_name(type(event))
            if isinstance(event, TRACKED):
                self.states[oid] = self._advance(oid, event)
            if isinstance(event, StepCursor.Event):
                if kind == INBOUND_ADVANCED:
                    advanced: Any = event  # (the library's base class types it loosely)
                    self.pages_ended[oid].append((position, advanced.modstamp,
                                                  advanced.record_id))
                elif kind == RECONFIGURED:
                    self.reset.add(oid)
            elif isinstance(event, Person.Event):
                self._person_write(oid, kind, event, creating)
            elif isinstance(event, CrmRecord.Event | Task.Event):
                self._record_event(oid, kind, event, writing)
                if kind == OBSERVED or (kind == DISCOVERED
                                        and getattr(event, "content", None) is not None):
                    self.observed.append((position, event))

    def _advance(self, oid: UUID, event: Any) -> Any:
        aggregate = self.states.get(oid)
        if aggregate is None:  # a copy: the cache keeps the state from before the run
            aggregate = copy.deepcopy(self.cache.find(oid))
        try:
            return event.mutate(aggregate)
        except (OriginatorVersionError, AssertionError):
            # Another command wrote to it meanwhile: read it as the source has it then.
            return self.source.repository.get(oid, version=event.originator_version)

    def _person_write(self, oid: UUID, kind: str, event: Any,
                      creating: dict[UUID, tuple[str, dict[str, Any]]]) -> None:
        """A create's result is the person's link to the new record (or its failure)."""
        if kind == CREATE_REQUESTED:
            creating[oid] = (event.key, dict(event.content or {}))
            return
        if kind == LINKED and oid not in creating and event.record_id not in self.created:
            return  # a link from matching or from an inbound record: no write to answer
        if kind not in (LINKED, CREATE_FAILED):
            return
        intent = creating.pop(oid, None) or self._earlier_intent(oid)
        if intent is None:
            return
        key, content = intent
        answer = (_success(event.record_id, created=True) if kind == LINKED
                  else _failure(event.code, event.message, event.retryable))
        self.writes.add(answer, key=key, content=content)

    def _earlier_intent(self, oid: UUID) -> tuple[str, dict[str, Any]] | None:
        """A create recorded by an earlier run that died: this run reconciled it."""
        pending = getattr(self.cache.find(oid), "pending_create", None)
        return (pending["key"], {}) if pending else None

    def _record_event(self, oid: UUID, kind: str, event: Any,
                      writing: dict[UUID, tuple[str, str, dict[str, Any]]]) -> None:
        state = self.states[oid]
        if kind == WRITE_REQUESTED:
            writing[oid] = (event.key, event.action, dict(event.content or {}))
        elif kind in (WRITTEN, WRITE_FAILED) and oid in writing:
            # (a create's Written on a mirror has no intent of its own: the person has it)
            key, action, content = writing.pop(oid)
            answer = (_success(event.crm_record, created=action == "create")
                      if kind == WRITTEN else _failure(event.code, event.message,
                                                       event.retryable))
            self.writes.add(answer, key=key or None,
                            record_id=getattr(event, "crm_record", None) or state.crm_record,
                            content=content if action == "create" else None)
        elif kind == CONVERTED:
            self.account[oid] = event.account_id
        if kind in (SKIPPED, PERSON_LINKED, CONVERTED) or (
                kind == DISCOVERED and event.person is not None):
            self.touched.add(oid)  # decided about by an inbound step
        elif kind == REMOVED:
            self.deleted[state.stream].append({"Id": state.crm_record,
                                                "MasterRecordId": event.master_record_id,
                                                "SystemModstamp": None})

    # -- the answers --------------------------------------------------------------------------
    def answers(self) -> RecordedAnswers:
        readings = self.states.get(crm_readings_id(self.run.crm)) or \
            self.cache.get(crm_readings_id(self.run.crm), CrmReadings)
        return RecordedAnswers(
            users=None if readings is None or readings.users is None else
            [{"Id": user, "Email": email} for user, email in readings.users.items()],
            lengths=dict(readings.lengths) if readings is not None else {},
            lead_statuses=None if readings is None else readings.lead_statuses,
            pulls=self._pulls(), deletions=dict(self.deleted),
            matches=None if readings is None else self._matches(), writes=self.writes)

    def _matches(self) -> dict[str, dict[str, list[tuple[str, bool]]]]:
        matches: dict[str, dict[str, list[tuple[str, bool]]]] = {}
        for state in self.states.values():
            if isinstance(state, RunMatches):
                for stream in state.asked:
                    found = matches.setdefault(stream, {})
                    for key, record_id, converted in state.rows.get(stream, []):
                        found.setdefault(key, []).append((record_id, bool(converted)))
        return matches

    def _pulls(self) -> dict[str, RecordedPull]:
        pulls: dict[str, RecordedPull] = {}
        by_cursor = {step_cursor_id(self.run.crm, s.name): s for s in self.steps}
        saves = self._seals()
        step_of_save: dict[int, Step] = {}
        for cursor, ends in self.pages_ended.items():
            if cursor in by_cursor:
                for position, _, _ in ends:
                    step_of_save[bisect_left(saves, position)] = by_cursor[cursor]
        for step in self.steps:
            pull = pulls.setdefault(self.keys.pull_key(step), RecordedPull())
            cursor_id = step_cursor_id(self.run.crm, step.name)
            pull.boundaries += [(m, r) for _, m, r in self.pages_ended.get(cursor_id, [])]
            if self._full_pull(step, cursor_id):
                pull.known += self._known(step.crm_object)
            self._note_unrecorded_filter(step)
        forgotten = 0
        for position, event in self.observed:
            mirror = self.states[event.originator_id]
            pulled_by = step_of_save.get(bisect_left(saves, position))
            if pulled_by is None or pulled_by.crm_object != mirror.stream:
                pulled_by = next((s for s in self.steps if s.crm_object == mirror.stream),
                                 None)
            if pulled_by is None:
                continue
            if not event.content and event.content_hash != content_hash({}):
                forgotten += 1
            pulls[self.keys.pull_key(pulled_by)].observed.append(
                self._record(mirror, event.content, event.modstamp, event.owner))
        if forgotten:
            self.notes.append(f"{forgotten} records the run observed belong to people "
                              "forgotten since: their content reads as redacted")
        return pulls

    def _full_pull(self, step: Step, cursor_id: UUID) -> bool:
        cursor = self.cache.get(cursor_id, StepCursor)
        return cursor is None or cursor.watermark is None or cursor_id in self.reset

    def _known(self, stream: str) -> list[dict[str, Any]]:
        """The records of the object mirrored before the run that a full pull returned
        unchanged and the run decided something about (a reset step decides on them again),
        and those skipped or converted before, which it skips again without a trace.

        The run kept no trace of an unchanged record it decided nothing about: it may have
        been deleted in the CRM meanwhile, so it is not returned (today's code, deciding
        nothing either, agrees; a new rule would not be tried on it)."""
        table = CRM_RECORDS.tables["crm_records"]
        with self.before.database.reader.connect() as connection:
            ids = [UUID(u) for u in connection.scalars(select(table.c.uuid).where(
                table.c.object == stream, table.c.org == self.integration.org_id,
                table.c.deleted.is_(False)))]
        self.cache.prefetch(ids)
        decided_at = self._decided_at()
        known = []
        for mirror_id in ids:
            mirror = self.cache.get(mirror_id, CrmRecord)
            if mirror is None or mirror.content_hash is None:
                continue  # never observed nor written: the CRM's answer is unknown
            at = decided_at.get(mirror.person) if mirror.person else None
            if at is None and mirror_id not in self.touched and not (
                    mirror.skipped or mirror.converted):
                continue  # a skipped or converted record is skipped again, silently
            final = self.states.get(mirror_id, mirror)
            # An unchanged record's SystemModstamp was not observed; the run kept it only
            # as the business time of what it decided about the record's person.
            modstamp = self.keys.modstamp(at) if at is not None else mirror.modstamp
            known.append(self._record(final, mirror.content, modstamp, mirror.owner))
        return known

    def _decided_at(self) -> dict[UUID, datetime]:
        """Each person's business time in the run: the SystemModstamp of its record."""
        found: dict[UUID, datetime] = {}
        for _, event in self.run.events:
            at = getattr(event, "at", None)
            if isinstance(event, Person.Event) and isinstance(at, datetime):
                found.setdefault(event.originator_id, at)
        return found

    def _record(self, mirror: Any, content: dict[str, Any], modstamp: str | None,
                owner: str | None) -> dict[str, Any]:
        record = {"Id": mirror.crm_record, "SystemModstamp": modstamp,
                  "CreatedDate": mirror.created, "OwnerId": owner, **content}
        if mirror.stream == "Lead":
            record.update(IsConverted=mirror.converted,
                          ConvertedContactId=mirror.converted_contact,
                          ConvertedAccountId=self.account.get(mirror.id))
        return record

    def _seals(self) -> list[int]:
        """The positions of the seals that end the saves within the run."""
        seals: list[int] = []
        position = self.run.first - 1
        while position < self.run.last:
            page = self.source.recorder.select_notifications(
                start=position + 1, limit=1000, stop=self.run.last + 1, topics=[SEAL_TOPIC])
            if not page:
                break
            seals += [n.id for n in page]
            position = page[-1].id
        return seals

    def _note_unrecorded_filter(self, step: Step) -> None:
        mapped = {m.crm for m in step.field_mappings}
        missing = sorted({r.field for r in (step.filter.rules if step.filter else ())}
                         - mapped - {"OwnerId", "HasOptedOutOfEmail", "Status", "IsConverted"})
        if missing:
            self.notes.append(f"step {step.name!r} filters on {', '.join(missing)}, which it "
                              "does not map, so the run did not record them: the filter is "
                              "decided again on empty values")


def _created_records(events: list[tuple[int, Any]]) -> set[str]:
    """The records the run created: a mirror `Written` with no intent of its own (a
    create's intent is the person's), or from issue 22 a `Discovered` carrying it."""
    intents: set[UUID] = set()
    created: set[str] = set()
    for _, event in events:
        if isinstance(event, CrmRecord.Event):
            kind = own_name(type(event))
            if isinstance(event, CrmRecord.Discovered) and event.written is not None:
                created.add(event.record_id)
            elif kind == WRITE_REQUESTED:
                intents.add(event.originator_id)
            elif kind in (WRITTEN, WRITE_FAILED):
                written: Any = event
                if kind == WRITTEN and event.originator_id not in intents:
                    created.add(written.crm_record)
                intents.discard(event.originator_id)
    return created


def _success(record_id: str, created: bool) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": [], "created": created}


def _failure(code: str, message: str, retryable: bool) -> dict[str, Any]:
    """As Salesforce answers a refused record; `retryable` for a replay through the port."""
    return {"success": False, "errors": [{"statusCode": code, "message": message,
                                          "retryable": retryable}]}
