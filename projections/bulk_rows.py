"""Many rows of a projection table written in one driver call.

SQLAlchemy's executemany runs every parameter of every row through its type processors; for
a catch-up over a long log that costs more than the database's own work. Here the statement
is compiled once, JSON columns are encoded as SQLAlchemy's JSON type would (None as `null`),
and the driver gets plain tuples or dicts in its own parameter style."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Table, bindparam
from sqlalchemy.engine.interfaces import Dialect

from syncledger.adapters.in_lists import in_slices
from syncledger.adapters.json_text import json_bytes, loads

KEY = "key_"  # the bound name of the primary key in updates (a column's own name is taken)


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        _execute(connection, table, "insert", rows)


def _copy(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL's COPY, in the caller's transaction: psycopg's executemany runs one INSERT
    a row on the server (a catch-up spent more time waiting for those than on anything
    else)."""
    json_columns = _json_columns(table)
    names = [c.name for c in table.c]
    # A row's values taken at once, then its few JSON ones encoded in place: a comprehension
    # over every column cost a rebuild more than the driver's own writing of the rows.
    values_of = _values_of(names)
    encoded = [n for n, name in enumerate(names) if name in json_columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        write = copy.write_row
        for row in rows:
            values = values_of(row)
            if encoded:
                values = list(values)
                for n in encoded:
                    values[n] = _json(values[n])
            write(values)


def _values_of(names: list[str]) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """A row's values in the order of `names`, as a tuple (itemgetter's own of one name is
    the value alone)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


def copy_text(connection: Connection, table: Table, columns: Sequence[str],
              lines: Sequence[str]) -> None:
    """Rows already spelled in COPY's text format, a line each, into these columns of the
    table (PostgreSQL), in the caller's transaction: one write, with no per-row call into
    the driver."""
    if not lines:
        return
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        copy.write("".join(lines))


def rows_by_key(connection: Connection, table: Table, keys: Sequence[str],
                key: str = "uuid", a_query: int = 512) -> dict[str, dict[str, Any]]:
    """The rows whose `key` column is one of `keys`, as dicts, by key. The driver's own
    values, turned into what SQLAlchemy's types would read (SQLite's JSON text parsed, its
    0 and 1 made booleans; psycopg parses and types them itself): a catch-up reads back a
    row for most events, and SQLAlchemy's rows and type processors cost more than the
    query."""
    names = [c.name for c in table.c]
    sqlite = connection.dialect.name == "sqlite"
    json_at = [n for n, c in enumerate(table.c) if sqlite and isinstance(c.type, JSON)]
    bool_at = [n for n, c in enumerate(table.c) if sqlite and isinstance(c.type, Boolean)]
    at = names.index(key)
    found: dict[str, dict[str, Any]] = {}
    cursor = connection.connection.cursor()  # in the connection's transaction
    try:
        for part in in_slices(keys, a_query):
            cursor.execute(_select_sql(table, key, len(part), connection.dialect), part)
            for row in cursor.fetchall():
                values = list(row)
                for n in json_at:
                    if values[n] is not None:
                        values[n] = loads(values[n])
                for n in bool_at:
                    if values[n] is not None:
                        values[n] = bool(values[n])
                found[values[at]] = dict(zip(names, values, strict=True))
    finally:
        cursor.close()
    return found


@lru_cache(maxsize=256)
def _select_sql(table: Table, key: str, count: int, dialect: Dialect) -> str:
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    return (f'SELECT {columns} FROM "{table.name}" WHERE "{key}" IN '
            f'({", ".join([marker] * count)})')


def update_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]],
                key: str = "uuid") -> None:
    """Every column of each row, found by its `key` column."""
    if rows:
        _execute(connection, table, f"update:{key}", [{**row, KEY: row[key]} for row in rows])


def _execute(connection: Connection, table: Table, kind: str,
             rows: Sequence[dict[str, Any]]) -> None:
    sql, names, positional = _compiled(table, kind, connection.dialect)
    json_columns = _json_columns(table)
    columns = [(name, name in json_columns) for name in names]
    if positional:
        params: list[Any] = [tuple([_json(row[name]) if encoded else row[name]
                                    for name, encoded in columns]) for row in rows]
    else:
        params = [{name: _json(row[name]) if encoded else row[name]
                   for name, encoded in columns} for row in rows]
    connection.exec_driver_sql(sql, params)


_EMPTY = {type(None): "null", list: "[]", dict: "{}"}


def _json(value: Any) -> str:
    # Most list, dict and sequence columns are empty: their text needs no encoder.
    if not value and type(value) in _EMPTY:
        return _EMPTY[type(value)]
    return json_bytes(value).decode()


@lru_cache(maxsize=64)
def _compiled(table: Table, kind: str, dialect: Dialect) -> tuple[str, tuple[str, ...], bool]:
    if kind == "insert":
        statement: Any = table.insert().values({c.name: bindparam(c.name) for c in table.c})
    else:
        key = kind.split(":", 1)[1]
        statement = table.update().where(table.c[key] == bindparam(KEY)).values(
            {c.name: bindparam(c.name) for c in table.c if c.name != key})
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if compiled.positional else \
        tuple(compiled.binds)
    return compiled.string, names, compiled.positional


@lru_cache(maxsize=64)
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.c if isinstance(c.type, JSON))
