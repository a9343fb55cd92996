"""The outbound people steps (People to Contacts, People to Leads, People to Persons),
decided together because one app person is at most one record per CRM: the due people are
matched (link, else email against the mirror, else the gateway's batched lookups), their
intents recorded before the calls, written through the gateway in groups (Salesforce's
Collections of 200, filled across batches of due people, never mixing records that need
different headers), and each outcome recorded. When a status step is on, a Lead's write
carries the Lead Status that step would write, so it finds nothing left to do."""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, count, islice
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Text, cast, select

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.in_lists import in_slices
from syncledger.adapters.json_text import loads
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.read_ahead import Ahead
from syncledger.commands.sync_accounts import account_app_field, resolve_accounts
from syncledger.commands.sync_context import RunContext, changed_originators, step_cursor
from syncledger.domain.activity_mapping import lead_status_for
from syncledger.domain.content import normalise_value
from syncledger.domain.crm_record import MIRRORS, CrmRecord
from syncledger.domain.field_mapping import app_value
from syncledger.domain.filters import SAVED_FLAG_FILTERS, all_match
from syncledger.domain.ids import crm_record_id
from syncledger.domain.mass_changes import MINIMUM, StepChanges, refusal
from syncledger.domain.outbound_person_plan import (
    ACCOUNT_NAME,
    AccountFailure,
    AccountLookup,
    AwaitAccount,
    Create,
    HeldRecord,
    OutboundPerson,
    OutboundPlan,
    OutboundRules,
    Owners,
    RemovedRecord,
    Skip,
    Target,
    Update,
    plan_outbound,
)
from syncledger.domain.person import Person
from syncledger.domain.ports import RecordWrite, WriteOutcome, WritesStopped
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import (
    STATUS_FIELD,
    STATUS_STREAM,
    STATUS_TARGET,
    FilterRule,
    Step,
    step_owner_mappings,
    step_owner_match,
)
from syncledger.projections.crm_records import by_emails, linked_counts
from syncledger.projections.event_names import event_name, events_of
from syncledger.projections.people import touched_elsewhere, touched_elsewhere_than
from syncledger.projections.registry import CRM_RECORDS, PEOPLE

PERSON_TOPICS = [get_topic(cls) for cls in vars(Person).values()
                 if isinstance(cls, type) and issubclass(cls, Person.Event)]
# Not every write is from the app: these are our own bookkeeping, never a reason to write.
# (A Recorded carrying a person's link, from issue 22, is a new person all the same: due,
# as it was when a Linked followed it.)
_person = events_of(Person)  # its events are made by @event: a rename fails at import
SELF_CAUSED = tuple(event_name(e) for e in (_person.Linked, _person.LinkDeleted,
                                            _person.CrmCreateRequested, _person.CrmCreateFailed))
PLAN_CHUNK = 500  # due people decided (and their intents saved) together
PEOPLE_PAGE = 5000  # person ids read at a time when every person is due
NO_STATUS = "no matching Lead Status"
ACCOUNT_STREAM = "Contact"  # the stream whose step may name its record's Account


@dataclass
class Write:
    step: Step
    person: Person
    stream: str
    action: str  # create | update
    record: dict[str, Any]  # the fields sent
    crm_id: str | None = None
    key: str = ""
    headers_auto_assign: bool = True
    before: dict[str, Any] = field(default_factory=dict)  # what the CRM held, as we know it
    status: bool = False  # carries the Lead Status of a status step
    # Once written, the status steps would write nothing more for the person, only skip it
    # for these reasons (see Planner._statuses_settled); None: they decide it themselves.
    status_skips: list[str] | None = None
    blanked: list[str] = field(default_factory=list)  # filled fields it empties
    reconcile: bool = False  # a create whose earlier attempt may have landed

    @property
    def group(self) -> tuple[str, str, bool]:
        """What one collections call must share: object, action and headers."""
        return self.stream, self.action, self.headers_auto_assign


def outbound_steps(steps: list[Step], crm: str) -> dict[str, Step]:
    return {s.crm_object: s for s in steps
            if s.enabled and not s.inbound and s.is_people and s.target.startswith(f"{crm}.")}


