"""Stores for tests: a real SQLite file, and a PostgreSQL database of its own per test
(created with a random name, dropped after), so runs never see each other's leftovers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stores import NO_POSTGRES, POSTGRES, POSTGRES_REQUIRED, postgres_database

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import store_session


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[pytest.TestReport]:
    """Under CI=true a PostgreSQL test that would skip for want of a server fails instead
    (.ci/run starts the server): a green CI run has run them all."""
    report: pytest.TestReport = yield
    if POSTGRES_REQUIRED and report.skipped and NO_POSTGRES in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = (f"{NO_POSTGRES} at {POSTGRES}, and CI=true: the PostgreSQL tests "
                           "must run (.ci/run starts the server)")
    return report


@pytest.fixture(autouse=True)
def credentials_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never a key file in the real home: each test has its own key and config directory."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SYNCLEDGER_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'syncledger.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'syncledger.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[SyncLedger]:
    with store_session(store_url) as app:
        yield app


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SyncLedger]:
    with store_session(sqlite_url) as app:
        yield app
