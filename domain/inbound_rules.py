"""What an inbound people step decides about a person once a CRM record is matched to it,
over plain values: whether the person takes the record's owner, and which sequence the
person is routed to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncledger.domain.steps import SequenceMapping


@dataclass(frozen=True)
class OwnerChange:
    """What the ownership rules say of the record's owner (see ownership.inbound_owner)."""

    owner: str | None
    by_default: bool  # the table's default row: no rule chose it


def takes_owner(change: OwnerChange, person_owner: str | None, first_link: bool,
                owner_by_default: bool, owner_learnt: bool, record_owner: str | None,
                known_owner: str | None) -> bool:
    """Whether an existing person takes the owner the rules give the record's owner. The
    default owner is for new people only; otherwise the person follows a rule that maps the
    record's owner when the record is newly linked, when its own owner came by default, or
    when the record's owner changed in the CRM (not when we learnt the owner the CRM gave a
    record we created)."""
    if change.by_default or change.owner == person_owner:
        return False
    return first_link or owner_by_default or (not owner_learnt and record_owner != known_owner)


@dataclass(frozen=True)
class SequenceMove:
    leave: str | None  # the sequence the person leaves first
    join: SequenceMapping


def sequence_move(mappings: Sequence[SequenceMapping], owner: str | None, created: bool,
                  current: str | None) -> SequenceMove | None:
    """The first mapping for the owner (or for everyone) routes the person: only a new
    person when it says so; a person already in its sequence stays where it is."""
    for mapping in mappings:
        if mapping.owner not in (owner, "*"):
            continue
        if (mapping.only_new_records and not created) or current == mapping.sequence:
            return None
        return SequenceMove(current, mapping)
    return None
