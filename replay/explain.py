"""`explain KEY FIELD`: the chain of events that gave a person's field its value, oldest
first, each with its value, type, position, time, cause, actor and reason.

Which events count is decided by what they carry, not by a list of event classes, so the
sync's events plug in as they come: any event on the person or on its CRM mirror records
that carries the field (an attribute of that name, a key of its `values` or `attributes`,
or a mapped CRM field of its `content`), and any `...ConflictResolved` event about it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent
from sqlalchemy import select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.person_keys import person_keys
from syncledger.adapters.personal_data_mapper import SEALED, event_subject
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.ids import app_person_id, crm_record_id, integration_id
from syncledger.domain.person import Person
from syncledger.domain.privacy import FORGOTTEN
from syncledger.domain.steps import CRMS, DEFAULT_STEPS, Step
from syncledger.projections.base import event_type
from syncledger.projections.event_names import events_of, own_name, type_name
from syncledger.replay.history import (
    UnknownRecord,
    person_subjects,
    plain,
    resolve_person,
    stored_events_about,
)

FIELDS = ("email", "first_name", "last_name", "account", "owner", "status", "inbox_category",
          "flags", "lists", "sequence")
# Encrypted per person: once forgotten they read as [forgotten] (fields.NAME too).
PERSONAL = ("email", "first_name", "last_name", "account")
# Attributes every event has; never "the field" even when a field shares the name.
META = ("originator_id", "originator_version", "timestamp", "cause", "actor", "subject")
# CRM fields synced whatever the mappings say (DESIGN: owners, and opt-out as compliance).
FIXED_CRM_FIELDS: dict[str, tuple[str, ...]] = {"owner": ("OwnerId", "owner_id"),
                                                "flags": ("HasOptedOutOfEmail",)}
MISSING = object()

# The events explain tells apart, named after their classes (see event_names): a person's by
# their type, and the others by the name any aggregate's event of that kind ends with.
_person, _record = events_of(Person), events_of(CrmRecord)
LINKED = type_name(_person.Linked)
RECORDED = type_name(_person.Recorded)
RESTARTED = type_name(_person.Restarted)
SEQUENCE_JOINED = type_name(_person.SequenceJoined)
SEQUENCE_LEFT = type_name(_person.SequenceLeft)
PERSON_FORGOTTEN = type_name(_person.Forgotten)  # FORGOTTEN is the value it leaves
CONFLICT_RESOLVED = own_name(_person.ConflictResolved)
OBSERVED = own_name(_record.Observed)
# From issue 22 a record's Discovered may carry its first observation, read as one, or (a
# record the sync created) the create's write, read as its Written.
DISCOVERED = own_name(CrmRecord.Discovered)
WRITE_REQUESTED = own_name(_record.WriteRequested)
WRITTEN = own_name(_record.Written)


class UnknownField(ValueError):
    pass


@dataclass(frozen=True)
class ExplainStep:
    position: int
    time: str
    type: str
    cause: str | None
    actor: str | None
    source: str  # "person p-1", or the CRM record: "salesforce Contact 003..."
    value: Any
    previous: Any
    reason: str | None
    conflict: dict[str, Any] | None  # {"policy", "winner", "loser"}
    text: str

    def to_json(self) -> dict[str, Any]:
        return {key: plain(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Explanation:
    person: str
    field: str
    value: Any
    steps: list[ExplainStep]


def check_field(field: str, app_fields: Iterable[str] = ()) -> str:
    """The field as explain reads it: a core field, `fields.NAME`, or a bare NAME that is
    one of `app_fields` (the person's own fields, and those the configuration maps), which
    lives in the person's `fields`."""
    if field in FIELDS or (field.startswith("fields.") and len(field) > len("fields.")):
        return field
    known = sorted(set(app_fields) - set(FIELDS))
    if field in known:
        return f"fields.{field}"
    mapped = f", or an app field: {', '.join(known)}" if known else ""
    raise UnknownField(f"unknown field {field!r}: expected one of {', '.join(FIELDS)}, "
                       f"fields.NAME{mapped}")


def app_fields(app: SyncLedger, person: Any) -> set[str]:
    """The app fields a bare name may mean: the person's own `fields`, and every app field
    a people step maps in the configuration of a CRM in use."""
    names = set(getattr(person, "fields", None) or {})
    for crm in CRMS:
        try:
            integration: Any = app.repository.get(integration_id(crm))
        except AggregateNotFoundError:
            continue  # never configured: its mappings are nobody's
        for step in _steps(integration, crm):
            if step.is_people:
                names.update(m.app.removeprefix("fields.") for m in step.field_mappings)
    return names


def explain(app: SyncLedger, key: str, field: str) -> Explanation:
    try:
        row = resolve_person(app, key)
    except UnknownRecord:
        raise UnknownRecord(f"no person found for {key!r} (an app id, email or CRM id)"
                            ) from None
    person_id = app_person_id(row["id"])
    person: Any = app.repository.get(person_id)
    field = check_field(field, app_fields(app, person))
    chain = _Chain(app, field, person_id, row["id"])
    # Activities are filed under the person too: only its own events, and conflicts.
    about = stored_events_about(app, person_subjects(app, person_id))
    own = _decoded(app, [(p, s) for p, s in about if s.originator_id == person_id
                         or s.topic.endswith(CONFLICT_RESOLVED)])
    mirrors = chain.mirrors([event for _, _, event in own])
    theirs = _decoded(app, [(p, s) for p, s in stored_events_about(app, list(mirrors))
                            if s.originator_id in mirrors])
    chain.forgotten = _forgotten_subjects(app, [*person_subjects(app, person_id), *mirrors])
    for position, stored, event in sorted([*own, *theirs], key=lambda found: found[0]):
        chain.add(position, stored, event)
    return Explanation(row["id"], field, _current(person, field), chain.steps)


def _decoded(app: SyncLedger, found: list[tuple[int, StoredEvent]]
             ) -> list[tuple[int, StoredEvent, Any]]:
    return [(position, stored, app.mapper.to_domain_event(stored))
            for position, stored in found]


def _current(person: Any, field: str) -> Any:
    if field.startswith("fields."):
        return person.fields.get(field.removeprefix("fields."))
    return getattr(person, field)


def _forgotten_subjects(app: SyncLedger, subjects: list[UUID]) -> set[UUID]:
    with app.database.reader.connect() as connection:
        names = connection.scalars(select(person_keys.c.subject).where(
            person_keys.c.subject.in_([s.hex for s in subjects]),
            person_keys.c.forgotten.is_(True)))
        return {UUID(name) for name in names}


class _Chain:
    """Walks the person's and its mirrors' events in log order, keeping those that set or
    changed the field, each with the value before it."""

    def __init__(self, app: SyncLedger, field: str, person_id: UUID, app_id: str) -> None:
        self.app = app
        self.field = field
        self.person_id = person_id
        self.app_id = app_id
        self.labels: dict[UUID, str] = {}  # mirror id -> "salesforce Contact 003..."
        self.crm_names: tuple[str, ...] = ()
        self.forgotten: set[UUID] = set()
        self.last: dict[UUID | tuple[UUID, str], Any] = {}
        self.steps: list[ExplainStep] = []

    def mirrors(self, person_events: list[Any]) -> dict[UUID, str]:
        """The CRM records the person was ever linked to (a merge relinks it: the old one
        still explains the past), and the CRM names of the field in their mappings."""
        names: set[str] = set(FIXED_CRM_FIELDS.get(self.field, ()))
        integrations: dict[str, Any] = {}
        for event in person_events:
            link = _link(event)
            if link is None:
                continue
            crm, stream, record_id = link
            if crm not in integrations:
                integrations[crm] = self._integration(crm)
            integration = integrations[crm]
            org = getattr(integration, "org_id", None)
            if org:
                mirror = crm_record_id(crm, org, stream, record_id)
                self.labels[mirror] = f"{crm} {stream} {record_id}"
            names.update(_crm_names(self.field, _steps(integration, crm)))
        self.crm_names = tuple(sorted(names))
        return self.labels

    def _integration(self, crm: str) -> Any:
        try:
            return self.app.repository.get(integration_id(crm))
        except AggregateNotFoundError:  # never configured: no org to find mirrors under
            return None

    def add(self, position: int, stored: StoredEvent, event: Any) -> None:
        kind = event_type(event)
        source = self.labels.get(event.originator_id, f"person {self.app_id}")
        if kind.endswith(CONFLICT_RESOLVED):
            # A mapping names a custom app field `title` or `fields.title`: the same field.
            named = str(getattr(event, "field", None))
            if named not in (self.field, *self.crm_names) and \
                    f"fields.{named.removeprefix('fields.')}" != self.field:
                return
            # Both values of a forgotten person's personal field stay unsaid, even where an
            # event kept them in the clear.
            conflict = _conflict(event, self._forgotten_here(event))
            self._step(position, event, kind, source, conflict["winner_value"],
                       self.last.get(self.person_id), conflict)
            return
        forgotten = bool(self._forgotten_names(event, stored) & _containers(self.field))
        reads_as = _reads_as(kind, event)
        value = FORGOTTEN if forgotten else self._carried(event, reads_as)
        if value is MISSING:
            return
        # The value before, on the same side: the person's own, or this CRM record's as
        # last observed, last asked to be written, or last written.
        side: UUID | tuple[UUID, str] = self.person_id
        if event.originator_id in self.labels:
            family = next((f for f in (WRITE_REQUESTED, WRITTEN) if reads_as.endswith(f)),
                          "read")
            side = (event.originator_id, family)
            if side in self.last and self.last[side] == value:
                return  # an observation that left this field as it was: not its story
        previous = self.last.get(side)
        self.last[side] = value
        self._step(position, event, kind, source, value, previous, None, reads_as)

    def _forgotten_here(self, event: Any) -> bool:
        """Whether the field is personal and this event's subject (whose key encrypts it)
        was forgotten."""
        personal = self.field in PERSONAL or self.field.startswith("fields.")
        return personal and event_subject(vars(event), event.originator_id) in self.forgotten

    def _forgotten_names(self, event: Any, stored: StoredEvent) -> set[str]:
        """This event's personal attributes that can no longer be read: its subject's key
        was destroyed, so they decrypt to placeholders that say nothing of the field."""
        if not self._forgotten_here(event):
            return set()
        sealed = self.app.mapper.transcoder.decode(stored.state).get(SEALED)
        return set(sealed["names"]) if isinstance(sealed, dict) else set()

    def _carried(self, event: Any, kind: str) -> Any:
        """The field's value as this event carries it, or MISSING."""
        name, sub = self.field, None
        if name.startswith("fields."):
            name, sub = "fields", name.removeprefix("fields.")
        if kind in (RECORDED, RESTARTED):
            # A life starts here: every field is set, a field not given to empty.
            return _started(event, name, sub)
        if kind == SEQUENCE_JOINED and name == "sequence":
            return {"id": event.sequence, "step": event.step,
                    "ignore_step_delay": event.ignore_step_delay}
        if kind == SEQUENCE_LEFT and name == "sequence":
            return None
        if kind == PERSON_FORGOTTEN:
            return FORGOTTEN if name in (*PERSONAL, "fields") else MISSING
        if kind.endswith(DISCOVERED) and getattr(event, "content", None) is None:
            return MISSING  # discovered without an observation: it says nothing of fields
        for container in ("values", "attributes"):
            found = _in(getattr(event, container, None), name, sub)
            if found is not MISSING:
                return found
        write = kind.endswith(WRITTEN) and isinstance(event, CrmRecord.Discovered)
        content = event.written if write else getattr(event, "content", None)
        if isinstance(content, dict):
            for crm_name in self.crm_names:
                if crm_name in content:
                    return content[crm_name]
        # (A create's Discovered has attributes of a discovery, not of its Written's.)
        if sub is None and name not in META and not write and hasattr(event, name):
            return getattr(event, name)
        return MISSING

    def _step(self, position: int, event: Any, kind: str, source: str, value: Any,
              previous: Any, conflict: dict[str, Any] | None,
              reads_as: str | None = None) -> None:
        """`kind`: the event's type, as the log names it; `reads_as`: the type its words
        follow, when another (see _reads_as)."""
        reason = getattr(event, "reason", None)
        if conflict is not None:
            text = (f"conflict settled by the {conflict['policy']} policy: "
                    f"{shown(value)} won; the losing value was {shown(conflict['loser'])}")
            conflict = {k: conflict[k] for k in ("policy", "winner", "loser")}
        else:
            text = _words(reads_as or kind, source, value,
                          getattr(event, "previous", previous))
        if reason:
            text += f" (reason: {reason})"
        self.steps.append(ExplainStep(
            position=position, time=event.timestamp.isoformat(), type=kind,
            cause=getattr(event, "cause", None), actor=getattr(event, "actor", None),
            source=source, value=value, previous=previous, reason=reason,
            conflict=conflict, text=text))


def _reads_as(kind: str, event: Any) -> str:
    """The type whose meaning an event's value and words follow: its own, but a Discovered
    that carries the write of the create that made its record reads as that write's Written
    ("LeadWritten"), as it was recorded apart until issue 22."""
    if isinstance(event, CrmRecord.Discovered) and event.written is not None:
        return kind.removesuffix(DISCOVERED) + WRITTEN
    return kind


def _link(event: Any) -> tuple[str, str, str] | None:
    """The CRM record a person's event links it to (crm, stream, id): a Linked's, or from
    issue 22 the Recorded's of a person made from a CRM record."""
    kind = event_type(event)
    if kind == LINKED:
        return event.crm, event.stream, event.record_id
    link = getattr(event, "link", None) if kind == RECORDED else None
    return (link["crm"], link["stream"], link["record_id"]) if link else None


def _containers(field: str) -> set[str]:
    """The encrypted attributes that would hold this field's value in an event."""
    return {"email", "content", "written"} if field == "email" \
        else {"values", "content", "written", "fields"}


def _started(event: Any, name: str, sub: str | None) -> Any:
    if name in ("email", "owner"):
        return getattr(event, name)
    if name == "sequence":
        return None
    if sub is not None:
        return (event.values.get("fields") or {}).get(sub)
    container = event.values if name in PERSONAL else event.attributes
    return container.get(name, [] if name in ("flags", "lists") else None)


def _in(container: Any, name: str, sub: str | None) -> Any:
    if not isinstance(container, dict):
        return MISSING
    if sub is None:
        return container.get(name, MISSING)
    fields = container.get("fields")
    if isinstance(fields, dict) and sub in fields:
        return fields[sub]
    return MISSING


def _conflict(event: Any, redacted: bool) -> dict[str, Any]:
    """`winner` names the side that won ("crm" or "app") with both values kept in `values`,
    or is the winning value itself with `loser` beside it: either shape reads the same."""
    winner, policy = getattr(event, "winner", None), getattr(event, "policy", None)
    values = getattr(event, "values", None)
    if hasattr(event, "loser"):
        won, lost = winner, event.loser
    elif isinstance(values, dict) and winner in values:
        won = values[winner]
        others = [v for side, v in values.items() if side != winner]
        lost = others[0] if others else None
    else:
        won, lost = winner, None
    if redacted:
        won, lost = FORGOTTEN, FORGOTTEN
        if winner not in (values or {}):  # the winner is a value, not a side's name
            winner = FORGOTTEN
    return {"policy": policy, "winner": winner, "loser": lost, "winner_value": won}


def _words(kind: str, source: str, value: Any, previous: Any) -> str:
    if kind == RECORDED:
        return f"recorded with {shown(value)}"
    if kind == RESTARTED:
        return f"recorded again after being forgotten, with {shown(value)}"
    if kind == PERSON_FORGOTTEN:
        return "forgotten: the value reads as [forgotten] from here on, everywhere"
    if not source.startswith("person "):
        if kind.endswith((OBSERVED, DISCOVERED)):
            return f"{source} was observed holding {shown(value)}"
        if kind.endswith(WRITE_REQUESTED):
            return f"a write of {shown(value)} to {source} was requested"
        if kind.endswith(WRITTEN):
            return f"{shown(value)} was written to {source}"
        return f"{source} recorded {shown(value)}"
    if previous is None:
        return f"set to {shown(value)}"
    return f"changed from {shown(previous)} to {shown(value)}"


def shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, str):
        return value if value == FORGOTTEN else f"'{value}'"
    return json.dumps(plain(value), sort_keys=True)


def _steps(integration: Any, crm: str) -> list[Step]:
    steps = getattr(integration, "steps", None)
    if callable(steps):
        return list(steps())
    return list(DEFAULT_STEPS.get(crm, ()))


def _crm_names(field: str, steps: list[Step]) -> set[str]:
    """The CRM fields mapped to this app field in any people step (a custom app field
    `title` is the person's `fields.title`)."""
    app_name = field.removeprefix("fields.")
    return {mapping.crm for step in steps if step.is_people
            for mapping in step.field_mappings
            if mapping.app.removeprefix("fields.") == app_name}
