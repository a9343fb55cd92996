"""What an inbound people step decides about one CRM record, over plain values: what the
record's mirror observes, whether the record is skipped and why, which record holds its email
in the org, and what becomes of the person it matches (recorded anew, or updated with its
changes, conflicts, owner, opt-out, link and sequence).

Three steps, each over what the one before let the handler load: `read_record` (the record
and its mirror), `claim_email` (the email's claim in the org and the record holding it), then
`decide_inbound` (the person the record matches once the claim is settled)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from syncledger.domain.content import normalise, normalise_value, normalised_hash
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.field_mapping import CORE_APP_FIELDS, app_value, crm_to_app, settle
from syncledger.domain.filters import all_match
from syncledger.domain.inbound_rules import OwnerChange, SequenceMove, sequence_move, takes_owner
from syncledger.domain.ownership import OwnerDecision
from syncledger.domain.person import Person
from syncledger.domain.ports import CrmRow
from syncledger.domain.quick_init import quick_init
from syncledger.domain.steps import FieldMapping, FilterRule, SequenceMapping


@quick_init
@dataclass(frozen=True)
class InboundRules:
    """What the step and its CRM say of every record the step reads."""

    field_mappings: Sequence[FieldMapping]
    filter_rules: Sequence[FilterRule]  # on the CRM's fields; none: every record
    sequence_mappings: Sequence[SequenceMapping]
    conflict: str  # the integration's policy; a field mapping may override it
    opt_out_field: str
    observed: Sequence[str] = ()  # fields the mirror observes besides the mapped ones
    # The step changed since its last run: a record read again unchanged is decided again.
    decide_again: bool = False


@quick_init
@dataclass(frozen=True)
class MirrorSeen:
    """A record's mirror as loaded: what we last observed of the record."""

    id: UUID
    crm: str
    stream: str
    crm_record: str
    rank: tuple[int, str, int, str]  # see CrmRecord.rank
    content: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str | None = None
    owner: str | None = None
    person: UUID | None = None
    converted: bool = False
    deleted: bool = False

    @classmethod
    def of(cls, mirror: CrmRecord) -> MirrorSeen:
        return cls(mirror.id, mirror.crm, mirror.stream, mirror.crm_record, mirror.rank(),
                   dict(mirror.content), mirror.content_hash, mirror.owner, mirror.person,
                   mirror.converted, mirror.deleted)


@quick_init
@dataclass(frozen=True)
class PersonSeen:
    """A person as loaded: what the record's values meet."""

    id: UUID
    values: Mapping[str, Any]  # email, names, account, status, inbox category, `fields`
    times: Mapping[str, datetime] = field(default_factory=dict)  # when each value was set
    owner: str | None = None
    owner_by_default: bool = False
    sequence: str | None = None
    opted_out: bool = False
    links: frozenset[tuple[str, str, str]] = frozenset()  # live links: crm, stream, record
    forgotten: bool = False

    @classmethod
    def of(cls, person: Person) -> PersonSeen:
        values = {name: getattr(person, name) for name in CORE_APP_FIELDS if name != "owner"}
        links = frozenset((link["crm"], link["object"], link["id"])
                          for link in person.links.values() if not link["deleted"])
        return cls(person.id, {**values, "fields": dict(person.fields)}, dict(person.times),
                   person.owner, person.owner_by_default,
                   person.sequence.get("id") if person.sequence else None,
                   "opted_out" in person.flags, links, person.forgotten)


@quick_init
@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str | None = None  # a duplicate's: the record that won the email
    # Kept on the mirror too, so that `replay --run` can say why a record was skipped, not
    # only how many were.
    kept: bool = True


# Their keys are destroyed: nothing of theirs enters the log again, not even on the mirror.
# The CRM keeps its own copy, as `forget` says.
FORGOTTEN = Skip("forgotten", kept=False)
EMAIL_TAKEN = Skip("email already belongs to another person")


# -- 1. the record and its mirror ----------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class TakeIn:
    """A record that goes on to its person: its values as the app names them."""

    values: dict[str, Any]
    email: str
    owner: OwnerDecision  # what the ownership table says of the record's owner
    record_owner: str | None
    opted_out: bool
    previous: Mapping[str, Any]  # what the mirror held before this reading
    previous_owner: str | None
    first_observation: bool
    # A record we created without an owner: the owner the CRM gave it is learnt, not a
    # change of owner (else whoever syncs next would take every such person).
    owner_learnt: bool


