"""How fast the event store records an app import and feeds the people view, on SQLite and on
PostgreSQL in the same run, each against the bare eventsourcing library (issue 3 item 9,
issue 9's cost of encryption).

  (a) `import_file` of N people (people only) in events/s, against a plain
      `eventsourcing.application.Application` saving simple aggregates in batches of the same
      size, on the same recorder and settings, each in a fresh database (target 0.5x or more);
  (b) the people projection catching up over that log, against a bare read of the
      notification log (pages of 2000, nothing decoded), with a decoded read (every event
      parsed and opened as projections read them, nothing done with them) and
      a rebuild of every live projection for context (target 0.25x or more);
  (c) the import's peak traced memory (tracemalloc) at two sizes, on SQLite (target: flat,
      a ratio close to 1, because the file is streamed, not loaded whole);
  (d) the same import through the plain library Mapper, without per-person encryption
      (target: the encrypted import at 0.7x or more of that rate).

Each measure runs --repeat times (default 3), ours and its baseline interleaved, and the
best time of each counts: this machine is shared, and one slow moment should not decide a
ratio. Times are printed, never asserted. PostgreSQL gets a database of its own per measurement,
with a random name, dropped after; it is skipped with a message when nothing listens.

The default N is the issue's 100,000 people (200,000 events), and (c) compares N/10 with N/2
people: the id caches are bounded at a few thousand entries, so below that size an import's
peak still grows while they fill. `--profile 10000` adds a cProfile of a 10k import on
SQLite, showing the top cumulative functions in our code.

Run: .venv/bin/python bench/store.py [--people N] [--repeat R] [--skip-postgres] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import re
import secrets
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper
from report import Row, table_lines

import syncledger
from syncledger.adapters.database import open_database
from syncledger.adapters.event_store import SyncLedger, create_tables
from syncledger.adapters.log_reader import read_rows
from syncledger.adapters.plain_events import PlainDecoder
from syncledger.adapters.postgres_admin import create_database, drop_database, listening
from syncledger.adapters.store_url import StoreURL
from syncledger.adapters.tracking import forget_positions
from syncledger.commands.app_import import LINES_PER_BATCH, import_file
from syncledger.commands.sample_app_data import app_lines, write_app_data
from syncledger.commands.session import open_store
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE, PEOPLE
from syncledger.projections.runner import catch_up

DEFAULT_PEOPLE = 100_000
POSTGRES = os.environ.get("SYNCLEDGER_BENCH_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/test")
PAGE = 2000  # notifications per bare read, as the projection runner reads them
# One import batch saves, per person line, Person.Recorded and EmailClaim.Claimed, and the
# store appends one LogSealed seal to every save: the bare save writes as many rows a save.
EVENTS_PER_SAVE = 2 * LINES_PER_BATCH + 1
ACTOR = "bench"


# -- stores -----------------------------------------------------------------------------------

@dataclass
class Backend:
    name: str
    workdir: Path
    admin_url: str = ""

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of a fresh, empty store, removed after."""
        if self.name == "sqlite":
            path = self.workdir / f"store-{secrets.token_hex(4)}.db"
            try:
                yield f"sqlite:///{path}"
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        url = create_database(self.admin_url, "syncledger_bench")
        try:
            yield url
        finally:
            drop_database(self.admin_url, url)


class PlainLedger(SyncLedger):
    """Our store with the library's own Mapper: no per-person encryption (issue 9's baseline)."""

    def construct_mapper(self) -> Mapper[UUID]:
        return Mapper(transcoder=self.construct_transcoder())


def open_plain(url: str) -> SyncLedger:
    store = StoreURL.parse(url)
    database = open_database(store)
    create_tables(database)
    return PlainLedger(store, database)


def close(app: SyncLedger) -> None:
    app.close()
    app.database.dispose()


@contextmanager
def opened(url: str, opener: Callable[[str], SyncLedger] = open_store) -> Iterator[SyncLedger]:
    app = opener(url)
    try:
        yield app
    finally:
        close(app)


