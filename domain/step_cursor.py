"""Where one step has got to: the inbound (SystemModstamp, Id) watermark or the outbound
position in our own log. One per step, snapshotted by the store so it stays fast to load."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import step_cursor_id


class StepCursor(CausedAggregate):
    @staticmethod
    def create_id(crm: str, step: str, **_: Any) -> UUID:
        return step_cursor_id(crm, step)

    @classmethod
    def open(cls, crm: str, step: str, ctx: Context) -> StepCursor:
        return cls._begin(ctx, crm=crm, step=step)

    @event("Opened")
    def __init__(self, crm: str, step: str) -> None:
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
        self._happened(self._inbound_advanced, ctx, modstamp=modstamp, record_id=record_id)

    def advance_outbound(self, position: int, ctx: Context) -> None:
        if position <= self.position:
            return
        self._happened(self._outbound_advanced, ctx, position=position)

    def mark_due(self, keys: list[str], ctx: Context) -> None:
        """Records that stay due though the position moves on (a retryable failure, a
        missing required field)."""
        fresh = sorted(set(keys) - set(self.due))
        if fresh:
            self._happened(self._due_marked, ctx, keys=fresh)

    def clear_due(self, keys: list[str], ctx: Context) -> None:
        done = sorted(set(keys) & set(self.due))
        if done:
            self._happened(self._due_cleared, ctx, keys=done)

    def follow_configuration(self, fingerprint: str, ctx: Context) -> bool:
        """After a change to the step's mappings, filter or owners, every record it covers
        is due again: returns True when the step starts afresh."""
        if fingerprint == self.fingerprint:
            return False
        self._happened(self._reconfigured, ctx, fingerprint=fingerprint)
        return True

    @event("InboundAdvanced")
    def _inbound_advanced(self, modstamp: str, record_id: str) -> None:
        self.watermark = (modstamp, record_id)

    @event("OutboundAdvanced")
    def _outbound_advanced(self, position: int) -> None:
        self.position = position

    @event("DueMarked")
    def _due_marked(self, keys: list[str]) -> None:
        self.due = sorted(set(self.due) | set(keys))

    @event("DueCleared")
    def _due_cleared(self, keys: list[str]) -> None:
        self.due = sorted(set(self.due) - set(keys))

    @event("Reconfigured")
    def _reconfigured(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.watermark = None
        self.position = 0

