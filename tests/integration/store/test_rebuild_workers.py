"""Rebuild workers open the store as the caller would now: two stores, each under a key of
its own, rebuilt one after the other by one process in worker processes (forked from one
fork server on PostgreSQL, which outlives the first rebuild), each rebuilt as it was."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from projection_dump import projection_rows
from recorded_people import record_people
from stores import postgres_database

from syncledger.commands.session import store_session
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE


def test_each_store_is_rebuilt_by_workers_under_its_own_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        monkeypatch.setenv("SYNCLEDGER_KEY", Fernet.generate_key().decode())
        with postgres_database() as url, store_session(url) as app:
            record_people(app, 40)
            live = projection_rows(app)

            rebuild(app, list(LIVE.values()), workers=2)

            assert projection_rows(app) == live
            assert len(live["people"]) == 40
