"""The replay tools as a user runs them: `replay --position/--until --into`, `replay diff`
and `explain`, in a real process against real SQLite files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from emulated_world import connect_enabled

from syncledger.commands.session import store_session
from syncledger.emulator.server import running


def run(store: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "syncledger.commands", "--store", store,
                             *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def imported(store: str, path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run(store, "--as", "tm-alice", "app", "import", str(path))


ADA = {"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada",
       "owner": "tm-alice", "fields": {"title": "Countess"}, "at": "2026-11-01T10:00:00Z"}
GRACE = {"kind": "person", "id": "p-2", "email": "grace@example.com", "owner": "tm-alice"}


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'live.db'}"


def test_replay_to_a_time_then_diff_and_look_at_the_copy(store: str, tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA])
    between = datetime.now(UTC).isoformat()
    imported(store, tmp_path / "b.jsonl", [
        GRACE, {**ADA, "owner": "tm-bob", "at": "2026-11-02T10:00:00Z"}])
    then = f"sqlite:///{tmp_path / 'then.db'}"

    result = run(store, "replay", "--until", between, "--into", then)
    assert "copied" in result.stdout and "1 people" in result.stdout
    assert f"syncledger --store {then} people list" in result.stdout
    assert [p["id"] for p in json.loads(run(then, "people", "list", "--json").stdout)] == \
        ["p-1"]
    assert run(then, "verify").returncode == 0

    report = json.loads(run(store, "replay", "diff", then, store, "--json").stdout)
    assert [row["id"] for row in report["added"]] == ["p-2"]
    assert report["changed"] == [{"id": "p-1", "changes": {"owner": ["tm-alice", "tm-bob"]}}]
    human = run(store, "replay", "diff", then, store)
    assert human.returncode == 0 and "p-1: owner 'tm-alice' -> 'tm-bob'" in human.stdout


def test_replay_by_position_then_diff(store: str, tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA, GRACE])
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    last_person = json.loads(run(store, "history", "p-2", "--json").stdout)[-1]["position"]
    result = run(store, "replay", "--position", str(last_person), "--into", copy)
    assert "inside a save" in result.stdout  # the save's seal comes after its events
    # The import's completion, a later save, is all that is missing.
    partial = json.loads(run(store, "replay", "diff", store, copy, "--json").stdout)
    assert (partial["added"], partial["removed"], partial["changed"]) == ([], [], [])
    assert partial["counts"]["event_index"]["a"] > partial["counts"]["event_index"]["b"]
    seals, events = (int(w) for w in run(store, "verify").stdout.split()[0:4:3])
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    run(store, "replay", "--position", str(seals + events), "--into", whole)
    assert "no differences" in run(store, "replay", "diff", store, whole).stdout


def test_replay_refuses_a_store_that_is_not_empty_and_bad_points(store: str,
                                                                 tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA])
    other = f"sqlite:///{tmp_path / 'other.db'}"
    imported(other, tmp_path / "b.jsonl", [GRACE])
    cases = [(("--position", "1", "--into", other), "already holds events"),
             (("--position", "1", "--into", store), "is the store being replayed"),
             (("--position", "999", "--into", f"sqlite:///{tmp_path / 'x.db'}"),
              "--position 999"),
             (("--until", "soon", "--into", f"sqlite:///{tmp_path / 'y.db'}"), "'soon'"),
             (("--into", f"sqlite:///{tmp_path / 'z.db'}"), "either --until TIME or"),
             (("--position", "1"), "--into URL is required")]
    for args, message in cases:
        result = run(store, "replay", *args, check=False)
        assert result.returncode == 2, args
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    missing = run(store, "replay", "diff", store, f"sqlite:///{tmp_path / 'nope.db'}",
                  check=False)
    assert missing.returncode == 2 and "no such store" in missing.stderr


def test_explain_in_words_and_as_json(store: str, tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA])
    imported(store, tmp_path / "b.jsonl", [{**ADA, "owner": "tm-bob",
                                            "at": "2026-11-02T10:00:00Z"}])
    words = run(store, "explain", "ada@example.com", "owner").stdout
    assert words.startswith("p-1 owner = 'tm-bob'")
    assert "changed from 'tm-alice' to 'tm-bob'" in words
    steps = json.loads(run(store, "explain", "p-1", "owner", "--json").stdout)
    assert [(s["type"], s["value"], s["actor"]) for s in steps] == [
        ("PersonRecorded", "tm-alice", "tm-alice"),
        ("PersonOwnerReassigned", "tm-bob", "tm-alice")]
    assert all(s["cause"].startswith("import:") for s in steps)
    title = json.loads(run(store, "explain", "p-1", "fields.title", "--json").stdout)
    assert [s["value"] for s in title] == ["Countess"]


def test_explain_refuses_an_unknown_key_or_field(store: str, tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA])
    for args, message in ((("nobody", "owner"), "no person found for 'nobody'"),
                          (("p-1", "colour"), "unknown field 'colour'")):
        result = run(store, "explain", *args, check=False)
        assert result.returncode == 2 and message in result.stderr


def test_replay_run_through_the_command_line(store: str, tmp_path: Path) -> None:
    """A real run, replayed in a real process: exit 0 and every key of the JSON shape; the
    CRM sees no request. An unknown run id: one line on stderr, exit 2."""
    with running("salesforce", {"User": [{"Id": "005000000000001AAA", "LastName": "A",
                                          "Email": "alice@team.example",
                                          "Username": "alice@crm", "IsActive": True}],
                                "Contact": [{"Id": "003000000000001AAA", "LastName": "Lee",
                                             "Email": "lee@example.com"}],
                                "options": {"current_user": "005000000000001AAA"}}
                 ) as emulator:
        with store_session(store) as app:
            connect_enabled(app, emulator)
        imported(store, tmp_path / "a.jsonl", [ADA, {**GRACE, "last_name": "Hopper",
                                                     "account": "Navy"}])
        synced = json.loads(run(store, "--as", "tm-alice", "sync", "--json").stdout)
        stats = f"{emulator.url}/__emulator__/stats"
        session = requests.Session()
        session.trust_env = False
        session.verify = str(emulator.ca_cert)
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        calls = session.get(stats).json()
        answer = run(store, "replay", "--run", synced["run_id"], "--json")
        assert session.get(stats).json() == calls
    result = json.loads(answer.stdout)
    assert set(result) == {"run_id", "started_at", "same", "outcome", "differences",
                           "counts", "skip_reasons", "not_replayed"}
    assert result["same"] is True and result["differences"] == []
    assert result["outcome"] == {"recorded": "succeeded", "now": "succeeded"}
    assert result["counts"]["recorded"] == result["counts"]["now"] == synced["counts"]
    words = run(store, "replay", "--run", synced["run_id"]).stdout
    assert "no difference: today's code decides as the run did" in words
    unknown = run(store, "replay", "--run", "nope", check=False)
    assert unknown.returncode == 2
    assert unknown.stderr == "syncledger: no run 'nope' in this log (`syncledger logs` " \
        "lists the runs)\n"
    mixed = run(store, "replay", "--run", synced["run_id"], "--position", "1", check=False)
    assert mixed.returncode == 2 and "takes no --until" in mixed.stderr


def test_verify_expect_finds_a_recorded_head_anywhere_in_the_chain(store: str,
                                                                   tmp_path: Path) -> None:
    imported(store, tmp_path / "a.jsonl", [ADA])
    then = run(store, "verify").stdout
    recorded = then.split("head ")[1].strip()
    seals, events = (int(w) for w in then.split()[0:4:3])
    imported(store, tmp_path / "b.jsonl", [GRACE])
    now = run(store, "verify").stdout
    head = now.split("head ")[1].split()[0]
    later = int(now.split()[0]) - seals

    found = run(store, "verify", "--expect", recorded)
    assert f"seal {seals}, {later} saves after it" in found.stdout
    assert f"seal {seals + later}, 0 saves after it" in \
        run(store, "verify", "--expect", head).stdout
    stranger = run(store, "verify", "--expect", "ab" * 32, check=False)
    assert stranger.returncode == 1 and "is no seal of this log" in stranger.stderr

    # The last saves deleted, seals and all: what is left is a whole chain, which plain
    # verify passes; the head recorded elsewhere is what shows the loss.
    database = sqlite3.connect(store.removeprefix("sqlite:///"))
    with database:
        database.execute("DELETE FROM stored_events WHERE rowid > ?", (seals + events,))
    database.close()
    assert run(store, "verify").returncode == 0
    cut = run(store, "verify", "--expect", head, check=False)
    assert cut.returncode == 1 and "tail was deleted" in cut.stderr
    assert "0 saves after it" in run(store, "verify", "--expect", recorded).stdout
