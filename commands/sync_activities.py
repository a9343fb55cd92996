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

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.held_contents import Held, held_contents, held_for, release
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.old_bytes import drop_old_bytes
from syncledger.adapters.plain_events import stored_value
from syncledger.adapters.read_ahead import Ahead
from syncledger.adapters.tracking import max_position
from syncledger.commands.sync_context import (
    RunContext,
    changed_originators,
    originator_pages,
    step_cursor,
)
from syncledger.commands.sync_outbound import all_people, lead_status, passes_filter
from syncledger.domain.activity_mapping import COUNT_KIND
from syncledger.domain.activity_plan import (
    ActivityFacts,
    ActivityRules,
    NothingToDo,
    PersonFacts,
    Skip,
    TaskMirror,
    plan_activity,
    task_lookup,
    task_natural_key,
    updatable,
)
from syncledger.domain.app_records import Activity
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.ids import app_person_id, crm_record_id, natural_id
from syncledger.domain.person import Person
from syncledger.domain.ports import RecordWrite, WriteOutcome, WritesStopped
from syncledger.domain.steps import STATUS_FIELD, STATUS_STREAM, STATUS_TARGET, Step
from syncledger.domain.task import Task
from syncledger.projections.event_index import files_under_other_keys, subjects_of
from syncledger.projections.registry import EVENT_INDEX

KIND_OF_SOURCE = {"app.emails": "email", "app.calls": "call", "app.tasks": "task",
                  "app.linkedin": "linkedin", "app.notes": "note"}
ACTIVITY_TOPICS = [get_topic(Activity.Recorded), get_topic(Activity.Changed)]  # type: ignore[attr-defined]
# A person is linked by a Linked, or from issue 22 by the Recorded of a person made from a
# CRM record, which carries the link (and only such a Recorded links it).
LINKED_TOPIC, RECORDED_TOPIC = get_topic(Person.Linked), get_topic(Person.Recorded)
LINK_TOPICS = [LINKED_TOPIC, RECORDED_TOPIC]
STATUS_TOPICS = [get_topic(Person.Updated), get_topic(Person.Recorded),  # type: ignore[attr-defined]
                 get_topic(Person.Linked)]
# Activities decided (and their intents saved) together: for Salesforce, as many as one
# Composite call of five full collections carries.
ACTIVITY_CHUNK = 1000
WRITE_ATTEMPTS = 4  # of a batch whose answer is lost, each after looking at what landed
LOST = ("Salesforce did not answer the write ({error}); it may have landed, so the next run "
        "looks it up before sending it again")


@dataclass
class ActivityWrite:
    step: Step
    task: Task
    activity: Activity
    stream: str  # Task | Note
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
        return updatable(self.stream, sent) if self.action == "update" else sent

    def found(self, crm_id: str) -> None:
        """The create landed already: it goes as an update of that record."""
        self.action = "update"
        self.crm_id = crm_id
        self.fields = updatable(self.stream, self.fields)
        self.held_fields = updatable(self.stream, self.held_fields)


def activity_steps(steps: list[Step], crm: str) -> list[Step]:
    return [s for s in steps if s.enabled and s.source in KIND_OF_SOURCE
            and s.target.startswith(f"{crm}.")]


def status_steps(steps: list[Step]) -> list[Step]:
    return [s for s in steps if s.enabled and s.target == STATUS_TARGET]


def task_fields(run: RunContext, steps: list[Step]) -> Ahead[dict[str, Any]]:
    """What the activity steps read of the CRM before any activity: Task's fields, when a
    step writes Tasks (all but Notes). Asked ahead, so that the run's own work before the
    steps (the outbound steps, the projections catching up, the due activities looked up)
    hides its round trip; taken by run_activities."""
    if not any(KIND_OF_SOURCE[step.source] != "note" for step in steps):
        return Ahead(dict, side_by_side=False)
    return Ahead(lambda: {"Task": run.gateway.describe("Task")}, run.gateway.side_by_side)


