"""Our mirror of a CRM record (Lead, Contact, Account): what we last observed and wrote.

Each subclass gets its own event classes (Lead.Observed, Contact.WriteFailed, ...), so the log
and the history say which object a fact is about."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from syncledger.domain.content import content_hash, normalise
from syncledger.domain.context import Context
from syncledger.domain.ids import crm_record_id


class CrmRecord(Aggregate):
    SOBJECT = "Record"

    @staticmethod
    def create_id(crm: str, org: str, sobject: str, record_id: str, **_: Any) -> UUID:
        return crm_record_id(crm, org, sobject, record_id)

    class Discovered(Aggregate.Created):
        """From version 2 (issue 22), a record discovered by an inbound pull carries its
        first observation (content, its hash, modstamp, owner: as an Observed's) and the
        person it was linked to in the same save; None when it carries neither, as every
        version 1 Discovered."""

        class_version = 2
        crm: str
        org: str
        sobject: str
        record_id: str
        created: str | None
        cause: str
        actor: str
        content: dict[str, Any] | None = None  # personal: sealed as an Observed's is
        content_hash: str | None = None
        modstamp: str | None = None
        owner: str | None = None
        person: UUID | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(content=None, content_hash=None, modstamp=None, owner=None,
                         person=None)

    class PersonLinked(Aggregate.Event):
        person: UUID
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.person = self.person

    class Observed(Aggregate.Event):
        content: dict[str, Any]
        content_hash: str
        modstamp: str | None
        owner: str | None
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.content = self.content
            aggregate.content_hash = self.content_hash
            aggregate.modstamp = self.modstamp
            aggregate.owner = self.owner
            aggregate.skipped = None  # a skip describes what was decided about one content

    class Skipped(Aggregate.Event):
        reason: str
        detail: str | None
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.skipped = (self.reason, self.detail)

    class Converted(Aggregate.Event):
        contact_id: str | None
        account_id: str | None
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.converted = True
            aggregate.converted_contact = self.contact_id

    class Removed(Aggregate.Event):
        master_record_id: str | None  # set when the record was merged into another
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True
            aggregate.merged_into = self.master_record_id

    class WriteRequested(Aggregate.Event):
        key: str
        action: str  # create | update
        content: dict[str, Any]
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.pending = {"key": self.key, "action": self.action,
                                 "content": self.content}

    class Written(Aggregate.Event):
        key: str
        crm_record: str
        content: dict[str, Any]
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.pending = None
            aggregate.crm_record = self.crm_record
            aggregate.last_written = self.content
            aggregate.last_error = None
            # What we wrote is what the CRM now holds: its echo then records nothing.
            written = {k: v for k, v in self.content.items() if k != "OwnerId"}
            aggregate.content = {**aggregate.content, **written}
            aggregate.content_hash = content_hash(aggregate.content)
            aggregate.owner = self.content.get("OwnerId", aggregate.owner)

    class WriteFailed(Aggregate.Event):
        key: str
        code: str
        message: str  # may quote the person's values: personal (domain.privacy)
        retryable: bool
        cause: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.pending = None
            aggregate.last_error = {"code": self.code, "message": self.message,
                                    "retryable": self.retryable}

    def __init__(self, crm: str, org: str, sobject: str, record_id: str, created: str | None,
                 cause: str, actor: str, content: dict[str, Any] | None = None,
                 content_hash: str | None = None, modstamp: str | None = None,
                 owner: str | None = None, person: UUID | None = None) -> None:
        self.crm = crm
        self.created = created
        self.person: UUID | None = person
        self.skipped: tuple[str, str | None] | None = None
        self.org = org
        # The stored events say `sobject`, Salesforce's word, for what the engine calls a
        # stream (Contact, Lead, person).
        self.stream = sobject
        self.crm_record = record_id
        self.content: dict[str, Any] = content if content is not None else {}
        self.content_hash: str | None = content_hash
        self.modstamp: str | None = modstamp
        self.owner: str | None = owner
        self.converted = False
        self.converted_contact: str | None = None
        self.deleted = False
        self.merged_into: str | None = None
        self.pending: dict[str, Any] | None = None
        self.last_written: dict[str, Any] | None = None
        self.last_error: dict[str, Any] | None = None

    @classmethod
    def discover(cls, crm: str, org: str, record_id: str, ctx: Context,
                 created: str | None = None) -> Any:
        return cls._create(cls.Discovered, crm=crm, org=org, sobject=cls.SOBJECT,
                           record_id=record_id, created=created, cause=ctx.cause,
                           actor=ctx.actor)

    def fold_into_discovery(self) -> None:
        """A record discovered in this unit of work: its first observation and person link,
        still unsaved, become part of its Discovered event (one event where there were
        three). What follows another kind of event (a skip, a conversion) stays as it is,
        renumbered; the record's state does not change."""
        pending = self._pending_events
        if not pending or not isinstance(pending[0], CrmRecord.Discovered) \
                or pending[0].originator_version != 1:
            return
        folded: dict[str, Any] = {}
        count = 1
        for event in pending[1:]:
            if isinstance(event, CrmRecord.Observed):
                folded.update(content=event.content, content_hash=event.content_hash,
                              modstamp=event.modstamp, owner=event.owner)
            elif isinstance(event, CrmRecord.PersonLinked):
                folded["person"] = event.person
            else:
                break
            count += 1
        if count == 1:
            return
        rest = [replace(event, originator_version=version)  # type: ignore[type-var]
                for version, event in enumerate(pending[count:], start=2)]
        discovered: Any = pending[0]
        pending[:] = [replace(discovered, **folded), *rest]
        self._version = len(pending)
        self._modified_on = pending[-1].timestamp

    def rank(self) -> tuple[int, str, int, str]:
        """Which of several records with one email a person links to: a Contact first, then
        the oldest by CreatedDate, Id (ids of one length compare as text; Pipedrive's are
        numbers, and 9 comes before 10)."""
        return (0 if self.stream == "Contact" else 1, self.created or "",
                len(self.crm_record), self.crm_record)

    def skip(self, reason: str, detail: str | None, ctx: Context) -> None:
        """Why this record was not synced, kept on the record (the Logs count reasons)."""
        if self.skipped is not None and tuple(self.skipped) == (reason, detail):
            return
        self.trigger_event(self.Skipped, reason=reason, detail=detail, cause=ctx.cause,
                           actor=ctx.actor)

    def link_person(self, person: UUID, ctx: Context) -> None:
        if self.person == person:
            return
        self.trigger_event(self.PersonLinked, person=person, cause=ctx.cause, actor=ctx.actor)

    # -- decisions --------------------------------------------------------------------------
    def observe(self, content: dict[str, Any], modstamp: str | None, owner: str | None,
                ctx: Context) -> bool:
        """Record what the CRM holds now; nothing when the normalised content is unchanged."""
        normalised = normalise(content)
        digest = content_hash(normalised)
        if digest == self.content_hash and owner == self.owner:
            return False
        self.trigger_event(self.Observed, content=normalised, content_hash=digest,
                           modstamp=modstamp, owner=owner, cause=ctx.cause, actor=ctx.actor)
        return True

    def is_echo(self, content: dict[str, Any]) -> bool:
        """Our own write coming back: every field we last wrote reads back the same."""
        if self.last_written is None:
            return False
        seen = normalise(content)
        return all(seen.get(key) == value for key, value in self.last_written.items())

    def mark_converted(self, contact_id: str | None, account_id: str | None,
                       ctx: Context) -> None:
        if self.converted:
            return
        self.trigger_event(self.Converted, contact_id=contact_id, account_id=account_id,
                           cause=ctx.cause, actor=ctx.actor)

    def mark_removed(self, master_record_id: str | None, ctx: Context) -> None:
        if self.deleted:
            return
        self.trigger_event(self.Removed, master_record_id=master_record_id, cause=ctx.cause,
                           actor=ctx.actor)

    def request_write(self, key: str, action: str, content: dict[str, Any],
                      ctx: Context) -> None:
        if self.converted:
            raise ValueError("a converted lead is never written")
        self.trigger_event(self.WriteRequested, key=key, action=action,
                           content=normalise(content), cause=ctx.cause, actor=ctx.actor)

    def record_written(self, crm_record: str, ctx: Context,
                       content: dict[str, Any] | None = None) -> None:
        """`content`: what a create wrote, when the intent was held by the person."""
        if self.pending is None and content is None:
            raise ValueError("no write was requested")
        written = content if content is not None else self.pending["content"]  # type: ignore[index]
        key = self.pending["key"] if self.pending else ""
        self.trigger_event(self.Written, key=key, crm_record=crm_record,
                           content=normalise(written), cause=ctx.cause, actor=ctx.actor)

    def record_write_failed(self, code: str, message: str, retryable: bool,
                            ctx: Context) -> None:
        if self.pending is None:
            raise ValueError("no write was requested")
        self.trigger_event(self.WriteFailed, key=self.pending["key"], code=code,
                           message=message, retryable=retryable, cause=ctx.cause,
                           actor=ctx.actor)


class Lead(CrmRecord):
    SOBJECT = "Lead"


class Contact(CrmRecord):
    SOBJECT = "Contact"


class Account(CrmRecord):
    SOBJECT = "Account"


class PipedrivePerson(CrmRecord):
    SOBJECT = "person"


MIRRORS: dict[str, type[CrmRecord]] = {"Lead": Lead, "Contact": Contact, "Account": Account,
                                       "person": PipedrivePerson}

