"""The activity and status steps: app emails, calls, tasks and LinkedIn activities become
Lead or Contact Tasks, notes become Notes, statuses and inbox categories update Lead Status.

An activity whose person is not linked yet waits (it stays due) and goes out once the person
is linked; each activity is written exactly once (Task upserts on Syncledger_Key__c; a Note's
key ends its Title, so a crash is reconciled by looking it up before any retry)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from syncledger.adapters.held_contents import Held, held_contents, held_for, release
from syncledger.adapters.old_bytes import drop_old_bytes
from syncledger.adapters.salesforce import soql
from syncledger.adapters.salesforce.client import COLLECTION_SIZE
from syncledger.commands.aggregate_cache import AggregateCache
from syncledger.commands.connect import KEY_FIELD
from syncledger.commands.sync_context import (
    RunContext,
    changed_originators,
    originator_pages,
    step_cursor,
)
from syncledger.commands.sync_outbound import all_people, lead_status, passes_filter
from syncledger.domain.activity_mapping import (
    COUNT_KIND,
    note_fields,
    task_fields,
)
from syncledger.domain.app_records import Activity
from syncledger.domain.content import normalise_value
from syncledger.domain.ids import app_person_id, crm_record_id, natural_id
from syncledger.domain.message_bodies import marked, revealed
from syncledger.domain.ownership import outbound_owner
from syncledger.domain.person import Person
from syncledger.domain.steps import Step, step_owner_mappings, step_owner_match
from syncledger.domain.task import Task
from syncledger.projections.event_index import subjects_of
from syncledger.projections.registry import EVENT_INDEX

KIND_OF_SOURCE = {"app.emails": "email", "app.calls": "call", "app.tasks": "task",
                  "app.linkedin": "linkedin", "app.notes": "note"}
ACTIVITY_TOPICS = [get_topic(Activity.Recorded), get_topic(Activity.Changed)]  # type: ignore[attr-defined]
LINK_TOPICS = [get_topic(Person.Linked)]  # type: ignore[attr-defined]
STATUS_TOPICS = [get_topic(Person.Updated), get_topic(Person.Recorded),  # type: ignore[attr-defined]
                 get_topic(Person.Linked)]  # type: ignore[attr-defined]
NOT_LINKED = "person not linked yet"
TRUNCATED = ("Subject", "Description")  # the text fields an activity can overflow


@dataclass
class ActivityWrite:
    step: Step
    task: Task
    activity: Activity
    sobject: str  # Task | Note
    action: str  # create | update
    fields: dict[str, Any]
    auto_assign: bool
    after_crash: bool = False  # the last intent has no recorded result: look before writing
    crm_id: str | None = None
    # Bodies the log holds only as digests (store_contents = false): the fields sent in
    # place of the recorded ones (None: not sent), and the last held row read, to release.
    held_fields: dict[str, Any] = field(default_factory=dict)
    held_seq: int | None = None

    def sent_fields(self) -> dict[str, Any]:
        sent = {**self.fields, **self.held_fields}
        return {k: v for k, v in sent.items() if k not in self.held_fields or v is not None}


def activity_steps(steps: list[Step]) -> list[Step]:
    return [s for s in steps if s.enabled and s.source in KIND_OF_SOURCE
            and s.target.startswith("salesforce")]


def status_steps(steps: list[Step]) -> list[Step]:
    return [s for s in steps if s.enabled and s.target == "salesforce.lead_statuses"]


def run_activities(run: RunContext, steps: list[Step], full: bool) -> None:
    """All activity steps at once: one activity goes to its person's Contact or Lead."""
    if not steps:
        return
    position = run.app.recorder.max_notification_id() or 0
    cursors = {s.name: step_cursor(run, s, AggregateCache(run.app)) for s in steps}
    start = 0 if full else min(c.position for c in cursors.values())
    due = _due_activities(run, start, position)
    for cursor in cursors.values():
        due |= {UUID(k) for k in cursor.due}
    by_kind: dict[str, dict[str, Step]] = defaultdict(dict)
    for step in steps:
        by_kind[KIND_OF_SOURCE[step.source]][step.crm_object] = step
    describe = {"Task": run.client.describe("Task")} if any(
        k != "note" for k in by_kind) else {}
    ordered = sorted(due)
    released = 0
    try:
        for offset in range(0, len(ordered), COLLECTION_SIZE):
            chunk = ordered[offset:offset + COLLECTION_SIZE]
            released += run.app.decide(partial(_write_activities, run, by_kind, describe,
                                               chunk))
            run.advanced("activities", len(chunk))
            if run.should_stop():
                return
    finally:
        if released:  # the bodies are in the CRM only now: not in old database pages either
            drop_old_bytes(run.app.database, [held_contents.name])
    _advance(run, steps, position)


