"""The command line as a user runs it: a real process, a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PEOPLE_KEYS = {"id", "email", "first_name", "last_name", "account", "owner", "status",
               "inbox_category", "flags", "lists", "fields", "sequence", "links"}


def run(store: str, *args: str, check: bool = True, stdin: str | None = None,
        columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = None if columns is None else {**os.environ, "COLUMNS": str(columns)}
    result = subprocess.run([sys.executable, "-m", "syncledger.commands", "--store", store,
                             *args], input=stdin, env=env, capture_output=True, text=True,
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def write(path: Path, lines: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


LINES = [
    {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example", "name": "Alice"},
    {"kind": "list", "id": "l-webinar", "name": "Q4 webinar"},
    {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada",
     "last_name": "Lovelace", "account": "Analytical", "owner": "tm-alice",
     "status": "Replied", "flags": ["replied"], "lists": ["l-webinar"],
     "fields": {"title": "Countess"}, "at": "2026-11-01T10:00:00Z"},
    {"kind": "email", "id": "e-1", "person": "p-1", "owner": "tm-alice",
     "at": "2026-11-01T11:00:00Z", "subject": "Engines", "body": "Hello", "direction": "sent"},
]


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_then_people_list_and_show_in_the_designed_json_shape(store: str,
                                                                     tmp_path: Path) -> None:
    result = run(store, "--as", "tm-alice", "app", "import", write(tmp_path / "a.jsonl", LINES))
    assert "recorded" in result.stdout
    people = json.loads(run(store, "people", "list", "--json").stdout)
    assert len(people) == 1
    assert set(people[0]) == PEOPLE_KEYS
    assert people[0]["lists"] == ["l-webinar"]
    assert people[0]["links"] == []
    assert json.loads(run(store, "people", "show", "ADA@example.com", "--json").stdout) == \
        people[0]
    assert json.loads(run(store, "people", "list", "--linked", "none", "--json").stdout) == \
        people
    assert json.loads(run(store, "people", "list", "--linked", "salesforce",
                          "--json").stdout) == []


def test_a_second_import_of_the_same_file_says_so(store: str, tmp_path: Path) -> None:
    data = write(tmp_path / "a.jsonl", LINES)
    run(store, "app", "import", data)
    assert "already imported" in run(store, "app", "import", data).stdout


def test_a_bad_line_exits_2_naming_file_and_line_and_records_nothing(store: str,
                                                                     tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(LINES[0]) + "\n" + '{"kind": "person", "id": "p-9", '
                   '"email": "not-an-email"}\n')
    result = run(store, "app", "import", str(bad), check=False)
    assert result.returncode == 2
    assert f"{bad}:2: email" in result.stderr
    assert result.stderr.count("\n") == 1
    assert json.loads(run(store, "people", "list", "--json").stdout) == []


def test_history_json_is_oldest_first_with_cause_and_actor(store: str, tmp_path: Path) -> None:
    run(store, "--as", "tm-alice", "app", "import", write(tmp_path / "a.jsonl", LINES))
    entries = json.loads(run(store, "history", "p-1", "--json").stdout)
    assert [e["type"] for e in entries] == ["PersonRecorded", "EmailClaimClaimed",
                                            "ActivityRecorded"]
    assert all(e["actor"] == "tm-alice" and e["cause"].startswith("import:") for e in entries)
    assert entries[0]["data"]["values"]["first_name"] == "Ada"


def test_an_unknown_record_exits_2(store: str) -> None:
    result = run(store, "history", "nobody@example.com", check=False)
    assert result.returncode == 2
    assert "no record found" in result.stderr


def test_verify_passes_then_catches_an_edited_row(store: str, tmp_path: Path) -> None:
    run(store, "app", "import", write(tmp_path / "a.jsonl", LINES))
    result = run(store, "verify")
    head = result.stdout.split("head ")[1].strip()
    assert run(store, "verify", "--expect", head).returncode == 0
    assert run(store, "verify", "--expect", "0" * 64, check=False).returncode == 1
    database = sqlite3.connect(store.removeprefix("sqlite:///"))
    with database:
        database.execute("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), "
                         "'tm-alice', 'tm-mallory') AS BLOB) WHERE rowid = 3")
    database.close()
    broken = run(store, "verify", check=False)
    assert broken.returncode == 1
    assert "seal" in broken.stderr and "edited, deleted or inserted" in broken.stderr


def test_rebuild_gives_the_same_view(store: str, tmp_path: Path) -> None:
    run(store, "app", "import", write(tmp_path / "a.jsonl", LINES))
    before = run(store, "people", "list", "--json").stdout
    assert "rebuilt people, event_index" in run(store, "rebuild").stdout
    assert run(store, "people", "list", "--json").stdout == before
    assert run(store, "rebuild", "people").returncode == 0
    assert run(store, "rebuild", "nothing", check=False).returncode == 2


def test_a_bad_store_url_exits_2(tmp_path: Path) -> None:
    result = run("mysql://x", "people", "list", check=False)
    assert result.returncode == 2
    assert "expected sqlite:///FILE or postgresql://" in result.stderr


def test_a_forgotten_person_reads_forgotten_in_the_human_output(store: str,
                                                                 tmp_path: Path) -> None:
    run(store, "app", "import", write(tmp_path / "a.jsonl", LINES))
    said = run(store, "forget", "p-1", "--yes").stdout
    assert "now show [forgotten]" in said
    shown = run(store, "people", "show", "p-1").stdout
    assert "email: [forgotten]" in shown and "first_name: [forgotten]" in shown
    listed = run(store, "people", "list", columns=200).stdout
    assert listed.count("[forgotten]") == 4  # email, first and last name, account


def test_a_sync_of_pipedrive_not_connected_says_how_to_connect_it(store: str) -> None:
    for dry_run in ((), ("--dry-run",)):
        result = run(store, "sync", "--crm", "pipedrive", *dry_run, check=False)
        assert result.returncode == 3  # the CRM or its credentials
        assert "pipedrive is not connected: run `syncledger connect pipedrive` first" in \
            result.stderr


def test_a_crm_that_does_not_answer_is_named(store: str) -> None:
    result = run(store, "connect", "salesforce", "--instance-url", "https://127.0.0.1:1",
                 "--token", "-", stdin="token\n", check=False)
    assert result.returncode == 3  # the CRM or its credentials
    assert "Salesforce at https://127.0.0.1:1 did not answer (ConnectionError)" in \
        result.stderr, result.stderr
