"""How fast `rebuild` (every live projection, from position 0, into shadow tables) and
`verify` (every ledger seal recomputed) go over a long log, each against a bare read of the
same log in the same run (issue 7; target 0.5x or more of the bare read's rate).

The bare read is the floor any log-wide pass pays: `recorder.select_notifications` in pages
of 2000, nothing decoded. The log is built once per store (saved through the SyncLedger app,
so it is encrypted and sealed as the engine writes it): people recorded with their email
claims, updated twice and reassigned, a thousand people a save. A store that already holds
the events asked for is reused, so a second run times only the passes.

The bare reads, the rebuild and verify each run --repeat times (default 3), and the best
time of each counts. Times are printed, never asserted.

Run: .venv/bin/python bench/rebuild.py [--events N] [--repeat R] [--store URL]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, Notification

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import open_store
from syncledger.domain.context import Context
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.person import Person
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE
from syncledger.replay.verify import verify

PAGE = 2000  # notifications per bare read, as the projection runner reads them
PEOPLE_PER_SAVE = 1000
EVENTS_PER_PERSON = 5  # Recorded, two Updated, OwnerReassigned, and the EmailClaim
START = datetime(2026, 11, 1, 9, tzinfo=UTC)
TEAM = ("tm-alice", "tm-bob", "tm-carol")
STATUSES = ("New", "Replied", "Interested", None)


def build_log(app: SyncLedger, events: int) -> None:
    """Save people in batches until the log holds at least `events` events."""
    ctx = Context(cause="import:bench", actor="bench")
    people = -(-events // (EVENTS_PER_PERSON + 1 / PEOPLE_PER_SAVE))  # seals count too
    started = time.perf_counter()
    for first in range(0, int(people), PEOPLE_PER_SAVE):
        batch: list[Person | EmailClaim] = []
        for n in range(first, min(first + PEOPLE_PER_SAVE, int(people))):
            at = START + timedelta(seconds=n)
            person = Person.record(f"p-{n}", {
                "email": f"person{n}@example.com", "first_name": f"First{n}",
                "last_name": f"Last{n}", "account": f"Company {n % 997}",
                "owner": TEAM[n % 3], "fields": {"title": "Engineer"}}, at, ctx)
            person.update({"status": STATUSES[n % 4], "flags": ["opened"]},
                          at + timedelta(hours=1), ctx)
            person.update({"fields": {"title": "Director"}}, at + timedelta(hours=2), ctx)
            person.reassign_owner(TEAM[(n + 1) % 3], at + timedelta(hours=3), ctx,
                                  reason="bench")
            batch += [person, EmailClaim.claim("app", person.email, person.id, ctx)]
        app.save(*batch)
        done = app.recorder.max_notification_id() or 0
        if first // PEOPLE_PER_SAVE % 20 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  built {done:>9,} events ({rate:,.0f} events/s)", flush=True)


def read_pages(app: SyncLedger, each: Callable[[Notification], object] | None = None) -> int:
    """The whole log through the library's recorder in pages, `each` applied to every
    notification; returns how many were read."""
    start, count = 0, 0
    while True:
        page = app.recorder.select_notifications(start=start + 1, limit=PAGE)
        if not page:
            return count
        if each is not None:
            for notification in page:
                each(notification)
        count += len(page)
        start = page[-1].id


def parsed_read(app: SyncLedger) -> int:
    """The bare read plus one json.loads per event: the least any pass that looks inside the
    events pays, whatever it does with them."""
    return read_pages(app, lambda notification: json.loads(notification.state))


def library_read(app: SyncLedger) -> int:
    """The bare read plus the library's own mapper and transcoder turning each notification
    into a domain event (personal fields left sealed): reading the log as events."""
    transcoder = JSONTranscoder()
    app.register_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    return read_pages(app, mapper.to_domain_event)


def timed(label: str, run: Callable[[], object], events: int, repeat: int = 1) -> float:
    """The best rate of `repeat` runs: the machine is shared, and one slow moment should not
    decide a ratio."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    seconds = min(times)
    rate = events / seconds
    runs = f"  (best of {', '.join(f'{t:.2f}' for t in times)})" if repeat > 1 else ""
    print(f"{label:<34} {seconds:8.2f} s  {rate:>12,.0f} events/s{runs}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the bare reads, the rebuild and verify; the best counts")
    parser.add_argument("--store", help="store URL (default: a SQLite file in a temporary "
                        "directory); reused when it holds the events already")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = open_store(url)
        try:
            held = app.recorder.max_notification_id() or 0
            if held < args.events:
                if held:
                    raise SystemExit(f"{app.store.redacted()} holds {held} events, fewer "
                                     f"than {args.events}: give an empty store")
                print(f"building a log of {args.events:,} events in {app.store.redacted()}")
                started = time.perf_counter()
                build_log(app, args.events)
                print(f"  built in {time.perf_counter() - started:.0f} s")
            events = app.recorder.max_notification_id() or 0
            print(f"\n{events:,} events, {app.store.kind}; projections: {', '.join(LIVE)}\n")
            bare = timed("bare read (pages of 2000)", lambda: read_pages(app), events,
                         args.repeat)
            rebuilt = timed("rebuild all projections", lambda: rebuild(
                app, list(LIVE.values())), events, args.repeat)
            result = None

            def check() -> None:
                nonlocal result
                result = verify(app)

            verified = timed("verify", check, events, args.repeat)
            again = timed("bare read, again", lambda: read_pages(app), events, args.repeat)
            parsed = timed("bare read + json.loads per event", lambda: parsed_read(app),
                           events)
            as_events = timed("library read as domain events", lambda: library_read(app),
                              events)
            floor = max(bare, again)  # the faster bare read: the stricter comparison
            assert result is not None and result.broken is None, result
            print(f"\nrebuild: {rebuilt / floor:.2f}x the bare read   "
                  f"verify: {verified / floor:.2f}x the bare read   (target 0.5x or more)")
            print(f"parsing alone: {parsed / floor:.2f}x the bare read (no pass that looks "
                  f"inside the events can beat this)")
            print(f"rebuild: {rebuilt / as_events:.2f}x the library's read as events   "
                  f"verify: {verified / as_events:.2f}x")
        finally:
            app.close()
            app.database.dispose()


if __name__ == "__main__":
    main()
