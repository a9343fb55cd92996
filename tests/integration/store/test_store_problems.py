"""Opening a store: an empty file is refused, unless another process is creating the store
right now; a store damaged after it was opened is named when a read meets the damage."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from syncledger.adapters.store_problems import StoreError
from syncledger.commands import views
from syncledger.commands.session import caught_up, open_store, store_session

OPEN = ("import sys; from syncledger.commands.session import open_store; "
        "open_store(sys.argv[1]).close()")


def test_processes_opening_a_new_sqlite_store_at_once_all_get_it(tmp_path: Path) -> None:
    # One of them creates the file; the others may see it empty for a moment.
    url = f"sqlite:///{tmp_path / 'new.db'}"
    processes = [subprocess.Popen([sys.executable, "-c", OPEN, url], stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors


def test_an_old_empty_file_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    os.utime(empty, (0, 0))
    with pytest.raises(StoreError, match=r"is an empty file \(0 bytes\), not a store"):
        open_store(f"sqlite:///{empty}")
    assert empty.stat().st_size == 0


def test_damage_met_by_a_read_after_opening_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with store_session(f"sqlite:///{path}") as app:
        assert views.people(caught_up(app), None) == []
        # Another program overwrites the people view's pages while the store is open.
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = "
                                      "'people'").fetchone()[0]
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        with path.open("r+b") as handle:
            handle.seek((root - 1) * page_size)
            handle.write(b"\xff" * page_size)
    with pytest.raises(StoreError, match=f"store {path} is damaged"), \
            store_session(f"sqlite:///{path}") as app:
        views.people(caught_up(app), None)
