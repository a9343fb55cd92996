"""Our aggregates are begun, made from their created events and changed by their facts, when
read as when decided, by a quick path of our own (domain/caused.py's `_begin`, `_made_by`,
`_happened` and `_mutated_by`), not the library's `_create`, `trigger_event` and mutate methods:
every aggregate a sync and an import leave in the log reads the same through both."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import (
    CanInitAggregate,
    CanMutateAggregate,
    OriginatorIDError,
    OriginatorVersionError,
)
from sync_support import connected_org, contact, lead, person

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_every_aggregate_in_a_synced_log_reads_as_the_library_would_make_it(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        # Given a log of every kind of aggregate a sync and an import leave: people both
        # ways, their records, claims and links, runs, leases, cursors and readings
        org.load(Contact=[contact(1), contact(2)], Lead=[lead(3)])
        org.import_lines([person(4), person(5)])
        org.sync()
        org.import_lines([person(4, first_name="Changed")])
        org.sync()
    events: dict[UUID, list[Any]] = defaultdict(list)
    for notification in sqlite_store.recorder.select_notifications(start=1, limit=100_000):
        event = sqlite_store.mapper.to_domain_event(notification)
        events[event.originator_id].append(event)
    kinds: set[str] = set()
    for originator, history in events.items():
        created, *rest = history
        if not isinstance(created, CausedAggregate.Event):
            continue
        # When one is replayed through the library's own mutate methods
        by_library: Any = CanInitAggregate.mutate(created, None)  # type: ignore[arg-type]
        for later in rest:
            by_library = CanMutateAggregate.mutate(later, by_library)
        # Then it is the aggregate our path reads, attribute for attribute
        ours = sqlite_store.repository.get(originator)
        assert type(ours) is type(by_library)
        assert state(ours) == state(by_library), type(ours).__name__
        kinds.add(type(ours).__name__)
    assert {"Person", "Contact", "Lead", "EmailClaim", "SyncRun", "Integration", "RunLease",
            "StepCursor", "TeamMember", "AppImport"} <= kinds, kinds


def test_an_aggregate_begun_is_the_one_the_library_creates_from_the_same_facts() -> None:
    ctx = Context(cause="run:r1", actor="system")
    ours = Contact.discover("salesforce", "00D1", "003A", ctx, created="2026-01-01")
    (created,) = ours.collect_events()
    library: Any = Contact._create(Contact.Discovered, cause="run:r1", actor="system",
                                   crm="salesforce", org="00D1", stream="Contact",
                                   record_id="003A", created="2026-01-01",
                                   timestamp=created.timestamp)
    (again,) = library.collect_events()
    assert again == created
    assert state(library) == state(ours)


def test_a_fact_is_applied_only_to_its_own_aggregate_and_as_its_next_event() -> None:
    ctx = Context(cause="run:r1", actor="system")
    contact = Contact.discover("salesforce", "00D1", "003A", ctx)
    contact.collect_events()
    contact.observe({"LastName": "L"}, "t1", "005A", ctx)
    (observed,) = contact.collect_events()
    # The same checks as the library's: another aggregate's event, or one out of turn
    other = Contact.discover("salesforce", "00D1", "003B", ctx)
    with pytest.raises(OriginatorIDError):
        observed.mutate(other)
    with pytest.raises(OriginatorVersionError):
        observed.mutate(contact)  # applied already: version 2 is not its next
    replayed = Contact.discover("salesforce", "00D1", "003A", ctx)
    assert observed.mutate(replayed) is replayed
    assert (replayed.version, replayed.content, replayed.modified_on) == (
        2, {"LastName": "L"}, observed.timestamp)