@quick_init
@dataclass(frozen=True)
class Reading:
    observed: dict[str, Any] | None  # what the mirror observes, normalised (None: nothing)
    converted: tuple[str | None, str | None] | None  # a converted Lead's contact, account
    outcome: TakeIn | Skip | None  # None: nothing to decide (unchanged, our own write)
    digest: str | None = None  # the hash of `observed`: the mirror need not hash it again


def read_record(record: CrmRow, mirror: MirrorSeen, forgotten: bool, owner: OwnerDecision,
                rules: InboundRules) -> Reading:
    """`forgotten`: the person the mirror links to was forgotten; `owner`: the ownership
    table's answer for the record's owner."""
    if forgotten:
        return Reading(None, None, FORGOTTEN)
    content = {m.crm: record.values.get(m.crm) for m in rules.field_mappings}
    content[rules.opt_out_field] = record.opted_out
    for name in rules.observed:
        content[name] = record.values.get(name)
    observed = normalise(content)
    digest = normalised_hash(observed)
    if (digest, record.owner) == (mirror.content_hash, mirror.owner) \
            and not rules.decide_again:
        return Reading(observed, None, None, digest)  # unchanged, or our own write back
    owner_learnt = mirror.owner is None and mirror.person is not None
    if owner_learnt and digest == mirror.content_hash:
        return Reading(observed, None, None, digest)
    converted = record.converted
    if not all_match(rules.filter_rules, record.values):
        return Reading(observed, converted, Skip("filtered out"), digest)
    if owner.skip:
        return Reading(observed, converted, Skip(owner.skip), digest)
    values = crm_to_app(record.values, rules.field_mappings)
    email = values.get("email")
    if not email:
        return Reading(observed, converted, Skip("no email"), digest)
    return Reading(observed, converted, TakeIn(
        values, str(email), owner, record.owner, record.opted_out, mirror.content,
        mirror.owner, mirror.content_hash is None, owner_learnt), digest)


# -- 2. the email's claim in the org -------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class OrgHolder:
    """Who holds an email in the org, as its claim says."""

    record: UUID | None  # the mirror holding it; None: no one
    mirror: MirrorSeen | None = None  # that mirror, when it is another record's and was found


@quick_init
@dataclass(frozen=True)
class OrgClaim:
    """How the record claims its email in the org: it holds it (the claim is made when there
    is none yet), taking it from `released` and then linking to that record's person; or it
    loses it to another record, and is skipped."""

    released: UUID | None = None
    person: UUID | None = None
    skip: Skip | None = None


def claim_email(mirror: MirrorSeen, holder: OrgHolder | None) -> OrgClaim:
    """One person per email: a Contact first, then the oldest record; the others are skipped
    naming the record that won. `holder` None: the email has no claim yet."""
    if holder is None or holder.record in (None, mirror.id):
        return OrgClaim()
    other = holder.mirror
    if other is None or other.deleted or mirror.rank < other.rank:
        return OrgClaim(released=holder.record, person=other.person if other else None)
    if mirror.converted:
        return OrgClaim(skip=Skip("converted lead"))
    return OrgClaim(skip=Skip("duplicate email", f"{other.stream} {other.crm_record} won"))


# -- 3. the person ---------------------------------------------------------------------------
@quick_init
@dataclass(frozen=True)
class AppHolder:
    """Who holds an email on the app's side, as its claim says."""

    person: UUID | None  # None: the claim is free
    seen: PersonSeen | None = None  # that person, when found


@quick_init
@dataclass(frozen=True)
class Recording:
    """A person recorded from the record: a new one under the record's app key, or a
    forgotten one's new life (under a new key)."""

    data: dict[str, Any]
    extras: dict[str, Any]  # a new person's mapped fields beyond the core ones
    owner_by_default: bool
    # A new person is recorded linked to the record: one event, not a Recorded and a Linked
    # (issue 22). A forgotten person's new life is linked apart (`InboundDecision.links`).
    linked: bool = False


@quick_init
@dataclass(frozen=True)
class Settlement:
    """What an existing person takes from the record, by the conflict policy."""

    changes: dict[str, Any]
    conflicts: list[dict[str, Any]]
    diff: dict[str, list[Any]]  # field -> [old, new]


