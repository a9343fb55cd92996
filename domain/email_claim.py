"""Which person (app side) or CRM record (per org) holds an email.

Saved in the same atomic save as its holder, so two writers can never make two people of one
email: the loser's save conflicts on the claim's version and its command is retried.

From issue 22 on, an email has one claim, the app side's (its id from the email and "app"),
which also holds the record that holds the email in each CRM org (`sides`); a claim made on
its own for an org's side before then (its id from the email and the org's side) keeps
serving that email and org. A claim made and then taken in one unit of work records one
event (`_folded`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import email_claim_id


class EmailTaken(ValueError):
    def __init__(self, holder: UUID) -> None:
        super().__init__(f"email already held by {holder}")
        self.holder = holder


class EmailClaim(CausedAggregate):
    """The email itself is not stored: the claim's id is derived from it."""

    class Claimed(Aggregate.Created):
        """Version 2: `sides` (other sides' holders) added; the claim's id, which is the
        event's originator, no longer repeated as `claim_id`."""

        class_version = 2
        side: str
        holder: UUID | None
        sides: dict[str, UUID] | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.pop("claim_id", None)
            state["sides"] = None

    @classmethod
    def claim(cls, side: str, email: str, holder: UUID | None, ctx: Context,
              sides: dict[str, UUID] | None = None) -> EmailClaim:
        return cls._begin(ctx, id=email_claim_id(side, email), side=side, holder=holder,
                          sides=sides or None)

    @classmethod
    def claim_on(cls, side: str, email: str, holder: UUID, ctx: Context) -> EmailClaim:
        """The email's claim, first made for a CRM org's `side`: no person holds it yet."""
        return cls.claim("app", email, None, ctx, sides={side: holder})

    @event(Claimed)
    def __init__(self, side: str, holder: UUID | None,
                 sides: dict[str, UUID] | None = None) -> None:
        self.side = side
        self.holder: UUID | None = holder
        self.sides: dict[str, UUID] = dict(sides or {})

    def holder_on(self, side: str) -> UUID | None:
        """Who holds the email on `side`: this claim's own side, or another it holds."""
        return self.holder if side == self.side else self.sides.get(side)

    def take(self, holder: UUID, ctx: Context) -> None:
        if self.holder == holder:
            return
        if self.holder is not None:
            raise EmailTaken(self.holder)
        self._happened(self._taken, ctx, holder=holder)

    def release(self, holder: UUID, ctx: Context) -> None:
        if self.holder != holder:
            return
        self._happened(self._released, ctx, holder=holder)

    def take_on(self, side: str, holder: UUID, ctx: Context) -> None:
        if side == self.side:
            self.take(holder, ctx)
            return
        current = self.sides.get(side)
        if current == holder:
            return
        if current is not None:
            raise EmailTaken(current)
        self._happened(self._side_taken, ctx, side=side, holder=holder)

    def release_on(self, side: str, holder: UUID, ctx: Context) -> None:
        if side == self.side:
            self.release(holder, ctx)
            return
        if self.sides.get(side) != holder:
            return
        self._happened(self._side_released, ctx, side=side, holder=holder)

    def _folded(self, fact: str, facts: dict[str, Any],
                created: Any) -> dict[str, Any] | None:
        """A claim made in this unit of work, taken, released or taken on another side
        since, is one Claimed holding where it ended."""
        if fact == "_taken":
            return {"holder": facts["holder"]}
        if fact == "_released":
            return {"holder": None}
        sides = dict(created.sides or {})
        if fact == "_side_taken":
            sides[facts["side"]] = facts["holder"]
        elif fact == "_side_released":
            sides.pop(facts["side"], None)
        else:
            return None
        return {"sides": sides or None}

    @event("Taken")
    def _taken(self, holder: UUID) -> None:
        self.holder = holder

    @event("Released")
    def _released(self, holder: UUID) -> None:
        self.holder = None

    @event("SideTaken")
    def _side_taken(self, side: str, holder: UUID) -> None:
        self.sides[side] = holder

    @event("SideReleased")
    def _side_released(self, side: str, holder: UUID) -> None:
        self.sides.pop(side, None)
