"""The command line's conventions, as scripts and monitoring rely on them (issue 21): one
scheme of exit codes, --json on every command that prints and JSON errors under it, the
version, `python -m syncledger`, completion, a log level, the filters of history and logs,
what status says is failing, and one rule for which CRM a command is about."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e.test_cli import LINES, write
from e2e.test_cli_config import run

from syncledger.emulator.server import RunningEmulator, running

ALICE = "005000000000001AAA"
ORG = {"User": [{"Id": ALICE, "FirstName": "Alice", "LastName": "A",
                 "Email": "alice@team.example", "Username": "alice@crm", "IsActive": True}],
       "options": {"current_user": ALICE, "now": "2026-11-20T10:00:00Z"}}
TEAM = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"}]


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "account": f"Acct{n}",
            "owner": "tm-alice", **extra}


def json_error(result: subprocess.CompletedProcess[str], code: str, exit_code: int
               ) -> dict[str, Any]:
    """The one JSON line a refused command prints on stderr under --json."""
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    error: dict[str, Any] = json.loads(line)
    assert error["code"] == code and error["exit_code"] == exit_code
    return error


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def imported(store: str, tmp_path: Path) -> str:
    run(store, "--as", "tm-alice", "app", "import", write(tmp_path / "a.jsonl", LINES))
    return store


class Org:
    """The Salesforce emulator, connected and enabled through the command line."""

    def __init__(self, emulator: RunningEmulator, store: str, tmp: Path) -> None:
        self.emulator = emulator
        self.store = store
        self.tmp = tmp
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(emulator.ca_cert)
        self.session.headers["Authorization"] = f"Bearer {emulator.token}"
        self.imports = 0

    def admin(self, path: str, body: Any) -> None:
        self.session.post(f"{self.emulator.url}/__emulator__/{path}",
                          json=body).raise_for_status()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(self.store, "--as", "tm-alice", *args, check=check)

    def imports_lines(self, lines: list[dict[str, Any]], actor: str = "tm-alice") -> None:
        self.imports += 1
        path = write(self.tmp / f"import-{self.imports}.jsonl", lines)
        run(self.store, "--as", actor, "app", "import", path)


@pytest.fixture
def org(store: str, tmp_path: Path) -> Iterator[Org]:
    with running("salesforce", ORG) as emulator:
        run(store, "--as", "tm-alice", "connect", "salesforce", "--instance-url",
            emulator.url, "--token", "-", "--ca-cert", str(emulator.ca_cert),
            stdin=emulator.token)
        connected = Org(emulator, store, tmp_path)
        connected.cli("enable")
        connected.imports_lines(TEAM)
        yield connected


# -- the program --------------------------------------------------------------------------
def test_the_version_and_python_m_syncledger(tmp_path: Path) -> None:
    for module in ("syncledger", "syncledger.commands"):
        shown = subprocess.run([sys.executable, "-m", module, "--version"],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == f"syncledger {version('syncledger')}\n"


def test_help_shows_flags_as_flags_and_offers_completion(store: str) -> None:
    main = run(store, "--help", env={"COLUMNS": "200"}).stdout
    assert "--install-completion" in main and "--show-completion" in main
    assert "--log-level" in main and "--version" in main
    for command in (("sync",), ("status",), ("verify",), ("logs",), ("replay", "diff")):
        shown = run(store, *command, "--help", env={"COLUMNS": "200"}).stdout
        assert "--json" in shown and "<bool>" not in shown, shown
    refused = run(store, "people", "list", "--json", "true", check=False)
    assert json_error(refused, "invalid", 2)["error"] == \
        "Got unexpected extra argument(s) (true)"


def test_bash_completion_names_the_commands(store: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "syncledger"], capture_output=True, text=True, timeout=120,
        env={"_SYNCLEDGER_COMPLETE": "complete_bash", "COMP_WORDS": "syncledger sta",
             "COMP_CWORD": "1", "PATH": "/usr/bin:/bin"})
    assert "status" in completed.stdout.split()


# -- errors and exit codes ----------------------------------------------------------------
def test_under_json_errors_are_one_json_line_on_stderr(imported: str) -> None:
    unknown = json_error(run(imported, "history", "nobody@example.com", "--json",
                             check=False), "invalid", 2)
    assert "no record found for 'nobody@example.com'" in unknown["error"]
    usage = json_error(run(imported, "logs", "--json", "--bogus", check=False), "invalid", 2)
    assert usage["error"] == "No such option: --bogus"
    # Without --json, the same error is one line of words.
    plain = run(imported, "history", "nobody@example.com", check=False)
    assert plain.returncode == 2 and plain.stderr.startswith("syncledger: no record found")
    crm = json_error(run(imported, "connect", "salesforce", "--instance-url",
                         "https://127.0.0.1:1", "--token", "-", "--json", stdin="token",
                         check=False), "crm", 3)
    assert "did not answer" in crm["error"]
    nothing = json_error(run(imported, "sync", "--json", check=False), "crm", 3)
    assert nothing["error"].startswith("no CRM is connected")


def test_a_log_level_from_the_option_or_the_environment(store: str) -> None:
    connect = ("connect", "salesforce", "--instance-url", "https://127.0.0.1:1", "--token",
               "-")
    quiet = run(store, *connect, stdin="token", check=False)
    assert "Starting new HTTPS connection" not in quiet.stderr
    loud = run(store, "--log-level", "debug", *connect, stdin="token", check=False)
    assert "Starting new HTTPS connection" in loud.stderr
    from_env = run(store, *connect, stdin="token", check=False,
                   env={"SYNCLEDGER_LOG_LEVEL": "DEBUG"})
    assert "Starting new HTTPS connection" in from_env.stderr
    wrong = run(store, "people", "list", check=False, env={"SYNCLEDGER_LOG_LEVEL": "loud"})
    assert wrong.returncode == 2
    assert "--log-level loud: expected debug, info, warning, error" in wrong.stderr


# -- --json on every command that prints -------------------------------------------------
def test_json_from_verify_rebuild_forget_and_the_switches(imported: str,
                                                          tmp_path: Path) -> None:
    verified = json.loads(run(imported, "verify", "--json").stdout)
    assert verified["ok"] is True and verified["broken"] is None
    assert verified["seals"] > 0 and len(verified["head"]) == 64
    expected = json.loads(run(imported, "verify", "--expect", verified["head"],
                              "--json").stdout)
    assert expected["expected_seal"] == verified["seals"] and expected["saves_after"] == 0
    missing = run(imported, "verify", "--expect", "0" * 64, "--json", check=False)
    assert missing.returncode == 1 and json.loads(missing.stdout)["ok"] is False
    rebuilt = json.loads(run(imported, "rebuild", "--json").stdout)
    assert "people" in rebuilt["projections"] and rebuilt["events"] > 0
    assert json.loads(run(imported, "enable", "--json").stdout) == {
        "crm": "salesforce", "enabled": True, "connected": False}
    assert json.loads(run(imported, "disable", "--json").stdout)["enabled"] is False
    assert json.loads(run(imported, "step", "disable", "People to Leads",
                          "--json").stdout) == {"crm": "salesforce", "step": "People to Leads",
                                                "enabled": False, "profile": "default"}
    assert json.loads(run(imported, "profile", "use", "custom", "--json").stdout) == {
        "crm": "salesforce", "profile": "custom"}
    started = json.loads(run(imported, "config", "init", "--json").stdout)
    assert started["file"] is None and "[[steps]]" in started["toml"]
    assert json.loads(run(imported, "disconnect", "--json").stdout) == {
        "crm": "salesforce", "was_connected": False}
    then = f"sqlite:///{tmp_path / 'then.db'}"
    replayed = json.loads(run(imported, "replay", "--position", "3", "--into", then,
                              "--json").stdout)
    assert replayed["position"] >= 3 and replayed["people"] == 1
    assert replayed["into"].endswith("then.db")
    forgotten = json.loads(run(imported, "forget", "p-1", "--yes", "--json").stdout)
    assert forgotten["person"] == "p-1" and forgotten["keys"] >= 1


def test_replay_diff_exits_1_with_exit_code_when_the_stores_differ(imported: str,
                                                                   tmp_path: Path) -> None:
    then = f"sqlite:///{tmp_path / 'then.db'}"
    run(imported, "replay", "--position", "3", "--into", then)
    assert run(imported, "replay", "diff", then, imported).returncode == 0  # a report
    differs = run(imported, "replay", "diff", then, imported, "--exit-code", check=False)
    assert differs.returncode == 1
    same = run(imported, "replay", "diff", imported, imported, "--exit-code", "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["changed"] == []


# -- history -------------------------------------------------------------------------------
def test_history_filters_and_an_activity_by_its_app_id(store: str, tmp_path: Path) -> None:
    run(store, "--as", "tm-alice", "app", "import", write(tmp_path / "a.jsonl", LINES))
    run(store, "--as", "tm-bob", "app", "import", write(tmp_path / "b.jsonl", [
        {**LINES[2], "first_name": "Augusta", "at": "2026-11-02T10:00:00Z"}]))
    trail = json.loads(run(store, "history", "p-1", "--json").stdout)
    assert [e["actor"] for e in trail] == ["tm-alice"] * 3 + ["tm-bob"]
    # --json gives every field; the table shows the facts an event holds, not its nulls.
    assert trail[0]["data"]["link"] is None
    table = run(store, "history", "p-1").stdout
    assert '"app_id"' in table and "null" not in table
    last = json.loads(run(store, "history", "p-1", "-n", "2", "--json").stdout)
    assert last == trail[-2:]
    bobs = json.loads(run(store, "history", "p-1", "--actor", "tm-bob", "--json").stdout)
    assert [e["type"] for e in bobs] == ["PersonUpdated"]
    assert json.loads(run(store, "history", "p-1", "--since", trail[-1]["time"],
                          "--json").stdout) == trail[-1:]
    assert json.loads(run(store, "history", "p-1", "--since", "1h", "--json").stdout) == \
        trail
    assert json.loads(run(store, "history", "p-1", "--run", "nothing", "--json").stdout) == []
    assert "no events of p-1 match" in run(store, "history", "p-1", "--actor", "x").stdout
    bad = run(store, "history", "p-1", "--since", "yesterday", check=False)
    assert bad.returncode == 2 and "--since yesterday: expected a time" in bad.stderr
    activity = json.loads(run(store, "history", "e-1", "--json").stdout)
    assert [e["type"] for e in activity] == ["ActivityRecorded"]
    assert activity[0]["data"]["key"] == "e-1"


# -- sync, logs and status against the emulator --------------------------------------------
def test_partial_runs_failing_records_and_the_checks(org: Org) -> None:
    org.imports_lines([person(1, email="broken@localhost"), person(2)])
    first = org.cli("sync", "--json")
    assert json.loads(first.stdout)["outcome"] == "partial"  # exit 0: a report
    # A refusal no retry can help is not tried again until the person changes: the last
    # run succeeded, yet the record still fails, across runs.
    assert "succeeded" in org.cli("sync").stdout
    [health] = json.loads(org.cli("status", "--json").stdout)
    assert health["failing_steps"] == []
    assert [f["record"]["app"] for f in health["failing_records"]] == ["p-1"]
    again = org.cli("sync", "--full", "--fail-on", "partial", check=False)
    assert again.returncode == 1 and "partial" in again.stdout
    assert "--fail-on sometimes: expected" in org.cli("sync", "--fail-on", "sometimes",
                                                      check=False).stderr
    [health] = json.loads(org.cli("status", "--json").stdout)
    assert health["crm"] == "salesforce" and health["last_run"]["outcome"] == "partial"
    assert health["failing_steps"] == ["People to Leads"]
    [failing] = health["failing_records"]
    assert failing["record"] == {"app": "p-1", "crm": None}
    assert failing["code"] == "INVALID_EMAIL_ADDRESS" and failing["runs"] == 2
    shown = org.cli("status").stdout
    assert "failing steps in the last run: People to Leads" in shown
    assert "p-1 (People to Leads): INVALID_EMAIL_ADDRESS" in shown
    assert org.cli("status", "--check").returncode == 0  # partial: not a failure
    # A fixed email: written at the next run, no longer failing.
    org.imports_lines([person(1, email="person1@example.com", at="2030-01-01T00:00:00Z")])
    org.cli("sync")
    [health] = json.loads(org.cli("status", "--json").stdout)
    assert health["failing_records"] == [] and health["failing_steps"] == []
    # A run that fails as a whole: status says why, and --check exits 1.
    org.admin("faults", {"error_rate": 1.0, "status": 503, "seed": 1})
    org.imports_lines([person(3)])
    failed = org.cli("sync", check=False)
    assert failed.returncode == 1 and "failed" in failed.stdout
    check = org.cli("status", "--check", check=False)
    assert check.returncode == 1
    assert "the run itself: RETRYABLE: Salesforce" in check.stdout
    assert "check: salesforce: the last run" in check.stderr and "failed" in check.stderr
    # The Logs: newest first, their real duration and API calls, and the filters.
    runs = json.loads(org.cli("logs", "--json").stdout)
    assert [r["outcome"] for r in runs] == ["failed", "succeeded", "partial", "succeeded",
                                            "partial"]
    assert all(r["duration_seconds"] is not None and r["api_calls_total"] > 0 for r in runs)
    assert all(r["finished_at"] > r["started_at"] for r in runs)  # its real end
    assert json.loads(org.cli("logs", "-n", "1", "--json").stdout) == runs[:1]
    assert json.loads(org.cli("logs", "--actor", "tm-bob", "--json").stdout) == []
    assert len(json.loads(org.cli("logs", "--actor", "tm-alice", "--json").stdout)) == 5
    assert json.loads(org.cli("logs", "--since", "2999-01-01", "--json").stdout) == []
    assert json.loads(org.cli("logs", "--since", "1d", "--json").stdout) == runs
    one = json.loads(org.cli("logs", "--run", runs[1]["run_id"], "--json").stdout)
    assert one == runs[1:2]
    assert "API calls)" in org.cli("logs", "-n", "1").stdout


def test_schedule_prints_json_events(org: Org) -> None:
    result = org.cli("schedule", "--max-runs", "1", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["started", "run", "stopped"]
    assert events[0]["crm"] == "salesforce" and events[0]["every"] == "2h"
    assert events[1]["outcome"] == "succeeded" and events[1]["run_id"]
    assert all(e["time"] for e in events)


# -- which CRM -----------------------------------------------------------------------------
def test_with_only_pipedrive_connected_nothing_speaks_of_salesforce(store: str) -> None:
    with running("pipedrive", {"users": [{"id": 7, "name": "Pat", "email": "pat@x.example"}]}
                 ) as emulator:
        run(store, "--as", "tm-alice", "connect", "pipedrive", "--api-url", emulator.url,
            "--token", "-", "--ca-cert", str(emulator.ca_cert), stdin=emulator.token)
        shown = run(store, "status").stdout
        assert shown.startswith("pipedrive: connected") and "salesforce" not in shown
        assert [h["crm"] for h in json.loads(run(store, "status", "--json").stdout)] == \
            ["pipedrive"]
        refused = run(store, "sync", check=False)  # the one connected, though switched off
        assert refused.returncode == 2
        assert refused.stderr.startswith("syncledger: the pipedrive integration is disabled")
        assert "person" in json.loads(run(store, "fields", "--json").stdout)["crm"]
        assert json.loads(run(store, "enable", "--json").stdout)["crm"] == "pipedrive"
        # Named, the other CRM is spoken of as asked.
        [other] = json.loads(run(store, "status", "--crm", "salesforce", "--json").stdout)
        assert other["crm"] == "salesforce" and other["connection"] is None
        wrong = run(store, "status", "--crm", "hubspot", check=False)
        assert wrong.returncode == 2 and "expected salesforce or pipedrive" in wrong.stderr


def test_with_nothing_connected_status_speaks_of_every_crm(store: str) -> None:
    assert [h["crm"] for h in json.loads(run(store, "status", "--json").stdout)] == \
        ["salesforce", "pipedrive"]
    shown = run(store, "status").stdout
    assert "salesforce: not connected" in shown and "pipedrive: not connected" in shown


# -- what misled a new user ----------------------------------------------------------------
TITLE_CONFIG = """\
[integration]
crm = "salesforce"
enabled = true

