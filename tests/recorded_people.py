"""People recorded straight into a store (each with an update), for the tests of what reads
the log: rebuilds, catch-ups, followers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.context import Context
from syncledger.domain.person import Person

AT = datetime(2026, 11, 1, 9, tzinfo=UTC)


def record_people(app: SyncLedger, count: int, first: int = 0) -> None:
    """People p-{first} to p-{first + count - 1}, saved together."""
    ctx = Context(cause="import:test", actor="tm-alice")
    people = []
    for n in range(first, first + count):
        person = Person.record(f"p-{n}", {"email": f"person{n}@example.com",
                                          "first_name": f"First{n}", "owner": "tm-alice"},
                               AT + timedelta(seconds=n), ctx)
        person.update({"status": "Replied"}, AT + timedelta(hours=1), ctx)
        people.append(person)
    app.save(*people)