def run_outbound(run: RunContext, steps: dict[str, Step], full: bool,
                 only: set[UUID] | None = None,
                 meanwhile: Callable[[], object] | None = None) -> None:
    """`meanwhile`: work of the run's own that needs nothing of the outcomes (the
    projections catching up), done while the last send is in flight."""
    if not steps:
        return
    position = run.app.recorder.max_notification_id() or 0
    cursors = {name: step_cursor(run, s, AggregateCache(run.app)) for name, s in steps.items()}
    start = min(c.position for c in cursors.values())
    made_by = run.ctx.cause if not full and only is None and _owners_read_alike(run, steps) \
        else None
    due = _due_people(run, cursors, full or start == 0, start, position, only, made_by)
    describe = Describes(run)
    # `sync --record` runs no status step, so its Lead writes carry no status either.
    statuses = [s for s in run.integration.steps() if s.enabled and s.target == STATUS_TARGET
                ] if only is None and STATUS_STREAM in steps else []
    batches = Batches(run, steps)
    first = list(islice(due, PLAN_CHUNK))
    if len(first) == PLAN_CHUNK:
        # A run this large writes: the describes its first chunk will read (and the Lead
        # Statuses, with the Lead's) are asked now, their round trips passing while the
        # guard and the first chunk work. A smaller run asks when it first writes.
        streams = _first_targets(run, steps, first)
        describe.ask_ahead(streams)
        if STATUS_STREAM in streams and statuses:
            ask_lead_statuses_ahead(run)
    due = chain(first, due)
    try:
        if only is None:
            _guard_mass_changes(run, steps, describe, statuses, _due_people(
                run, cursors, full or start == 0, start, position, only, made_by))
        if not _plan_and_send(run, steps, describe, statuses, batches, due, meanwhile):
            return  # the position stays: what is left is due next run
    finally:
        describe.close()
    if only is None:
        def advance() -> None:
            cache = AggregateCache(run.app)
            for step in steps.values():
                cursor = step_cursor(run, step, cache)
                cursor.advance_outbound(position, run.ctx)
            kill_point("outbound.position_decided")
            run.app.save(*cache.changed())

        run.app.decide(advance)
        kill_point("outbound.advanced")


def _live_objects(run: RunContext, links: list[dict[str, Any]] | None) -> set[str]:
    """The objects a person's links (as the people view holds them) hold live records of,
    in this run's CRM."""
    return {link["object"] for link in links or []
            if link["crm"] == run.crm and not link["deleted"]}


def _first_targets(run: RunContext, steps: dict[str, Step], people: list[UUID]) -> list[str]:
    """The objects these people's writes go to as Planner._target finds them by their links:
    the first linked one, or the one a new person is created as (an email match found while
    planning may send one elsewhere, whose describe is then read when it is needed)."""
    table = PEOPLE.tables["people"]
    streams = [s for s in run.gateway.people.streams if s in steps]
    found: set[str] = set()
    with run.app.database.reader.connect() as connection:
        for part in in_slices([p.hex for p in people], PLAN_CHUNK):
            for links in connection.scalars(select(table.c.links)
                                            .where(table.c.uuid.in_(part))):
                live = _live_objects(run, links)
                linked = [s for s in run.gateway.people.streams if s in live]
                if not linked:
                    found.add(streams[-1])
                elif linked[0] in steps:
                    found.add(linked[0])
    return sorted(found)


def _plan_and_send(run: RunContext, steps: dict[str, Step], describe: Describes,
                   statuses: list[Step], batches: Batches, due: Iterator[UUID],
                   meanwhile: Callable[[], object] | None) -> bool:
    """The due people planned a chunk at a time and their writes sent; False when the run
    was asked to stop before the end."""
    label = " + ".join(step.name for step in steps.values())
    try:
        while chunk := list(islice(due, PLAN_CHUNK)):
            run.advanced(label, len(chunk))
            planner = run.app.decide(partial(_plan_chunk, run, steps, describe, statuses,
                                             chunk))
            planner.tally()
            batches.add(planner.writes)
            if run.should_stop():
                batches.flush()
                return False
        batches.flush(meanwhile)
    except BaseException:
        # Planning failed (or a send stopped) with a send in flight: its outcomes are
        # recorded before the run stops on what came first.
        batches.settle()
        raise
    return True


class MassChangesRefused(RuntimeError):
    """The plan would change owners or blank fields on too many linked records."""


def _guard_mass_changes(run: RunContext, steps: dict[str, Step], describe: Describes,
                        statuses: list[Step], due: Iterator[UUID]) -> None:
    """Plan the due linked people once without saving anything, counting what the plan
    would change on their records; stop before the first write when it is too much. Fewer
    than MINIMUM due linked people can never be too many, so they cost no second plan."""
    linked = _linked_due(run, due)
    if sum(len(chunk) for chunk in linked) < MINIMUM:
        return
    with run.app.database.reader.connect() as connection:
        totals = linked_counts(connection, CRM_RECORDS.tables["crm_records"], run.crm,
                               run.org)
    owner_field = run.gateway.people.owner_field
    changes = {stream: StepChanges(step.name, stream, totals.get(stream, 0),
                                    owner_field=owner_field)
               for stream, step in steps.items()}
    for chunk in linked:
        cache = AggregateCache(run.app)
        cache.prefetch(chunk)
        planner = Planner(run, steps, describe, cache, statuses, preview=True)
        for person_id in chunk:
            write = planner.plan(person_id)
            if write is None or write.action != "update":
                continue
            owner = owner_field in write.record
            said = [f"{name} emptied" for name in write.blanked]
            if owner:
                said.insert(0, f"{owner_field} {write.before.get(owner_field)} -> "
                               f"{write.record[owner_field]}")
            example = f"{write.person.app_id}: {', '.join(said)}"
            changes[write.stream].add(owner, write.blanked, example)
    run.tally.mass_changes = list(changes.values())
    limit = run.integration.settings.mass_change_limit
    message = refusal(run.tally.mass_changes, limit)
    if message is not None and not run.settings.allow_mass_changes:
        raise MassChangesRefused(message)


