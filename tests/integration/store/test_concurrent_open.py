"""Processes opening a new PostgreSQL store at the same moment (two `sync` workers started
together) all get it: creating its tables and functions is done one process at a time."""

from __future__ import annotations

import subprocess
import sys

OPEN = ("import sys; from syncledger.commands.session import open_store; "
        "open_store(sys.argv[1]).close()")


def test_four_processes_open_a_new_postgres_store_at_once(postgres_url: str) -> None:
    # Given a database with no tables yet; when four processes create them at once
    processes = [subprocess.Popen([sys.executable, "-c", OPEN, postgres_url],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [process.communicate(timeout=120)[1] for process in processes]

    # Then every one of them opens the store
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
