"""Reading the notification log in pages, for the passes that read all of it (catch-up,
rebuild, verify), as plain rows: in log order, or aggregate by aggregate over a span of
aggregate ids.

The library's `select_notifications` builds a Notification and a UUID for every row (on
SQLite through `UUID(str)` and `sqlite3.Row`); over a long log that costs as much as reading
the rows, and these passes only need the originator's hex digits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import postgres
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.rows import tuple_row

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.person_keys import person_keys
from syncledger.adapters.plain_events import Row


@dataclass(frozen=True)
class IdSpan:
    """Aggregate ids from `low` (inclusive) to `high` (exclusive; None: to the last), as 32
    hex digits: the hex order of ids is their order in both databases' indexes."""

    low: str
    high: str | None


@dataclass(frozen=True)
class LogTable:
    """Where the library keeps the log, and SQL over it (one dialect per database)."""

    kind: str  # "sqlite" or "postgres"
    name: str  # quoted, schema-qualified on PostgreSQL

    @property
    def position(self) -> str:
        return "rowid" if self.kind == "sqlite" else "notification_id"

    def id_literal(self, hex_digits: str) -> str:
        # Only hex digits reach here (IdSpan's own, or validated by UUID()).
        value = UUID(hex_digits).hex if self.kind == "sqlite" else str(UUID(hex_digits))
        return f"'{value}'" if self.kind == "sqlite" else f"'{value}'::uuid"

    def positions(self, first: int, last: int) -> str:
        return f"{self.position} BETWEEN {int(first)} AND {int(last)}"

    def span(self, span: IdSpan, head: int, alias: str = "") -> str:
        """The events of the aggregates in the span, up to position `head` (columns of the
        table named `alias`, if given)."""
        prefix = f"{alias}." if alias else ""
        condition = f"{prefix}originator_id >= {self.id_literal(span.low)}"
        if span.high is not None:
            condition += f" AND {prefix}originator_id < {self.id_literal(span.high)}"
        return f"{condition} AND {prefix}{self.position} <= {int(head)}"

    def topic_prefixes(self, prefixes: Sequence[str], alias: str = "") -> str:
        """A condition: the topic starts with one of the prefixes (topics are module paths
        and class names, never quotes). On PostgreSQL it takes the LIKE patterns
        (`like_patterns`) as its one parameter."""
        column = f"{alias}.topic" if alias else "topic"
        if self.kind == "postgres":
            # One LIKE over an array: a substr() comparison a prefix cost the server more
            # than reading the span's rows (their seven an event, half a span read's time).
            return f"{column} LIKE ANY (%s)"
        if not prefixes:
            return "1 = 0"
        return " OR ".join(f"substr({column}, 1, {len(p)}) = '{p}'" for p in prefixes)

    def span_counts(self, spans: Sequence[IdSpan], head: int) -> str:
        """SQL: (number of the span, its events up to `head`) for contiguous `spans` in
        order, from the first id to the last."""
        if self.kind == "sqlite":
            # The (originator, version) index holds the rowids: each count reads the index.
            return " UNION ALL ".join(
                f"SELECT {n}, COUNT(*) FROM {self.name} WHERE {self.span(span, head)}"
                for n, span in enumerate(spans))
        # PostgreSQL's index holds no positions, so a count a span would visit every row
        # in the table (ten times as long as one pass over it).
        cases = " ".join(f"WHEN originator_id < {self.id_literal(span.high)} THEN {n}"
                         for n, span in enumerate(spans) if span.high is not None)
        return (f"SELECT CASE {cases} ELSE {len(spans) - 1} END, COUNT(*) FROM {self.name} "
                f"WHERE {self.position} <= {int(head)} GROUP BY 1")

    def plain_rows(self, where: str, **paths: tuple[str, ...]) -> str:
        """SQL for the events `where` selects: columns `position`, `originator` (32 hex
        digits), `version`, and one per path, named as given, holding the JSON text at that
        path inside the stored state (NULL when absent); each state parsed once."""
        if self.kind == "sqlite":
            found = ", ".join(f"json_extract(CAST(state AS TEXT), '$.{'.'.join(path)}') "
                              f"AS {name}" for name, path in paths.items())
            return (f"SELECT rowid AS position, originator_id AS originator, "
                    f"originator_version AS version, {found} FROM {self.name} "
                    f"WHERE {where}")
        # json_to_record parses a state once for all its top-level keys; each `#>>` on a
        # json value would parse the whole state again (a third of the event index's time).
        tops = sorted({path[0] for path in paths.values()})
        # A top-level value asked for as text comes out as `#>>` would give it (a string
        # unescaped, anything else as JSON text), without parsing it once more.
        whole = {top for top in tops if all(len(p) == 1 for p in paths.values() if p[0] == top)}
        columns = ", ".join(f'"{top}" {"text" if top in whole else "json"}' for top in tops)
        found = ", ".join(f'r."{path[0]}" AS {name}' if path[0] in whole else
                          f"""r."{path[0]}" #>> '{{{','.join(path[1:])}}}' AS {name}"""
                          for name, path in paths.items())
        return (f"SELECT logged.notification_id AS position, "
                f"replace(logged.originator_id::text, '-', '') AS originator, "
                f"logged.originator_version AS version, {found} "
                f"FROM (SELECT notification_id, originator_id, "
                f"originator_version, convert_from(state, 'UTF8')::json AS state "
                f"FROM {self.name} WHERE {where}) AS logged, "
                f"json_to_record(logged.state) AS r({columns})")

    def rows_query(self, where: str, order: str, keys: bool, limited: bool = True) -> str:
        """SELECT position, originator, version, topic, state and (with `keys`) the
        originator's person key, joined in the same query: most events are filed under
        their originator's key, and a query of its own per page costs as much as the
        decryption. The caller adds its parameters' placeholders to `where` (and, when
        `limited`, gives the LIMIT last)."""
        on = "k.subject = e.originator_id" if self.kind == "sqlite" else \
            "k.subject = replace(e.originator_id::text, '-', '')"
        key, join = ("k.key", f" LEFT JOIN {person_keys.name} AS k ON {on}") if keys \
            else ("NULL", "")
        return (f"SELECT e.{self.position}, e.originator_id, e.originator_version, e.topic, "
                f"e.state, {key} AS key FROM {self.name} AS e{join} WHERE {where} "
                f"ORDER BY {order}" +
                (f" LIMIT {'?' if self.kind == 'sqlite' else '%s'}" if limited else ""))


