"""What an activity step writes to the CRM for one app activity, decided over plain values:
which step carries it (the first, in configuration order, whose filter selects the person and
whose owner rules give an owner), the Task or Note it becomes (cut to the CRM's lengths, a
body the log no longer holds left out), and whether the CRM holds that already. Also how a
create that may have landed is found again without its key field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from syncledger.domain.activity_mapping import note_fields, task_fields
from syncledger.domain.content import content_hash, normalise_value
from syncledger.domain.message_bodies import marked, revealed
from syncledger.domain.ownership import OwnerDecision, outbound_owner
from syncledger.domain.steps import (
    IntegrationSettings,
    Step,
    step_owner_mappings,
    step_owner_match,
)

NOT_LINKED = "person not linked yet"
FILTERED_OUT = "filtered out by every step"
# Fields Salesforce lets a create set but refuses on an update (INVALID_FIELD_FOR_INSERT_UPDATE,
# also on an upsert that finds its record).
CREATE_ONLY = {"Task": frozenset({"TaskSubtype"}), "Note": frozenset({"ParentId"})}
TRUNCATED = ("Subject", "Description")  # the text fields an activity can overflow


@dataclass(frozen=True)
class ActivityRules:
    """What holds for every activity of a run."""

    crm: str
    streams: Sequence[str]  # the people streams, in the order a person prefers them
    # kind -> object -> its steps, in configuration order
    steps: Mapping[str, Mapping[str, Sequence[Step]]]
    settings: IntegrationSettings  # the timezone; the integration's owner rules
    owner_field: str
    lengths: Mapping[str, int | None] = field(default_factory=dict)  # the Task fields'
    member_emails: Mapping[str, str] = field(default_factory=dict)  # team member -> email
    crm_user_by_email: Mapping[str, str] = field(default_factory=dict)  # email -> CRM user


@dataclass(frozen=True)
class ActivityFacts:
    kind: str
    key: str
    details: Mapping[str, Any]  # as logged: a body kept out of the log is its digest
    at: datetime
    owner: str | None
    bodies: Mapping[str, str] = field(default_factory=dict)  # the held bodies: digest -> text


@dataclass(frozen=True)
class PersonFacts:
    links: Mapping[str, Mapping[str, Any]]  # "crm:stream" -> {"id": ..., "deleted": ...}
    owner: str | None
    owner_by_default: bool = False
    forgotten: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class TaskMirror:
    """What the log knows of the activity's CRM record (nothing before its first intent)."""

    key: str
    crm_record: str | None = None
    written_hash: str | None = None
    written_content: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False  # an intent without a result (a crash, a lost answer)
    failed: bool = False  # the last write failed


@dataclass(frozen=True)
class Skip:
    """No step writes the activity: `step` is the one the plan names; an activity whose
    person is not linked yet `waits` (it stays due)."""

    reason: str
    step: Step
    waits: bool = False


@dataclass(frozen=True)
class NothingToDo:
    """Nothing to send: no step carries the kind, the person is gone, or the CRM holds this
    already. `release_held`: its held bodies can go (they never will, or went already)."""

    release_held: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Write:
    step: Step
    stream: str  # Task | Note
    action: str  # create | update
    key: str
    who: str  # the Lead's or Contact's id
    content: dict[str, Any]  # what the intent records: a create's fields, whatever the action
    fields: dict[str, Any]  # what goes, as recorded (an update: without the create-only ones)
    # Held bodies sent in place of the recorded fields (None: not sent).
    held_fields: dict[str, Any]
    auto_assign: bool  # no owner sent: the CRM assigns one
    unsure: bool  # the create may have landed: look it up before writing
    crm_id: str | None
    notes: tuple[str, ...] = ()  # for the Logs: truncations, bodies that went without


ActivityPlan = Skip | NothingToDo | Write


