"""On PostgreSQL a rebuild fills the event index from the states its workers parse, where the
live index is filled by SQL over the stored states: the two agree on every kind of value,
causes that COPY's text format must escape among them, events filed under another key, and
events no folded view reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from projection_dump import projection_rows

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.session import store_session
from syncledger.domain.app_records import Activity
from syncledger.domain.context import Context
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.person import Person
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE

AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
CAUSES = ["import:tab\there", "import:back\\slash\\N", "run:new\nline\r\n", 'run:"quoted"',
          "config:ünïcødé ✓", ""]


def _log(app: SyncLedger) -> None:
    for n, cause in enumerate(CAUSES):
        ctx = Context(cause=cause, actor="tm-alice")
        person = Person.record(f"p-{n}", {"email": f"person{n}@example.com",
                                          "owner": "tm-alice"}, AT, ctx)
        person.update({"status": "Replied"}, AT, Context(cause=CAUSES[-1 - n], actor="x"))
        # Filed under its person's key: the index's subject.
        activity = Activity.record("email", f"m-{n}", person.app_id, person.subject,
                                   "tm-alice", {"subject": "Hello", "body": "Hi"}, AT, ctx)
        claim = EmailClaim.claim("app", person.email, person.id, ctx)
        app.save(person, activity, claim)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_rebuilt_index_equals_the_live_one(postgres_url: str, workers: int) -> None:
    with store_session(postgres_url) as app:
        _log(app)
        live = projection_rows(app)
        index = [json.loads(row) for row in live["event_index"]]
        assert len(index) == app.recorder.max_notification_id()
        assert {row["cause"] for row in index} == {*CAUSES, None}  # a seal has none
        assert sum(row["subject"] is not None for row in index) == len(CAUSES)  # activities

        rebuild(app, list(LIVE.values()), workers=workers)

        assert projection_rows(app) == live
