"""A store made by an older version: a read-model table without a newer nullable column
gets the column when the store is opened, and keeps its rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from syncledger.commands.session import caught_up, store_session
from syncledger.domain.context import Context
from syncledger.domain.person import Person
from syncledger.projections.registry import PEOPLE

CTX = Context(cause="import:i-1", actor="tm-alice")


def test_a_missing_nullable_column_is_added_and_the_rows_stay(store_url: str) -> None:
    # Given a people view as an older version made it, without `only_cause`
    with store_session(store_url) as app:
        app.save(Person.record("p-1", {"email": "ada@example.com"},
                               datetime(2026, 11, 1, tzinfo=UTC), CTX))
        caught_up(app)
        with app.database.writer.begin() as connection:
            connection.execute(text("ALTER TABLE people DROP COLUMN only_cause"))

    # When the store is opened again
    with store_session(store_url) as app:
        columns = {c["name"] for c in inspect(app.database.writer).get_columns("people")}
        with app.database.reader.connect() as connection:
            rows = connection.execute(PEOPLE.tables["people"].select()).mappings().all()

    # Then the column is there, empty, and the row kept
    assert "only_cause" in columns
    assert [(row["id"], row["only_cause"]) for row in rows] == [("p-1", None)]
