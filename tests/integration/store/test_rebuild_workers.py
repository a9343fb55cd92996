"""Rebuild workers open the store as the caller would now: two stores, each under a key of
its own, rebuilt one after the other by one process in worker processes (forked from one
fork server on PostgreSQL, which outlives the first rebuild), each rebuilt as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from projection_dump import projection_rows
from stores import postgres_database

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import store_session
from syncledger.domain.context import Context
from syncledger.domain.person import Person
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE

AT = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _people(app: SyncLedger, count: int) -> None:
    ctx = Context(cause="import:test", actor="tm-alice")
    people = []
    for n in range(count):
        person = Person.record(f"p-{n}", {"email": f"person{n}@example.com",
                                          "first_name": f"First{n}", "owner": "tm-alice"},
                               AT + timedelta(seconds=n), ctx)
        person.update({"status": "Replied"}, AT + timedelta(hours=1), ctx)
        people.append(person)
    app.save(*people)


def test_each_store_is_rebuilt_by_workers_under_its_own_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        monkeypatch.setenv("SYNCLEDGER_KEY", Fernet.generate_key().decode())
        with postgres_database() as url, store_session(url) as app:
            _people(app, 40)
            live = projection_rows(app)

            rebuild(app, list(LIVE.values()), workers=2)

            assert projection_rows(app) == live
            assert len(live["people"]) == 40
