"""`rotate-key` as a user runs it: the key in the key file (rotated in place, the old one kept
retired below it) or in SYNCLEDGER_KEY (the new one from standard input or
SYNCLEDGER_NEW_KEY, never an argument); afterwards the old key alone opens nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from e2e.test_cli import run, write

PEOPLE = [{"kind": "person", "id": "p-1", "email": "ada@example.com", "first_name": "Ada"},
          {"kind": "person", "id": "p-2", "email": "grace@example.com", "first_name": "Grace"}]


def names(store: str) -> list[str]:
    return [p["first_name"] for p in json.loads(run(store, "people", "list", "--json").stdout)]


def test_rotate_key_in_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLEDGER_KEY")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    run(store, "app", "import", write(tmp_path / "a.jsonl", PEOPLE))
    key_file = Path(os.environ["XDG_CONFIG_HOME"]) / "syncledger" / "key"
    old = key_file.read_text().split()
    assert len(old) == 1 and stat.S_IMODE(key_file.stat().st_mode) == 0o600

    result = run(store, "rotate-key")
    assert "re-wrapped 2 person key(s)" in result.stdout and str(key_file) in result.stdout
    new = key_file.read_text().split()
    assert new[1:] == old and new[0] != old[0]  # the old key stays below, retired
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert names(store) == ["Ada", "Grace"]

    key_file.write_text(old[0] + "\n")  # the old key alone
    refused = run(store, "people", "list", check=False)
    assert refused.returncode == 2 and "does not hold" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_rotate_key_given_in_the_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    run(store, "app", "import", write(tmp_path / "a.jsonl", PEOPLE))

    asked = run(store, "rotate-key", check=False)
    assert asked.returncode == 2 and "SYNCLEDGER_NEW_KEY" in asked.stderr

    new = Fernet.generate_key().decode()
    result = run(store, "rotate-key", "--new-key-file", "-", "--json", stdin=new + "\n")
    rotated = json.loads(result.stdout)
    assert (rotated["person_keys"], rotated["key_file"]) == (2, None)
    assert run(store, "people", "list", check=False).returncode == 2  # the old key
    monkeypatch.setenv("SYNCLEDGER_KEY", new)
    assert names(store) == ["Ada", "Grace"]

    newer = Fernet.generate_key().decode()
    monkeypatch.setenv("SYNCLEDGER_NEW_KEY", newer)
    assert "now set SYNCLEDGER_KEY" in run(store, "rotate-key").stdout
    monkeypatch.setenv("SYNCLEDGER_KEY", newer)
    assert names(store) == ["Ada", "Grace"]
