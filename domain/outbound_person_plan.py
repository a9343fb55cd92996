"""What an outbound people step does for one due person, decided over plain values: skip it
(and why), wait for its Account, create its record, update it with what changed, or send
nothing. The handler finds the target (a link, a match by email), reads the mirror and the
Accounts, calls `plan_outbound`, and records what it returns.

The CRM's field lengths and the Lead Status come in as functions, called only when a plan
gets that far: each costs an API call the first time a run needs it (a describe, the
picklist), which a run that plans no write never spends."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncledger.domain.content import normalise, normalise_value
from syncledger.domain.ids import natural_id
from syncledger.domain.outbound_plan import record_content, update_changes
from syncledger.domain.ownership import agrees, outbound_owner
from syncledger.domain.ports import PeopleSchema
from syncledger.domain.quick_init import quick_init
from syncledger.domain.steps import (
    STATUS_FIELD,
    STATUS_STREAM,
    IntegrationSettings,
    Step,
    step_owner_mappings,
    step_owner_match,
)

ACCOUNT_NAME = "Account.Name"
ACCOUNT_ID = "AccountId"


@quick_init
@dataclass(frozen=True)
class RemovedRecord:
    """A person's record deleted (or merged away) in the CRM, with no live link left."""

    stream: str
    crm_id: str
    merged_into: str | None = None


@quick_init
@dataclass(frozen=True)
class OutboundPerson:
    app_id: str
    uuid_hex: str  # the person's id, in its writes' idempotency keys
    # email, first_name, last_name, account, status, inbox_category, and `fields`
    values: Mapping[str, Any]
    owner: str | None = None
    owner_by_default: bool = False
    opted_out: bool = False
    cleared: frozenset[str] = frozenset()  # app fields whose emptying the app recorded
    linked: frozenset[str] = frozenset()  # streams it holds a link to, live or deleted
    removed: RemovedRecord | None = None
    pending_key: str | None = None  # the key of its create still pending
    filtered_out: frozenset[str] = frozenset()  # streams whose step's filter leaves it out


@quick_init
@dataclass(frozen=True)
class Target:
    """The record a person's write goes to: its stream (None: linked to a stream no step
    writes) and CRM id (None: a new record)."""

    stream: str | None
    crm_id: str | None = None


@quick_init
@dataclass(frozen=True)
class HeldRecord:
    """What we know the target record holds (its mirror)."""

    content: Mapping[str, Any]
    owner: str | None = None
    converted: bool = False


@quick_init
@dataclass(frozen=True)
class AccountFailure:
    reason: str  # the skip reason of the Contacts that wait for it


@quick_init
@dataclass(frozen=True)
class AccountLookup:
    """The company a person's record names, on the stream whose step maps it to an Account,
    and the Account it resolved to (its id, or why none could be made; None: not looked up
    yet)."""

    stream: str
    name: str  # trimmed, as Account names are compared
    resolved: str | AccountFailure | None = None


@quick_init
@dataclass(frozen=True)
class Owners:
    """Who is who, for the ownership table."""

    member_emails: Mapping[str, str]  # team member -> email
    crm_user_emails: Mapping[str, str]  # CRM user id -> email
    member_by_email: Mapping[str, str]  # lowercased email -> team member
    crm_user_by_email: Mapping[str, str]  # lowercased email -> CRM user id
    connecting_member: str | None = None


@quick_init
@dataclass(frozen=True)
class OutboundRules:
    """What holds for every person of a run: the outbound steps by stream, the CRM's
    people schema, who is who, and the run's settings."""

    steps: Mapping[str, Step]
    settings: IntegrationSettings
    people: PeopleSchema
    owners: Owners
    org: str
    lengths: Callable[[str], Mapping[str, int | None]]  # a stream's field lengths
    # The fields as the CRM holds them once written (Pipedrive splits a composed name).
    as_held: Callable[[str, Mapping[str, Any]], Mapping[str, Any]]
    recreate: bool = False  # `--recreate`: a deleted record is made again


