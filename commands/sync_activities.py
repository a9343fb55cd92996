"""The activity and status steps: app emails, calls, tasks and LinkedIn activities become
Lead or Contact Tasks, notes become Notes, statuses and inbox categories update Lead Status.

An activity whose person is not linked yet waits (it stays due) and goes out once the person
is linked. Several steps may carry one kind to one object (a Custom profile clone with its own
filter): the first step, in configuration order, that selects the activity writes it, and one
that no step selects is skipped with the reason. Each activity is written exactly once, by its
own key whatever the step (Task upserts on Syncledger_Key__c; a Note's key ends its Title): a
create that may have landed (a crash, a lost answer, a failed create) is looked up first, in
batched queries, and goes as an update without the fields only a create may set."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.crm_errors import CrmRetryable
from syncledger.adapters.held_contents import Held, held_contents, held_for, release
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.old_bytes import drop_old_bytes
from syncledger.adapters.salesforce import soql
from syncledger.adapters.salesforce.client import (
    COLLECTION_SIZE,
    COMPOSITE_COLLECTIONS,
    KEY_FIELD,
    RETRYABLE_CODES,
    CollectionsCall,
    collections_call,
)
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
FILTERED_OUT = "filtered out by every step"
# Fields Salesforce lets a create set but refuses on an update (INVALID_FIELD_FOR_INSERT_UPDATE,
# also on an upsert that finds its record).
CREATE_ONLY = {"Task": frozenset({"TaskSubtype"}), "Note": frozenset({"ParentId"})}
# Activities decided (and their intents saved) together: as many as one Composite call of
# five full collections carries.
ACTIVITY_CHUNK = COLLECTION_SIZE * COMPOSITE_COLLECTIONS
WRITE_ATTEMPTS = 4  # of a batch whose answer is lost, each after looking at what landed
LOST = ("Salesforce did not answer the write ({error}); it may have landed, so the next run "
        "looks it up before sending it again")
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
    # The CRM may hold this create already (an intent without a result after a crash, an
    # answer lost, a failed create): look it up before writing.
    unsure: bool = False
    crm_id: str | None = None
    # Bodies the log holds only as digests (store_contents = false): the fields sent in
    # place of the recorded ones (None: not sent), and the last held row read, to release.
    held_fields: dict[str, Any] = field(default_factory=dict)
    held_seq: int | None = None

    def sent_fields(self) -> dict[str, Any]:
        sent = {**self.fields, **self.held_fields}
        sent = {k: v for k, v in sent.items() if k not in self.held_fields or v is not None}
        return updatable(self.sobject, sent) if self.action == "update" else sent

    def found(self, crm_id: str) -> None:
        """The create landed already: it goes as an update of that record."""
        self.action = "update"
        self.crm_id = crm_id
        self.fields = updatable(self.sobject, self.fields)
        self.held_fields = updatable(self.sobject, self.held_fields)


def updatable(sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
    create_only = CREATE_ONLY.get(sobject, frozenset())
    return {k: v for k, v in fields.items() if k not in create_only}


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
    # kind -> object -> its steps, in configuration order (a clone does not replace the
    # step it was cloned from)
    by_kind: dict[str, dict[str, list[Step]]] = defaultdict(dict)
    for step in steps:
        by_kind[KIND_OF_SOURCE[step.source]].setdefault(step.crm_object, []).append(step)
    describe = {"Task": run.client.describe("Task")} if any(
        k != "note" for k in by_kind) else {}
    ordered = sorted(due)
    released = 0
    try:
        for offset in range(0, len(ordered), ACTIVITY_CHUNK):
            chunk = ordered[offset:offset + ACTIVITY_CHUNK]
            released += run.app.decide(partial(_write_activities, run, by_kind, describe,
                                               chunk))
            run.advanced("activities", len(chunk))
            if run.should_stop():
                return
    finally:
        if released:  # the bodies are in the CRM only now: not in old database pages either
            drop_old_bytes(run.app.database, [held_contents.name])
    _advance(run, steps, position)
    kill_point("activities.advanced")


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


def _write_activities(run: RunContext, by_kind: dict[str, dict[str, list[Step]]],
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
    kill_point("activities.intents_saved")
    results, lost = _send(run, planner, writes)
    kill_point("activities.after_write")  # the CRM holds the writes; the log only intents
    cache = AggregateCache(run.app)
    stay_due = set(planner.waiting)
    for write, result in zip(writes, results, strict=True):
        task = cache.get(write.task.id)
        kind = COUNT_KIND[write.activity.kind]
        if result is None:  # no answer: the intent stays pending, and the activity due
            run.error(write.step, kind, write.activity.key, write.crm_id, "RETRYABLE",
                      LOST.format(error=lost))
            stay_due.add(write.activity.id.hex)
            continue
        if result.get("success"):
            task.record_written(str(result.get("id") or write.crm_id), run.ctx)
            # New to the CRM as far as the log knew, even when a lost answer hid its create.
            run.count(kind, "created" if write.task.crm_record is None else "updated")
            if write.held_seq is not None:
                planner.settled[write.activity.id] = write.held_seq
            continue
        error = (result.get("errors") or [{}])[0]
        code = str(error.get("statusCode", "UNKNOWN"))
        retryable = code in RETRYABLE_CODES
        task.record_write_failed(code, str(error.get("message", "")), retryable, run.ctx)
        run.error(write.step, kind, write.activity.key, task.crm_record, code,
                  str(error.get("message", "")))
        if retryable:
            stay_due.add(write.activity.id.hex)
    steps = {s.name: s for kinds in by_kind.values() for group in kinds.values()
             for s in group}
    for step in steps.values():
        cursor = step_cursor(run, step, cache)
        cursor.mark_due(sorted(stay_due), run.ctx)
        cursor.clear_due([a.hex for a in chunk if a.hex not in stay_due], run.ctx)
    kill_point("activities.results_decided")
    run.app.save(*cache.changed())
    kill_point("activities.results_saved")
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
    def __init__(self, run: RunContext, by_kind: dict[str, dict[str, list[Step]]],
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
            first = next(iter(self.by_kind[activity.kind].values()))[0]
            self.skips.append((kind, NOT_LINKED, first, activity.key))
            self.waiting.append(activity.id.hex)
            return None
        steps, who = target
        chosen = self._choose(activity, person, steps)
        if chosen is None:
            return None
        step, owner = chosen
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
        # An owner the person got by default is no one's decision: a Task we already
        # created keeps the owner the CRM holds.
        by_default = activity.owner is None and person.owner_by_default \
            and task.crm_record is not None
        if owner.owner and not by_default:
            fields["OwnerId"] = owner.owner
        # An intent with no result (a crash), or a create that failed, may have landed.
        unsure = task.pending is not None or (task.crm_record is None
                                              and task.last_error is not None)
        if not task.request_write(fields, self.run.ctx):
            if held is not None:  # the CRM holds this already
                self.settled[activity.id] = held.seq
            return None
        action = "update" if task.crm_record else "create"
        if action == "update":
            fields = updatable(sobject, fields)
        if missing:
            held_fields = self._without_body(activity, task, action, fields, held_fields)
        return ActivityWrite(step, task, activity, sobject, action, fields,
                             auto_assign="OwnerId" not in fields, unsure=unsure,
                             crm_id=task.crm_record, held_fields=held_fields,
                             held_seq=held.seq if held else None)

    def _choose(self, activity: Activity, person: Person, steps: list[Step]
                ) -> tuple[Step, Any] | None:
        """The first step that selects the activity (its filter passes and its owner rules
        give an owner): that step writes it, once. None, with the skip recorded, when no
        step does."""
        kind = COUNT_KIND[activity.kind]
        settings = self.run.integration.settings
        refusal: tuple[str, Step] | None = None
        for step in steps:
            if not passes_filter(self.run, step, person):
                continue
            owner = outbound_owner(activity.owner or person.owner,
                                   step_owner_mappings(step, settings),
                                   step_owner_match(step, settings), self.run.member_emails,
                                   self.run.crm_user_by_email)
            if not owner.skip:
                return step, owner
            refusal = refusal or (owner.skip, step)
        reason, step = refusal or (FILTERED_OUT, steps[0])
        self.skips.append((kind, reason, step, activity.key))
        return None

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

    def _target(self, kind: str, person: Person) -> tuple[list[Step], str] | None:
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
        """Creates that may have landed are looked up before anything is written again, a
        batch of keys a query, never one query per record: a Note by the key that ends its
        Title; a Task by its key, or, without the key field, by WhoId + Subject +
        ActivityDate. A record found takes the create as an update, without the fields
        only a create may set (an upsert that finds its record refuses TaskSubtype)."""
        unsure = [w for w in writes if w.unsure and w.action == "create"]
        notes = {w.task.key: w for w in unsure if w.sobject == "Note"}
        tasks = [w for w in unsure if w.sobject == "Task"]
        if notes:
            conditions = [f"Title LIKE {soql.quote('%[' + key + ']')}" for key in notes]
            for row in self._rows(soql.any_of("Note", ["Id", "Title"], conditions)):
                note = notes.pop(_note_key(str(row.get("Title") or "")), None)
                if note is not None:
                    note.found(str(row["Id"]))
        if tasks and "Task" not in self.run.integration.missing_keys:
            keyed = {w.task.key: w for w in tasks}
            for row in self._rows(soql.by_keys("Task", ["Id", KEY_FIELD], KEY_FIELD,
                                               sorted(keyed))):
                task = keyed.pop(str(row.get(KEY_FIELD) or ""), None)
                if task is not None:
                    task.found(str(row["Id"]))
        elif tasks:
            by_natural: dict[tuple[str, str, str], list[ActivityWrite]] = defaultdict(list)
            for write in tasks:
                by_natural[_natural_key(write.fields)].append(write)
            conditions = [f"(WhoId = {soql.quote(str(f['WhoId']))} AND Subject = "
                          f"{soql.quote(str(f['Subject']))} AND ActivityDate = "
                          f"{f['ActivityDate']})"
                          for f in (group[0].fields for group in by_natural.values())]
            fields = ["Id", "WhoId", "Subject", "ActivityDate"]
            for row in self._rows(soql.any_of("Task", fields, conditions)):
                waiting = by_natural.get(_natural_key(row))
                if waiting:  # each CRM record answers for one write
                    waiting.pop(0).found(str(row["Id"]))

    def _rows(self, queries: Iterator[str]) -> Iterator[dict[str, Any]]:
        for query in queries:
            for page in self.run.client.query(query):
                yield from page


def _note_key(title: str) -> str:
    """The idempotency key a Note's Title ends with (`... [key]`)."""
    _, bracket, key = title.rstrip().rpartition("[")
    return key[:-1].lower() if bracket and key.endswith("]") else ""


