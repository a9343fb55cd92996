"""The library's own recorder conformance cases, run against the recorders exactly as our
store configures them (SQLite file and a PostgreSQL database of its own), and against our
SQLAlchemy tracking recorder: a test suite we did not write is the best check we have."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, TrackingRecorder
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    TrackingRecorderTestCase,
)
from stores import create_postgres_database, drop_postgres_database, postgres_listening

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.tracking import SQLAlchemyTrackingRecorder
from syncledger.commands.session import open_store


class StoreUnderTest:
    """Opens a fresh store of one kind per test method (unittest style)."""

    kind = "sqlite"

    def setUp(self) -> None:  # noqa: N802 (unittest's name)
        self._threads_before = set(threading.enumerate())
        self._stores: list[SyncLedger] = []
        self._tmp = tempfile.TemporaryDirectory()
        if self.kind == "postgres":
            if not postgres_listening():
                pytest.skip("no PostgreSQL listening")
            self._url = create_postgres_database()
        else:
            self._url = f"sqlite:///{Path(self._tmp.name) / 'conformance.db'}"
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:  # noqa: N802
        super().tearDown()  # type: ignore[misc]
        # The library's concurrency case signals its reader threads to stop but does not
        # join them: closing the store under a reader mid-query crashes SQLite's C code.
        for thread in set(threading.enumerate()) - self._threads_before:
            if "read_continuously" in thread.name:  # the default name carries the target
                thread.join(timeout=30)
        for app in self._stores:
            app.close()
            app.database.dispose()
        if self.kind == "postgres":
            drop_postgres_database(self._url)
        self._tmp.cleanup()

    def store(self) -> SyncLedger:
        app = open_store(self._url)
        self._stores.append(app)
        return app


class _Aggregate(StoreUnderTest, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.store().factory.aggregate_recorder(purpose="conformance")

    def test_performance(self) -> None:
        pytest.skip("timings are for bench/, not tests")


class _Application(StoreUnderTest, ApplicationRecorderTestCase[Any]):
    def create_recorder(self) -> ApplicationRecorder:
        return self.store().recorder

    def test_performance(self) -> None:
        pytest.skip("timings are for bench/, not tests")

    def test_concurrent_throughput(self) -> None:
        pytest.skip("timings are for bench/, not tests")


class _Tracking(StoreUnderTest, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return SQLAlchemyTrackingRecorder(self.store().database)


class TestSQLiteAggregateRecorder(_Aggregate):
    kind = "sqlite"


class TestSQLiteApplicationRecorder(_Application):
    kind = "sqlite"


class TestSQLiteTrackingRecorder(_Tracking):
    kind = "sqlite"


class TestPostgresAggregateRecorder(_Aggregate):
    kind = "postgres"


class TestPostgresApplicationRecorder(_Application):
    kind = "postgres"


class TestPostgresTrackingRecorder(_Tracking):
    kind = "postgres"


del _Aggregate, _Application, _Tracking
