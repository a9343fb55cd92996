"""A CRM activity (Salesforce Task or Note) created from an app activity: the write intent
with its idempotency key, and its outcome."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.content import content_hash, normalise
from syncledger.domain.context import Context
from syncledger.domain.ids import natural_id


class Task(CausedAggregate):
    @staticmethod
    def create_id(crm: str, org: str, activity: UUID, **_: Any) -> UUID:
        return natural_id(f"{crm}:{org}:task:{activity}")

    @classmethod
    def plan(cls, crm: str, org: str, activity: UUID, subject: UUID, ctx: Context) -> Task:
        return cls._begin(ctx, crm=crm, org=org, activity=activity, subject=subject)

    @event("Planned")
    def __init__(self, crm: str, org: str, activity: UUID, subject: UUID) -> None:
        self.crm = crm
        self.org = org
        self.activity = activity
        self.subject = subject
        self.crm_record: str | None = None
        self.written_hash: str | None = None
        # What the last accepted write recorded: which body digests the CRM already holds.
        self.written_content: dict[str, Any] = {}
        self.pending: dict[str, Any] | None = None
        self.last_error: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return self.id.hex

    def request_write(self, content: dict[str, Any], ctx: Context) -> bool:
        """Record the intent before the call; nothing when the CRM already holds this."""
        digest = content_hash(content)
        if digest == self.written_hash:
            return False
        action = "update" if self.crm_record else "create"
        self._happened(self._write_requested, ctx, subject=self.subject, key=self.key,
                       action=action, content=normalise(content))
        return True

    def record_written(self, crm_record: str, ctx: Context) -> None:
        if self.pending is None:
            raise ValueError("no write was requested")
        self._happened(self._written, ctx, crm_record=crm_record,
                       content_hash=content_hash(self.pending))

    def record_write_failed(self, code: str, message: str, retryable: bool,
                            ctx: Context) -> None:
        if self.pending is None:
            raise ValueError("no write was requested")
        self._happened(self._write_failed, ctx, code=code, message=message,
                       retryable=retryable, subject=self.subject)

    @event("WriteRequested")
    def _write_requested(self, subject: UUID, key: str, action: str,
                         content: dict[str, Any]) -> None:
        self.pending = content

    @event("Written")
    def _written(self, crm_record: str, content_hash: str) -> None:
        self.crm_record = crm_record
        self.written_hash = content_hash
        self.written_content = self.pending or {}
        self.pending = None
        self.last_error = None

    @event("WriteFailed")
    def _write_failed(self, code: str, message: str, retryable: bool,
                      subject: UUID | None = None) -> None:
        # The CRM's message may quote the person's values: it is personal (domain.privacy),
        # encrypted under the person's key, `subject` (none in events before it was).
        self.pending = None
        self.last_error = {"code": code, "message": message, "retryable": retryable}
