"""Every record one sync run decided, as the web view's run page shows it: the decision
(create, update, skip, failed, none), its reason (a skip's reason, a CRM error's code and
message), the values it changed (before -> after) and the CRM record it is about.

What the run recorded is read once (`read_run`) and folded into facts per aggregate the way
`replay --run` reads it (`run_diff`); a person and the CRM record it was synced with are one
entry. The values before are the aggregates' state just before their first event of the
run, loaded only for the entries a page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.activity_mapping import COUNT_KIND
from syncledger.domain.app_records import Activity
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.person import Person
from syncledger.domain.task import Task
from syncledger.replay.history import plain
from syncledger.replay.run_diff import WRITES, Fact, decisions, side
from syncledger.replay.run_record import RunRecord, read_run

# What a fold names that is the decision itself, not a field it changed.
DECISION_NAMES = ("write", "written", "skipped", "error", "converted", "deleted")
OBJECT_KIND = {"Contact": "contacts", "Lead": "leads", "Account": "accounts"}


@dataclass
class RecordEntry:
    position: int  # of the entry's first event in the run: the key its page is read by
    kind: str  # the run's count kinds: people, contacts, leads, accounts, emails, ...
    action: str  # create, update, skip, failed or none
    reason: str | None
    app: str | None = None  # the person's or activity's app id
    crm: str | None = None  # the CRM record id
    stream: str | None = None  # the CRM record's object (Contact, Lead, Task, person)
    url: str | None = None  # the CRM record's page, where the link recorded it
    person: str | None = None  # the person's app id, for a link to their page
    forgotten: bool = False
    changes: dict[str, list[Any]] = field(default_factory=dict)  # name -> [before, after]
    events: list[str] = field(default_factory=list)
    aggregates: list[tuple[UUID, int]] = field(default_factory=list)  # (id, first version)


@dataclass(frozen=True)
class RunDecisions:
    run: RunRecord
    entries: list[RecordEntry]

    def kinds(self) -> list[str]:
        return sorted({e.kind for e in self.entries})

    def reasons(self) -> list[str]:
        return sorted({e.reason for e in self.entries if e.reason})


def run_decisions(app: SyncLedger, run_id: str) -> RunDecisions:
    """The run's records, in the order the run first decided them (the caller catches the
    event index up first)."""
    record = read_run(app, run_id)
    facts = decisions(record.events)
    first: dict[UUID, tuple[int, int]] = {}  # aggregate -> (position, version) of its first
    for position, event in record.events:
        if event.originator_id in facts and event.originator_id not in first:
            first[event.originator_id] = (position, event.originator_version)
    cache = AggregateCache(app)
    cache.prefetch(facts)
    groups: dict[UUID, list[UUID]] = {}
    for aggregate_id in sorted(facts, key=lambda i: first[i][0]):
        found = cache.find(aggregate_id)
        owner = found.person if isinstance(found, CrmRecord) and found.person else aggregate_id
        groups.setdefault(owner, []).append(aggregate_id)
    entries = [_entry(cache, ids, facts, first) for ids in groups.values()]
    return RunDecisions(record, sorted(entries, key=lambda e: e.position))


def _entry(cache: AggregateCache, ids: list[UUID], facts: dict[UUID, list[Fact]],
           first: dict[UUID, tuple[int, int]]) -> RecordEntry:
    mine = [f for i in ids for f in facts[i]]
    decided, values = side(mine, [])
    action, reason = decided["action"], decided["reason"]
    if "error" in values:
        action = "failed"
    entry = RecordEntry(position=min(first[i][0] for i in ids), kind="people", action=action,
                        reason=reason, events=decided["events"],
                        aggregates=[(i, first[i][1]) for i in ids])
    entry.changes = {name: [None, value] for name, value in values.items()
                     if name not in DECISION_NAMES}
    writes = any(name.rsplit(".", 1)[-1] in WRITES for name, _ in mine)
    for aggregate_id in ids:
        found = cache.find(aggregate_id)
        if isinstance(found, Person):
            entry.app = entry.person = found.app_id
            entry.forgotten = bool(getattr(found, "forgotten", False))
        elif isinstance(found, CrmRecord):
            entry.crm, entry.stream = found.crm_record, found.stream
            if writes or entry.kind == "people" and len(ids) == 1:
                entry.kind = OBJECT_KIND.get(found.stream, entry.kind)
        elif isinstance(found, Task):
            activity = cache.find(found.activity)
            entry.crm, entry.stream = found.crm_record, "Task"
            if isinstance(activity, Activity):
                entry.app, entry.person = activity.key, activity.person
                entry.kind = COUNT_KIND.get(activity.kind, entry.kind)
                entry.stream = "Note" if activity.kind == "note" else "Task"
    if writes and entry.kind == "people":
        # A create the CRM refused leaves no mirror record: the intent names the object.
        written = str(values.get("write", "")).rpartition(" ")[2]
        entry.kind = OBJECT_KIND.get(written, entry.kind)
        entry.stream = entry.stream or written or None
    person = next((p for p in map(cache.find, ids) if isinstance(p, Person)), None)
    if person is not None and entry.stream:
        link = person.links.get(f"{_crm_of(cache, ids)}:{entry.stream}")
        if link and link.get("id") == entry.crm:
            entry.url = link.get("url")
    if entry.forgotten:  # what the run changed of them is theirs: none of it is shown
        entry.changes = {}
        # A CRM's message may quote their values: only the code or the reason's name stays.
        if entry.reason:
            entry.reason = entry.reason.split(":", 1)[0].split(" (", 1)[0]
    return entry


def _crm_of(cache: AggregateCache, ids: list[UUID]) -> str:
    for aggregate_id in ids:
        found = cache.find(aggregate_id)
        if isinstance(found, CrmRecord | Task):
            return str(found.crm)
    return "salesforce"


def with_before(app: SyncLedger, entries: list[RecordEntry]) -> list[RecordEntry]:
    """Fill each entry's values as they stood before the run (a page's worth at a time:
    each aggregate is loaded up to the version before its first event of the run)."""
    for entry in entries:
        if entry.forgotten:
            continue
        before: dict[str, Any] = {}
        for aggregate_id, version in entry.aggregates:
            if version <= 1:
                continue
            state: Any = app.repository.get(aggregate_id, version=version - 1)
            before.update(plain(_values(state)))
        entry.changes = {name: [before.get(_plain_name(name)), after]
                         for name, (_, after) in entry.changes.items()
                         if before.get(_plain_name(name)) != after}
    return entries


def _plain_name(name: str) -> str:
    """What a fold's name reads in an aggregate's state: `seen.Company` and `Lead.Company`
    are both the CRM record's Company."""
    prefix, _, rest = name.partition(".")
    if prefix == "seen" or prefix in OBJECT_KIND:
        return f"crm.{rest}"
    return name


def _values(state: Any) -> dict[str, Any]:
    if isinstance(state, Person):
        values = {name: getattr(state, name, None) for name in (
            "email", "first_name", "last_name", "account", "owner", "status",
            "inbox_category", "flags", "lists", "sequence")}
        values.update({f"fields.{k}": v for k, v in (state.fields or {}).items()})
        values.update({f"link.{link['object']}": link["id"] for link in state.links.values()})
        return values
    if isinstance(state, CrmRecord):
        content = {**(state.content or {}), **(getattr(state, "last_written", None) or {})}
        values = {f"crm.{k}": v for k, v in content.items()}
        values["crm.OwnerId"] = state.owner
        return values
    return {}
