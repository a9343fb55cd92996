"""The people view knows which people one cause alone made: what lets a run skip planning
again the people its own inbound step just created."""

from __future__ import annotations

from datetime import UTC, datetime

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import caught_up
from syncledger.domain.context import Context
from syncledger.domain.person import Person
from syncledger.projections.people import touched_elsewhere
from syncledger.projections.registry import PEOPLE

AT = datetime(2026, 11, 1, 10, tzinfo=UTC)
RUN = Context(cause="run:r-1", actor="system")
IMPORT = Context(cause="import:i-1", actor="tm-alice")


def test_only_the_people_one_cause_made_alone_are_left_out(store: SyncLedger) -> None:
    made = Person.record("p-made", {"email": "made@example.com"}, AT, RUN)
    made.link("salesforce", "Contact", "003000000000001AAA", None, RUN)
    changed = Person.record("p-changed", {"email": "changed@example.com"}, AT, RUN)
    imported = Person.record("p-imported", {"email": "imported@example.com"}, AT, IMPORT)
    store.save(made, changed, imported)
    changed.update({"first_name": "Ada"}, AT, IMPORT)
    store.save(changed)
    caught_up(store)

    with store.database.reader.connect() as connection:
        ids = [p.id.hex for p in (made, changed, imported)]
        by_run = touched_elsewhere(connection, PEOPLE.tables["people"], ids, RUN.cause)
        by_another = touched_elsewhere(connection, PEOPLE.tables["people"], ids, "run:r-2")

    assert by_run == {changed.id.hex, imported.id.hex}
    assert by_another == set(ids)
