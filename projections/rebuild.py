"""Rebuilding projections from position 0 into shadow tables that are swapped in whole, so
readers never see a half-built view.

Up to the log's head when the rebuild starts, the log is read aggregate by aggregate, over
spans of aggregate ids: an `AggregateRows` view folds each aggregate's events into its row
and inserts it once, never reading a row back, and an `InDatabase` view runs its SQL over
the same span. On PostgreSQL the event index is filled along the spans too, from the states
the span's read has parsed already. A long log's spans are rebuilt in parallel processes,
one per core (each span's rows are its own, so they never touch the same row). Events
appended meanwhile are then caught up in log order, as every catch-up is."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect, text

from syncledger.adapters.collector import collector_paused
from syncledger.adapters.database import drop_table
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.log_reader import IdSpan, log_table, span_keys, span_pages
from syncledger.adapters.plain_events import PlainDecoder, Row
from syncledger.adapters.tracking import forget_positions, record_positions
from syncledger.projections.base import SHADOW, AggregateRows, InDatabase, Projection, Rows
from syncledger.projections.event_index import Entries, EventIndex
from syncledger.projections.runner import Progress, catch_up

SPANS = 16  # spans of aggregate ids (by their first hex digit): work units for the workers
RANGES = 8  # ranges of positions for the InDatabase views
# Events decoded and folded at a time: a small page's objects stay in the processor's cache
# (a page of 5,000 cost a fifth more than pages of 500).
PAGE = 500
INSERT_EVERY = 2000  # rows of a span inserted in one transaction
ENTRIES_EVERY = 20_000  # event index entries (a line each, no object) inserted in one
# Below this many events a worker's start (a new interpreter importing the package) costs
# more than it saves.
PARALLEL_FROM = 50_000
INDEXING = 4  # shadow tables indexed at once (PostgreSQL), each on a connection of its own


def rebuild(app: SyncLedger, projections: Sequence[Projection],
            progress: Progress | None = None, workers: int | None = None) -> int:
    """Rebuild `projections`; returns how many events were read. `workers`: processes for
    the spans (default: one per core for a long log, else none)."""
    shadows = [p.shadow() for p in projections]
    names = [f"{p.name}{p.suffix}" for p in shadows]
    postgres = app.store.kind != "sqlite"
    with app.database.writer.begin() as connection:
        for shadow, name in zip(shadows, names, strict=True):
            _drop(connection, shadow)
            forget_positions(connection, name)
            for table in shadow.tables.values():
                # Secondary indexes are built once the rows are in: kept up to date row by
                # row they rewrite pages all over the index at every batch.
                table.create(connection)
                for index in table.indexes:
                    connection.execute(text(f'DROP INDEX "{index.name}"'))
                if postgres:
                    # So are primary keys on PostgreSQL (SQLite cannot add one to a table):
                    # the event index's entries come in span order, scattered over it.
                    _primary_key(connection, table, add=False)
    head = app.recorder.max_notification_id() or 0
    read = 0
    if head:
        tasks = plan(shadows, head, in_spans=postgres)
        covered = coverage(app, shadows, tasks, head)
        count = workers if workers is not None else \
            (len(os.sched_getaffinity(0)) if head >= PARALLEL_FROM else 1)
        done = _in_workers(app, shadows, tasks, head, count) if count > 1 else \
            _in_process(app, shadows, tasks, head)
        for task, counted in done:
            events = covered.get(task, counted)
            read += events
            if progress:
                progress(events)
    if postgres:
        _index(app, [table for shadow in shadows for table in shadow.tables.values()])
    if head:
        with app.database.writer.begin() as connection:
            for name in names:
                record_positions(connection, name, [head])
    read += catch_up(app, shadows, progress, names=names)
    kill_point("rebuild.shadows_built")
    with app.database.writer.begin() as connection:
        for live, shadow, name in zip(projections, shadows, names, strict=True):
            _swap(connection, live, shadow)
            kill_point("rebuild.swapping")  # in the swap's transaction, one view swapped
            forget_positions(connection, live.name)
            connection.execute(text("UPDATE projection_tracking SET projection = :live "
                                    "WHERE projection = :shadow"),
                               {"live": live.name, "shadow": name})
    kill_point("rebuild.swapped")
    return read


def id_spans(count: int = SPANS) -> list[IdSpan]:
    bounds = [f"{n * 16 // count:x}".ljust(32, "0") for n in range(count)]
    return [IdSpan(low, high) for low, high in zip(bounds, [*bounds[1:], None], strict=True)]


@dataclass(frozen=True)
class Positions:
    """A range of log positions, for the InDatabase views."""

    first: int
    last: int


Task = IdSpan | Positions


def along_spans(projection: Projection, postgres: bool) -> bool:
    """Whether a view is filled along the spans of aggregate ids: a folded view, and on
    PostgreSQL the event index too, from the states the span's read parses anyway (the
    server parsing every state again over ranges of positions cost more than the rest of
    a rebuild's work on it). SQLite's one write lock keeps that one in the database."""
    return isinstance(projection, AggregateRows) or \
        postgres and isinstance(projection, EventIndex)


def plan(shadows: Sequence[Projection], head: int, in_spans: bool = False) -> list[Task]:
    """The work units of a rebuild up to `head`: the spans of aggregate ids of the views
    filled along them (`along_spans`; `in_spans`: on PostgreSQL), and the other
    InDatabase views' ranges of positions (read in log order: their SQL reads no more than
    the events' plain parts)."""
    spans: list[Task] = list(id_spans()) if any(along_spans(p, in_spans)
                                                for p in shadows) else []
    ranges: list[Task] = []
    if any(isinstance(p, InDatabase) and not along_spans(p, in_spans) for p in shadows):
        step = -(-head // RANGES)
        ranges = [Positions(first, min(first + step - 1, head))
                  for first in range(1, head + 1, step)]
    # Interleaved: a range holds SQLite's write lock while its SQL runs, and a worker
    # folding a span meanwhile needs it only to insert.
    tasks: list[Task] = []
    per_range = -(-len(spans) // len(ranges)) if ranges else len(spans)
    for index in range(max(len(ranges), 1)):
        tasks += ranges[index:index + 1] + spans[index * per_range:(index + 1) * per_range]
    return tasks


def coverage(app: SyncLedger, shadows: Sequence[Projection], tasks: list[Task],
             head: int) -> dict[Task, int]:
    """The events each work unit stands for, in a rebuild's count and progress: a span's
    events, read or not, and a range's positions only when no folded view reads the same
    events again. A span that reads every event (with the event index) counts them as it
    reads them, and is left out: counting them first cost a pass over the log."""
    folded = any(isinstance(p, AggregateRows) for p in shadows)
    counting = any(_indexed(app, shadows))
    covered: dict[Task, int] = {task: 0 if folded or isinstance(task, IdSpan) else
                                task.last - task.first + 1 for task in tasks
                                if not (counting and isinstance(task, IdSpan))}
    spans = [task for task in tasks if isinstance(task, IdSpan)]
    if spans and not counting:
        log = log_table(app)
        with app.database.reader.connect() as connection:
            for n, events in connection.exec_driver_sql(log.span_counts(spans, head)):
                covered[spans[int(n)]] = int(events)
    return covered


def run_task(app: SyncLedger, shadows: Sequence[Projection], task: Task, head: int) -> int:
    """Do one work unit; returns how many events it read."""
    if isinstance(task, IdSpan):
        return fold_span(app, [p for p in shadows if isinstance(p, AggregateRows)], task,
                         head, next(_indexed(app, shadows), None))
    log = log_table(app)
    postgres = app.store.kind != "sqlite"
    with app.database.writer.begin() as connection:
        for projection in shadows:
            if isinstance(projection, InDatabase) and not along_spans(projection, postgres):
                projection.process_range(connection, log, log.positions(task.first, task.last))
    return task.last - task.first + 1


def _indexed(app: SyncLedger, shadows: Sequence[Projection]) -> Iterator[EventIndex]:
    """The event index, when it is filled along the spans."""
    postgres = app.store.kind != "sqlite"
    return (p for p in shadows if isinstance(p, EventIndex) and along_spans(p, postgres))


def fold_span(app: SyncLedger, folded: Sequence[AggregateRows], span: IdSpan, head: int,
              index: EventIndex | None = None) -> int:
    """Build the rows of the aggregates in `span` from their events up to `head`, and with
    `index` its entries of every event in the span (read whatever their topic); returns
    how many events it read."""
    read_events = 0
    decoder = PlainDecoder(app.keys)
    keys = span_keys(app, span)
    held: list[Rows] = [{} for _ in folded]  # rows of aggregates whose events may go on
    topics: list[set[str]] = [set() for _ in folded]  # the topics each view reads, as seen
    read: set[str] = set()  # the topics some view reads, as seen
    complete: list[list[dict[str, Any]]] = [[] for _ in folded]  # folded, to be inserted
    indexed: list[str] = []  # the index's entries, to be inserted
    entries = Entries()
    # Paused for the whole span: what is held between pages makes every collection walk
    # more, and nothing here builds cycles.
    with collector_paused():
        for rows in span_pages(app, span, head, PAGE, None if index else _topics(folded)):
            going_on = rows[-1][1]  # the page's last aggregate may have more events
            read_events += len(rows)
            page = {row[3] for row in rows}
            for topic in page:
                for projection, wanted in zip(folded, topics, strict=True):
                    if projection.wants(topic):
                        wanted.add(topic)
                        read.add(topic)
            others: list[Row] = []  # read for the index alone
            if page <= read:
                decoded = decoder.decode(rows, keys)
            else:
                page &= read
                decoded = decoder.decode([row for row in rows if row[3] in page], keys) \
                    if page else []
                others = [row for row in rows if row[3] not in page]
            if index is not None:
                indexed += entries(decoded, others)
            # A page is mostly one view's whole, passed as it is; else one pass over it per
            # view that reads some, each a comprehension (a loop routing each event costs
            # more than reading it).
            events = [decoded if wanted >= page else
                      [e for e in decoded if e.topic in wanted] if wanted & page else []
                      for wanted in topics]
            for projection, rows_of, done, mine in zip(folded, held, complete, events,
                                                       strict=True):
                projection.apply_all(rows_of, mine)
                kept = rows_of.pop(going_on, None)
                done.extend(rows_of.values())
                rows_of.clear()
                if kept is not None:
                    rows_of[going_on] = kept
            if sum(map(len, complete)) >= INSERT_EVERY or len(indexed) >= ENTRIES_EVERY:
                # Folded outside the transaction: parallel workers wait for SQLite's one
                # write lock only while they insert.
                _insert(app, folded, complete, index, indexed)
                complete = [[] for _ in folded]
                indexed = []
        _insert(app, folded, [done + list(rows_of.values())
                              for done, rows_of in zip(complete, held, strict=True)],
                index, indexed)
    return read_events


def _topics(folded: Sequence[AggregateRows]) -> list[str] | None:
    """What the span read asks for: only what the views read (the others' states are never
    read out of the database)."""
    if any(p.topics is None for p in folded):
        return None
    return sorted({prefix for p in folded for prefix in p.topics or ()})


def _insert(app: SyncLedger, folded: Sequence[AggregateRows], rows: list[list[dict[str, Any]]],
            index: EventIndex | None, indexed: list[str]) -> None:
    with app.database.writer.begin() as connection:
        for projection, complete in zip(folded, rows, strict=True):
            projection.insert(connection, complete)
        if index is not None:
            index.copy_entries(connection, indexed)


def _in_process(app: SyncLedger, shadows: Sequence[Projection], tasks: list[Task],
                head: int) -> Iterator[tuple[Task, int]]:
    for task in tasks:
        yield task, run_task(app, shadows, task, head)


# -- the worker processes ---------------------------------------------------------------------

_worker_app: SyncLedger | None = None


def _in_workers(app: SyncLedger, shadows: Sequence[Projection], tasks: list[Task],
                head: int, count: int) -> Iterator[tuple[Task, int]]:
    """Run the tasks in `count` processes; yields each task as it is done, with the number
    of events it read."""
    kinds = [type(p) for p in shadows]
    context = multiprocessing.get_context(_start_method(app))
    if isinstance(context, multiprocessing.context.ForkServerContext):
        # The fork server imports what this process holds of the package (from the command
        # line, all of it: each worker imports the caller's main module), so that a worker
        # forked from it has nothing left to import. A `__main__` would run a command.
        package = __name__.partition(".")[0]
        context.set_forkserver_preload(sorted(
            name for name in sys.modules
            if name.startswith(f"{package}.") and not name.endswith(".__main__")))
    with ProcessPoolExecutor(max_workers=min(count, len(tasks)), mp_context=context,
                             initializer=_open_worker,
                             initargs=(app.store.url, dict(os.environ))) as pool:
        futures = {pool.submit(_task_in_worker, kinds, task, head): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _start_method(app: SyncLedger) -> str:
    """A fork starts a worker at once, where a new interpreter first imports the package and
    the caller's main module (half a second; a second and a half from the command line). It
    is safe only without threads (PostgreSQL's pool runs some), and the worker opens a store
    of its own, never touching the connections it inherits. Else the workers are forked
    from a fork server: one new interpreter, which imports all that once (and serves the
    process's later rebuilds too)."""
    if app.store.kind == "sqlite" and threading.active_count() == 1:
        return "fork"
    return "forkserver"


def _open_worker(url: str, environ: dict[str, str]) -> None:
    from syncledger.adapters.store_opening import open_store  # the worker's own store

    # The caller's environment as it is now (its key, its configuration), not the one a
    # fork server started with.
    os.environ.clear()
    os.environ.update(environ)
    global _worker_app
    _worker_app = open_store(url)


def _task_in_worker(kinds: list[type[Projection]], task: Task, head: int) -> int:
    assert _worker_app is not None
    shadows = [kind(MetaData(), SHADOW) for kind in kinds]
    return run_task(_worker_app, shadows, task, head)


# -- the swap ---------------------------------------------------------------------------------

def _drop(connection: Connection, projection: Projection) -> None:
    existing = set(inspect(connection).get_table_names())
    for table in projection.tables.values():
        if table.name in existing:
            drop_table(connection, table.name, projection.personal)


def _primary_key(connection: Connection, table: Table, add: bool) -> None:
    """Drop a shadow table's primary key (PostgreSQL), or add it back under the same name,
    which the swap renames."""
    if not table.primary_key.columns:
        return
    name = f"{table.name}_pkey"
    if add:
        columns = ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
        connection.execute(text(f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{name}" '
                                f"PRIMARY KEY ({columns})"))
    else:
        connection.execute(text(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{name}"'))


def _index(app: SyncLedger, tables: list[Table]) -> None:
    """Build the shadow tables' primary keys and secondary indexes (PostgreSQL), a table on
    a connection of its own, side by side: the swap only renames them, so the live views
    are locked for no index build."""
    def build(table: Table) -> None:
        with app.database.writer.begin() as connection:
            _primary_key(connection, table, add=True)
            for index in table.indexes:
                index.create(connection)

    with ThreadPoolExecutor(max_workers=min(len(tables), INDEXING)) as pool:
        for built in [pool.submit(build, table) for table in tables]:
            built.result()


def _swap(connection: Connection, live: Projection, shadow: Projection) -> None:
    postgres = connection.dialect.name == "postgresql"
    for logical, table in live.tables.items():
        shadow_table = shadow.tables[logical]
        drop_table(connection, table.name, live.personal)
        if not postgres:
            for index in shadow_table.indexes:
                connection.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
        connection.execute(text(f'ALTER TABLE "{shadow_table.name}" RENAME TO "{table.name}"'))
        built: set[str] = set()
        if postgres:
            connection.execute(text(
                f'ALTER TABLE "{table.name}" RENAME CONSTRAINT "{shadow_table.name}_pkey" '
                f'TO "{table.name}_pkey"'))
            # Each index is named after its table (see each projection's `define`).
            names = {index.name for index in table.indexes}
            for index in shadow_table.indexes:
                name = str(index.name).replace(shadow.suffix, live.suffix, 1)
                if name in names:
                    connection.execute(text(f'ALTER INDEX "{index.name}" RENAME TO "{name}"'))
                    built.add(name)
                else:  # the next rebuild's shadow would need its name
                    connection.execute(text(f'DROP INDEX "{index.name}"'))
        for index in table.indexes:
            if index.name not in built:
                index.create(connection)

