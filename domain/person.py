"""The app's person: profile, owner, status, flags, lists, sequence membership, CRM links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.changes import newer_changes
from syncledger.domain.context import Context
from syncledger.domain.ids import app_person_id, person_subject_id
from syncledger.domain.privacy import FORGOTTEN
from syncledger.domain.upcasts import stream_renamed

# Personal values are encrypted per person in the store (domain.privacy names them).
PROFILE_KEYS = ("first_name", "last_name", "account")
STATE_KEYS = ("status", "inbox_category", "flags", "lists")
ALL_KEYS = ("email", "owner", *PROFILE_KEYS, *STATE_KEYS, "fields")


class PersonError(ValueError):
    pass


@dataclass(frozen=True)
class CrmLink:
    """A person's link to its record in a CRM: what a Linked records."""

    crm: str
    stream: str  # Contact, Lead, person
    record_id: str
    url: str | None


class Person(CausedAggregate):
    @staticmethod
    def create_id(app_id: str, **_: Any) -> UUID:
        return app_person_id(app_id)

    class Recorded(Aggregate.Created):
        """Version 2 (issue 22): a person made from a CRM record carries its `link` to it
        (a Linked's crm, stream, record_id and url), so that it costs one event, not a
        Recorded and a Linked; None for any other person, as for every version 1 one."""

        class_version = 2
        app_id: str
        # Next to the app id, so that a history cut short still shows the link.
        link: dict[str, Any] | None
        subject: UUID
        email: str
        owner: str | None
        values: dict[str, Any]
        attributes: dict[str, Any]
        at: datetime
        owner_by_default: bool = False

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["link"] = None

    @event(Recorded)
    def __init__(self, app_id: str, subject: UUID, email: str, owner: str | None,
                 values: dict[str, Any], attributes: dict[str, Any], at: datetime,
                 owner_by_default: bool = False, link: dict[str, Any] | None = None) -> None:
        self.app_id = app_id
        self.generation = 0
        self._start(email, owner, values, attributes, at, owner_by_default)
        if link is not None:
            self._add_link(**link)

    def _start(self, email: str, owner: str | None, values: dict[str, Any],
               attributes: dict[str, Any], at: datetime, owner_by_default: bool) -> None:
        self.email = email
        self.owner = owner
        # Given by the ownership table's default row, not by anyone's decision: never
        # written to an existing CRM record (DESIGN: what the engine never does to a CRM).
        self.owner_by_default = owner_by_default
        self.first_name: str | None = None
        self.last_name: str | None = None
        self.account: str | None = None
        self.fields: dict[str, Any] = {}
        self.status: str | None = None
        self.inbox_category: str | None = None
        self.flags: list[str] = []
        self.lists: list[str] = []
        self.sequence: dict[str, Any] | None = None
        self.links: dict[str, dict[str, Any]] = {}
        self.pending_create: dict[str, Any] | None = None
        self.deleted = False
        self.forgotten = False
        self.times: dict[str, datetime] = {}
        self._apply_values(values, at)
        self._apply_attributes(attributes, at)
        # Fields whose last recorded change emptied them: only such a clearing may blank a
        # filled value on the other side. A value never given was never cleared.
        self.cleared: set[str] = set()
        self.times["email"] = at
        self.times["owner"] = at

    @classmethod
    def record(cls, app_id: str, data: dict[str, Any], at: datetime, ctx: Context,
               owner_by_default: bool = False, link: CrmLink | None = None) -> Person:
        """`link`: the CRM record the person is made from, linked in the same event."""
        email = data.get("email")
        if not email:
            raise PersonError(f"person {app_id} needs an email")
        values, attributes = _split(data)
        return cls._begin(ctx, app_id=app_id, subject=app_person_id(app_id),
                          email=str(email).strip().lower(), owner=data.get("owner"),
                          values=values, attributes=attributes, at=at,
                          owner_by_default=owner_by_default,
                          link=vars(link).copy() if link is not None else None)

    @property
    def subject(self) -> UUID:
        """The key that encrypts this person's personal values now."""
        return person_subject_id(self.id, self.generation)

    def restart(self, data: dict[str, Any], at: datetime, ctx: Context,
                owner_by_default: bool = False) -> None:
        """A forgotten person imported again starts afresh, under a new key."""
        if not self.forgotten:
            raise PersonError(f"person {self.app_id} was not forgotten")
        email = data.get("email")
        if not email:
            raise PersonError(f"person {self.app_id} needs an email")
        values, attributes = _split(data)
        generation = self.generation + 1
        self._happened(self._restarted, ctx, generation=generation,
                       subject=person_subject_id(self.id, generation),
                       email=str(email).strip().lower(), owner=data.get("owner"), values=values,
                       attributes=attributes, at=at, owner_by_default=owner_by_default)

    # -- state views ------------------------------------------------------------------------
    def current(self) -> dict[str, Any]:
        flat: dict[str, Any] = {key: getattr(self, key) for key in ALL_KEYS if key != "fields"}
        for name, value in self.fields.items():
            flat[f"fields.{name}"] = value
        return flat

    # -- decisions --------------------------------------------------------------------------
    def update(self, data: dict[str, Any], at: datetime, ctx: Context) -> str | None:
        """Apply an import line's keys (absent: keep; None: clear). Returns the old email
        when the email changed, so the caller can move the email claim in the same save."""
        if self.deleted:
            raise PersonError(f"person {self.app_id} was deleted")
        if self.forgotten:
            raise PersonError(f"person {self.app_id} was forgotten")
        incoming = dict(data)
        if "email" in incoming:
            if not incoming["email"]:
                raise PersonError(f"person {self.app_id} needs an email")
            incoming["email"] = str(incoming["email"]).strip().lower()
        if "fields" in incoming:
            given = incoming.pop("fields")
            if given is None:  # null clears every field
                given = dict.fromkeys(self.fields)
            for name, value in given.items():
                incoming[f"fields.{name}"] = value
        accepted = newer_changes(self.current(), self.times, incoming, at)
        old_email = None
        if "email" in accepted:
            old_email = self.email
            self._happened(self._email_changed, ctx, subject=self.subject,
                           email=accepted.pop("email"), at=at)
        if "owner" in accepted:
            self.reassign_owner(accepted.pop("owner"), at, ctx)
        values, attributes = _split(_unflatten(accepted))
        if values or attributes:
            self._happened(self._updated, ctx, subject=self.subject, values=values,
                           attributes=attributes, at=at)
        return old_email

    def reassign_owner(self, owner: str | None, at: datetime, ctx: Context,
                       reason: str | None = None) -> None:
        if owner == self.owner:
            return
        self._happened(self._owner_reassigned, ctx, owner=owner, previous=self.owner, reason=reason,
                       at=at)

    def leave_sequence(self, sequence: str, at: datetime, ctx: Context) -> None:
        if self.sequence is None or self.sequence.get("id") != sequence:
            return
        self._happened(self._sequence_left, ctx, sequence=sequence, at=at)

    def join_sequence(self, sequence: str, step: int, ignore_step_delay: bool, at: datetime,
                      ctx: Context) -> None:
        membership = {"id": sequence, "step": step, "ignore_step_delay": ignore_step_delay}
        if self.sequence == membership:
            return
        self._happened(self._sequence_joined, ctx, sequence=sequence, step=step,
                       ignore_step_delay=ignore_step_delay, at=at)

    def link(self, crm: str, stream: str, record_id: str, url: str | None,
             ctx: Context) -> None:
        link_key = f"{crm}:{stream}"
        current = self.links.get(link_key)
        if current and current["id"] == record_id and not current["deleted"]:
            return
        self._happened(self._linked, ctx, crm=crm, stream=stream, record_id=record_id, url=url)

    def mark_link_deleted(self, crm: str, stream: str, record_id: str, ctx: Context,
                          merged_into: str | None = None) -> None:
        """`merged_into`: the master of a merge that another person already follows."""
        current = self.links.get(f"{crm}:{stream}")
        if not current or current["id"] != record_id or current["deleted"]:
            return
        self._happened(self._link_deleted, ctx, crm=crm, stream=stream, record_id=record_id,
                       merged_into=merged_into)

    def removed_record(self, crm: str) -> dict[str, Any] | None:
        """The link to a record deleted (or merged away) in the CRM, when no live link is
        left there: a sync never re-creates it (only `sync --record KEY --recreate`)."""
        links = [link for link in self.links.values() if link["crm"] == crm]
        if not links or any(not link["deleted"] for link in links):
            return None
        return links[0]

    def sync_in(self, changes: dict[str, Any], conflicts: list[dict[str, Any]], at: datetime,
                ctx: Context) -> None:
        """Apply what a CRM record settled (already decided by the step's policy), and keep
        every conflict with both values (ConflictResolved), so the losing value is not lost."""
        for conflict in conflicts:
            self._happened(self._conflict_resolved, ctx, subject=self.subject,
                           field=conflict["field"], policy=conflict["policy"],
                           winner=conflict["winner"],
                           values={"crm": conflict["crm_value"], "app": conflict["app_value"]})
        data = dict(changes)
        if "email" in data:
            self._happened(self._email_changed, ctx, subject=self.subject, email=data.pop("email"),
                           at=at)
        values, attributes = _split(_unflatten(data))
        for key in data:  # app fields beyond the core ones live in `fields`
            if key not in ALL_KEYS and not key.startswith("fields."):
                values.setdefault("fields", {})[key] = data[key]
        if values or attributes:
            self._happened(self._updated, ctx, subject=self.subject, values=values,
                           attributes=attributes, at=at)

    def flag(self, flag: str, at: datetime, ctx: Context) -> None:
        if flag in self.flags:
            return
        self._happened(self._updated, ctx, subject=self.subject, values={},
                       attributes={"flags": sorted({*self.flags, flag})}, at=at)

    def request_create(self, crm: str, stream: str, key: str, content: dict[str, Any],
                       ctx: Context) -> None:
        """The intent to create this person's record, recorded before the call."""
        self._happened(self._create_requested, ctx, subject=self.subject, crm=crm, stream=stream,
                       key=key, content=content)

    def record_create_failed(self, code: str, message: str, retryable: bool,
                             ctx: Context) -> None:
        if self.pending_create is None:
            raise PersonError("no create was requested")
        self._happened(self._create_failed, ctx, crm=self.pending_create["crm"],
                       stream=self.pending_create["stream"], code=code, message=message,
                       retryable=retryable, subject=self.subject)

    def delete(self, at: datetime, ctx: Context) -> None:
        if self.deleted:
            return
        self._happened(self._deleted, ctx, at=at)

    def forget(self, ctx: Context) -> None:
        """Holds no personal data itself: the store destroys the subject's key."""
        if self.forgotten:
            return
        self._happened(self._forgotten, ctx, generation=self.generation)

    # -- facts ------------------------------------------------------------------------------
    # The events naming a stream are declared apart, for their upcasters: until version 2
    # they stored it under another name (see domain.upcasts).
    class CrmCreateRequested(CausedAggregate.Event):
        class_version = 2
        subject: UUID
        crm: str
        stream: str
        key: str
        content: dict[str, Any]
        upcast_v1_v2 = staticmethod(stream_renamed)

    class CrmCreateFailed(CausedAggregate.Event):
        class_version = 2
        crm: str
        stream: str
        code: str
        message: str
        retryable: bool
        subject: UUID | None = None
        upcast_v1_v2 = staticmethod(stream_renamed)

    class Linked(CausedAggregate.Event):
        class_version = 2
        crm: str
        stream: str
        record_id: str
        url: str | None
        upcast_v1_v2 = staticmethod(stream_renamed)

    class LinkDeleted(CausedAggregate.Event):
        class_version = 2
        crm: str
        stream: str
        record_id: str
        merged_into: str | None = None
        upcast_v1_v2 = staticmethod(stream_renamed)

    @event("ConflictResolved")
    def _conflict_resolved(self, subject: UUID, field: str, policy: str, winner: str,
                           values: dict[str, Any]) -> None:
        pass

    @event(CrmCreateRequested)
    def _create_requested(self, subject: UUID, crm: str, stream: str, key: str,
                          content: dict[str, Any]) -> None:
        self.pending_create = {"crm": crm, "stream": stream, "key": key}

    @event(CrmCreateFailed)
    def _create_failed(self, crm: str, stream: str, code: str, message: str, retryable: bool,
                       subject: UUID | None = None) -> None:
        # The CRM's message may quote the person's values: it is personal (domain.privacy),
        # encrypted under `subject`, the person's key now (none in events before it was).
        self.pending_create = None

    @event("Restarted")
    def _restarted(self, generation: int, subject: UUID, email: str, owner: str | None,
                   values: dict[str, Any], attributes: dict[str, Any], at: datetime,
                   owner_by_default: bool = False) -> None:
        self.generation = generation
        self._start(email, owner, values, attributes, at, owner_by_default)

    @event("EmailChanged")
    def _email_changed(self, subject: UUID, email: str, at: datetime) -> None:
        self.email = email
        self.times["email"] = at

    @event("OwnerReassigned")
    def _owner_reassigned(self, owner: str | None, previous: str | None, reason: str | None,
                          at: datetime) -> None:
        self.owner = owner
        self.owner_by_default = False
        self.times["owner"] = at

    @event("Updated")
    def _updated(self, subject: UUID, values: dict[str, Any], attributes: dict[str, Any],
                 at: datetime) -> None:
        self._apply_values(values, at)
        self._apply_attributes(attributes, at)
        for key, value in values.items():
            if key == "fields":
                for name, field_value in value.items():
                    self._note_cleared(name, field_value)
            else:
                self._note_cleared(key, value)
        for key, value in attributes.items():
            self._note_cleared(key, value)

    def _note_cleared(self, name: str, value: Any) -> None:
        if value in (None, "", []):
            self.cleared.add(name)
        else:
            self.cleared.discard(name)

    @event("SequenceJoined")
    def _sequence_joined(self, sequence: str, step: int, ignore_step_delay: bool,
                         at: datetime) -> None:
        self.sequence = {"id": sequence, "step": step, "ignore_step_delay": ignore_step_delay}

    @event("SequenceLeft")
    def _sequence_left(self, sequence: str, at: datetime) -> None:
        self.sequence = None

    @event(Linked)
    def _linked(self, crm: str, stream: str, record_id: str, url: str | None) -> None:
        self._add_link(crm, stream, record_id, url)

    def _add_link(self, crm: str, stream: str, record_id: str, url: str | None) -> None:
        self.pending_create = None
        self.links[f"{crm}:{stream}"] = {"crm": crm, "object": stream, "id": record_id,
                                         "url": url, "deleted": False}

    @event(LinkDeleted)
    def _link_deleted(self, crm: str, stream: str, record_id: str,
                      merged_into: str | None = None) -> None:
        self.links[f"{crm}:{stream}"]["deleted"] = True
        if merged_into is not None:
            self.links[f"{crm}:{stream}"]["merged_into"] = merged_into

    @event("Deleted")
    def _deleted(self, at: datetime) -> None:
        self.deleted = True

    @event("Forgotten")
    def _forgotten(self, generation: int) -> None:
        self.forgotten = True
        self.email = FORGOTTEN
        self.first_name = self.last_name = self.account = FORGOTTEN
        self.fields = {}

    def _apply_values(self, values: dict[str, Any], at: datetime) -> None:
        for key, value in values.items():
            if key == "fields":
                for name, field_value in value.items():
                    if field_value is None:
                        self.fields.pop(name, None)
                    else:
                        self.fields[name] = field_value
                    self.times[f"fields.{name}"] = at
            else:
                setattr(self, key, value)
                self.times[key] = at

    def _apply_attributes(self, attributes: dict[str, Any], at: datetime) -> None:
        for key, value in attributes.items():
            if key in ("flags", "lists"):
                value = sorted(set(value or []))
            setattr(self, key, value)
            self.times[key] = at


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if key.startswith("fields."):
            nested.setdefault("fields", {})[key.removeprefix("fields.")] = value
        else:
            nested[key] = value
    return nested


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Personal values (encrypted in the store) apart from the plain attributes."""
    values = {key: data[key] for key in (*PROFILE_KEYS, "fields") if key in data}
    if values.get("fields") is None and "fields" in values:
        values["fields"] = {}
    attributes = {key: data[key] for key in STATE_KEYS if key in data}
    for key in ("flags", "lists"):
        if key in attributes:
            attributes[key] = sorted(set(attributes[key] or []))
    return values, attributes