# -- data -------------------------------------------------------------------------------------

def people_file(source: Path, people: int, target: Path) -> Path:
    """The first `people` people of a larger generated file: the generator is sequential and
    seeded, so this is exactly what write_app_data(target, people) would write, faster."""
    header = sum(1 for _ in app_lines(0, activities=False))
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        dst.writelines(islice(src, header + people))
    return target


# -- measurements -----------------------------------------------------------------------------

def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def log_size(app: Application) -> int:
    return app.recorder.max_notification_id() or 0


def measure_import(url: str, path: Path,
                   opener: Callable[[str], SyncLedger] = open_store) -> tuple[float, int]:
    """(seconds, events recorded) of import_file into a fresh store."""
    with opened(url, opener) as app:
        seconds, summary = timed(lambda: import_file(app, path, ACTOR))
        assert summary.recorded.get("person"), "the import recorded no person"
        return seconds, log_size(app)


class Contact(Aggregate):
    def __init__(self, name: str, email: str) -> None:
        self.name = name
        self.email = email


def measure_bare_save(url: str, events: int) -> float:
    """A plain library Application with the same persistence settings, saving `events`
    one-event aggregates, EVENTS_PER_SAVE a save."""
    store = StoreURL.parse(url)
    if store.kind == "sqlite":
        assert store.sqlite_path is not None
        store.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    app: Application[UUID] = Application(env=store.eventsourcing_env())
    try:
        def work() -> None:
            done = 0
            while done < events:
                size = min(EVENTS_PER_SAVE, events - done)
                app.save(*[Contact(name=f"Person {done + i}",
                                   email=f"person.{done + i}@example.com")
                           for i in range(size)])
                done += size

        seconds, _ = timed(work)
        assert log_size(app) == events
        return seconds
    finally:
        app.close()


def bare_read(app: Application) -> int:
    start = 0
    count = 0
    while True:
        page = app.recorder.select_notifications(start=start + 1, limit=PAGE)
        if not page:
            return count
        count += len(page)
        start = page[-1].id


def decoded_read(app: SyncLedger) -> int:
    """Every event read and decoded as the projections read them (parsed, personal fields
    opened), and nothing done with them: the floor under any projection's catch-up."""
    decoder = PlainDecoder(app.keys)
    start, count = 0, 0
    while True:
        rows = read_rows(app, start, PAGE, keys=True)
        if not rows:
            return count
        decoder.decode(rows)
        count += len(rows)
        start = rows[-1][0]


def measure_reads(url: str, repeat: int, times: dict[str, list[float]]
                  ) -> tuple[int, int, int, int]:
    """(b) on the log just imported, each pass `repeat` times in a fresh app, as a new
    process would: the bare read, the decoded read, the people catch-up (from an empty
    view each time) and a rebuild of every live view; their times go into `times`."""
    counts = (0, 0, 0, 0)
    for _ in range(repeat):
        with opened(url) as app:
            seconds, read = timed(lambda: bare_read(app))
            times["bare"].append(seconds)
        with opened(url) as app:
            seconds, decoded = timed(lambda: decoded_read(app))
            times["decoded"].append(seconds)
        with opened(url) as app:
            empty_view(app, PEOPLE.name)
            seconds, caught = timed(lambda: catch_up(app, [PEOPLE]))
            times["people"].append(seconds)
        with opened(url) as app:
            seconds, rebuilt = timed(lambda: rebuild(app, list(LIVE.values())))
            times["live"].append(seconds)
        say(f"(b) bare read {read:,} in {times['bare'][-1]:.2f} s; decoded read "
            f"{times['decoded'][-1]:.2f} s; catch_up people {times['people'][-1]:.2f} s; "
            f"rebuild all live ({', '.join(LIVE)}) {times['live'][-1]:.2f} s")
        counts = (read, decoded, caught, rebuilt)
    return counts