@quick_init
@dataclass(frozen=True)
class Skip:
    stream: str
    kind: str  # the stream's kind in the run's counts
    reason: str
    crm_id: str | None = None
    stay_due: bool = False  # planned again next run (a retry may mend it)


@quick_init
@dataclass(frozen=True)
class AwaitAccount:
    """Planned again once the company `name` is resolved to an Account."""

    name: str


@quick_init
@dataclass(frozen=True)
class Create:
    stream: str
    key: str
    record: dict[str, Any]
    auto_assign: bool  # no owner is sent: the CRM may assign one
    reconcile: bool  # its create is pending already: an earlier attempt may have landed
    status: bool  # carries the Lead Status of a status step
    notes: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True)
class Update:
    stream: str
    crm_id: str
    key: str
    changes: dict[str, Any]
    blanked: list[str]  # filled fields it empties
    before: dict[str, Any]  # what the CRM held, as we know it
    auto_assign: bool
    status: bool
    discover: bool  # no mirror yet: the record is first known here
    link: bool  # the person holds no link to the record's stream yet
    notes: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True)
class NothingToSend:
    notes: tuple[str, ...] = ()


OutboundPlan = Skip | AwaitAccount | Create | Update | NothingToSend


def plan_outbound(person: OutboundPerson, target: Target, held: HeldRecord | None,
                  account: AccountLookup | None, rules: OutboundRules,
                  lead_status: Callable[[str | None], str | None] | None = None
                  ) -> OutboundPlan:
    """`held`: the target record's mirror, if any; `lead_status`: the Lead Status the
    status steps would write to a Lead whose Status is the argument (None: no status step
    is on)."""
    if person.removed is not None and not rules.recreate:
        return _not_recreated(person, person.removed, rules)
    stream, crm_id = _stream(person, target, rules), target.crm_id
    if stream is None or stream in person.filtered_out:
        return NothingToSend()
    if held is not None and held.converted:
        return Skip(stream, rules.people.kinds[stream], "converted lead", crm_id)
    drafted = _draft(person, stream, crm_id, held, rules)
    if not isinstance(drafted, _Draft):
        return drafted
    record, notes = drafted.record, drafted.notes
    if account is not None and account.stream == stream and not _names(held, account.name):
        if not isinstance(account.resolved, str):
            return _no_account(account.name, account.resolved, stream, crm_id, rules)
        record[ACCOUNT_ID] = account.resolved
    status = None
    if stream == STATUS_STREAM and lead_status is not None:
        status = lead_status(held.content.get(STATUS_FIELD) if held is not None else None)
        if status is not None:
            record[STATUS_FIELD] = status
    if crm_id is None:
        return _create(person, stream, record, status is not None, notes, rules)
    return _update(person, stream, crm_id, held, record, status is not None, notes, rules)


@quick_init
@dataclass(frozen=True)
class _Draft:
    record: dict[str, Any]
    notes: tuple[str, ...]


def _draft(person: OutboundPerson, stream: str, crm_id: str | None, held: HeldRecord | None,
           rules: OutboundRules) -> _Draft | Skip:
    """The record a write sends, with its owner, before its Account and Lead Status; or why
    the person is skipped."""
    step, kind, owners = rules.steps[stream], rules.people.kinds[stream], rules.owners
    pairs = step_owner_mappings(step, rules.settings)
    match = step_owner_match(step, rules.settings)
    owner = outbound_owner(person.owner, pairs, match, owners.member_emails,
                           owners.crm_user_by_email)
    if owner.skip:
        return Skip(stream, kind, owner.skip, crm_id)
    content = record_content(person.values, step.field_mappings, rules.lengths(stream),
                             person.opted_out, rules.people.opt_out_field,
                             f"{person.app_id}: {stream}")
    if content.refusal is not None:  # cut, it would be another address: never linked as if
        return Skip(stream, kind, content.refusal, crm_id)
    record = content.record
    # An owner given by default is no one's decision: never sent to an existing record.
    by_default = person.owner_by_default and crm_id is not None
    if owner.owner and not by_default and not (held is not None and agrees(
            person.owner, held.owner, pairs, match, owners.crm_user_emails,
            owners.member_by_email, owners.connecting_member)):
        record[rules.people.owner_field] = owner.owner
    missing = _missing(rules.people, stream, record)
    if missing and crm_id is None:
        return Skip(stream, kind, f"missing required field {missing[0]}", crm_id,
                    stay_due=True)
    return _Draft(record, tuple(content.notes))


