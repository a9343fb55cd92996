"""Where one step has got to: the inbound (SystemModstamp, Id) watermark or the outbound
position in our own log. One per step, snapshotted by the store so it stays fast to load."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.context import Context
from syncledger.domain.ids import step_cursor_id


class StepCursor(Aggregate):
    @staticmethod
    def create_id(crm: str, step: str, **_: Any) -> UUID:
        return step_cursor_id(crm, step)

    @classmethod
    def open(cls, crm: str, step: str, ctx: Context) -> StepCursor:
        return cls(crm=crm, step=step, cause=ctx.cause, actor=ctx.actor)

    @event("Opened")
    def __init__(self, crm: str, step: str, cause: str, actor: str) -> None:
        self.crm = crm
        self.step = step
        self.watermark: tuple[str, str] | None = None
        self.position = 0
        self.due: list[str] = []  # a list, not a set: snapshots must serialise it
        self.fingerprint: str | None = None

    def advance_inbound(self, modstamp: str, record_id: str, ctx: Context) -> None:
        """Move the watermark forward only: an overlap window re-reads older records."""
        if self.watermark is not None and (modstamp, record_id) <= tuple(self.watermark):
            return
        self._inbound_advanced(modstamp=modstamp, record_id=record_id, cause=ctx.cause,
                               actor=ctx.actor)

    def advance_outbound(self, position: int, ctx: Context) -> None:
        if position <= self.position:
            return
        self._outbound_advanced(position=position, cause=ctx.cause, actor=ctx.actor)

    def mark_due(self, keys: list[str], ctx: Context) -> None:
        """Records that stay due though the position moves on (a retryable failure, a
        missing required field)."""
        fresh = sorted(set(keys) - set(self.due))
        if fresh:
            self._due_marked(keys=fresh, cause=ctx.cause, actor=ctx.actor)

    def clear_due(self, keys: list[str], ctx: Context) -> None:
        done = sorted(set(keys) & set(self.due))
        if done:
            self._due_cleared(keys=done, cause=ctx.cause, actor=ctx.actor)

    def follow_configuration(self, fingerprint: str, ctx: Context) -> bool:
        """After a change to the step's mappings, filter or owners, every record it covers
        is due again: returns True when the step starts afresh."""
        if fingerprint == self.fingerprint:
            return False
        self._reconfigured(fingerprint=fingerprint, cause=ctx.cause, actor=ctx.actor)
        return True

    @event("InboundAdvanced")
    def _inbound_advanced(self, modstamp: str, record_id: str, cause: str,
                          actor: str) -> None:
        self.watermark = (modstamp, record_id)

    @event("OutboundAdvanced")
    def _outbound_advanced(self, position: int, cause: str, actor: str) -> None:
        self.position = position

    @event("DueMarked")
    def _due_marked(self, keys: list[str], cause: str, actor: str) -> None:
        self.due = sorted(set(self.due) | set(keys))

    @event("DueCleared")
    def _due_cleared(self, keys: list[str], cause: str, actor: str) -> None:
        self.due = sorted(set(self.due) - set(keys))

    @event("Reconfigured")
    def _reconfigured(self, fingerprint: str, cause: str, actor: str) -> None:
        self.fingerprint = fingerprint
        self.watermark = None
        self.position = 0