def _linked_due(run: RunContext, due: Iterator[UUID]) -> list[list[UUID]]:
    """The due people with a live link to this CRM, in chunks (the others would be created,
    not changed); ids only, so a large due set costs little memory."""
    table = PEOPLE.tables["people"]
    found: list[list[UUID]] = []
    while chunk := list(islice(due, PLAN_CHUNK)):
        with run.app.database.reader.connect() as connection:
            # Only links whose text names this CRM are parsed (see all_people).
            rows = connection.execute(select(table.c.uuid, table.c.links).where(
                table.c.uuid.in_([p.hex for p in chunk]),
                cast(table.c.links, Text).like(f'%"{run.crm}"%')))
            live = [UUID(uuid) for uuid, links in rows if _live_objects(run, links)]
        if live:
            found.append(sorted(live))
    return found


def _due_people(run: RunContext, cursors: dict[str, StepCursor], everyone: bool, start: int,
                stop: int, only: set[UUID] | None, made_by: str | None = None
                ) -> Iterator[UUID]:
    """The due people in uuid order, each once: the changed ones (or every person, read a
    page at a time rather than held) and those a cursor keeps due. `made_by`: the cause of
    a run whose people, made by it alone, need no plan (see _owners_read_alike); a pass
    over every person leaves them out in its query, the others a chunk at a time."""
    if only is not None:
        return iter(sorted(only))
    kept: Iterator[UUID] = iter(sorted({UUID(key) for cursor in cursors.values()
                                        for key in cursor.due}))
    if not everyone:
        changed = _once(heapq.merge(sorted(_changed_people(run, start, stop)), kept))
        return changed if made_by is None else _made_elsewhere(run, changed, made_by)
    if made_by is not None:
        kept = _made_elsewhere(run, kept, made_by)
    return _once(heapq.merge(all_people(run, touched_besides=made_by), kept))


def _owners_read_alike(run: RunContext, steps: dict[str, Step]) -> bool:
    """Whether each outbound step reads owners as the inbound step of its object does (the
    same pairs, the same owner_match). Then a person this run created from a record, and
    nothing else has touched since, holds exactly what an update would send: its values
    came from that record, and its owner from that record's owner (see
    ownership.agrees), so planning it again would find nothing to write."""
    settings = run.integration.settings
    inbound = {s.crm_object: s for s in run.integration.steps()
               if s.enabled and s.inbound and s.is_people}
    return all(step_owner_mappings(step, settings) == step_owner_mappings(other, settings)
               and step_owner_match(step, settings) == step_owner_match(other, settings)
               for stream, step in steps.items()
               if (other := inbound.get(stream)) is not None)


def _made_elsewhere(run: RunContext, people: Iterator[UUID], made_by: str
                    ) -> Iterator[UUID]:
    """Of `people` (in order), those something besides `made_by` changed."""
    while chunk := list(islice(people, PLAN_CHUNK)):
        with run.app.database.reader.connect() as connection:
            touched = touched_elsewhere(connection, PEOPLE.tables["people"],
                                        [p.hex for p in chunk], made_by)
        yield from (p for p in chunk if p.hex in touched)


def _once(ordered: Iterable[UUID]) -> Iterator[UUID]:
    last = None
    for item in ordered:
        if item != last:
            yield item
        last = item


def all_people(run: RunContext, linked_to: str | None = None,
               touched_besides: str | None = None,
               linked_already: Container[int] = ()) -> Iterator[UUID]:
    """Every person in the people view (with `linked_to`, those with a live link to a
    record of that object; with `touched_besides`, those something besides that cause
    changed), in uuid order, PEOPLE_PAGE at a time. `linked_already`: people (by the id's
    int) the run knows hold a live link to `linked_to`, whose links need no reading."""
    table = PEOPLE.tables["people"]
    links = cast(table.c.links, Text)  # parsed only where the link must be checked
    columns = [table.c.uuid] if linked_to is None else [table.c.uuid, links]
    wanted = [touched_elsewhere_than(table, touched_besides)] if touched_besides else []
    if linked_to is not None:
        # Only rows whose links' text names the object at all are parsed and checked: in an
        # org of Contacts alone, none of them (the stored JSON of a link holds its object as
        # the string "Lead"; whether the link is live and this CRM's is checked below).
        wanted.append(links.like(f'%"{linked_to}"%'))
    after = ""
    while True:
        with run.app.database.reader.connect() as connection:
            page = connection.execute(select(*columns)
                                      .where(table.c.uuid > after, *wanted)
                                      .order_by(table.c.uuid).limit(PEOPLE_PAGE)).all()
        for row in page:
            person = UUID(row[0])
            if linked_to is None or person.int in linked_already \
                    or linked_to in _live_objects(run, loads(row[1])):
                yield person
        if len(page) < PEOPLE_PAGE:
            return
        after = page[-1][0]


