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

    def reset(self, ctx: Context) -> None:
        """Make everything due again (after a mapping or filter change, or --full)."""
        if self.watermark is None and self.position == 0:
            return
        self._reset(cause=ctx.cause, actor=ctx.actor)

    @event("InboundAdvanced")
    def _inbound_advanced(self, modstamp: str, record_id: str, cause: str,
                          actor: str) -> None:
        self.watermark = (modstamp, record_id)

    @event("OutboundAdvanced")
    def _outbound_advanced(self, position: int, cause: str, actor: str) -> None:
        self.position = position

    @event("Reset")
    def _reset(self, cause: str, actor: str) -> None:
        self.watermark = None
        self.position = 0