def log_table(app: SyncLedger) -> LogTable:
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    if app.store.kind == "sqlite":
        return LogTable("sqlite", f'"{table}"')
    schema = app.recorder.datastore.schema  # type: ignore[attr-defined]
    return LogTable("postgres", f'"{schema}"."{table}"')


def read_rows(app: SyncLedger, after: int, limit: int, keys: bool = False) -> list[Row]:
    """Up to `limit` rows (position, originator hex, version, topic, state, key) with
    positions above `after`, in log order; `keys` joins each originator's person key (None
    when it has none or it was destroyed)."""
    log = log_table(app)
    mark = "?" if log.kind == "sqlite" else "%s"
    query = log.rows_query(f"e.{log.position} > {mark}", f"e.{log.position}", keys)
    return _fetch(app, query, (after, limit))


def span_pages(app: SyncLedger, span: IdSpan, head: int, page: int,
               topics: Sequence[str] | None = None) -> Iterator[list[Row]]:
    """The rows of the aggregates in `span`, up to position `head`, aggregate by aggregate
    and each in version order, in pages (without keys: `span_keys` reads them at once);
    with `topics`, only the events whose topic starts with one of them."""
    log = log_table(app)
    where = log.span(span, head, alias="e")
    params: tuple[Any, ...] = ()
    if topics is not None:
        where += f" AND ({log.topic_prefixes(topics, alias='e')})"
        if log.kind == "postgres":
            params = (like_patterns(topics),)
    order = "e.originator_id, e.originator_version"
    # One statement read in pages, never a query a page: SQLite would not seek on an
    # (id, version) keyset, and PostgreSQL plans each such page as a sort of the rest of
    # the span (a rebuild of a million events took several times as long).
    query = log.rows_query(where, order, keys=False, limited=False)
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if log.kind == "sqlite":
        with datastore.transaction(commit=False) as wrapper:
            cursor = wrapper.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(query)
            while rows := cursor.fetchmany(page):
                yield rows
        return
    with _postgres_cursor(datastore, name="span_rows") as server_side:
        server_side.itersize = page
        server_side.execute(query.encode(), params or None)
        while fetched := server_side.fetchmany(page):
            yield fetched


def span_keys(app: SyncLedger, span: IdSpan) -> dict[str, bytes | None]:
    """The person keys of the subjects in `span`, in one query (read through the driver: a
    span holds tens of thousands)."""
    log = log_table(app)
    mark = "?" if log.kind == "sqlite" else "%s"
    query = f"SELECT subject, key FROM {person_keys.name} WHERE subject >= {mark}"
    params: tuple[str, ...] = (span.low,)
    if span.high is not None:
        query += f" AND subject < {mark}"
        params += (span.high,)
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if log.kind == "sqlite":
        with datastore.transaction(commit=False) as wrapper:
            cursor = wrapper.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(query, params)
            return dict(cursor.fetchall())
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(query.encode(), params)
        return {row["subject"]: row["key"] for row in cursor.fetchall()}


def _fetch(app: SyncLedger, query: str, params: tuple[Any, ...]) -> list[Row]:
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if app.store.kind == "sqlite":
        with datastore.transaction(commit=False) as wrapper:
            cursor = wrapper.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(query, params)
            found: list[Row] = cursor.fetchall()
            return found
    with _postgres_cursor(datastore) as cursor:
        cursor.execute(query.encode(), params)  # already composed: no placeholders to quote
        rows: list[Row] = cursor.fetchall()
        return rows


def like_patterns(prefixes: Sequence[str]) -> list[str]:
    """LIKE patterns matching what starts with one of the prefixes."""
    return [p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for p in prefixes]


@contextmanager
def _postgres_cursor(datastore: Any, name: str = "") -> Iterator[Any]:
    """A read-only cursor of tuples in PostgreSQL's binary format: the stored states come
    as they are, where the text format spells each byte in hex for the driver to undo (a
    third of a read). Originator ids come as the hex digits the rows hold."""
    with datastore.get_connection() as connection, \
            connection.transaction(force_rollback=True), \
            connection.cursor(name=name, binary=True, row_factory=tuple_row) as cursor:
        cursor.adapters.register_loader(UUID_OID, _HexLoader)
        yield cursor


UUID_OID = postgres.types["uuid"].oid


class _HexLoader(Loader):
    """A UUID as its 32 hex digits: a UUID object built for each row, only to be read back
    as hex, cost a tenth of a span's read."""

    format = Format.BINARY

    def load(self, data: Buffer) -> str:
        return data.hex()