def _changed_people(run: RunContext, start: int, stop: int) -> set[UUID]:
    """People whose app-side events came after the step's position."""
    return changed_originators(run, start, stop,
                               [t for t in PERSON_TOPICS if not t.endswith(SELF_CAUSED)])


def _plan_chunk(run: RunContext, steps: dict[str, Step], describe: Describes,
                statuses: list[Step], chunk: list[UUID]) -> Planner:
    """Decide a batch of due people and save their intents, before any call; people with
    nothing to write leave the due set now, the others once their write's result is in."""
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    cache.prefetch(crm_record_id(run.crm, run.org, link["object"], link["id"])
                   for person in (cache.get(p, Person) for p in chunk) if person is not None
                   for link in person.links.values() if link["crm"] == run.crm)
    planner = Planner(run, steps, describe, cache, statuses)
    planner.prefetch(chunk)
    planner.writes = [w for w in (planner.plan(pid) for pid in chunk) if w is not None]
    if planner.awaiting_account:
        awaiting, planner.awaiting_account = planner.awaiting_account, {}
        names = {name.lower(): name for name in awaiting.values()}
        planner.accounts.update(resolve_accounts(run, steps[ACCOUNT_STREAM],
                                                 sorted(names.values())))
        planner.writes += [w for w in (planner.plan(pid) for pid in awaiting)
                           if w is not None]
    writing = {w.person.id for w in planner.writes}
    for step in steps.values():
        cursor = step_cursor(run, step, cache)
        cursor.mark_due(planner.stay_due, run.ctx)
        cursor.clear_due([p.hex for p in chunk
                          if p not in writing and p.hex not in planner.stay_due], run.ctx)
    kill_point("outbound.chunk_decided")
    run.app.save(*cache.changed())  # the intents, before any call
    kill_point("outbound.intents_saved")
    return planner


class Describes:
    """Each object's fields (describe), read once a run, when a write to it is first planned
    (a run with nothing to write spends no call on them), or asked ahead by a large run."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self._fields: dict[str, dict[str, Any]] = {}
        self._lengths: dict[str, dict[str, int | None]] = {}
        self._ahead: dict[str, Ahead[dict[str, Any]]] = {}

    def has(self, stream: str) -> bool:
        """Whether the stream's fields are read (not only asked)."""
        return stream in self._fields

    def ask_ahead(self, streams: list[str]) -> None:
        for stream in streams:
            if stream not in self._fields and stream not in self._ahead:
                self._ahead[stream] = Ahead(partial(self.run.gateway.describe, stream),
                                            self.run.gateway.side_by_side)

    def fields(self, stream: str) -> dict[str, Any]:
        if stream not in self._fields:
            ahead = self._ahead.pop(stream, None)
            self._fields[stream] = ahead.result() if ahead is not None else \
                self.run.gateway.describe(stream)
        return self._fields[stream]

    def close(self) -> None:
        """No describe asked ahead outlives the steps (one never taken is dropped)."""
        for ahead in self._ahead.values():
            ahead.close()
        self._ahead.clear()

    def lengths(self, stream: str) -> Mapping[str, int | None]:
        if stream not in self._lengths:  # asked once a planned write
            self._lengths[stream] = {name: f.get("length")
                                     for name, f in self.fields(stream).items()}
        return self._lengths[stream]


class Batches:
    """Planned writes waiting for the gateway, by what one group must share (object,
    action, whether the CRM may assign owners): a group is full at the gateway's
    `group_size`, and full groups go `groups_at_once` at a time (for Salesforce, one
    Composite call, one call against the daily limit); the rest go at the end, so that the
    batches of due people never split one.

    When the gateway's calls may go side by side, a send is left in flight while the next
    due people are planned (their intents saved before any call of theirs, as always), so
    that its round trip hides behind that work: one send at a time, its outcomes recorded
    before the next leaves, at the end, or before a planning that failed is told."""

    def __init__(self, run: RunContext, steps: dict[str, Step]) -> None:
        self.run = run
        self.steps = steps
        self.waiting: dict[tuple[str, str, bool], list[Write]] = {}
        self.full: list[list[Write]] = []
        self.in_flight: tuple[list[Write], Ahead[list[WriteOutcome]]] | None = None

    def add(self, writes: list[Write]) -> None:
        for write in writes:
            group = self.waiting.setdefault(write.group, [])
            group.append(write)
            if len(group) == self.run.gateway.group_size:
                self.full.append(self.waiting.pop(write.group))
                if len(self.full) == self.run.gateway.groups_at_once:
                    self._send(self.full)
                    self.full = []

    def flush(self, meanwhile: Callable[[], object] | None = None) -> None:
        """Everything planned sent; `meanwhile` done while the last send is in flight."""
        collections = [*self.full, *self.waiting.values()]
        self.full, self.waiting = [], {}
        at_once = self.run.gateway.groups_at_once
        for start in range(0, len(collections), at_once):
            self._send(collections[start:start + at_once])
        if self.in_flight is not None and meanwhile is not None:
            meanwhile()
        self._stop_on(self.settle())

    def _send(self, collections: list[list[Write]]) -> None:
        self._stop_on(self.settle())
        writes = [write for collection in collections for write in collection]
        side_by_side = self.run.gateway.side_by_side
        self.in_flight = (writes, Ahead(partial(_send, self.run, collections), side_by_side))
        if not side_by_side:
            self._stop_on(self.settle())

    def settle(self) -> Exception | None:
        """The send in flight, if any, answered and its outcomes recorded; what stopped it
        (a limit or a refusal met part way), for the caller to stop on."""
        if self.in_flight is None:
            return None
        (writes, sending), self.in_flight = self.in_flight, None
        stopped: Exception | None = None
        try:
            results = sending.result()
        except WritesStopped as stop:  # a limit or a refusal: record what landed, then stop
            results, stopped = [o for group in stop.outcomes for o in group], stop.cause
        kill_point("outbound.after_write")  # the CRM holds the writes; the log only intents
        attempts = count()
        tallies = self.run.app.decide(lambda: _record_results(
            self.run, self.steps, writes, results, as_planned=next(attempts) == 0))
        kill_point("outbound.results_saved")
        for tally in tallies:  # only once their save went through
            tally()
        return stopped

    @staticmethod
    def _stop_on(stopped: Exception | None) -> None:
        if stopped is not None:
            raise stopped


