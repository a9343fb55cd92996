"""Our mirror of a CRM record (Lead, Contact, Account): what we last observed and wrote.

Each subclass gets its own event classes (Lead.Observed, Contact.WriteFailed, ...), so the log
and the history say which object a fact is about."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.content import content_hash, normalise, normalised_hash
from syncledger.domain.context import Context
from syncledger.domain.ids import crm_record_id
from syncledger.domain.upcasts import stream_renamed


class CrmRecord(CausedAggregate):
    STREAM = "Record"

    @staticmethod
    def create_id(crm: str, org: str, stream: str, record_id: str, **_: Any) -> UUID:
        return crm_record_id(crm, org, stream, record_id)

    class Discovered(Aggregate.Created):
        """From version 2 (issue 22), a record discovered by an inbound pull carries its
        first observation (content, its hash, modstamp, owner: as an Observed's) and the
        person it was linked to in the same save; None when it carries neither, as every
        version 1 Discovered. Version 3 stores `stream` under its own name (see
        domain.upcasts). From version 4 a record the sync created carries what the create
        wrote (`written`: a create's Written's content) and its person; None in every
        earlier version, as in a discovery that wrote nothing."""

        class_version = 4
        crm: str
        org: str
        stream: str
        record_id: str
        created: str | None
        content: dict[str, Any] | None = None  # personal: sealed as an Observed's is
        content_hash: str | None = None
        modstamp: str | None = None
        owner: str | None = None
        person: UUID | None = None
        written: dict[str, Any] | None = None  # personal: sealed as a Written's content is

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(content=None, content_hash=None, modstamp=None, owner=None,
                         person=None)

        upcast_v2_v3 = staticmethod(stream_renamed)

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            state["written"] = None

    @event(Discovered)
    def __init__(self, crm: str, org: str, stream: str, record_id: str, created: str | None,
                 content: dict[str, Any] | None = None, content_hash: str | None = None,
                 modstamp: str | None = None, owner: str | None = None,
                 person: UUID | None = None, written: dict[str, Any] | None = None) -> None:
        self.crm = crm
        self.created = created
        self.person: UUID | None = person
        self.skipped: tuple[str, str | None] | None = None
        self.org = org
        self.stream = stream  # Contact, Lead, person
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
        if written is not None:  # a record the sync created: as its Written would
            self._take_written(record_id, written)

    @classmethod
    def discover(cls, crm: str, org: str, record_id: str, ctx: Context,
                 created: str | None = None) -> Any:
        return cls._begin(ctx, crm=crm, org=org, stream=cls.STREAM,
                          record_id=record_id, created=created)

    def _folded(self, fact: str, facts: dict[str, Any],
                created: Any) -> dict[str, Any] | None:
        """A record discovered in this unit of work takes its first facts into its
        Discovered (one event where there were three): the first observation (an inbound
        pull's), the write that created it (an outbound create's) and the person link.
        What the Discovered cannot stand for is recorded apart, and so is all that comes
        after it (a skip, a conversion; an observation after the write, which the
        Discovered would apply before it)."""
        if fact == "_observed" and created.written is None:
            return {"content": facts["content"], "content_hash": facts["content_hash"],
                    "modstamp": facts["modstamp"], "owner": facts["owner"]}
        if fact == "_written" and created.written is None and not facts["key"] \
                and facts["crm_record"] == created.record_id:
            # A create's result (no intent of the record's own: the person holds it).
            return {"written": facts["content"]}
        if fact == "_person_linked":
            return {"person": facts["person"]}
        return None

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
        self._happened(self._skipped, ctx, reason=reason, detail=detail)

    def link_person(self, person: UUID, ctx: Context) -> None:
        if self.person == person:
            return
        self._happened(self._person_linked, ctx, person=person)

    # -- decisions --------------------------------------------------------------------------
    def observe(self, content: dict[str, Any], modstamp: str | None, owner: str | None,
                ctx: Context, digest: str | None = None) -> bool:
        """Record what the CRM holds now; nothing when the normalised content is unchanged.
        `digest`: given when `content` is normalised and hashed already (read_record's)."""
        normalised = normalise(content) if digest is None else content
        digest = digest or normalised_hash(normalised)
        if digest == self.content_hash and owner == self.owner:
            return False
        self._happened(self._observed, ctx, content=normalised, content_hash=digest,
                       modstamp=modstamp, owner=owner)
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
        self._happened(self._converted, ctx, contact_id=contact_id, account_id=account_id)

    def mark_removed(self, master_record_id: str | None, ctx: Context) -> None:
        if self.deleted:
            return
        self._happened(self._removed, ctx, master_record_id=master_record_id)

    def request_write(self, key: str, action: str, content: dict[str, Any],
                      ctx: Context) -> None:
        if self.converted:
            raise ValueError("a converted lead is never written")
        self._happened(self._write_requested, ctx, key=key, action=action,
                       content=normalise(content))

    def record_written(self, crm_record: str, ctx: Context,
                       content: dict[str, Any] | None = None) -> None:
        """`content`: what a create wrote, when the intent was held by the person."""
        if self.pending is None and content is None:
            raise ValueError("no write was requested")
        written = content if content is not None else self.pending["content"]  # type: ignore[index]
        key = self.pending["key"] if self.pending else ""
        self._happened(self._written, ctx, key=key, crm_record=crm_record,
                       content=normalise(written))

    def record_write_failed(self, code: str, message: str, retryable: bool,
                            ctx: Context) -> None:
        if self.pending is None:
            raise ValueError("no write was requested")
        self._happened(self._write_failed, ctx, key=self.pending["key"], code=code,
                       message=message, retryable=retryable)

    # -- facts ------------------------------------------------------------------------------
    @event("PersonLinked")
    def _person_linked(self, person: UUID) -> None:
        self.person = person

    @event("Observed")
    def _observed(self, content: dict[str, Any], content_hash: str, modstamp: str | None,
                  owner: str | None) -> None:
        self.content = content
        self.content_hash = content_hash
        self.modstamp = modstamp
        self.owner = owner
        self.skipped = None  # a skip describes what was decided about one content

    @event("Skipped")
    def _skipped(self, reason: str, detail: str | None) -> None:
        self.skipped = (reason, detail)

    @event("Converted")
    def _converted(self, contact_id: str | None, account_id: str | None) -> None:
        self.converted = True
        self.converted_contact = contact_id

    @event("Removed")
    def _removed(self, master_record_id: str | None) -> None:
        # `master_record_id`: set when the record was merged into another
        self.deleted = True
        self.merged_into = master_record_id

    @event("WriteRequested")
    def _write_requested(self, key: str, action: str, content: dict[str, Any]) -> None:
        # `action`: create | update
        self.pending = {"key": key, "action": action, "content": content}

    @event("Written")
    def _written(self, key: str, crm_record: str, content: dict[str, Any]) -> None:
        self._take_written(crm_record, content)

    def _take_written(self, crm_record: str, content: dict[str, Any]) -> None:
        """A write gone through, as its Written says, or a create's Discovered."""
        self.pending = None
        self.crm_record = crm_record
        self.last_written = content
        self.last_error = None
        # What we wrote is what the CRM now holds: its echo then records nothing.
        written = {k: v for k, v in content.items() if k != "OwnerId"}
        self.content = {**self.content, **written}
        self.content_hash = content_hash(self.content)
        self.owner = content.get("OwnerId", self.owner)

    @event("WriteFailed")
    def _write_failed(self, key: str, code: str, message: str, retryable: bool) -> None:
        # `message` may quote the person's values: personal (domain.privacy)
        self.pending = None
        self.last_error = {"code": code, "message": message, "retryable": retryable}


class Lead(CrmRecord):
    STREAM = "Lead"


class Contact(CrmRecord):
    STREAM = "Contact"


class Account(CrmRecord):
    STREAM = "Account"


class PipedrivePerson(CrmRecord):
    STREAM = "person"


MIRRORS: dict[str, type[CrmRecord]] = {"Lead": Lead, "Contact": Contact, "Account": Account,
                                       "person": PipedrivePerson}

