"""Recompute every ledger seal in one pass over the log: an edited, deleted or inserted row,
or events left outside a seal, break the chain at a seal we can name.

What the pass alone cannot see is a log cut short after a seal (the last saves deleted,
seals and all): what is left is still a whole chain. A head hash recorded elsewhere covers
that: `expect` names a seal's head, and the log passes only if that seal is in its chain
(it may be followed by later saves, which are counted)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import read_rows
from syncledger.domain.ids import LEDGER_ID
from syncledger.domain.ledger import GENESIS, LogSealed, chain, covered_digest

BATCH = 5000
SEAL_TOPIC = get_topic(LogSealed)


@dataclass(frozen=True)
class Verification:
    head: str
    seals: int
    events: int
    broken: str | None  # what is wrong with the first broken seal, or None
    # With `expect`: the number of the seal whose head it is (1 the first), or None when no
    # seal of the chain has that head.
    expected_seal: int | None = None

    @property
    def saves_after(self) -> int | None:
        """How many saves (seals) came after the expected one."""
        return None if self.expected_seal is None else self.seals - self.expected_seal


def verify(app: SyncLedger, progress: Callable[[int], None] | None = None,
           expect: str | None = None) -> Verification:
    """`expect`: a head hash recorded elsewhere; the answer says which seal has it."""
    wanted = expect.strip().lower() if expect is not None else None
    found: int | None = None  # the empty log's GENESIS is no seal: it never matches
    previous, version, seals, events = GENESIS, 0, 0, 0
    pending: list[tuple[str, int, str, bytes]] = []
    start = 0
    ledger = LEDGER_ID.hex
    while True:
        rows = read_rows(app, start, BATCH)
        if not rows:
            break
        for position, originator, stored_version, topic, state, _ in rows:
            if originator != ledger:
                pending.append((originator, stored_version, topic, bytes(state)))
                events += 1
                continue
            where = f"seal {stored_version} (position {position})"
            if topic != SEAL_TOPIC:
                return Verification(previous, seals, events, f"{where}: not a seal")
            try:
                seal = app.mapper.to_domain_event(StoredEvent(
                    originator_id=LEDGER_ID, originator_version=stored_version, topic=topic,
                    state=state))
            except Exception as error:  # an edited seal may not even decode
                return Verification(previous, seals, events, f"{where}: unreadable ({error})")
            fields = ("covered", "count", "previous", "head")
            if not isinstance(seal, LogSealed) or not all(hasattr(seal, f) for f in fields):
                return Verification(previous, seals, events,
                                    f"{where}: its fields were altered")
            covered = covered_digest(pending)
            problem = None
            if seal.originator_version != version + 1:
                problem = f"follows seal {version}: a seal is missing"
            elif seal.previous != previous:
                problem = "does not chain to the previous seal"
            elif seal.count != len(pending) or seal.covered != covered:
                problem = (f"covers {len(pending)} event(s) that do not hash as sealed: "
                           "a row was edited, deleted or inserted")
            elif seal.head != chain(previous, covered):
                problem = "its head hash was altered"
            if problem:
                return Verification(previous, seals, events, f"{where}: {problem}")
            previous, version, seals = seal.head, seal.originator_version, seals + 1
            pending = []
            if seal.head == wanted:
                found = seals
        start = rows[-1][0]
        if progress:
            progress(len(rows))
    if pending:
        return Verification(previous, seals, events,
                            f"{len(pending)} event(s) after seal {version} are not sealed")
    return Verification(previous, seals, events, None, found)