def _account_name(field_name: str | None, person: Person) -> str | None:
    """The company a person's Contact names, as Account names compare (`field_name`: the
    app field the Contacts step maps to the Account's name)."""
    if field_name is None:
        return None
    name = normalise_value(ACCOUNT_NAME, app_value(
        {"account": person.account, "fields": person.fields}, field_name))
    return str(name) if name else None


def _record_results(run: RunContext, steps: dict[str, Step], writes: list[Write],
                    results: list[WriteOutcome], as_planned: bool) -> list[Callable[[], None]]:
    """`as_planned`: the people as the save of their intents left them, not loaded again
    (a save that lost a race to another writer is redone with them loaded afresh)."""
    cache = AggregateCache(run.app)
    if as_planned:
        for write in writes:
            cache.add(write.person)
    else:
        cache.prefetch(w.person.id for w in writes)
    cache.prefetch(crm_record_id(run.crm, run.org, w.stream, str(r.crm_id or w.crm_id))
                   for w, r in zip(writes, results, strict=True) if r.crm_id or w.crm_id)
    tallies: list[Callable[[], None]] = []
    stay_due = [w.person.id.hex for w, r in zip(writes, results, strict=True)
                if _record_result(run, cache, w, r, tallies)]
    for step in steps.values():
        cursor = step_cursor(run, step, cache)
        cursor.mark_due(stay_due, run.ctx)
        cursor.clear_due([w.person.id.hex for w in writes if w.person.id.hex not in stay_due],
                         run.ctx)
    kill_point("outbound.results_decided")
    run.app.save(*cache.changed())
    return tallies


def lead_status_picklist(run: RunContext) -> dict[str, str]:
    """The Lead Status picklist, lowercased label or API name -> API name; read once a run
    (asked ahead, when a Planner asked for it alongside the Lead's describe)."""
    if run.lead_statuses is None:
        ahead, run.lead_statuses_ahead = run.lead_statuses_ahead, None
        run.lead_statuses = ahead.result() if ahead is not None else read_lead_statuses(run)
    return run.lead_statuses


def ask_lead_statuses_ahead(run: RunContext) -> None:
    """The Lead Status picklist asked now, for lead_status_picklist to take, unless it is
    read or asked already."""
    if run.lead_statuses is None and run.lead_statuses_ahead is None:
        run.lead_statuses_ahead = Ahead(partial(read_lead_statuses, run),
                                        run.gateway.side_by_side)


def read_lead_statuses(run: RunContext) -> dict[str, str]:
    picklist: dict[str, str] = {}
    for value, label in run.gateway.picklist(STATUS_STREAM, STATUS_FIELD):
        picklist[label.lower()] = value
        picklist[value.lower()] = value
    return picklist


def status_values(run: RunContext, steps: list[Step], person: Person
                  ) -> Iterator[tuple[Step, str]]:
    """Each status step's value for `person` (status or inbox category) that passes its
    filter: what the step maps to a Lead Status, through the picklist."""
    for step in steps:
        value = person.status if step.source == "app.person_statuses" \
            else person.inbox_category
        if value and passes_filter(run, step, person):
            yield step, value


def lead_status(run: RunContext, steps: list[Step], person: Person, current: str | None
                ) -> tuple[Step | None, str | None, list[str]]:
    """What the status steps write to a person's Lead, whose Status is `current`: the first
    step whose value (status or inbox category) passes its filter and maps to a Lead Status
    other than `current`, with that status; and a skip reason for each step before it whose
    value maps to none. The picklist is read only when a value needs it."""
    reasons: list[str] = []
    for step, value in status_values(run, steps, person):
        mappings = {m.app: m.crm for m in step.status_mappings}
        status = lead_status_for(value, mappings, lead_status_picklist(run))
        if status is None:
            reasons.append(NO_STATUS)
            continue
        if status == current:
            continue
        return step, status, reasons
    return None, None, reasons