def empty_view(app: SyncLedger, name: str) -> None:
    """The view's rows and position gone: the next catch-up starts from the first event."""
    with app.database.writer.begin() as connection:
        for table in LIVE[name].tables.values():
            connection.execute(table.delete())
        forget_positions(connection, name)


def measure_memory(url: str, path: Path) -> int:
    """Peak traced memory (bytes) above what was allocated before import_file started."""
    with opened(url) as app:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            import_file(app, path, ACTOR)
            return tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()


# -- report -----------------------------------------------------------------------------------

def say(message: str) -> None:
    print(message, flush=True)


def rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f} ev/s"


def run_backend(backend: Backend, path: Path, people: int, rows: list[Row],
                repeat: int) -> None:
    """Each measure `repeat` times, interleaved (ours, then its baseline), each import and
    save in a fresh database: the best time of each counts, so that a moment of load from
    another tenant of the machine does not decide a ratio."""
    name = backend.name
    say(f"\n== {name}: {people:,} people, best of {repeat} ==")
    imports: list[float] = []
    saves: list[float] = []
    plains: list[float] = []
    reads: dict[str, list[float]] = {"bare": [], "decoded": [], "people": [], "live": []}
    events = read = decoded = caught = rebuilt = 0
    for round_ in range(repeat):
        with backend.fresh() as url:
            seconds, events = measure_import(url, path)
            imports.append(seconds)
            say(f"(a) import_file (encrypted): {events:,} events in {seconds:.1f} s: "
                f"{rate(events, seconds)} ({people / seconds:,.0f} people/s)")
            if round_ == 0:
                read, decoded, caught, rebuilt = measure_reads(url, repeat, reads)
        with backend.fresh() as url:
            saves.append(measure_bare_save(url, events))
        say(f"(a) bare eventsourcing save: {events:,} events, {EVENTS_PER_SAVE} a save, in "
            f"{saves[-1]:.1f} s: {rate(events, saves[-1])}")
        with backend.fresh() as url:
            plain_s, plain_events = measure_import(url, path, open_plain)
            plains.append(plain_s)
        say(f"(d) import_file, plain Mapper (unencrypted): {plain_events:,} events in "
            f"{plain_s:.1f} s: {rate(plain_events, plain_s)}")
    seconds, bare_s, plain_s = min(imports), min(saves), min(plains)
    read_s, decoded_s, people_s, live_s = (min(reads[k]) for k in reads)
    ours, bare, plain = events / seconds, events / bare_s, plain_events / plain_s
    ratio_a = ours / bare
    ratio_b = (caught / people_s) / (read / read_s)
    ratio_d = ours / plain
    say(f"ratios: (a) import/bare save {ratio_a:.2f}x; (b) people catch-up/bare read "
        f"{ratio_b:.3f}x (decoded read/bare read {(decoded / decoded_s) / (read / read_s):.3f}x,"
        f" rebuild all live/bare read {(rebuilt / live_s) / (read / read_s):.3f}x); "
        f"(d) encrypted/unencrypted {ratio_d:.2f}x")
    rows += [
        Row("(a) import_file", rate(events, seconds), f"bare save {rate(events, bare_s)}",
            ratio_a, ">= 0.5x", ratio_a >= 0.5, store=name),
        Row("(b) catch_up people", rate(caught, people_s),
            f"bare read {rate(read, read_s)}", ratio_b, ">= 0.25x", ratio_b >= 0.25, store=name),
        Row("    decoded read", rate(decoded, decoded_s), "bare read",
            (decoded / decoded_s) / (read / read_s), "context", None, store=name),
        Row("    rebuild all live", rate(rebuilt, live_s), "bare read",
            (rebuilt / live_s) / (read / read_s), "context", None, store=name),
        Row("(d) encrypted import", rate(events, seconds),
            f"unencrypted {rate(plain_events, plain_s)}", ratio_d, ">= 0.7x", ratio_d >= 0.7,
            store=name),
    ]


