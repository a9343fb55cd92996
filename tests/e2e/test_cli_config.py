"""Connect, fields, profiles, switches and configuration through the command line, as a user
runs them: a real process, a real SQLite file, the CRM emulators on loopback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import RunningEmulator, running

APP_DATA = [
    {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example", "name": "Alice"},
    {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example", "name": "Bob"},
    {"kind": "sequence", "id": "seq-q4", "name": "Q4", "steps": [{"number": 1}]},
    {"kind": "person", "id": "p-1", "email": "ada@example.com", "fields": {"title": "CTO"}},
]


def run(store: str, *args: str, check: bool = True, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "syncledger.commands", "--store", store,
                             *args], capture_output=True, text=True, timeout=120, input=stdin,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def refused(store: str, *args: str, code: int = 2, **kw: Any) -> str:
    """The one line a refused command prints; exit 2 (usage or input), or 3 (the CRM)."""
    result = run(store, *args, check=False, **kw)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def salesforce() -> Iterator[RunningEmulator]:
    with running("salesforce", generate_salesforce(5, 5)) as emulator:
        yield emulator


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def connected(store: str, salesforce: RunningEmulator, tmp_path: Path) -> str:
    run(store, "--as", "tm-alice", "connect", "salesforce", "--instance-url", salesforce.url,
        "--token", "-", "--ca-cert", str(salesforce.ca_cert), stdin=salesforce.token + "\n")
    data = tmp_path / "app.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in APP_DATA))
    run(store, "app", "import", str(data))
    return store


# -- connect --------------------------------------------------------------------------------
def test_connect_with_a_token_from_a_file_or_the_environment_prints_org_user_and_keys(
        store: str, salesforce: RunningEmulator, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(f"  {salesforce.token}\n")
    assert "needs --client-id" in refused(store, "connect", "salesforce", "--instance-url",
                                          salesforce.url, "--token-file", str(token),
                                          "--refresh-token-file", str(token))
    # (the emulator's admin token also refreshes)
    result = run(store, "--as", "tm-alice", "connect", "salesforce", "--instance-url",
                 salesforce.url, "--token-file", str(token), "--refresh-token-file",
                 str(token), "--client-id", "syncledger", "--ca-cert",
                 str(salesforce.ca_cert))
    assert "connected salesforce: Syncledger Emulator Org (00D" in result.stdout
    assert "as user 005" in result.stdout
    assert "Syncledger_Key__c present on Lead, Contact, Account and Task" in result.stdout
    again = run(store, "connect", "salesforce", "--instance-url", salesforce.url,
                "--environment", "sandbox", "--ca-cert", str(salesforce.ca_cert), "--json",
                env={"SYNCLEDGER_SF_TOKEN": salesforce.token})
    connection = json.loads(again.stdout)
    assert connection["environment"] == "sandbox" and connection["missing_keys"] == []
    assert connection["warnings"] == ["the org is production but --environment is sandbox"]


def test_a_token_is_never_taken_from_an_argument(store: str,
                                                 salesforce: RunningEmulator) -> None:
    message = refused(store, "connect", "salesforce", "--instance-url", salesforce.url,
                      "--token", salesforce.token)
    assert "shows in `ps`" in message and salesforce.token not in message
    assert "no access token" in refused(store, "connect", "salesforce", "--instance-url",
                                        salesforce.url, env={"SYNCLEDGER_SF_TOKEN": ""})


def test_a_usage_error_exits_2(store: str) -> None:
    result = run(store, "connect", "salesforce", "--bogus", check=False)
    assert result.returncode == 2 and "No such option: --bogus" in result.stderr


def test_a_refused_token_exits_3_saying_the_token_was_refused(store: str,
                                                              salesforce: RunningEmulator
                                                              ) -> None:
    message = refused(store, "connect", "salesforce", "--instance-url", salesforce.url,
                      "--token", "-", "--ca-cert", str(salesforce.ca_cert), stdin="wrong",
                      code=3)
    assert "Salesforce refused the access token (INVALID_SESSION_ID)" in message
    assert "session expired" not in message


def test_an_untrusted_certificate_says_so_and_how_to_pass_one(store: str,
                                                              salesforce: RunningEmulator
                                                              ) -> None:
    message = refused(store, "connect", "salesforce", "--instance-url", salesforce.url,
                      "--token", "-", stdin=salesforce.token, code=3)
    assert f"the certificate of Salesforce at {salesforce.url} is not trusted" in message
    assert "--ca-cert CA.pem" in message and "did not answer" not in message


def test_login_in_the_browser_end_to_end(store: str, salesforce: RunningEmulator,
                                         tmp_path: Path) -> None:
    # The "browser" webbrowser.open starts: it follows the authorize page's redirect to the
    # command's one-shot listener, as a browser whose user approved would.
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n"
                       "import os, sys, requests\n"
                       "session = requests.Session()\n"
                       "session.trust_env = False\n"
                       "session.verify = os.environ['EMULATOR_CA']\n"
                       "answer = session.get(sys.argv[1], timeout=30)\n"
                       "sys.exit(0 if answer.ok else 1)\n")
    browser.chmod(browser.stat().st_mode | stat.S_IEXEC)
    result = run(store, "--as", "tm-alice", "connect", "salesforce", "--login",
                 "--login-url", salesforce.url, "--ca-cert", str(salesforce.ca_cert),
                 "--port", "0",
                 env={"BROWSER": str(browser), "EMULATOR_CA": str(salesforce.ca_cert)})
    assert "/services/oauth2/authorize?response_type=code" in result.stdout
    assert "code_challenge_method=S256" in result.stdout
    assert "connected salesforce: Syncledger Emulator Org" in result.stdout
    status = json.loads(run(store, "config", "show", "--json").stdout)
    assert status["integration"]["crm"] == "salesforce"
    trail = json.loads(run(store, "history", "integration:salesforce", "--json").stdout)
    assert trail[-1]["type"] == "IntegrationConnected" and trail[-1]["actor"] == "tm-alice"


def test_disconnect_forgets_the_credentials_and_says_what_stays(connected: str) -> None:
    assert "credentials forgotten" in run(connected, "disconnect").stdout
    assert "not connected" in refused(connected, "fields", code=3)
    assert "salesforce was not connected" in run(connected, "disconnect", "--crm",
                                                 "salesforce").stdout


def test_connect_pipedrive_with_the_company_url(store: str, tmp_path: Path) -> None:
    with running("pipedrive", {"users": [{"id": 7, "name": "Pat", "email": "pat@x.example"}]}
                 ) as emulator:
        result = run(store, "--as", "tm-alice", "connect", "pipedrive", "--api-url",
                     emulator.url, "--token", "-", "--ca-cert", str(emulator.ca_cert),
                     stdin=emulator.token)
        assert "connected pipedrive: Emulated Company (1)" in result.stdout
        assert "as user 7 <pat@x.example>" in result.stdout
        fields = json.loads(run(store, "fields", "--json").stdout)
        assert "email" in {row["name"] for row in fields["crm"]["person"]}
        message = refused(store, "connect", "pipedrive", "--api-url", emulator.url,
                          "--token", "-", "--ca-cert", str(emulator.ca_cert), stdin="bad",
                          code=3)
        assert "Pipedrive refused the API token" in message


# -- fields, profiles, switches -------------------------------------------------------------
def test_fields_json_lists_crm_and_app_fields(connected: str) -> None:
    listing = json.loads(run(connected, "fields", "--object", "Lead", "--json").stdout)
    lead = {row["name"]: row for row in listing["crm"]["Lead"]}
    assert lead["Company"]["createable"] and lead["Company"]["length"] == 255
    assert set(lead["Email"]) == {"name", "label", "type", "length", "createable",
                                  "updateable", "mappable", "note"}
    assert {"title", "email", "owner"} <= {row["name"] for row in listing["app"]}
    assert "Contact (CRM)" in run(connected, "fields").stdout


def test_step_switches_profiles_and_the_integration_switch(connected: str) -> None:
    assert "step 'People to Leads' off (default profile)" in run(
        connected, "--as", "tm-bob", "step", "disable", "People to Leads").stdout
    message = refused(connected, "step", "enable", "People to Lead")
    assert "no step 'People to Lead'" in message and "People to Leads" in message
    run(connected, "profile", "use", "custom")
    assert "(custom profile)" in run(connected, "step", "enable", "People to Leads").stdout
    assert "expected default or custom" in refused(connected, "profile", "use", "fancy")
    assert "salesforce integration enabled" in run(connected, "enable").stdout
    shown = json.loads(run(connected, "config", "show", "--json").stdout)
    assert shown["integration"]["enabled"] and shown["integration"]["profile"] == "custom"
    run(connected, "disable")
    trail = json.loads(run(connected, "history", "integration:salesforce", "--json").stdout)
    types = [entry["type"] for entry in trail]
    assert types[-1] == "IntegrationSwitched" and "IntegrationProfileChosen" in types
    assert any(e["actor"] == "tm-bob" and e["type"] == "IntegrationStepSwitched"
               for e in trail)


# -- config ---------------------------------------------------------------------------------
def test_config_init_apply_twice_show_and_apply_back(connected: str, tmp_path: Path) -> None:
    path = tmp_path / "syncledger.toml"
    run(connected, "--as", "tm-alice", "config", "init", str(path))
    text = path.read_text()
    assert text.count("[[steps]]") == 16
    assert "# owner_mappings = [ { crm = \"0058d0000000001AAA\", app = \"tm-alice\" } ]" in text
    assert "exists" in refused(connected, "config", "init", str(path))
    first = run(connected, "--as", "tm-alice", "config", "apply", str(path))
    assert "recorded 17 change(s)" in first.stdout
    assert "a new person becomes a Lead" in first.stderr
    assert "no changes; nothing recorded" in run(connected, "config", "apply",
                                                 str(path)).stdout
    shown = tmp_path / "shown.json"
    shown.write_text(run(connected, "config", "show", "--json").stdout)
    assert "no changes" in run(connected, "config", "apply", str(shown)).stdout
    as_toml = tmp_path / "shown.toml"
    as_toml.write_text(run(connected, "config", "show").stdout)
    assert "no changes" in run(connected, "config", "apply", str(as_toml)).stdout

    edited = text.replace('  { crm = "Email", app = "email" },\n]',
                          '  { crm = "Email", app = "email" },\n'
                          '  { crm = "Title", app = "fields.title" },\n]', 1)
    edited = edited.replace("# owner_mappings =", "owner_mappings =")
    path.write_text(edited)
    result = json.loads(run(connected, "--as", "tm-bob", "config", "apply", str(path),
                            "--json").stdout)
    assert result["changes"] == ["settings: owner_mappings",
                                 "changed step 'Contacts to People': field_mappings "
                                 "(+Title→title)"]
    trail = json.loads(run(connected, "history", "integration:salesforce", "--json").stdout)
    mine = [e for e in trail if e["cause"] == result["cause"]]
    assert [e["type"] for e in mine] == ["IntegrationSettingsChanged",
                                         "IntegrationStepChanged", "IntegrationWarningsRaised"]
    assert all(e["actor"] == "tm-bob" for e in mine)
    assert mine[1]["data"]["step"] == "Contacts to People"


def test_a_refused_configuration_exits_2_naming_step_and_field_and_records_nothing(
        connected: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    run(connected, "config", "init", str(path))
    before = run(connected, "history", "integration:salesforce", "--json").stdout
    path.write_text(path.read_text().replace('{ crm = "Company", app = "account" }',
                                             '{ crm = "Interests__c", app = "account" }', 1))
    result = run(connected, "config", "apply", str(path), check=False)
    assert result.returncode == 2, result.stderr
    # One problem a line, each naming the file.
    assert result.stderr.splitlines() == [
        f"syncledger: {path}: step 'Leads to People', field_mappings: required mappings "
        "missing: Company → account",
        f"syncledger: {path}: step 'Leads to People', field_mappings[3].crm: Interests__c is "
        "a multi-select picklist; the app has no multi-select fields, so it cannot be mapped"]
    assert run(connected, "history", "integration:salesforce", "--json").stdout == before
    path.write_text("[integration]\ncrm = 'salesforce'\nconflikt = 'app'\n")
    assert f"{path}: [integration] conflikt: unknown key" in refused(connected, "config",
                                                                     "apply", str(path))


def test_under_the_default_profile_a_change_says_to_switch_to_custom(connected: str,
                                                                     tmp_path: Path) -> None:
    shown = json.loads(run(connected, "config", "show", "--json").stdout)
    assert shown["integration"]["profile"] == "default"
    shown["steps"][0]["field_mappings"].pop()
    path = tmp_path / "default.json"
    path.write_text(json.dumps(shown))
    message = refused(connected, "config", "apply", str(path))
    assert "step 'Contacts to People', field_mappings: the Default profile's field " \
           "mappings cannot be changed; switch to the Custom profile" in message