def plan_activity(rules: ActivityRules, activity: ActivityFacts, person: PersonFacts,
                  selected_by: Set[str], mirror: TaskMirror) -> ActivityPlan:
    """`selected_by`: the steps (by name) whose filter selects the person."""
    objects = rules.steps.get(activity.kind)
    if not objects:
        return NothingToDo()
    if person.forgotten or person.deleted:
        return NothingToDo(release_held=True)  # its bodies will never go to the CRM
    target = _target(rules, objects, person.links)
    if target is None:
        return Skip(NOT_LINKED, next(iter(objects.values()))[0], waits=True)
    steps, who = target
    chosen = _choose(rules, activity, person, selected_by, steps)
    if isinstance(chosen, Skip):
        return chosen
    step, owner = chosen
    stream = "Note" if activity.kind == "note" else "Task"
    # With store_contents = false the log holds a body's digest, not the body: the intent
    # records the digest, and the held body goes out in its place.
    shown, missing = revealed(activity.details, activity.bodies)
    recorded = _fields(rules, activity, marked(activity.details), who, mirror.key,
                       step.include_contents)
    sent = _fields(rules, activity, shown, who, mirror.key, step.include_contents)
    held = [k for k in recorded.keys() | sent.keys() if sent.get(k) != recorded.get(k)]
    notes = _truncate(rules.lengths, activity, sent)
    content = {k: recorded[k] if k in held else sent[k] for k in recorded}
    held_fields = {k: sent.get(k) for k in held}
    # An owner the person got by default is no one's decision: a Task we already created
    # keeps the owner the CRM holds.
    by_default = activity.owner is None and person.owner_by_default \
        and mirror.crm_record is not None
    if owner.owner and not by_default:
        content[rules.owner_field] = owner.owner
    if content_hash(content) == mirror.written_hash:
        return NothingToDo(release_held=True, notes=tuple(notes))  # the CRM holds this
    action = "update" if mirror.crm_record else "create"
    fields = updatable(stream, content) if action == "update" else dict(content)
    if missing:
        # A body the log names but no longer holds (sent already, or its person forgotten)
        # goes without rather than failing; on an update the CRM keeps what it has.
        if action == "update":
            held_fields = dict.fromkeys(held_fields)
        if unsent := _unsent(held_fields, fields, mirror.written_content):
            notes.append(f"{activity.kind} {activity.key}: its body is no longer held, so "
                         f"{', '.join(sorted(unsent))} went without it")
    # An intent with no result (a crash), or a create that failed, may have landed.
    unsure = mirror.pending or (mirror.crm_record is None and mirror.failed)
    return Write(step, stream, action, mirror.key, who, content, fields, held_fields,
                 auto_assign=rules.owner_field not in fields, unsure=unsure,
                 crm_id=mirror.crm_record, notes=tuple(notes))


def updatable(stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    create_only = CREATE_ONLY.get(stream, frozenset())
    return {k: v for k, v in fields.items() if k not in create_only}


def _target(rules: ActivityRules, objects: Mapping[str, Sequence[Step]],
            links: Mapping[str, Mapping[str, Any]]) -> tuple[Sequence[Step], str] | None:
    """The steps of the person's first live link, in the order the person prefers its
    streams, that some step writes to; and the linked record's id."""
    for stream in rules.streams:
        link = links.get(f"{rules.crm}:{stream}")
        if link and not link["deleted"] and stream in objects:
            return objects[stream], link["id"]
    return None


def _choose(rules: ActivityRules, activity: ActivityFacts, person: PersonFacts,
            selected_by: Set[str], steps: Sequence[Step]
            ) -> tuple[Step, OwnerDecision] | Skip:
    """The first step that selects the activity (its filter passes and its owner rules give
    an owner): that step writes it, once. When none does, the first refusal of an owner,
    else the first step, names the skip."""
    refusal: Skip | None = None
    for step in steps:
        if step.name not in selected_by:
            continue
        owner = outbound_owner(activity.owner or person.owner,
                               step_owner_mappings(step, rules.settings),
                               step_owner_match(step, rules.settings),
                               rules.member_emails, rules.crm_user_by_email)
        if not owner.skip:
            return step, owner
        refusal = refusal or Skip(owner.skip, step)
    return refusal or Skip(FILTERED_OUT, steps[0])


def _fields(rules: ActivityRules, activity: ActivityFacts, details: dict[str, Any], who: str,
            key: str, include: bool) -> dict[str, Any]:
    if activity.kind == "note":
        return note_fields(details, who, key, include)
    return task_fields(activity.kind, details, activity.at, rules.settings.timezone, who,
                       include)


def _truncate(lengths: Mapping[str, int | None], activity: ActivityFacts,
              fields: dict[str, Any]) -> list[str]:
    """Cuts the text fields to the CRM's lengths, in place; the notes that say so."""
    notes = []
    for name in TRUNCATED:
        length = lengths.get(name)
        value = fields.get(name)
        if isinstance(value, str) and length and len(value) > length:
            fields[name] = value[:length]
            notes.append(f"{activity.kind} {activity.key}: {name} truncated to {length} "
                         "characters")
    return notes


def _unsent(held_fields: Mapping[str, Any], fields: Mapping[str, Any],
            written: Mapping[str, Any]) -> list[str]:
    """Of the bodies that went without, those the CRM never accepted: only they are worth a
    note in the Logs."""
    return [k for k in held_fields if normalise_value(k, fields.get(k)) != written.get(k)]


def task_natural_key(fields: Mapping[str, Any]) -> tuple[str, str, str]:
    """A Task without the key field: WhoId (the 15 characters both id forms share), Subject
    (case-insensitive, as the CRM compares it) and ActivityDate."""
    who = str(fields.get("WhoId") or "")
    return (who[:15], str(fields.get("Subject") or "").lower(),
            str(fields.get("ActivityDate") or ""))


def task_lookup(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The condition that finds a Task without the key field by its natural key."""
    return {"WhoId": fields["WhoId"], "Subject": fields["Subject"],
            "ActivityDate": _date(fields["ActivityDate"])}


def _date(value: Any) -> Any:
    """An ActivityDate as a date, so that the CRM compares it as one."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return value
