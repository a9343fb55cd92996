"""App-side records other than people: team members, sequences, saved filters, lists, and
activities (emails, calls, tasks, notes, LinkedIn). References are kept as given, so that
records imported in any order resolve once their target arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.changes import newer_changes
from syncledger.domain.context import Context
from syncledger.domain.ids import (
    activity_id,
    person_list_id,
    saved_filter_id,
    sequence_id,
    team_member_id,
)


class AppRecord(CausedAggregate):
    """A record whose whole state is a dict of attributes, changed last-writer-wins."""

    class Recorded(Aggregate.Created):
        key: str
        attributes: dict[str, Any]
        at: datetime

    @event(Recorded)
    def __init__(self, key: str, attributes: dict[str, Any], at: datetime) -> None:
        self.key = key
        self.attributes = dict(attributes)
        self.times = dict.fromkeys(attributes, at)

    @classmethod
    def record(cls, key: str, attributes: dict[str, Any], at: datetime, ctx: Context) -> Any:
        return cls._begin(ctx, key=key, attributes=attributes, at=at)

    def change(self, attributes: dict[str, Any], at: datetime, ctx: Context) -> bool:
        accepted = newer_changes(self.attributes, self.times, attributes, at)
        if not accepted:
            return False
        self._happened(self._changed, ctx, attributes=accepted, at=at)
        return True

    @event("Changed")
    def _changed(self, attributes: dict[str, Any], at: datetime) -> None:
        self.attributes.update(attributes)
        for name in attributes:
            self.times[name] = at


class TeamMember(AppRecord):
    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return team_member_id(key)


class Sequence(AppRecord):
    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return sequence_id(key)


class SavedFilter(AppRecord):
    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return saved_filter_id(key)


class PersonList(AppRecord):
    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return person_list_id(key)


ACTIVITY_KINDS = ("email", "call", "task", "note", "linkedin")


class Activity(CausedAggregate):
    """An app email, call, task, note or LinkedIn activity of one person.

    Its `details` (subject, body, notes, message, text) are personal: they are encrypted
    under the person's key (`subject`), so forgetting the person forgets them too. With
    `store_contents = false` the body is recorded only as `{"sha256": HEX}` (see
    message_bodies)."""

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> UUID:
        return activity_id(kind, key)

    @classmethod
    def record(cls, kind: str, key: str, person: str, subject: UUID, owner: str | None,
               details: dict[str, Any], at: datetime, ctx: Context) -> Activity:
        """`subject`: the person's current key (see Person.subject)."""
        return cls._begin(ctx, kind=kind, key=key, person=person, subject=subject, owner=owner,
                          details=details, at=at)

    @event("Recorded")
    def __init__(self, kind: str, key: str, person: str, subject: UUID, owner: str | None,
                 details: dict[str, Any], at: datetime) -> None:
        self.kind = kind
        self.key = key
        self.person = person
        self.subject = subject
        self.owner = owner
        self.details = dict(details)
        self.at = at

    def change(self, subject: UUID, owner: str | None, details: dict[str, Any], at: datetime,
               ctx: Context) -> bool:
        if subject != self.subject:  # the person was forgotten since: all of it again
            changed = dict(details)
        else:
            changed = {k: v for k, v in details.items() if self.details.get(k) != v}
            if not changed and owner == self.owner and at == self.at:
                return False
        self._happened(self._changed, ctx, subject=subject, owner=owner, details=changed,
                       at=at)
        return True

    @event("Changed")
    def _changed(self, subject: UUID, owner: str | None, details: dict[str, Any],
                 at: datetime) -> None:
        if subject != self.subject:
            self.subject = subject
            self.details = {}
        self.owner = owner
        self.details.update(details)
        self.at = at