def run_activities(run: RunContext, steps: list[Step], full: bool,
                   fields: Ahead[dict[str, Any]]) -> None:
    """All activity steps at once: one activity goes to its person's Contact or Lead.
    `fields`: task_fields of the steps."""
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
    describe = fields.result()
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
    if not may_hold_activities(run.app, stop):
        return set()  # a first sync of people alone reads none of its links
    due = changed_originators(run, start, stop, ACTIVITY_TOPICS)
    for linked in originator_pages(run, start, stop, LINK_TOPICS, _links_its_person):
        with run.app.database.reader.connect() as connection:
            due |= subjects_of(connection, EVENT_INDEX.tables["event_index"], linked)
    return due


def may_hold_activities(app: SyncLedger, stop: int) -> bool:
    """Whether the log up to `stop` may hold an activity. Every activity's events are filed
    under its person's key, so an event index caught up to `stop` that files no event under
    another key says there is none; one not caught up says nothing."""
    with app.database.reader.connect() as connection:
        if (max_position(connection, EVENT_INDEX.name) or 0) < stop:
            return True
        return files_under_other_keys(connection, EVENT_INDEX.tables["event_index"])


def _links_its_person(notification: Notification) -> bool:
    return notification.topic != RECORDED_TOPIC or \
        stored_value(notification.state, "link") is not None


def _write_activities(run: RunContext, by_kind: dict[str, dict[str, list[Step]]],
                      describe: dict[str, Any], chunk: list[UUID]) -> int:
    """Returns how many held bodies went (the CRM has them now, or they will never go)."""
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    activities = [a for a in (cache.find(i) for i in chunk) if isinstance(a, Activity)]
    cache.prefetch([*(app_person_id(a.person) for a in activities),
                    *(Task.create_id(run.crm, run.org, a.id) for a in activities)])
    held = held_for(run.app.database, [a.id for a in activities])
    planner = ActivityPlanner(run, by_kind, describe, cache, held)
    writes = [w for w in (planner.plan(aid) for aid in chunk) if w is not None]
    planner.reconcile(writes)
    run.app.save(*cache.changed())  # intents first
    kill_point("activities.intents_saved")
    results, lost, stopped = _send(run, planner, writes)
    kill_point("activities.after_write")  # the CRM holds the writes; the log only intents
    cache = AggregateCache(run.app)
    stay_due = set(planner.waiting)
    for write, result in zip(writes, results, strict=True):
        task = cache.get_existing(write.task.id, Task)
        kind = COUNT_KIND[write.activity.kind]
        if result is None:  # no answer: the intent stays pending, and the activity due
            run.error(write.step, kind, write.activity.key, write.crm_id, "RETRYABLE",
                      LOST.format(error=lost))
            stay_due.add(write.activity.id.hex)
            continue
        if result.ok:
            task.record_written(str(result.crm_id or write.crm_id), run.ctx)
            # New to the CRM as far as the log knew, even when a lost answer hid its create.
            run.count(kind, "created" if write.task.crm_record is None else "updated")
            if write.held_seq is not None:
                planner.settled[write.activity.id] = write.held_seq
            continue
        code, retryable = str(result.code), result.retryable
        task.record_write_failed(code, result.message, retryable, run.ctx)
        run.error(write.step, kind, write.activity.key, task.crm_record, code,
                  result.message)
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
        run.planned(skipped_step, key, None, "skip", reason)
    for write in writes:
        run.planned(write.step, write.activity.key, write.crm_id, write.action, None,
                    {k: [None, v] for k, v in write.fields.items()})
    # Only once the accepted writes are recorded: a crash before leaves the bodies held
    # for the retry.
    released = release(run.app.database, planner.settled)
    if stopped is not None:
        raise stopped
    return released