def _advance(run: RunContext, steps: list[Step], position: int) -> None:
    def advance() -> None:
        cache = AggregateCache(run.app)
        for step in steps:
            step_cursor(run, step, cache).advance_outbound(position, run.ctx)
        run.app.save(*cache.changed())

    run.app.decide(advance)


def _due_activities(run: RunContext, start: int, stop: int) -> set[UUID]:
    """Activities changed since the position, and those of people linked since. A first
    run links every person: their activities are looked up a page of links at a time, so
    the people's ids are never all held at once."""
    due = changed_originators(run, start, stop, ACTIVITY_TOPICS)
    for linked in originator_pages(run, start, stop, LINK_TOPICS):
        with run.app.database.reader.connect() as connection:
            due |= subjects_of(connection, EVENT_INDEX.tables["event_index"], linked)
    return due


def _write_activities(run: RunContext, by_kind: dict[str, dict[str, Step]],
                      describe: dict[str, Any], chunk: list[UUID]) -> int:
    """Returns how many held bodies went (the CRM has them now, or they will never go)."""
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    activities = [a for a in (cache.get(i) for i in chunk) if isinstance(a, Activity)]
    cache.prefetch([*(app_person_id(a.person) for a in activities),
                    *(Task.create_id("salesforce", run.org, a.id) for a in activities)])
    held = held_for(run.app.database, [a.id for a in activities])
    planner = ActivityPlanner(run, by_kind, describe, cache, held)
    writes = [w for w in (planner.plan(aid) for aid in chunk) if w is not None]
    planner.reconcile(writes)
    run.app.save(*cache.changed())  # intents first
    results = _send(run, writes)
    cache = AggregateCache(run.app)
    stay_due = set(planner.waiting)
    for write, result in zip(writes, results, strict=True):
        task = cache.get(write.task.id)
        kind = COUNT_KIND[write.activity.kind]
        if result.get("success"):
            task.record_written(str(result.get("id") or write.crm_id), run.ctx)
            run.count(kind, "created" if write.action == "create" else "updated")
            if write.held_seq is not None:
                planner.settled[write.activity.id] = write.held_seq
            continue
        error = (result.get("errors") or [{}])[0]
        code = str(error.get("statusCode", "UNKNOWN"))
        retryable = code in ("RETRYABLE", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE")
        task.record_write_failed(code, str(error.get("message", "")), retryable, run.ctx)
        run.error(write.step, kind, write.activity.key, task.crm_record, code,
                  str(error.get("message", "")))
        if retryable:
            stay_due.add(write.activity.id.hex)
    steps = {s.name: s for kinds in by_kind.values() for s in kinds.values()}
    for step in steps.values():
        cursor = step_cursor(run, step, cache)
        cursor.mark_due(sorted(stay_due), run.ctx)
        cursor.clear_due([a.hex for a in chunk if a.hex not in stay_due], run.ctx)
    run.app.save(*cache.changed())
    for kind, reason, skipped_step, key in planner.skips:
        run.skip(kind, reason)
        if skipped_step is not None:
            run.planned(skipped_step, key, None, "skip", reason)
    for write in writes:
        run.planned(write.step, write.activity.key, write.crm_id, write.action, None,
                    {k: [None, v] for k, v in write.fields.items()})
    # Only once the accepted writes are recorded: a crash before leaves the bodies held
    # for the retry.
    return release(run.app.database, planner.settled)


class ActivityPlanner:
    def __init__(self, run: RunContext, by_kind: dict[str, dict[str, Step]],
                 describe: dict[str, Any], cache: AggregateCache,
                 held: dict[UUID, Held] | None = None) -> None:
        self.run = run
        self.by_kind = by_kind
        self.cache = cache
        self.held = held or {}
        # Activities whose held bodies can go (activity -> last held row read).
        self.settled: dict[UUID, int] = {}
        self.lengths = {f["name"]: f.get("length") for f in
                        describe.get("Task", {}).get("fields", [])}
        self.waiting: list[str] = []
        self.skips: list[tuple[str, str, Step | None, str]] = []

    def plan(self, activity_id: UUID) -> ActivityWrite | None:
        activity = self.cache.get(activity_id)
        if not isinstance(activity, Activity) or activity.kind not in self.by_kind:
            return None
        kind = COUNT_KIND[activity.kind]
        person = self.cache.get(app_person_id(activity.person))
        held = self.held.get(activity.id)
        if not isinstance(person, Person):
            return None
        if person.forgotten or person.deleted:
            if held is not None:  # it will never go to the CRM
                self.settled[activity.id] = held.seq
            return None
        target = self._target(activity.kind, person)
        if target is None:
            self.skips.append((kind, NOT_LINKED, next(iter(self.by_kind[activity.kind].values())),
                               activity.key))
            self.waiting.append(activity.id.hex)
            return None
        step, who = target
        if not passes_filter(self.run, step, person):
            return None
        settings = self.run.integration.settings
        owner = outbound_owner(activity.owner or person.owner,
                               step_owner_mappings(step, settings),
                               step_owner_match(step, settings), self.run.member_emails,
                               self.run.crm_user_by_email)
        if owner.skip:
            self.skips.append((kind, owner.skip, step, activity.key))
            return None
        task = self.cache.get(Task.create_id("salesforce", self.run.org, activity.id))
        if task is None:
            task = Task.plan("salesforce", self.run.org, activity.id, person.subject,
                             self.run.ctx)
            self.cache.add(task)
        # With store_contents = false the log holds a body's digest, not the body: the
        # intent records the digest, and the held body goes out in its place.
        shown, missing = revealed(activity.details, held.bodies if held else {})
        sobject = "Note" if activity.kind == "note" else "Task"
        fields = self._fields(activity, marked(activity.details), who, task.key,
                              step.include_contents)
        sent = self._fields(activity, shown, who, task.key, step.include_contents)
        held_fields = {k: sent.get(k) for k in fields.keys() | sent.keys()
                       if sent.get(k) != fields.get(k)}
        self._truncate(activity, sent)
        fields = {k: fields[k] if k in held_fields else sent[k] for k in fields}
        held_fields = {k: sent.get(k) for k in held_fields}
        if owner.owner:
            fields["OwnerId"] = owner.owner
        after_crash = task.pending is not None
        if not task.request_write(fields, self.run.ctx):
            if held is not None:  # the CRM holds this already
                self.settled[activity.id] = held.seq
            return None
        action = "update" if task.crm_record else "create"
        if action == "update":
            fields = {k: v for k, v in fields.items() if k != "TaskSubtype"}  # create-only
        if missing:
            held_fields = self._without_body(activity, task, action, fields, held_fields)
        return ActivityWrite(step, task, activity, sobject, action, fields,
                             auto_assign="OwnerId" not in fields, after_crash=after_crash,
                             crm_id=task.crm_record, held_fields=held_fields,
                             held_seq=held.seq if held else None)

    def _fields(self, activity: Activity, details: dict[str, Any], who: str, key: str,
                include: bool) -> dict[str, Any]:
        if activity.kind == "note":
            return note_fields(details, who, key, include)
        return task_fields(activity.kind, details, activity.at,
                           self.run.integration.settings.timezone, who, include)

    def _without_body(self, activity: Activity, task: Task, action: str,
                      fields: dict[str, Any], held_fields: dict[str, Any]) -> dict[str, Any]:
        """A body the log names but no longer holds (sent already, or its person forgotten):
        written without it rather than failing. On an update the CRM keeps what it has;
        only a body it never accepted is worth a note in the Logs."""
        if action == "update":
            held_fields = dict.fromkeys(held_fields)
        unsent = [k for k in held_fields
                  if normalise_value(k, fields.get(k)) != task.written_content.get(k)]
        if unsent:
            self.run.notes.append(f"{activity.kind} {activity.key}: its body is no longer "
                                  f"held, so {', '.join(sorted(unsent))} went without it")
        return held_fields

    def _target(self, kind: str, person: Person) -> tuple[Step, str] | None:
        steps = self.by_kind[kind]
        for sobject in ("Contact", "Lead"):
            link = person.links.get(f"salesforce:{sobject}")
            if link and not link["deleted"] and sobject in steps:
                return steps[sobject], link["id"]
        return None

    def _truncate(self, activity: Activity, fields: dict[str, Any]) -> None:
        for name in TRUNCATED:
            length = self.lengths.get(name)
            value = fields.get(name)
            if isinstance(value, str) and length and len(value) > length:
                fields[name] = value[:length]
                self.run.notes.append(f"{activity.kind} {activity.key}: {name} truncated to "
                                      f"{length} characters")

    def reconcile(self, writes: list[ActivityWrite]) -> None:
        """A create whose result was never recorded (a crash) may have landed: find it
        before writing again. A Note by the key in its Title; a Task by its key, upserted
        anyway, or without the key field by WhoId + Subject + ActivityDate."""
        keyed = "Task" not in self.run.integration.missing_keys
        for write in writes:
            if not write.after_crash or write.action != "create":
                continue
            if write.sobject == "Note":
                query = (f"SELECT Id FROM Note WHERE Title LIKE "
                         f"{soql.quote('%[' + write.task.key + ']')}")
            elif not keyed:
                query = (f"SELECT Id FROM Task WHERE WhoId = {soql.quote(write.fields['WhoId'])}"
                         f" AND Subject = {soql.quote(write.fields['Subject'])} AND "
                         f"ActivityDate = {write.fields['ActivityDate']}")
            else:
                continue  # the upsert on the key cannot duplicate
            for page in self.run.client.query(query):
                if page:
                    write.action = "update"
                    write.crm_id = page[0]["Id"]
                    write.fields = {k: v for k, v in write.fields.items()
                                    if k != "TaskSubtype"}


def _send(run: RunContext, writes: list[ActivityWrite]) -> list[dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
    for index, write in enumerate(writes):
        groups[(write.sobject, write.action, write.auto_assign)].append(index)
    keyed = "Task" not in run.integration.missing_keys
    for (sobject, action, auto_assign), indexes in groups.items():
        records = []
        for index in indexes:
            write = writes[index]
            body = write.sent_fields()
            if action == "update":
                body["Id"] = write.crm_id or write.task.crm_record
            if sobject == "Task" and keyed:
                body[KEY_FIELD] = write.task.key
            records.append(body)
        if sobject == "Task" and action == "create" and keyed:
            answers = run.client.upsert("Task", KEY_FIELD, records, auto_assign)
        elif action == "create":
            answers = run.client.create(sobject, records, auto_assign)
        else:
            answers = run.client.update(sobject, records, auto_assign)
        for index, answer in zip(indexes, answers, strict=True):
            results[index] = answer
    return [results[i] for i in range(len(writes))]


def run_statuses(run: RunContext, steps: list[Step], full: bool) -> None:
    """App status or inbox category -> Lead Status, checked against the picklist; never on a
    converted lead."""
    if not steps:
        return
    position = run.app.recorder.max_notification_id() or 0
    start = 0 if full else min(step_cursor(run, s, AggregateCache(run.app)).position for s in steps)
    # From the start every person with a Lead is due: read a page at a time rather than
    # held as a set (a person without a Lead has no Status to write).
    due = all_people(run, linked_to="Lead") if start == 0 else \
        iter(sorted(changed_originators(run, start, position, STATUS_TOPICS)))
    while chunk := list(islice(due, COLLECTION_SIZE)):
        run.app.decide(partial(_write_statuses, run, steps, chunk))
        run.advanced("statuses", len(chunk))
    _advance(run, steps, position)


def _write_statuses(run: RunContext, steps: list[Step], chunk: list[UUID]) -> None:
    """The Lead Status the steps map each person's value to, where the Lead holds another
    (the Leads step's own write usually carried it already); the picklist is read once a run,
    when a value first needs it."""
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    cache.prefetch(crm_record_id("salesforce", run.org, "Lead", link["id"])
                   for person in (cache.get(p) for p in chunk) if isinstance(person, Person)
                   for key, link in person.links.items() if key == "salesforce:Lead")
    writes: list[tuple[Any, dict[str, Any], Step, Person]] = []
    skips: list[str] = []
    for person_id in chunk:
        person = cache.get(person_id)
        if not isinstance(person, Person) or person.forgotten or person.deleted:
            continue
        link = person.links.get("salesforce:Lead")
        if not link or link["deleted"]:
            continue
        mirror = cache.get(crm_record_id("salesforce", run.org, "Lead", link["id"]))
        if mirror is None or mirror.converted:
            continue  # never on a converted lead
        step, status, reasons = lead_status(run, steps, person, mirror.content.get("Status"))
        skips += reasons
        if step is None or status is None:
            continue
        key = natural_id(f"status:{run.org}:{person.id.hex}").hex
        mirror.request_write(key, "update", {"Status": status}, run.ctx)
        writes.append((mirror, {"Id": link["id"], "Status": status}, step, person))
    run.app.save(*cache.changed())
    answers = run.client.update("Lead", [body for _, body, _, _ in writes], True) \
        if writes else []
    cache = AggregateCache(run.app)
    for (mirror, body, step, person), answer in zip(writes, answers, strict=True):
        fresh = cache.get(mirror.id)
        if answer.get("success"):
            fresh.record_written(body["Id"], run.ctx)
            run.count("statuses", "updated")
        else:
            error = (answer.get("errors") or [{}])[0]
            fresh.record_write_failed(str(error.get("statusCode")),
                                      str(error.get("message")), False, run.ctx)
            run.error(step, "statuses", person.app_id, body["Id"],
                      str(error.get("statusCode")), str(error.get("message")))
    run.app.save(*cache.changed())
    for reason in skips:
        run.skip("statuses", reason)
