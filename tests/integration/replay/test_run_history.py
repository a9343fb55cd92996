"""`history run:RUN_ID`: what one run did, found by the cause every event carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_support import import_lines, person, run_contact_sync

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.session import caught_up
from syncledger.replay.history import UnknownRecord


def test_a_runs_history_is_every_event_it_caused_oldest_first(store: SyncLedger,
                                                               tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1), person(2)])
    run_contact_sync(store, "p-1", "r1", "005A", {"FirstName": "First1"}, owner="tm-bob",
                     reason="mapped")
    run_contact_sync(store, "p-2", "r2", "005B", {"FirstName": "First2"})

    entries = views.history(caught_up(store), "run:r1")
    assert [e["type"] for e in entries] == [
        "IntegrationCreated", "IntegrationConnected", "ContactDiscovered",  # observed, too
        "PersonLinked", "PersonOwnerReassigned", "SyncRunStarted", "SyncRunFinished"]
    assert {e["cause"] for e in entries} == {"run:r1"}
    assert entries == sorted(entries, key=lambda e: e["position"])
    assert entries[4]["data"]["reason"] == "mapped"
    second = views.history(store, "run:r2")
    assert [e["type"] for e in second] == ["ContactObserved", "PersonLinked",
                                           "SyncRunStarted", "SyncRunFinished"]
    assert "PersonOwnerReassigned" not in [e["type"] for e in second]


def test_an_unknown_run_is_refused_rather_than_shown_empty(store: SyncLedger,
                                                          tmp_path: Path) -> None:
    import_lines(store, tmp_path / "a.jsonl", [person(1)])
    with pytest.raises(UnknownRecord, match="run:nope"):
        views.history(caught_up(store), "run:nope")