[[steps]]
name = "Leads to People"
from = "salesforce.leads"
to = "app.people"
field_mappings = [
  { crm = "FirstName", app = "first_name" }, { crm = "LastName", app = "last_name" },
  { crm = "Email", app = "email" }, { crm = "Company", app = "account" },
  { crm = "Title", app = "title" },
]

[[steps]]
name = "People to Leads"
from = "app.people"
to = "salesforce.leads"
field_mappings = [
  { crm = "FirstName", app = "first_name" }, { crm = "LastName", app = "last_name" },
  { crm = "Email", app = "email" }, { crm = "Company", app = "account" },
  { crm = "Title", app = "title" },
]
"""


def test_explain_a_mapped_app_field_by_its_name_with_its_conflict(org: Org) -> None:
    config = org.tmp / "title.toml"
    config.write_text(TITLE_CONFIG)
    org.cli("config", "apply", str(config))
    org.admin("load", {"Lead": [{"Id": "00Q000000000003AAA", "FirstName": "P3",
                                 "LastName": "Person3", "Email": "person3@example.com",
                                 "Company": "Acct3", "Title": "CEO", "OwnerId": ALICE}]})
    org.imports_lines([person(3, fields={"title": "CTO"})])
    org.cli("sync")  # a first link: both sides changed, the CRM wins by default
    story = json.loads(org.cli("explain", "p-3", "title", "--json").stdout)
    assert story == json.loads(org.cli("explain", "p-3", "fields.title", "--json").stdout)
    [conflict] = [s for s in story if s["conflict"]]
    assert conflict["type"] == "PersonConflictResolved"
    assert conflict["conflict"] == {"policy": "crm", "winner": "crm",
                                    "loser": "CTO"}
    said = org.cli("explain", "p-3", "title").stdout
    assert said.startswith("p-3 fields.title = 'CEO'")
    assert "conflict settled by the crm policy: 'CEO' won; the losing value was 'CTO'" in said
    unknown = org.cli("explain", "p-3", "titel", check=False)
    assert unknown.returncode == 2 and "or an app field: title" in unknown.stderr


def test_a_config_file_without_enabled_keeps_the_integration_as_it_is(org: Org) -> None:
    config = org.tmp / "no-enabled.toml"
    config.write_text(TITLE_CONFIG.replace("enabled = true\n", ""))
    applied = org.cli("config", "apply", str(config))
    assert "does not say `enabled` in [integration]: the integration stays enabled" in \
        applied.stderr
    shown = json.loads(org.cli("config", "show", "--json").stdout)
    assert shown["integration"]["enabled"] is True
    trail = json.loads(org.cli("history", "integration:salesforce", "--json").stdout)
    assert "IntegrationSwitched" not in [e["type"] for e in trail[-3:]]
    org.cli("disable")
    again = json.loads(org.cli("config", "apply", str(config), "--json").stdout)
    assert again["enabled"] is False and again["changes"] == []


def test_fields_never_cuts_a_name_on_a_narrow_terminal(org: Org) -> None:
    shown = run(org.store, "fields", "--object", "Lead", env={"COLUMNS": "80"}).stdout
    assert "Syncledger_Key__c" in shown and "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_a_worker_started_before_anything_is_connected_waits_for_it(store: str) -> None:
    result = run(store, "schedule", "--max-runs", "1", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["started", "not_synced", "stopped"]
    assert events[1]["reason"].startswith("salesforce is not connected")
