"""Which person (app side) or CRM record (per org) holds an email.

Saved in the same atomic save as its holder, so two writers can never make two people of one
email: the loser's save conflicts on the claim's version and its command is retried."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.context import Context
from syncledger.domain.ids import email_claim_id


class EmailTaken(ValueError):
    def __init__(self, holder: UUID) -> None:
        super().__init__(f"email already held by {holder}")
        self.holder = holder


class EmailClaim(Aggregate):
    """The email itself is not stored: the claim's id is derived from it."""

    @staticmethod
    def create_id(claim_id: UUID, **_: Any) -> UUID:
        return claim_id

    @classmethod
    def claim(cls, side: str, email: str, holder: UUID, ctx: Context) -> EmailClaim:
        return cls(claim_id=email_claim_id(side, email), side=side, holder=holder,
                   cause=ctx.cause, actor=ctx.actor)

    @event("Claimed")
    def __init__(self, claim_id: UUID, side: str, holder: UUID, cause: str,
                 actor: str) -> None:
        self.side = side
        self.holder: UUID | None = holder

    def take(self, holder: UUID, ctx: Context) -> None:
        if self.holder == holder:
            return
        if self.holder is not None:
            raise EmailTaken(self.holder)
        self._taken(holder=holder, cause=ctx.cause, actor=ctx.actor)

    def release(self, holder: UUID, ctx: Context) -> None:
        if self.holder != holder:
            return
        self._released(holder=holder, cause=ctx.cause, actor=ctx.actor)

    @event("Taken")
    def _taken(self, holder: UUID, cause: str, actor: str) -> None:
        self.holder = holder

    @event("Released")
    def _released(self, holder: UUID, cause: str, actor: str) -> None:
        self.holder = None