class ActivityPlanner:
    """Loads what an activity's plan is decided over (domain.activity_plan), and applies the
    plan: a skip to report, held bodies to release, or an intent recorded on its Task."""

    def __init__(self, run: RunContext, by_kind: dict[str, dict[str, list[Step]]],
                 describe: dict[str, Any], cache: AggregateCache,
                 held: dict[UUID, Held] | None = None) -> None:
        self.run = run
        self.by_kind = by_kind
        self.cache = cache
        self.held = held or {}
        self.rules = ActivityRules(
            run.crm, run.gateway.people.streams, by_kind, run.integration.settings,
            run.gateway.people.owner_field,
            {name: f.get("length") for name, f in describe.get("Task", {}).items()},
            run.directory.member_emails, run.directory.crm_user_by_email)
        # Activities whose held bodies can go (activity -> last held row read).
        self.settled: dict[UUID, int] = {}
        self.waiting: list[str] = []
        self.skips: list[tuple[str, str, Step, str]] = []

    def plan(self, activity_id: UUID) -> ActivityWrite | None:
        # The due ids hold Tasks too (their failures make an activity due): only activities.
        activity = self.cache.find(activity_id)
        if not isinstance(activity, Activity):
            return None
        person = self.cache.get(app_person_id(activity.person), Person)
        if person is None:
            return None
        held = self.held.get(activity.id)
        task_id = Task.create_id(self.run.crm, self.run.org, activity.id)
        task = self.cache.get(task_id, Task)
        decided = plan_activity(self.rules, _activity_facts(activity, held),
                                _person_facts(person), self._selecting(activity.kind, person),
                                _mirror(task_id, task))
        if isinstance(decided, Skip):
            self.skips.append((COUNT_KIND[activity.kind], decided.reason, decided.step,
                               activity.key))
            if decided.waits:
                self.waiting.append(activity.id.hex)
            return None
        self.run.note(*decided.notes)
        if isinstance(decided, NothingToDo):
            if decided.release_held and held is not None:
                self.settled[activity.id] = held.seq
            return None
        if task is None:
            task = Task.plan(self.run.crm, self.run.org, activity.id, person.subject,
                             self.run.ctx)
            self.cache.add(task)
        task.request_write(decided.content, self.run.ctx)
        return ActivityWrite(decided.step, task, activity, decided.stream, decided.action,
                             decided.fields, decided.auto_assign, decided.unsure,
                             decided.crm_id, decided.held_fields,
                             held.seq if held else None)

    def _selecting(self, kind: str, person: Person) -> frozenset[str]:
        """The steps carrying the kind whose filter selects the person."""
        return frozenset(step.name for steps in self.by_kind.get(kind, {}).values()
                         for step in steps if passes_filter(self.run, step, person))

    def reconcile(self, writes: list[ActivityWrite]) -> None:
        """Creates that may have landed are looked up before anything is written again, a
        batch of keys a query, never one query per record: a Note by the key that ends its
        Title; a Task by its key, or, without the key field, by WhoId + Subject +
        ActivityDate. A record found takes the create as an update, without the fields
        only a create may set (an upsert that finds its record refuses TaskSubtype)."""
        unsure = [w for w in writes if w.unsure and w.action == "create"]
        notes = {w.task.key: w for w in unsure if w.stream == "Note"}
        tasks = [w for w in unsure if w.stream == "Task"]
        gateway = self.run.gateway
        if notes:
            for key, crm_id in gateway.by_keys("Note", list(notes)).items():
                notes[key].found(crm_id)
        if tasks and "Task" not in self.run.integration.missing_keys:
            keyed = {w.task.key: w for w in tasks}
            for key, crm_id in gateway.by_keys("Task", sorted(keyed)).items():
                keyed[key].found(crm_id)
        elif tasks:
            by_natural: dict[tuple[str, str, str], list[ActivityWrite]] = defaultdict(list)
            for write in tasks:
                by_natural[task_natural_key(write.fields)].append(write)
            conditions = [task_lookup(group[0].fields) for group in by_natural.values()]
            fields = ["Id", "WhoId", "Subject", "ActivityDate"]
            for page in gateway.find("Task", conditions, fields):
                for row in page:
                    waiting = by_natural.get(task_natural_key(dict(row.values)))
                    if waiting:  # each CRM record answers for one write
                        waiting.pop(0).found(row.id)