T = TypeVar("T")


def _weakly(method: Callable[[str], T]) -> Callable[[str], T]:
    """A method its object's own parts call, without the reference back that would make
    a cycle: a planner's left each chunk's people and writes to the cycle collector."""
    ref = weakref.WeakMethod(method)

    def call(arg: str) -> T:
        bound = ref()
        assert bound is not None, "called after its object was gone"
        return bound(arg)

    return call


class Planner:
    """Plans due people one at a time: reads what the plan needs (the target, its mirror,
    the Account looked up), asks `plan_outbound`, and records what it decides (the intents
    on the aggregates, the skips, who stays due)."""

    def __init__(self, run: RunContext, steps: dict[str, Step], describe: Describes,
                 cache: AggregateCache, statuses: list[Step] | None = None,
                 preview: bool = False) -> None:
        self.run = run
        self.preview = preview  # the mass-change guard's look ahead: nothing is noted
        self.steps = steps
        self.cache = cache
        self.statuses = statuses or []  # the status steps on, whose Lead Status a Lead carries
        self.writes: list[Write] = []
        self.stay_due: list[str] = []
        self.skips: list[tuple[str, str, Step, str, str | None]] = []
        self.queried: dict[tuple[str, str], str] = {}  # (object, email) -> record id
        # The mirror's live records by email, for the people prefetched (else one query each).
        self.mirrored: dict[str, list[dict[str, Any]]] = {}
        self.mirrored_for: set[str] = set()  # the emails `mirrored` answers for
        # Company name (lowercased) -> AccountId, or why the Account could not be made.
        self.accounts: dict[str, str | AccountFailure] = {}
        # Contacts whose Account is looked up first, with the company each names.
        self.awaiting_account: dict[UUID, str] = {}
        contacts = steps.get(ACCOUNT_STREAM)
        self.account_field = account_app_field(contacts) if contacts is not None else None
        self.describe = describe
        self.planning: Person | None = None  # the person plan() is planning
        people, directory = run.gateway.people, run.directory
        self.rules = OutboundRules(
            steps, run.integration.settings, people,
            Owners(directory.member_emails, directory.crm_user_emails,
                   directory.member_by_email, directory.crm_user_by_email,
                   run.settings.connecting_member),
            run.org, _weakly(self._lengths), run.gateway.as_held, run.settings.recreate)

    def _lengths(self, stream: str) -> Mapping[str, int | None]:
        if stream == STATUS_STREAM and not self.describe.has(stream):
            self._statuses_ahead()
        return self.describe.lengths(stream)

    def _statuses_ahead(self) -> None:
        """The Lead's describe is read for the first time, for a Lead whose Status the
        picklist will map: the picklist is asked alongside, one round trip for both."""
        run, person = self.run, self.planning
        if person is not None and self.statuses \
                and any(status_values(run, self.statuses, person)):
            ask_lead_statuses_ahead(run)

    def prefetch(self, chunk: list[UUID]) -> None:
        """Match by email in batched queries where no inbound step keeps the mirror current
        for an object (or a create may have landed before a crash without a key field)."""
        pulled = {s.crm_object for s in self.run.integration.steps()
                  if s.enabled and s.inbound and s.is_people}
        crm = self.run.crm
        people = [p for p in (self.cache.get(pid, Person) for pid in chunk)
                  if p is not None and not p.forgotten and not p.deleted
                  and (self.run.settings.recreate or p.removed_record(crm) is None)]
        self._mirror_by_emails([p.email for p in people])
        email_field = self.run.gateway.people.email_field
        for stream in self.steps:
            unsure = [p.email for p in people
                      if not any(not link["deleted"] for link in p.links.values())
                      and (stream not in pulled or (p.pending_create is not None and
                                                     stream in self.run.integration.missing_keys))]
            if not unsure:
                continue
            for page in self.run.gateway.by_emails(stream, sorted(set(unsure))):
                for row in page:
                    email = row.values.get(email_field)
                    if email and row.converted is None:
                        self.queried.setdefault((stream, str(email).lower()), row.id)

    def tally(self) -> None:
        """Into the run's counts and plan, once the batch's save went through."""
        for write in self.writes:
            self.run.planned(write.step, write.person.app_id, write.crm_id, write.action, None,
                             {k: [write.before.get(k), v] for k, v in write.record.items()})
        for kind, reason, step, app, crm in self.skips:
            self.run.skip(kind, reason)
            self.run.planned(step, app, crm, "skip", reason)

    def plan(self, person_id: UUID) -> Write | None:
        person = self.cache.get(person_id, Person)
        if person is None or person.deleted or person.forgotten:
            return None
        removed = person.removed_record(self.run.crm)
        # A record removed in the CRM is re-created only by --recreate: else none is looked
        # for (the plan skips the person whatever it would find).
        target = self._target(person) if removed is None or self.run.settings.recreate \
            else Target(None)
        mirror = None if target.stream is None or target.crm_id is None else self.cache.get(
            crm_record_id(self.run.crm, self.run.org, target.stream, target.crm_id), CrmRecord)
        held = None if mirror is None else HeldRecord(mirror.content, mirror.owner,
                                                      mirror.converted)
        self.planning = person
        try:
            decided = plan_outbound(self._person(person, removed), target, held,
                                    self._account(person), self.rules,
                                    self._lead_status(person))
        finally:
            self.planning = None
        write = self._apply(person, decided)
        if write is not None and write.stream == STATUS_STREAM and self.statuses:
            # What the Lead's Status is once the write lands, as the mirror will say.
            held = mirror.content.get(STATUS_FIELD) if mirror is not None else None
            after = write.record.get(STATUS_FIELD, held if write.action == "update" else None)
            write.status_skips = self._statuses_settled(person, after)
        return write

    def _person(self, person: Person, removed: dict[str, Any] | None) -> OutboundPerson:
        crm = self.run.crm
        return OutboundPerson(
            app_id=person.app_id, uuid_hex=person.id.hex,
            values={"email": person.email, "first_name": person.first_name,
                    "last_name": person.last_name, "account": person.account,
                    "status": person.status, "inbox_category": person.inbox_category,
                    "fields": person.fields},
            owner=person.owner, owner_by_default=person.owner_by_default,
            opted_out="opted_out" in person.flags, cleared=frozenset(person.cleared),
            linked=frozenset(s for s in self.steps if f"{crm}:{s}" in person.links),
            removed=None if removed is None else RemovedRecord(
                removed["object"], removed["id"], removed.get("merged_into")),
            pending_key=None if person.pending_create is None
            else person.pending_create.get("key"),
            filtered_out=frozenset(stream for stream, step in self.steps.items()
                                   if not passes_filter(self.run, step, person)))

    def _account(self, person: Person) -> AccountLookup | None:
        """The company a Contact's write names, and the Account it resolved to so far."""
        name = _account_name(self.account_field, person)
        if name is None:
            return None
        return AccountLookup(ACCOUNT_STREAM, name, self.accounts.get(name.lower()))

    def _lead_status(self, person: Person) -> Callable[[str | None], str | None] | None:
        """The Lead Status a status step would write next, sent with the Lead's own write
        (the step's skips stay the step's to record)."""
        if not self.statuses:
            return None
        return lambda current: lead_status(self.run, self.statuses, person, current)[1]

    def _apply(self, person: Person, decided: OutboundPlan) -> Write | None:
        if isinstance(decided, Skip):
            self.skips.append((decided.kind, decided.reason, self.steps[decided.stream],
                               person.app_id, decided.crm_id))
            if decided.stay_due:
                self.stay_due.append(person.id.hex)
            return None
        if isinstance(decided, AwaitAccount):
            self.awaiting_account[person.id] = decided.name  # planned again once resolved
            return None
        if not self.preview:
            self.run.note(*decided.notes)
        if isinstance(decided, Create):
            return self._create(person, decided)
        if isinstance(decided, Update):
            return self._update(person, decided)
        return None

    def _statuses_settled(self, person: Person, status: str | None) -> list[str] | None:
        """When the status steps, deciding again once the Lead's Status is `status`, would
        write nothing: the reasons they would skip the person for (then they need not load
        it again this run); else None."""
        step, again, reasons = lead_status(self.run, self.statuses, person, status)
        return reasons if step is None and again is None else None

    def _target(self, person: Person) -> Target:
        streams = self.run.gateway.people.streams
        for stream in streams:
            link = person.links.get(f"{self.run.crm}:{stream}")
            if link and not link["deleted"]:
                return Target(stream, link["id"]) if stream in self.steps else Target(None)
        matched = self._match_by_email(person)
        if matched is not None:
            return matched
        for stream in streams:
            found = self.queried.get((stream, person.email))
            if found is not None and stream in self.steps:
                return Target(stream, found)
        # A new person is created as the last stream a step writes (for Salesforce a
        # prospect is a Lead, never both).
        return Target([s for s in streams if s in self.steps][-1])

    def _mirror_by_emails(self, emails: list[str]) -> None:
        """The mirror's records holding these emails, in a few queries for a whole chunk."""
        with self.run.app.database.reader.connect() as connection:
            rows = by_emails(connection, CRM_RECORDS.tables["crm_records"], self.run.crm,
                             self.run.org, emails)
        self.mirrored_for.update(emails)
        for row in rows:
            self.mirrored.setdefault(row["email"], []).append(row)

    def _match_by_email(self, person: Person) -> Target | None:
        if person.email not in self.mirrored_for:
            self._mirror_by_emails([person.email])
        rows = self.mirrored.get(person.email, [])
        for stream in self.run.gateway.people.streams:
            for row in rows:
                if row["object"] == stream and stream in self.steps and not row["converted"]:
                    return Target(stream, row["record_id"])
        return None

    def _create(self, person: Person, create: Create) -> Write:
        if not create.reconcile:
            person.request_create(self.run.crm, create.stream, create.key, create.record,
                                  self.run.ctx)
        return Write(self.steps[create.stream], person, create.stream, "create",
                     create.record, key=create.key, headers_auto_assign=create.auto_assign,
                     status=create.status, reconcile=create.reconcile)

    def _update(self, person: Person, update: Update) -> Write:
        run, stream, crm_id = self.run, update.stream, update.crm_id
        if update.discover:
            mirror: CrmRecord = MIRRORS[stream].discover(run.crm, run.org, crm_id, run.ctx)
            self.cache.add(mirror)
            mirror.link_person(person.id, run.ctx)
        else:
            mirror = self.cache.get_existing(crm_record_id(run.crm, run.org, stream, crm_id),
                                             CrmRecord)
        mirror.request_write(update.key, "update", update.changes, run.ctx)
        if update.link:
            person.link(run.crm, stream, crm_id, run.record_url(stream, crm_id), run.ctx)
        return Write(self.steps[stream], person, stream, "update", update.changes,
                     crm_id=crm_id, key=update.key, headers_auto_assign=update.auto_assign,
                     before=update.before, status=update.status, blanked=update.blanked)