@quick_init
@dataclass(frozen=True)
class InboundDecision:
    """What becomes of the person the record matched. `person` None: a new person, recorded
    under the record's app key."""

    person: UUID | None
    skip: Skip | None = None
    # Applied before a skip too; otherwise the person holds the email's app claim (made when
    # there is none yet).
    recording: Recording | None = None
    settled: Settlement | None = None
    owner: OwnerDecision | None = None  # the owner the person takes, and why
    opts_out: bool = False  # flagged opted out (an opt-out is never undone from here)
    links: bool = False  # linked to the record by a Linked of its own (not yet)
    sequence: SequenceMove | None = None
    outcome: Literal["created", "updated"] | None = None  # None: nothing changed for it
    changes: dict[str, list[Any]] = field(default_factory=dict)  # for the plan


def decide_inbound(read: TakeIn, mirror: MirrorSeen, linked: PersonSeen | None,
                   holder: AppHolder | None, key_taken: bool, at: datetime,
                   rules: InboundRules) -> InboundDecision:
    """The person is the one the mirror links to, else the one holding the email (`holder`
    None: the email has no app claim); none, or a forgotten one, is recorded. `key_taken`: a
    person was recorded under the record's app key before; `at`: the record's stamp."""
    person = linked
    if person is None and holder is not None and holder.person is not None:
        person = holder.seen
    if person is None or person.forgotten:
        return _recorded(read, person, holder, key_taken, rules)
    first_link = mirror.person != person.id
    settled = settle_fields(rules.field_mappings, rules.conflict, read.previous, read.values,
                            person.values, person.times, first_link or read.first_observation,
                            at)
    # The default owner is for new people only: an existing person keeps its owner unless a
    # rule (a pair, an email match) maps the record's owner.
    takes = takes_owner(OwnerChange(read.owner.owner, read.owner.by_default), person.owner,
                        first_link, person.owner_by_default, read.owner_learnt,
                        read.record_owner, read.previous_owner)
    opts_out = read.opted_out and not person.opted_out
    links = (mirror.crm, mirror.stream, mirror.crm_record) not in person.links
    move = sequence_move(rules.sequence_mappings, read.owner.owner, False, person.sequence)
    changed = bool(settled.changes or settled.conflicts) or takes or opts_out or links \
        or move is not None
    return InboundDecision(person.id, settled=settled, owner=read.owner if takes else None,
                           opts_out=opts_out, links=links, sequence=move,
                           outcome="updated" if changed else None, changes=settled.diff)


def _recorded(read: TakeIn, forgotten: PersonSeen | None, holder: AppHolder | None,
              key_taken: bool, rules: InboundRules) -> InboundDecision:
    if forgotten is None and key_taken:
        return InboundDecision(None, EMAIL_TAKEN)  # an earlier person of the record kept it
    data = {**{k: v for k, v in read.values.items() if k != "email"}, "email": read.email,
            "owner": read.owner.owner}
    if forgotten is None:
        extras = {k: v for k, v in read.values.items() if k not in CORE_APP_FIELDS}
        data = {k: v for k, v in data.items() if k in CORE_APP_FIELDS}
    else:
        extras = {}
    person = forgotten.id if forgotten is not None else None
    recording = Recording(data, extras, read.owner.by_default)
    if holder is not None and holder.person not in (None, person):
        # Recorded all the same (a forgotten person's new life), but the email stays with
        # its holder, and the record is not linked.
        return InboundDecision(person, EMAIL_TAKEN, recording)
    new = forgotten is None  # recorded linked; a forgotten person's new life links apart
    return InboundDecision(person, recording=replace(recording, linked=new),
                           opts_out=read.opted_out, links=not new,
                           sequence=sequence_move(rules.sequence_mappings, read.owner.owner,
                                                  True, None),
                           outcome="created",
                           changes={k: [None, v] for k, v in read.values.items()})


def settle_fields(mappings: Sequence[FieldMapping], policy: str, previous: Mapping[str, Any],
                  values: Mapping[str, Any], current: Mapping[str, Any],
                  times: Mapping[str, datetime], first_link: bool,
                  at: datetime | None) -> Settlement:
    """What changed in the CRM (`values`, against the mirror's `previous` content) settled
    with the person's `current` values, field by field (see field_mapping.settle)."""
    changes: dict[str, Any] = {}
    conflicts = []
    for mapping in mappings:
        before = normalise_value(mapping.crm, previous.get(mapping.crm))
        settled = settle(mapping.app, None if first_link else before, values.get(mapping.app),
                         app_value(current, mapping.app), mapping.conflict or policy,
                         first_link, at, times.get(mapping.app))
        if settled.changed:
            changes[mapping.app] = settled.value
        if settled.conflict:
            conflicts.append(settled.conflict)
    return Settlement(changes, conflicts,
                      {name: [app_value(current, name), value] for name, value in
                       changes.items()})
