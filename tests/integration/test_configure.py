"""Configuration against the emulators: the checks that read the CRM (describe, users, lead
statuses) through the stored connection, and the app data (team members, sequences, lists);
what `config apply` records and what `history integration:CRM` then shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.client import PipedriveCredentials
from syncledger.adapters.salesforce.client import SalesforceCredentials
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.config_file import configuration_from
from syncledger.commands.configure import (
    ConfigRejected,
    NotConnected,
    apply_configuration,
    current_configuration,
    starting_configuration,
    switch_step,
    use_profile,
)
from syncledger.commands.connect import connect_salesforce, disconnect
from syncledger.commands.connect_pipedrive import connect_pipedrive
from syncledger.commands.fields import list_fields
from syncledger.commands.session import caught_up
from syncledger.domain.steps import (
    DEFAULT_STEPS,
    Configuration,
    FieldMapping,
    FilterRule,
    IntegrationSettings,
    OwnerMapping,
    SequenceMapping,
    StatusMapping,
    Step,
    StepFilter,
)
from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import RunningEmulator, running

ALICE_SF = "0058d0000000001AAA"
APP_DATA = [
    {"kind": "team_member", "id": "tm-alice", "email": "alice@team.example", "name": "Alice"},
    {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example", "name": "Bob"},
    {"kind": "sequence", "id": "seq-q4", "name": "Q4",
     "steps": [{"number": 1, "delay_days": 0}, {"number": 2, "delay_days": 2}]},
    {"kind": "list", "id": "l-webinar", "name": "Q4 webinar"},
    {"kind": "saved_filter", "name": "Enterprise",
     "rules": [{"field": "account", "op": "contains", "value": "Corp"}]},
    {"kind": "person", "id": "p-1", "email": "ada@example.com",
     "fields": {"title": "Countess", "score": 7}},
]
DEFAULTS = DEFAULT_STEPS["salesforce"]


@pytest.fixture(scope="module")
def salesforce() -> Iterator[RunningEmulator]:
    with running("salesforce", generate_salesforce(5, 5)) as emulator:
        yield emulator


@pytest.fixture
def connected(sqlite_store: SyncLedger, salesforce: RunningEmulator,
              tmp_path: Path) -> SyncLedger:
    credentials = SalesforceCredentials(instance_url=salesforce.url,
                                        access_token=salesforce.token,
                                        ca_cert=str(salesforce.ca_cert))
    connect_salesforce(sqlite_store, credentials, "production", "tm-alice")
    data = tmp_path / "app.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in APP_DATA))
    import_file(sqlite_store, data, "tm-alice")
    return sqlite_store


def custom(*steps: Step, **settings: object) -> Configuration:
    return Configuration("salesforce", "custom", IntegrationSettings(**settings),  # type: ignore[arg-type]
                         tuple(steps or DEFAULTS))


def with_step(index: int, **changes: object) -> Configuration:
    steps = list(DEFAULTS)
    steps[index] = replace(steps[index], **changes)  # type: ignore[arg-type]
    return custom(*steps)


def event_count(store: SyncLedger) -> int:
    return store.recorder.max_notification_id() or 0


def rejected(store: SyncLedger, config: Configuration) -> str:
    before = event_count(store)
    with pytest.raises(ConfigRejected) as raised:
        apply_configuration(store, config, "tm-bob", "c.toml")
    assert event_count(store) == before  # all or nothing
    return str(raised.value)


def test_apply_records_the_differences_and_history_shows_who_changed_which_mapping(
        connected: SyncLedger) -> None:
    first = apply_configuration(connected, custom(), "tm-alice", "c.toml")
    assert first.changes[-1] == "profile custom"
    assert apply_configuration(connected, custom(), "tm-alice", "c.toml").changes == []
    title = FieldMapping("Title", "title", "app")
    second = apply_configuration(connected, with_step(
        0, field_mappings=(*DEFAULTS[0].field_mappings, title)), "tm-bob", "c.toml")
    assert second.changes == ["changed step 'Contacts to People': field_mappings "
                              "(+Title→title (conflict app))"]
    trail = views.history(caught_up(connected), "integration:salesforce")
    change = trail[-2]
    assert (change["type"], change["actor"], change["cause"]) == (
        "IntegrationStepChanged", "tm-bob", second.cause)
    assert change["data"]["added"] == {"field_mappings": [{"crm": "Title", "app": "title",
                                                           "conflict": "app"}]}
    assert trail[-1]["type"] == "IntegrationWarningsRaised"  # both people targets on
    assert trail[0]["type"] == "IntegrationCreated"
    assert current_configuration(connected, "salesforce").steps[0].field_mappings[-1] == title


def test_crm_fields_are_checked_against_the_orgs_describe(connected: SyncLedger) -> None:
    people_out = DEFAULTS[2]
    for mapping, fragment in [
        (FieldMapping("Titel", "title"), "unknown field Titel on Contact (did you mean Title"),
        (FieldMapping("Interests__c", "interests"), "multi-select picklist"),
        (FieldMapping("Name", "full_name"), "read-only"),
        (FieldMapping("Score__c", "title"), "type mismatch: Contact.Score__c is double"),
    ]:
        message = rejected(connected, with_step(2, field_mappings=(
            *people_out.field_mappings, mapping)))
        assert "step 'People to Contacts', field_mappings[3].crm" in message
        assert fragment in message
    accepted = with_step(2, field_mappings=(*people_out.field_mappings,
                                            FieldMapping("Score__c", "score"),
                                            FieldMapping("Account.Name", "account")))
    assert apply_configuration(connected, accepted, "tm-bob", "c.toml").changes


def test_owners_must_exist_in_the_org_and_the_app(connected: SyncLedger) -> None:
    unknown = "0058d0000000999AAA"
    message = rejected(connected, custom(*DEFAULTS, owner_mappings=(
        OwnerMapping(unknown, "tm-alice"), OwnerMapping(ALICE_SF, "tm-zed"))))
    assert f"[integration], owner_mappings[0].crm: no CRM user {unknown}" in message
    assert "owner_mappings[1].app: no team member tm-zed" in message
    pairs = (OwnerMapping(ALICE_SF, "tm-alice"),)
    assert apply_configuration(connected, custom(*DEFAULTS, owner_mappings=pairs), "tm-bob",
                               "c.toml").changes


def test_sequences_lists_saved_filters_and_statuses_are_looked_up(connected: SyncLedger
                                                                  ) -> None:
    routed = with_step(0, sequence_mappings=(SequenceMapping("tm-bob", "seq-q4", 3),))
    assert "has no step 3 (its steps: 1, 2)" in rejected(connected, routed)
    assert "status_mappings[0].crm: 'Hot' is not a Lead Status of the org (Open - Not " \
        "Contacted" in rejected(connected, with_step(4, status_mappings=(
            StatusMapping("Replied", "Hot"),)))
    steps = list(DEFAULTS)
    steps[0] = replace(steps[0], sequence_mappings=(SequenceMapping("tm-bob", "seq-q4", 2),),
                       filter=StepFilter(rules=(FilterRule("Email", "ends_with", ".com"),)))
    steps[2] = replace(steps[2], filter=StepFilter(list="Q4 webinar"))
    steps[3] = replace(steps[3], filter=StepFilter(saved="Enterprise"))
    steps[4] = replace(steps[4], status_mappings=(StatusMapping("Replied",
                                                                "Working - Contacted"),))
    steps[6] = replace(steps[6], filter=StepFilter(saved="Opened", list="l-webinar"))
    applied = apply_configuration(connected, custom(*steps), "tm-bob", "c.toml")
    assert applied.changes[-1] == "profile custom"


def test_checks_that_need_the_crm_say_it_is_not_connected(connected: SyncLedger) -> None:
    disconnect(connected, "salesforce", "tm-alice")
    with pytest.raises(NotConnected, match="salesforce is not connected"):
        apply_configuration(connected, custom(), "tm-alice", "c.toml")
    # the Default profile's switches need no CRM
    config = Configuration("salesforce", "default", IntegrationSettings(), tuple(
        replace(s, enabled=s.name != "Emails to Lead Tasks") for s in DEFAULTS))
    assert apply_configuration(connected, config, "tm-alice", "c.json").changes == [
        "step 'Emails to Lead Tasks' switched off"]


def test_a_renamed_step_is_warned_about_and_recorded(connected: SyncLedger) -> None:
    apply_configuration(connected, custom(), "tm-alice", "c.toml")
    applied = apply_configuration(connected, with_step(0, name="Contacts in, Q4"), "tm-bob",
                                  "c.toml")
    assert any("'Contacts to People' was renamed 'Contacts in, Q4'" in w
               for w in applied.warnings)
    trail = views.history(caught_up(connected), "integration:salesforce")
    assert any("renamed" in w for w in trail[-1]["data"]["warnings"])


def test_profiles_and_step_switches_through_the_handlers(connected: SyncLedger) -> None:
    assert switch_step(connected, "salesforce", "People to Leads", False, "tm-bob") == \
        "default"
    use_profile(connected, "salesforce", "custom", "tm-bob")
    config = current_configuration(connected, "salesforce")
    assert config.profile == "custom"
    assert not {s.name: s for s in config.steps}["People to Leads"].enabled


def test_config_init_starts_from_the_default_steps_with_the_connected_pair(
        connected: SyncLedger) -> None:
    import tomllib

    text = starting_configuration(connected, "salesforce", "tm-bob")
    assert f'# owner_mappings = [ {{ crm = "{ALICE_SF}", app = "tm-bob" }} ]' in text
    config = configuration_from(tomllib.loads(text), "init.toml")
    assert config.steps == DEFAULTS and config.profile == "custom"
    assert apply_configuration(connected, config, "tm-bob", "init.toml").changes
    pair = text.replace("# owner_mappings =", "owner_mappings =")
    assert apply_configuration(connected, configuration_from(tomllib.loads(pair), "x"),
                               "tm-bob", "init.toml").changes == ["settings: owner_mappings"]


def test_fields_lists_crm_and_app_fields_with_types_and_writability(connected: SyncLedger
                                                                    ) -> None:
    listing = list_fields(connected, "salesforce", ["Contact"])
    rows = {row["name"]: row for row in listing["crm"]["Contact"]}
    assert rows["Title"] == {"name": "Title", "label": "Title", "type": "string",
                             "length": 128, "createable": True, "updateable": True,
                             "mappable": True, "note": None}
    assert not rows["Interests__c"]["mappable"]
    assert rows["Name"]["note"] == "read-only: inbound steps only"
    assert "Account.Name" in rows
    app = {row["name"]: row for row in listing["app"]}
    assert app["title"]["type"] == "text" and app["score"]["type"] == "number"
    assert app["email"]["type"] == "email" and not app["owner"]["writable"]
    assert set(list_fields(connected, "salesforce", None)["crm"]) == {"Contact", "Lead"}


def test_pipedrive_connects_and_its_fields_are_checked(sqlite_store: SyncLedger) -> None:
    data = {"users": [{"id": 11, "name": "Olivia", "email": "olivia@acme.example"}],
            "personFields": [{"key": "b" * 40, "name": "Interests", "field_type": "set",
                              "options": [{"id": 1, "label": "Analytics"}]}]}
    with running("pipedrive", data) as emulator:
        connection = connect_pipedrive(sqlite_store, PipedriveCredentials(
            emulator.url, emulator.token, str(emulator.ca_cert)), "tm-alice")
        assert connection.org_id == "1" and connection.user_id == "11"
        steps = DEFAULT_STEPS["pipedrive"]
        config = Configuration("pipedrive", "custom", IntegrationSettings(), steps)
        assert apply_configuration(sqlite_store, config, "tm-alice", "p.toml").changes
        interests = FieldMapping("b" * 40, "interests")
        bad = replace(config, steps=(replace(steps[0], field_mappings=(
            *steps[0].field_mappings, interests)), steps[1]))
        with pytest.raises(ConfigRejected, match="multi-select picklist"):
            apply_configuration(sqlite_store, bad, "tm-alice", "p.toml")
        listing = list_fields(sqlite_store, "pipedrive", None)
        assert {r["name"] for r in listing["crm"]["person"]} >= {"name", "email", "b" * 40}