def passes_filter(run: RunContext, step: Step, person: Person) -> bool:
    """The step's outbound filter: a saved filter, an app list, or rules on the person."""
    chosen = step.filter
    if chosen is None or (chosen.saved is None and chosen.list is None and
                          not chosen.rules):
        return True
    values = {"email": person.email, "first_name": person.first_name,
              "last_name": person.last_name, "account": person.account,
              "owner": person.owner, "status": person.status,
              "inbox_category": person.inbox_category, "flags": person.flags,
              "lists": person.lists, **person.fields}
    if chosen.list is not None:
        wanted = {chosen.list} | {key for key, attrs in run.directory.lists.items()
                                  if attrs.get("name") == chosen.list}
        if not wanted & set(person.lists):
            return False
    if chosen.saved is not None:
        if chosen.saved in SAVED_FLAG_FILTERS:
            if SAVED_FLAG_FILTERS[chosen.saved] not in person.flags:
                return False
        else:
            saved = run.directory.saved_filters.get(chosen.saved, {})
            rules = [FilterRule(**rule) for rule in saved.get("rules", [])]
            if not all_match(rules, values):
                return False
    return all_match(chosen.rules, values)


def _send(run: RunContext, groups: list[list[Write]]) -> list[WriteOutcome]:
    """The groups through the gateway; the outcomes in the order of the writes."""
    requests = [[RecordWrite(stream=w.stream, action="create" if w.action == "create"
                             else "update", fields=w.record, key=w.key, crm_id=w.crm_id,
                             auto_assign=w.headers_auto_assign, reconcile=w.reconcile)
                 for w in group] for group in groups]
    return [outcome for group in run.gateway.write(requests) for outcome in group]


