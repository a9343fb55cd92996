"""How long the web view's pages take on a large store (issue 21: a page of a store with
100k runs and 1M events answers within a second).

The store holds --runs sync runs (started and finished, with counts, API calls and some
failures) and, to bring the log to --events events, people recorded as bench/rebuild.py
records them, plus one person whose trail is --trail events long. Pages are asked through
the Flask app (the test client: no network, the same code as the server), after the views
have caught up once (timed apart). Each page is asked --repeat times; the best counts.

Printed beside each: the same answer without paging (every run through `views.logs`, every
event of the trail through `views.history`), which is what an OFFSET-less, limit-less page
would cost. Times are printed, never asserted.

Run: .venv/bin/python bench/web.py [--runs N] [--events N] [--trail N] [--store URL]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rebuild import build_log

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.session import caught_up, open_store
from syncledger.commands.web.app import create_app
from syncledger.domain.context import Context
from syncledger.domain.person import Person
from syncledger.domain.sync_run import SyncRun, empty_counts

START = datetime(2025, 1, 1, tzinfo=UTC)
RUNS_PER_SAVE = 1000
STEPS = ["Contacts to People", "Leads to People", "People to Leads"]


def build_runs(app: SyncLedger, runs: int) -> None:
    for first in range(0, runs, RUNS_PER_SAVE):
        batch = []
        for n in range(first, min(first + RUNS_PER_SAVE, runs)):
            run_id = f"bench{n:08d}"
            ctx = Context(cause=f"run:{run_id}", actor="system")
            at = START + timedelta(minutes=10 * n)
            run = SyncRun.begin(run_id, "salesforce", STEPS, at, ctx)
            counts = empty_counts()
            counts["people"]["created"] = n % 7
            counts["leads"]["updated"] = n % 5
            counts["leads"]["failed"] = 1 if n % 50 == 0 else 0
            errors = [{"step": "People to Leads", "record": {"app": f"p-{n}", "crm": None},
                       "code": "INVALID_EMAIL_ADDRESS", "message": "bench"}
                      ] if n % 50 == 0 else []
            run.finish(counts, {"missing required field Company": n % 3}, errors, False,
                       at + timedelta(seconds=30), ctx, api_calls={"query": 3 + n % 4})
            batch.append(run)
        app.save(*batch)


def build_trail(app: SyncLedger, length: int) -> None:
    ctx = Context(cause="import:bench-trail", actor="bench")
    person = Person.record("p-trail", {"email": "trail@example.com", "first_name": "Trail",
                                       "last_name": "Long", "owner": "tm-alice"}, START, ctx)
    for n in range(1, length):
        person.update({"fields": {"counter": str(n)}}, START + timedelta(seconds=n), ctx)
        if n % 500 == 0:
            app.save(person)
    app.save(person)


def best(repeat: int, ask: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        ask()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--trail", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", default=None, help="default: a SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncledger-bench-web-") as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'web.db'}"
        app = open_store(url)
        try:
            started = time.perf_counter()
            if not (app.recorder.max_notification_id() or 0):
                build_runs(app, args.runs)
                build_trail(app, args.trail)
                rest = args.events - (app.recorder.max_notification_id() or 0)
                if rest > 0:
                    build_log(app, rest)
            events = app.recorder.max_notification_id() or 0
            print(f"store: {events:,} events, built in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            caught_up(app)
            print(f"views caught up once in {time.perf_counter() - started:.1f} s")
            measure(app, args.repeat)
        finally:
            app.close()
            app.database.dispose()


def measure(app: SyncLedger, repeat: int) -> None:
    client = create_app(app).test_client()
    first = client.get("/runs").data.decode()
    more = re.search(r'<tr class="more"><td colspan="12"><a href="([^"]+)"', first)
    assert more is not None, "the Runs page has no next page"
    deep_key = _deep_run_key(app)
    pages = {
        "Runs, first page (50 runs, chart)": "/runs",
        "Runs, next page (keyset)": more.group(1).replace("&amp;", "&"),
        "Runs, a page near the oldest run": f"/runs?after={deep_key}",
        "Runs, failed only": "/runs?outcome=partial",
        "Runs, one step, one month": "/runs?step=People+to+Leads&since=2025-06-01"
                                     "&until=2025-06-30",
        "a person's page (first 50 of the trail)": "/people/p-trail",
        "a person's trail, a page near its end": "/people/p-trail?after="
                                                 f"{_late_position(app)}",
        "the Integration page (without verify)": "/integration",
        "/metrics": "/metrics",
    }
    print(f"{'page':<44} {'best of ' + str(repeat):>10}")
    for label, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        seconds = best(repeat, lambda url=url: client.get(url))  # type: ignore[misc]
        print(f"{label:<44} {seconds * 1000:>8.1f} ms")
    everything = best(1, lambda: views.logs(app, None))
    trail = best(1, lambda: views.history(app, "p-trail"))
    paged = best(repeat, lambda: client.get("/runs"))
    print(f"{'every run at once (views.logs, no paging)':<44} {everything * 1000:>8.1f} ms"
          f"  ({everything / paged:,.0f}x a page)")
    person = best(repeat, lambda: client.get("/people/p-trail"))
    print(f"{'the whole trail at once (views.history)':<44} {trail * 1000:>8.1f} ms"
          f"  ({trail / person:,.1f}x a person's page)")


def _deep_run_key(app: SyncLedger) -> str:
    from sqlalchemy import select

    from syncledger.projections.registry import LOGS

    table = LOGS.tables["sync_logs"]
    with app.database.reader.connect() as connection:
        rows = connection.execute(select(table.c.started_at, table.c.uuid)
                                  .order_by(table.c.started_at, table.c.uuid).limit(61)).all()
    return f"{rows[-1][0]}|{rows[-1][1]}"


def _late_position(app: SyncLedger) -> int:
    entries = views.history(app, "p-trail")
    return int(entries[-60]["position"]) if len(entries) > 60 else 0


if __name__ == "__main__":
    main()