def _activity_facts(activity: Activity, held: Held | None) -> ActivityFacts:
    return ActivityFacts(activity.kind, activity.key, activity.details, activity.at,
                         activity.owner, held.bodies if held else {})


def _person_facts(person: Person) -> PersonFacts:
    return PersonFacts(person.links, person.owner, person.owner_by_default, person.forgotten,
                       person.deleted)


def _mirror(task_id: UUID, task: Task | None) -> TaskMirror:
    if task is None:
        return TaskMirror(task_id.hex)
    return TaskMirror(task.key, task.crm_record, task.written_hash, task.written_content,
                      task.pending is not None, task.last_error is not None)


def _send(run: RunContext, planner: ActivityPlanner, writes: list[ActivityWrite]
          ) -> tuple[list[WriteOutcome | None], str, Exception | None]:
    """Each write's outcome, None where no answer came back, and what stopped the batch (a
    limit, a refusal) for the run to stop on once the outcomes are recorded. A batch is sent
    once (never retried blindly: it may have landed); when its answer is lost, its creates
    are looked up and what is still to do is sent again, a few times, then left pending for
    the next run to look up."""
    results: dict[int, WriteOutcome] = {}
    todo = list(range(len(writes)))
    lost = ""
    stopped: Exception | None = None
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:
            _back_off(attempt)
            for index in todo:
                writes[index].unsure = True
            planner.reconcile([writes[i] for i in todo])
        groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
        for index in todo:
            write = writes[index]
            groups[(write.stream, write.action, write.auto_assign)].append(index)
        # Groups that share object, action and headers, as the gateway takes them.
        size = run.gateway.group_size
        batches = [indexes[start:start + size] for indexes in groups.values()
                   for start in range(0, len(indexes), size)]
        requests = [[_request(writes[i]) for i in indexes] for indexes in batches]
        try:
            answers = run.gateway.write(requests)
        except WritesStopped as stop:
            answers, stopped = stop.outcomes, stop.cause
        unanswered: list[int] = []
        for indexes, answered in zip(batches, answers, strict=True):
            for index, outcome in zip(indexes, answered, strict=True):
                if outcome.unanswered and stopped is None:
                    lost = outcome.message
                    unanswered.append(index)
                else:
                    results[index] = outcome
        todo = sorted(unanswered)
        if not todo or stopped is not None:
            break
    return [results.get(i) for i in range(len(writes))], lost, stopped


def _back_off(attempt: int) -> None:
    """A moment before a batch goes again: the CRM that lost an answer may be busy."""
    time.sleep(min(2.0, 0.05 * 2 ** attempt))


def _request(write: ActivityWrite) -> RecordWrite:
    """A Task carries its key (an upsert on it when created); a Note's ends its Title."""
    body = write.sent_fields()
    return RecordWrite(stream=write.stream, action="update" if write.action == "update"
                       else "create", fields=body,
                       key=write.task.key if write.stream == "Task" else "",
                       crm_id=write.crm_id or write.task.crm_record,
                       auto_assign=write.auto_assign)


def run_statuses(run: RunContext, steps: list[Step], full: bool) -> None:
    """App status or inbox category -> Lead Status, checked against the picklist; never on a
    converted lead."""
    if not steps:
        return
    position = run.app.recorder.max_notification_id() or 0
    start = 0 if full else min(step_cursor(run, s, AggregateCache(run.app)).position for s in steps)
    # From the start every person with a Lead is due: read a page at a time rather than
    # held as a set (a person without a Lead has no Status to write). Those the Leads step
    # settled hold a live link to the Lead it just wrote.
    due = all_people(run, linked_to=STATUS_STREAM, linked_already=run.statuses_sent) \
        if start == 0 else \
        iter(sorted(changed_originators(run, start, position, STATUS_TOPICS)))
    if run.statuses_sent:
        due = _undecided(run, due)
    while chunk := list(islice(due, run.gateway.group_size)):
        run.app.decide(partial(_write_statuses, run, steps, chunk))
        run.advanced("statuses", len(chunk))
    _advance(run, steps, position)
    kill_point("statuses.advanced")


