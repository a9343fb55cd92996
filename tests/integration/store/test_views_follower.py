"""The views follower (projections/follower.py): a process of its own that catches the views
up while a run records, on SQLite and on PostgreSQL; the run's own catch-up then finds
nothing left, and takes the work back when the follower is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from projection_dump import projection_rows
from recorded_people import record_people
from sqlalchemy import func, select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.tracking import max_position
from syncledger.projections.follower import ViewsFollower
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE, PEOPLE


def _people_in_view(app: SyncLedger) -> int:
    with app.database.reader.connect() as connection:
        count = select(func.count()).select_from(PEOPLE.tables["people"])
        return int(connection.execute(count).scalar_one())


def _positions(app: SyncLedger) -> set[int | None]:
    with app.database.reader.connect() as connection:
        return {max_position(connection, name) for name in LIVE}


def test_the_follower_catches_the_views_up_and_the_run_finds_nothing_left(
        store: SyncLedger) -> None:
    record_people(store, 200)
    follower = ViewsFollower(store, list(LIVE.values()), follow_from=10)
    follower.decided(9)
    assert not follower.following
    follower.decided(1)
    assert follower.following
    process = follower.process
    assert process is not None
    assert follower.ready(wait=60)
    assert store.store.url not in " ".join(map(str, process.args))  # never where ps shows
    try:
        assert follower.catch_up() == 0  # the follower had read everything asked
        assert _people_in_view(store) == 200
        record_people(store, 100, 200)
        assert follower.catch_up() == 0
        assert _people_in_view(store) == 300
        head = store.recorder.max_notification_id()
        assert _positions(store) == {head}
    finally:
        follower.close()
    assert process.returncode == 0  # it ended on the end of its input, not killed
    assert not follower.following
    # The views it built are the views a rebuild from the log builds.
    followed = projection_rows(store)
    rebuild(store, list(LIVE.values()), workers=0)
    assert projection_rows(store) == followed


def test_asked_meanwhile_the_follower_works_while_the_run_goes_on(store: SyncLedger) -> None:
    """catch_up_meanwhile asks without waiting; the next catch_up takes both answers, in
    order, and finds nothing left."""
    record_people(store, 50)
    follower = ViewsFollower(store, list(LIVE.values()), follow_from=1)
    follower.decided(1)
    assert follower.ready(wait=60)
    try:
        record_people(store, 100, 50)
        follower.catch_up_meanwhile()
        assert follower.asked == [store.recorder.max_notification_id()]
        record_people(store, 50, 150)  # the run records on while the follower works
        assert follower.catch_up() == 0
        assert follower.asked == [] and follower.given_up is None
        assert _people_in_view(store) == 200
    finally:
        follower.close()


def test_asked_meanwhile_with_no_follower_the_run_catches_up_itself(
        sqlite_store: SyncLedger) -> None:
    record_people(sqlite_store, 20)
    follower = ViewsFollower(sqlite_store, list(LIVE.values()))
    follower.catch_up_meanwhile()
    assert not follower.following and follower.asked == []
    assert _people_in_view(sqlite_store) == 20


def test_a_follower_that_dies_leaves_the_catching_up_to_the_run(
        sqlite_store: SyncLedger) -> None:
    record_people(sqlite_store, 2000)
    follower = ViewsFollower(sqlite_store, list(LIVE.values()), follow_from=1)
    follower.decided(1)
    assert follower.process is not None and follower.ready(wait=60)
    follower.process.send_signal(signal.SIGKILL)  # most likely in its first batches
    follower.process.wait()
    record_people(sqlite_store, 50, 2000)
    assert follower.catch_up() > 0  # the run read the events itself
    assert follower.given_up == "it ended (exit code -9)"
    assert _people_in_view(sqlite_store) == 2050
    follower.decided(1000)
    assert not follower.following  # given up for the rest of the run, not started again
    follower.close()
    caught_up = projection_rows(sqlite_store)
    rebuild(sqlite_store, list(LIVE.values()), workers=0)
    assert projection_rows(sqlite_store) == caught_up


RUN_THEN_DIE = """
import os, signal, sys
from syncledger.commands.session import store_session
from syncledger.projections.follower import ViewsFollower
from syncledger.projections.registry import LIVE
with store_session(sys.argv[1]) as app:
    follower = ViewsFollower(app, list(LIVE.values()), follow_from=1)
    follower.decided(1)
    print(follower.process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_follower_ends_when_its_run_is_killed(sqlite_url: str,
                                                sqlite_store: SyncLedger) -> None:
    record_people(sqlite_store, 20)
    run = subprocess.Popen([sys.executable, "-c", RUN_THEN_DIE, sqlite_url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The follower holds the run's standard error too: it reads to its end only once the
    # follower is gone as well.
    out, err = run.communicate(timeout=120)
    assert run.returncode == -signal.SIGKILL
    assert out.strip().isdigit(), err
    assert "Traceback" not in err


def test_a_follower_still_starting_is_stopped_at_once(sqlite_store: SyncLedger) -> None:
    """Its start would cost a run that needs its views now more than the follower saves."""
    follower = ViewsFollower(sqlite_store, list(LIVE.values()), follow_from=1)
    follower.decided(1)
    process = follower.process
    assert process is not None
    follower.close()  # the run never heard it say it was ready
    assert process.returncode == -signal.SIGKILL
    record_people(sqlite_store, 5)
    assert follower.catch_up() > 0 and follower.given_up is None


def test_no_follower_starts_where_the_run_has_one_core(sqlite_store: SyncLedger) -> None:
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        follower = ViewsFollower(sqlite_store, list(LIVE.values()), follow_from=1)
        follower.decided(1000)
        assert not follower.following
    finally:
        os.sched_setaffinity(0, cores)
    record_people(sqlite_store, 5)
    assert follower.catch_up() > 0  # the run catches up by itself, as without a follower
    follower.decided(1000)  # a core to spare again
    assert follower.following
    follower.close()