def _stream(person: OutboundPerson, target: Target, rules: OutboundRules) -> str | None:
    if person.removed is not None and person.removed.stream in rules.steps \
            and target.crm_id is None:
        return person.removed.stream  # --recreate: the stream that was deleted
    return target.stream


def _not_recreated(person: OutboundPerson, removed: RemovedRecord, rules: OutboundRules
                   ) -> OutboundPlan:
    """A person whose record was deleted or merged away in the CRM: never re-created."""
    stream = removed.stream if removed.stream in rules.steps else next(iter(rules.steps))
    if stream in person.filtered_out:
        return NothingToSend()
    reason = f"merged into {removed.merged_into}" if removed.merged_into \
        else "deleted in CRM"
    return Skip(stream, rules.people.kinds[stream], reason, removed.crm_id)


def _no_account(name: str, failure: AccountFailure | None, stream: str, crm_id: str | None,
                rules: OutboundRules) -> AwaitAccount | Skip:
    if failure is None:
        return AwaitAccount(name)
    # Not created: tried again next run.
    return Skip(stream, rules.people.kinds[stream], failure.reason, crm_id, stay_due=True)


def _missing(people: PeopleSchema, stream: str, record: Mapping[str, Any]) -> list[str]:
    """The fields a new record cannot go without that it lacks (a composed one counts as
    given when any of its parts is)."""
    return [f for f in people.required.get(stream, ()) if not record.get(f)
            and not any(record.get(part) for part in people.composed.get(f, ()))]


def _names(held: HeldRecord | None, company: str) -> bool:
    """Whether the record's Account bears the company already."""
    return held is not None and normalise_value(
        ACCOUNT_NAME, held.content.get(ACCOUNT_NAME)) == company


def _key(org: str, stream: str, person: OutboundPerson, after: str | None = None) -> str:
    """A write's idempotency key; after a record removed in the CRM (`--recreate`), a new
    record's, never the deleted one's."""
    if after is not None:
        return natural_id(f"key:{org}:{stream}:{person.uuid_hex}:after:{after}").hex
    return natural_id(f"key:{org}:{stream}:{person.uuid_hex}").hex


def _create(person: OutboundPerson, stream: str, record: dict[str, Any], status: bool,
            notes: tuple[str, ...], rules: OutboundRules) -> Create:
    key = _key(rules.org, stream, person,
               person.removed.crm_id if person.removed is not None else None)
    return Create(stream, key, record, auto_assign=rules.people.owner_field not in record,
                  reconcile=person.pending_key == key, status=status, notes=notes)


def _update(person: OutboundPerson, stream: str, crm_id: str,
            held: HeldRecord | None, record: dict[str, Any], status: bool,
            notes: tuple[str, ...], rules: OutboundRules) -> Update | NothingToSend:
    owner_field, step = rules.people.owner_field, rules.steps[stream]
    known = normalise(held.content) if held is not None else {}
    known_owner = held.owner if held is not None else None
    sent = normalise({k: v for k, v in rules.as_held(stream, record).items()
                      if k != owner_field})
    planned = update_changes(sent, known, record.get(owner_field), known_owner, owner_field,
                             rules.people.opt_out_field,
                             {m.crm: m.app for m in step.field_mappings},
                             set(person.cleared))
    if not planned.changes:
        return NothingToSend(notes)
    return Update(stream, crm_id, _key(rules.org, stream, person), planned.changes,
                  planned.blanked, {**known, owner_field: known_owner},
                  auto_assign=owner_field not in planned.changes,
                  status=status and STATUS_FIELD in planned.changes, discover=held is None,
                  link=stream not in person.linked, notes=notes)
