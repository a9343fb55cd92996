"""Fixtures the sync tests of more than one module share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipedrive_support import Company, connected_company

from syncledger.adapters.event_store import SyncLedger
from syncledger.emulator.server import RunningEmulator, running


@pytest.fixture(scope="module")
def pipedrive_server() -> Iterator[RunningEmulator]:
    """A Pipedrive emulator for the module's tests (each test connects a store of its own)."""
    with running("pipedrive") as emulator:
        yield emulator


@pytest.fixture
def pd(sqlite_store: SyncLedger, tmp_path: Path,
       pipedrive_server: RunningEmulator) -> Iterator[Company]:
    """A store connected to the Pipedrive emulator's company."""
    with connected_company(sqlite_store, tmp_path, pipedrive_server) as company:
        yield company