def run_memory(backend: Backend, source: Path, sizes: tuple[int, int], rows: list[Row]) -> None:
    small, large = sizes
    say(f"\n== {backend.name}: (c) peak traced memory of import_file, {small:,} and "
        f"{large:,} people (tracemalloc) ==")
    peaks = []
    for people in sizes:
        path = people_file(source, people, backend.workdir / f"people-{people}.jsonl")
        with backend.fresh() as url:
            peak = measure_memory(url, path)
        peaks.append(peak)
        say(f"(c) {people:,} people: peak {peak / 2**20:.1f} MiB")
        path.unlink()
    ratio = peaks[1] / peaks[0]
    per_person = (peaks[1] - peaks[0]) / (large - small)
    say(f"ratio {ratio:.2f}x for {large / small:.0f}x the people "
        f"({per_person:,.0f} bytes more per extra person)")
    rows.append(Row(f"(c) peak memory {large:,}/{small:,}",
                    f"{peaks[1] / 2**20:.1f} MiB", f"{peaks[0] / 2**20:.1f} MiB", ratio,
                    "~1x (flat)", ratio <= 1.25, store=backend.name))


def run_profile(backend: Backend, source: Path, people: int, top: int = 25) -> None:
    say(f"\n== {backend.name}: cProfile of import_file, {people:,} people: top cumulative "
        f"functions in syncledger ==")
    path = people_file(source, people, backend.workdir / f"profile-{people}.jsonl")
    profile = cProfile.Profile()
    with backend.fresh() as url, opened(url) as app:
        profile.runcall(import_file, app, path, ACTOR)
    path.unlink()
    ours = re.escape(str(Path(syncledger.__file__).parent)) + r"/(?!\.venv/|build/)"
    pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(ours, top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE,
                        help=f"people imported for (a), (b) and (d) (default {DEFAULT_PEOPLE})")
    parser.add_argument("--memory-people", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                        help="the two import sizes of (c) (default N/10 and N/2)")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measure, the best counting (default 3)")
    parser.add_argument("--profile", type=int, metavar="PEOPLE",
                        help="also profile an import of PEOPLE people on SQLite (e.g. 10000)")
    parser.add_argument("--postgres", default=POSTGRES,
                        help="server where databases are created and dropped "
                             "(default $SYNCLEDGER_BENCH_POSTGRES or %(default)s)")
    args = parser.parse_args()
    people = args.people
    sizes = tuple(args.memory_people or (max(people // 10, 1), max(people // 2, 2)))
    assert len(sizes) == 2 and 0 < sizes[0] < sizes[1], "--memory-people SMALL LARGE"

    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="syncledger-bench-") as tmp:
        workdir = Path(tmp)
        largest = max(people, sizes[1], args.profile or 0)
        source = workdir / f"people-{largest}-all.jsonl"
        generate_s, _ = timed(lambda: write_app_data(source, largest, seed=1,
                                                     activities=False))
        say(f"generated {largest:,} people (no activities) in {generate_s:.1f} s")
        path = source if largest == people else people_file(
            source, people, workdir / f"people-{people}.jsonl")

        backends = [Backend("sqlite", workdir)]
        if args.skip_postgres:
            say("PostgreSQL skipped (--skip-postgres)")
        elif not listening(args.postgres):
            say(f"PostgreSQL skipped: nothing listens at {urlsplit(args.postgres).netloc}")
        else:
            backends.append(Backend("postgres", workdir, args.postgres))
        for backend in backends:
            run_backend(backend, path, people, rows, args.repeat)
        run_memory(backends[0], source, (sizes[0], sizes[1]), rows)
        if args.profile:
            run_profile(backends[0], source, args.profile)

    say("")
    for line in table_lines(rows):
        say(line)
    say(f"\n(c) on {backends[0].name} only: memory is the Python process's. Whole run: "
        f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