def _undecided(run: RunContext, due: Iterator[UUID]) -> Iterator[UUID]:
    """The due people the Leads step did not settle this run. A settled one would be written
    nothing: its skips, known already, are tallied here without loading it again."""
    for person in due:
        reasons = run.statuses_sent.get(person.int)
        if reasons is None:
            yield person
        else:
            for reason in reasons:
                run.skip("statuses", reason)


def _write_statuses_again(run: RunContext, requests: list[RecordWrite]
                          ) -> tuple[list[WriteOutcome], Exception | None]:
    """Status updates, sent again while a retryable failure or a lost answer leaves some
    undone, a few times: setting a field to a value is the same once or twice."""
    answers: dict[int, WriteOutcome] = {}
    todo = list(range(len(requests)))
    for attempt in range(WRITE_ATTEMPTS):
        if not todo:
            break
        if attempt:
            _back_off(attempt)
        try:
            [sent] = run.gateway.write([[requests[i] for i in todo]])
        except WritesStopped as stop:
            answers.update(zip(todo, stop.outcomes[0], strict=True))
            return [answers[i] for i in range(len(requests))], stop.cause
        answers.update(zip(todo, sent, strict=True))
        todo = [i for i, outcome in zip(todo, sent, strict=True) if outcome.retryable]
    return [answers[i] for i in range(len(requests))], None


def _write_statuses(run: RunContext, steps: list[Step], chunk: list[UUID]) -> None:
    """The Lead Status the steps map each person's value to, where the Lead holds another
    (the Leads step's own write usually carried it already); the picklist is read once a run,
    when a value first needs it."""
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    cache.prefetch(crm_record_id(run.crm, run.org, STATUS_STREAM, link["id"])
                   for person in (cache.get(p, Person) for p in chunk) if person is not None
                   for key, link in person.links.items() if key == f"{run.crm}:{STATUS_STREAM}")
    writes: list[tuple[Any, dict[str, Any], Step, Person]] = []
    skips: list[str] = []
    for person_id in chunk:
        person = cache.get(person_id, Person)
        if person is None or person.forgotten or person.deleted:
            continue
        link = person.links.get(f"{run.crm}:{STATUS_STREAM}")
        if not link or link["deleted"]:
            continue
        mirror = cache.get(crm_record_id(run.crm, run.org, STATUS_STREAM, link["id"]), CrmRecord)
        if mirror is None or mirror.converted:
            continue  # never on a converted lead
        step, status, reasons = lead_status(run, steps, person, mirror.content.get(STATUS_FIELD))
        skips += reasons
        if step is None or status is None:
            continue
        key = natural_id(f"status:{run.org}:{person.id.hex}").hex
        mirror.request_write(key, "update", {STATUS_FIELD: status}, run.ctx)
        writes.append((mirror, {"Id": link["id"], STATUS_FIELD: status}, step, person))
    run.app.save(*cache.changed())
    kill_point("statuses.intents_saved")
    # The Status alone, with no key: the Lead's own key stays the one its writes carry.
    requests = [RecordWrite(stream=STATUS_STREAM, action="update",
                            fields={STATUS_FIELD: body[STATUS_FIELD]}, key="", crm_id=body["Id"])
                for _, body, _, _ in writes]
    answers, stopped = _write_statuses_again(run, requests)
    kill_point("statuses.after_write")
    cache = AggregateCache(run.app)
    for (mirror, body, step, person), answer in zip(writes, answers, strict=True):
        fresh = cache.get_existing(mirror.id, CrmRecord)
        if answer.ok:
            fresh.record_written(body["Id"], run.ctx)
            run.count("statuses", "updated")
        else:
            fresh.record_write_failed(str(answer.code), answer.message, False, run.ctx)
            run.error(step, "statuses", person.app_id, body["Id"], str(answer.code),
                      answer.message)
    run.app.save(*cache.changed())
    kill_point("statuses.results_saved")
    if stopped is not None:
        raise stopped
    for reason in skips:
        run.skip("statuses", reason)
