"""The ledger seal: every save appends, atomically, a LogSealed event that hashes the stored
events it covers and chains to the previous seal, so an edited, deleted or inserted row
breaks the chain. The hashing is here; which bytes were stored is the store's business."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import DomainEvent

GENESIS = "0" * 64


@dataclass(frozen=True)
class LogSealed(DomainEvent):
    covered: str  # hash of the covered events
    count: int
    previous: str  # the previous seal's head
    head: str  # chain(previous, covered)


def covered_digest(events: Iterable[tuple[UUID | str, int, str, bytes]]) -> str:
    """Hash (originator id, version, topic, stored bytes) of events, in the order stored."""
    digest = hashlib.sha256()
    for originator_id, version, topic, state in events:
        originator = (originator_id.hex if isinstance(originator_id, UUID)
                      else originator_id).encode()
        number = str(version).encode()
        name = topic.encode()
        # Each part after its length (8 bytes), the event's parts in one update, written
        # out: verify hashes every event of the log, and every save the events it stores.
        digest.update(b"".join((_length(originator), originator, _length(number), number,
                                _length(name), name, _length(state), state)))
    return digest.hexdigest()


def _length(part: bytes) -> bytes:
    return len(part).to_bytes(8, "big")


def chain(previous: str, covered: str) -> str:
    return hashlib.sha256(f"{previous}:{covered}".encode()).hexdigest()
