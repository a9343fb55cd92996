"""Properties of the replay tools over random import histories:

- a rebuild of every projection equals the live projections;
- a replay to any position equals the live state as it was then (the projections as they
  stood right after the save that holds that position);
- any single-byte edit of a stored event, a deleted row or an inserted row is caught by
  `verify`, which passes on the untouched log."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from projection_dump import projection_rows

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.app_import import import_file
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.sample_app_data import write_app_data
from syncledger.commands.session import open_store
from syncledger.domain.ids import LEDGER_ID
from syncledger.projections.rebuild import rebuild
from syncledger.projections.registry import LIVE
from syncledger.replay.point_in_time import point_at_position, replay_into
from syncledger.replay.verify import verify

IDS = [f"p-{n}" for n in range(1, 6)]
TIMES = ["2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"]

person_line = st.builds(
    lambda pid, alt, owner, first, title, status, at: {
        "kind": "person", "id": pid, "email": f"{pid}{'.alt' if alt else ''}@example.com",
        "owner": owner, "first_name": first, "fields": {"title": title}, "status": status,
        "at": at},
    st.sampled_from(IDS), st.booleans(), st.sampled_from(["tm-a", "tm-b", None]),
    st.sampled_from(["Ada", "Grace", "Edsger"]), st.sampled_from(["CTO", "CEO"]),
    st.sampled_from([None, "New", "Replied"]), st.sampled_from(TIMES))
deletion = st.builds(lambda pid, at: {"kind": "person_deleted", "id": pid, "at": at},
                     st.sampled_from(IDS), st.sampled_from(TIMES))
import_file_lines = st.lists(st.one_of(person_line, person_line, deletion), min_size=1,
                             max_size=6)
histories = st.lists(import_file_lines, min_size=1, max_size=4)


@contextmanager
def fresh_store(directory: Path, name: str) -> Iterator[SyncLedger]:
    app = open_store(f"sqlite:///{directory / name}")
    try:
        yield app
    finally:
        app.close()
        app.database.dispose()


def import_history(app: SyncLedger, directory: Path, history: list[list[dict[str, Any]]]
                   ) -> Iterator[int]:
    """Import each file in turn; yields the log's position after each."""
    for n, lines in enumerate(history):
        path = directory / f"import-{n}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        import_file(app, path, "tm-a")
        yield app.recorder.max_notification_id() or 0


@settings(max_examples=10, deadline=None)
@given(histories, st.booleans())
def test_a_rebuild_equals_the_live_projections(history: list[list[dict[str, Any]]],
                                               forget_one: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_store(Path(tmp), "live.db") as app:
        list(import_history(app, Path(tmp), history))
        if forget_one and any(line["kind"] == "person" for lines in history for line in lines):
            first = next(line["id"] for lines in history for line in lines
                         if line["kind"] == "person")
            forget(app, find_person_id(app, first), "tm-auditor")
        live = projection_rows(app)
        rebuild(app, list(LIVE.values()))
        assert projection_rows(app) == live


@settings(max_examples=10, deadline=None)
@given(histories, st.data())
def test_a_replay_to_a_position_equals_the_live_state_as_it_was_then(
        history: list[list[dict[str, Any]]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with fresh_store(directory, "live.db") as app:
            ends, states, previous = [], [], 0
            for end in import_history(app, directory, history):
                if end > previous:  # an import that recorded nothing is no new state
                    ends.append((previous, end))
                    states.append(projection_rows(app))
                previous = end
            assume(ends)
            index = data.draw(st.integers(0, len(ends) - 1), label="import")
            start, end = ends[index]
            position = data.draw(st.integers(start + 1, end), label="position")
            point = point_at_position(app, position)
            with fresh_store(directory, "replayed.db") as target:
                replay_into(app, target, point)
                replayed = projection_rows(target)
        expected = states[index]
        if point.position < end:
            # Stopped after the import's first save: all that is missing is its completion
            # (a later save, which changes no view but the index of events).
            expected = {**expected, "event_index": [
                row for row in expected["event_index"]
                if json.loads(row)["position"] <= point.position]}
        assert replayed == expected


# -- tampering --------------------------------------------------------------------------------

# The sealed log outlives each test's own key (conftest's): it is made and opened with this.
SEALED_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def sealed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of a few saves (two imports), built once and copied for each example."""
    directory = tmp_path_factory.mktemp("sealed")
    with patch.dict(os.environ, {"SYNCLEDGER_KEY": SEALED_KEY}), \
            fresh_store(directory, "log.db") as app:
        import_file(app, write_app_data(directory / "a.jsonl", 12), "tm-a")
        import_file(app, write_app_data(directory / "b.jsonl", 8, seed=2), "tm-b")
        assert verify(app).broken is None
    return directory / "log.db"


def tampered_copy(template: Path, directory: Path) -> Path:
    path = directory / "log.db"
    shutil.copy(template, path)
    return path


def verify_file(path: Path) -> str | None:
    with patch.dict(os.environ, {"SYNCLEDGER_KEY": SEALED_KEY}), \
            fresh_store(path.parent, path.name) as app:
        return verify(app).broken


def rows(path: Path) -> list[tuple[int, str, int, str, bytes]]:
    with sqlite3.connect(path) as database:
        return database.execute("SELECT rowid, originator_id, originator_version, topic, state "
                                "FROM stored_events ORDER BY rowid").fetchall()


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_a_single_byte_edit_anywhere_in_a_stored_event_is_caught(sealed_log: Path,
                                                                 data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = tampered_copy(sealed_log, Path(tmp))
        rowid, _, _, _, state = data.draw(st.sampled_from(rows(path)), label="row")
        offset = data.draw(st.integers(0, len(state) - 1), label="offset")
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != state[offset]),
                         label="byte")
        edited = state[:offset] + bytes([byte]) + state[offset + 1:]
        with sqlite3.connect(path) as database:
            database.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                             (edited, rowid))
        assert verify_file(path) is not None


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_a_deleted_row_is_caught(sealed_log: Path, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = tampered_copy(sealed_log, Path(tmp))
        rowid = data.draw(st.sampled_from([row[0] for row in rows(path)]), label="row")
        with sqlite3.connect(path) as database:
            database.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
        assert verify_file(path) is not None


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_an_inserted_row_is_caught(sealed_log: Path, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = tampered_copy(sealed_log, Path(tmp))
        log = rows(path)
        _, originator, version, topic, state = data.draw(st.sampled_from(log), label="copied")
        if data.draw(st.booleans(), label="as the ledger's next seal"):
            last_seal = max(r[2] for r in log if r[1] == LEDGER_ID.hex)
            originator, version = LEDGER_ID.hex, last_seal + 1
        else:
            originator, version = uuid4().hex, data.draw(st.integers(1, 5), label="version")
        with sqlite3.connect(path) as database:
            database.execute("INSERT INTO stored_events VALUES (?, ?, ?, ?)",
                             (originator, version, topic, state))
        assert verify_file(path) is not None


def test_the_untouched_copy_verifies(sealed_log: Path, tmp_path: Path) -> None:
    assert verify_file(tampered_copy(sealed_log, tmp_path)) is None
