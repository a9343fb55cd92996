"""Rows written past SQLAlchemy's parameter processing read back as SQLAlchemy wrote them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, MetaData, String, Table, select

from syncledger.adapters.event_store import SyncLedger
from syncledger.projections.bulk_rows import insert_rows, rows_by_key, update_rows


def a_table() -> Table:
    return Table("bulk_rows_probe", MetaData(),
                 Column("uuid", String(32), primary_key=True),
                 Column("name", String(200)),
                 Column("tags", JSON, nullable=False),
                 Column("extra", JSON),
                 Column("gone", Boolean, nullable=False))


def read_through_sqlalchemy(connection: Connection, table: Table) -> dict[str, Any]:
    return {row["uuid"]: dict(row) for row in connection.execute(select(table)).mappings()}


# Rows with empty, nested and missing JSON values, a JSON text and both booleans.
ROWS: list[dict[str, Any]] = [
    {"uuid": "a", "name": "Ada", "tags": [], "extra": None, "gone": False},
    {"uuid": "b", "name": None, "tags": ["x", {"y": 1}], "extra": {"k": [1, None]},
     "gone": True},
    {"uuid": "c", "name": "Cy", "tags": {}, "extra": "", "gone": False},
]


def test_inserted_and_updated_rows_read_back_as_written_through_sqlalchemy(
        store: SyncLedger) -> None:
    # Given rows with empty, nested and missing JSON values, and one written the usual way
    table = a_table()
    with store.database.writer.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), [{**ROWS[0], "uuid": "usual"}])

        # When they are inserted in bulk, then two of them updated in bulk
        insert_rows(connection, table, ROWS)
        changed = [{**ROWS[0], "name": "Ada L.", "tags": ["t"]},
                   {**ROWS[2], "extra": None, "gone": True}]
        update_rows(connection, table, changed)

        # Then every row reads back with the values given, as SQLAlchemy's own insert does
        found = read_through_sqlalchemy(connection, table)
    assert found == {"usual": {**ROWS[0], "uuid": "usual"}, "a": changed[0], "b": ROWS[1],
                     "c": changed[1]}


def test_rows_read_by_key_past_sqlalchemy_are_the_rows_sqlalchemy_reads(
        store: SyncLedger) -> None:
    table = a_table()
    with store.database.writer.begin() as connection:
        table.create(connection)
        connection.execute(table.insert(), ROWS)
        usual = read_through_sqlalchemy(connection, table)
        # Asked in IN lists of a few lengths (the last key given again fills one up), and
        # a key no row has is simply not found.
        found = rows_by_key(connection, table, ["c", "a", "b", "nobody"], a_query=2)
    assert found == usual
    assert all(type(found[k]["gone"]) is bool for k in found)


def test_nothing_to_write_runs_no_statement(store: SyncLedger) -> None:
    table = a_table()
    with store.database.writer.begin() as connection:
        # The table does not exist: any statement would fail.
        insert_rows(connection, table, [])
        update_rows(connection, table, [])