def _natural_key(fields: dict[str, Any]) -> tuple[str, str, str]:
    """A Task without the key field: WhoId (the 15 characters both id forms share), Subject
    (as SOQL compares it, case-insensitive) and ActivityDate."""
    who = str(fields.get("WhoId") or "")
    return (who[:15], str(fields.get("Subject") or "").lower(),
            str(fields.get("ActivityDate") or ""))


def _send(run: RunContext, planner: ActivityPlanner, writes: list[ActivityWrite]
          ) -> tuple[list[dict[str, Any] | None], str]:
    """Each write's answer, None where none came back. A batch is sent once by the client
    (never retried blindly: it may have landed); when its answer is lost, its creates are
    looked up and what is still to do is sent again, a few times, then left pending for
    the next run to look up."""
    results: dict[int, dict[str, Any]] = {}
    todo = list(range(len(writes)))
    lost = ""
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
            for index in todo:
                writes[index].unsure = True
            planner.reconcile([writes[i] for i in todo])
        unanswered: list[int] = []
        groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
        for index in todo:
            write = writes[index]
            groups[(write.sobject, write.action, write.auto_assign)].append(index)
        # Collections of 200 that share object, action and headers, five to a Composite call.
        collections = [(group, indexes[start:start + COLLECTION_SIZE])
                       for group, indexes in groups.items()
                       for start in range(0, len(indexes), COLLECTION_SIZE)]
        for first in range(0, len(collections), COMPOSITE_COLLECTIONS):
            batch = collections[first:first + COMPOSITE_COLLECTIONS]
            calls = [_call(run, sobject, action, auto_assign, [writes[i] for i in indexes])
                     for (sobject, action, auto_assign), indexes in batch]
            try:
                with run.client.tried_once():
                    answers = run.client.collections_many(calls)
            except CrmRetryable as error:
                lost = str(error)
                unanswered += [i for _, indexes in batch for i in indexes]
                continue
            for (_, indexes), answered in zip(batch, answers, strict=True):
                results.update(zip(indexes, answered, strict=True))
        todo = sorted(unanswered)
        if not todo:
            break
    return [results.get(i) for i in range(len(writes))], lost


def _call(run: RunContext, sobject: str, action: str, auto_assign: bool,
          writes: list[ActivityWrite]) -> CollectionsCall:
    keyed = "Task" not in run.integration.missing_keys
    records = []
    for write in writes:
        body = write.sent_fields()
        if action == "update":
            body["Id"] = write.crm_id or write.task.crm_record
        if sobject == "Task" and keyed:
            body[KEY_FIELD] = write.task.key
        records.append(body)
    upsert = sobject == "Task" and action == "create" and keyed
    return collections_call("upsert" if upsert else action, sobject, records, auto_assign,
                            KEY_FIELD)


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
    kill_point("statuses.advanced")


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
    kill_point("statuses.intents_saved")
    answers = run.client.update("Lead", [body for _, body, _, _ in writes], True) \
        if writes else []
    kill_point("statuses.after_write")
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
    kill_point("statuses.results_saved")
    for reason in skips:
        run.skip("statuses", reason)