def _record_result(run: RunContext, cache: AggregateCache, write: Write,
                   result: WriteOutcome, tallies: list[Callable[[], None]]) -> bool:
    """Returns whether the person stays due (a failure a retry may mend); what goes into the
    run's counts and errors is added to `tallies`."""
    kind = run.gateway.people.kinds[write.stream]
    person = cache.get_existing(write.person.id, Person)
    if result.ok:
        crm_id = str(result.crm_id or write.crm_id)
        mirror_id = crm_record_id(run.crm, run.org, write.stream, crm_id)
        if write.action == "create":
            mirror = cache.get(mirror_id, CrmRecord)
            if mirror is None:
                mirror = MIRRORS[write.stream].discover(run.crm, run.org, crm_id, run.ctx)
                cache.add(mirror)
            # A record new to the mirror is one event, its Discovered carrying the write and
            # the link (issue 22); one mirrored already (a create whose answer was lost,
            # pulled since) records them apart.
            mirror.record_written(crm_id, run.ctx,
                                  content=run.gateway.as_held(write.stream, write.record))
            mirror.link_person(person.id, run.ctx)
            person.link(run.crm, write.stream, crm_id,
                        run.record_url(write.stream, crm_id), run.ctx)
        else:
            cache.get_existing(mirror_id, CrmRecord).record_written(crm_id, run.ctx)
        tallies.append(partial(run.count, kind,
                               "created" if write.action == "create" else "updated"))
        if write.status:
            tallies.append(partial(run.count, "statuses", "updated"))
        if write.status_skips is not None:
            run.status_settled(person.id, write.status_skips)
        return False
    code, message, retryable = str(result.code), result.message, result.retryable
    if write.action == "create":
        person.record_create_failed(code, message, retryable, run.ctx)
    else:
        mirror_id = crm_record_id(run.crm, run.org, write.stream, str(write.crm_id))
        cache.get_existing(mirror_id, CrmRecord).record_write_failed(code, message, retryable,
                                                                     run.ctx)
    tallies.append(partial(run.error, write.step, kind, write.person.app_id, write.crm_id, code,
                           message))
    return retryable
