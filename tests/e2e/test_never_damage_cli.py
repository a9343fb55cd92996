"""The CRM-safety switches as a user meets them: the mass-change guard's stop, its yes, and
--recreate, through the real command line against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from emulated_world import connect_enabled
from test_cli import run, write

from syncledger.commands.session import store_session
from syncledger.emulator.server import running

ALICE, BOB = "005000000000001AAA", "005000000000002AAA"
USERS = [{"Id": user, "LastName": name, "Email": f"{name.lower()}@team.example",
          "Username": f"{name}@crm", "IsActive": True}
         for user, name in ((ALICE, "Alice"), (BOB, "Bob"))]


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_a_mass_owner_change_stops_until_a_yes(store: str, tmp_path: Path) -> None:
    contacts = [{"Id": f"003{n:012d}AAA", "LastName": f"L{n}", "OwnerId": BOB,
                 "Email": f"c{n}@example.com"} for n in range(25)]
    with running("salesforce", {"User": USERS, "Contact": contacts,
                                "options": {"current_user": ALICE}}) as emulator:
        with store_session(store) as app:
            connect_enabled(app, emulator)
        people = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"}] + [
            {"kind": "person", "id": f"p-{n}", "email": f"c{n}@example.com",
             "last_name": f"L{n}", "owner": "tm-alice"} for n in range(25)]
        run(store, "app", "import", write(tmp_path / "people.jsonl", people))
        run(store, "--as", "tm-alice", "sync")
        config = tmp_path / "custom.toml"
        run(store, "config", "init", str(config))
        text = config.read_text().replace(
            "# owner_mappings = [", "owner_mappings = [").replace("TEAM_MEMBER_ID", "tm-alice")
        config.write_text(text)
        run(store, "config", "apply", str(config))
        # The dry run shows the counts; the run stops, exit 1, naming the way on
        plan = json.loads(run(store, "sync", "--dry-run", "--json", check=False).stdout)
        (contacts_step,) = [c for c in plan["mass_changes"] if c["object"] == "Contact"]
        assert contacts_step["owner_changes"] == 25 and contacts_step["over_limit"]
        stopped = run(store, "--as", "tm-alice", "sync", check=False)
        assert stopped.returncode == 1
        assert "MASS_CHANGE" in stopped.stdout and "--allow-mass-changes" in stopped.stdout
        session = requests.Session()
        session.trust_env = False
        session.verify = str(emulator.ca_cert)
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        owners = {c["OwnerId"] for c in session.get(
            f"{emulator.url}/__emulator__/dump").json()["Contact"]}
        assert owners == {BOB}
        run(store, "--as", "tm-alice", "sync", "--allow-mass-changes")
        owners = {c["OwnerId"] for c in session.get(
            f"{emulator.url}/__emulator__/dump").json()["Contact"]}
        assert owners == {ALICE}


def test_recreate_needs_a_record(store: str) -> None:
    result = run(store, "sync", "--recreate", check=False)
    assert result.returncode == 2
    assert "--recreate needs --record KEY" in result.stderr
