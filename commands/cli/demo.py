"""`syncledger demo`: a Salesforce (or Pipedrive) emulator with generated data, generated app
data imported into a fresh store, a sync with the Default profile, then with a Custom one, then
the Logs and where to look next."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.crm_connections import PipedriveCredentials, SalesforceCredentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.cli.common import steps_progress
from syncledger.commands.config_file import configuration_toml, read_configuration
from syncledger.commands.configure import apply_configuration, switch_integration
from syncledger.commands.connect import connect_salesforce
from syncledger.commands.connect_pipedrive import connect_pipedrive
from syncledger.commands.sample_app_data import TEAM, write_app_data
from syncledger.commands.session import caught_up, store_session
from syncledger.commands.sync import RunReport, run_sync
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration
from syncledger.domain.steps import DEFAULT_STEPS, FieldMapping, OwnerMapping, SequenceMapping
from syncledger.emulator.generate import SALESFORCE_USERS, generate_salesforce
from syncledger.emulator.pipedrive.generate import generate_pipedrive
from syncledger.emulator.server import running

DEMO_PEOPLE = 500
DEMO_CONTACTS = 2000
DEMO_LEADS = 1000
ACTOR = "tm-alice"


def run_demo(directory: Path, out: Console, crm: str = "salesforce") -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    if crm == "pipedrive":
        _pipedrive_tour(directory, out)
    else:
        _salesforce_tour(directory, out)


def _salesforce_tour(directory: Path, out: Console) -> None:
    data = write_app_data(directory / "app.jsonl", DEMO_PEOPLE)
    store_url = f"sqlite:///{directory / 'syncledger.db'}"
    crm_data = generate_salesforce(DEMO_CONTACTS, DEMO_LEADS, seed=1)
    with running("salesforce", crm_data) as emulator, store_session(store_url) as store:
        out.print(f"Salesforce emulator at {emulator.url}: {DEMO_CONTACTS} contacts, "
                  f"{DEMO_LEADS} leads (some converted, some duplicates by email, some "
                  "owned by users no team member matches)")
        summary = import_file(store, data, ACTOR)
        recorded = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.recorded.items()))
        out.print(f"Imported {data}: {recorded}")
        connection = connect_salesforce(store, SalesforceCredentials(
            instance_url=emulator.url, access_token=emulator.token,
            refresh_token=emulator.token, client_id="syncledger-demo",
            ca_cert=str(emulator.ca_cert)), "production", ACTOR)
        out.print(f"Connected to org {connection.org_id} as {connection.user_email}")
        switch_integration(store, "salesforce", True, ACTOR)
        out.print("Syncing with the Default profile")
        with steps_progress(out) as progress:
            report = run_sync(store, ACTOR, datetime.now(UTC), progress=progress)
        out.print(f"Run {report.run_id} (Default profile): {report.outcome}")
        _print_counts(out, views.logs(caught_up(store), report.run_id)[0])
        pairs = _custom_owner_pairs(store, crm_data)
        out.print("Applied a Custom configuration with ownership mappings "
                  f"({', '.join(f'{p.crm} -> {p.app}' for p in pairs)}): Contacts and Leads "
                  "of Alice and Bob now come in as their members' people, records of other "
                  "owners are skipped inbound (the reason is in the Logs), and an owner the "
                  "first run gave by default is never written back to the CRM")
        out.print("Syncing with the Custom profile")
        with steps_progress(out) as progress:
            custom = run_sync(store, ACTOR, datetime.now(UTC), progress=progress)
        out.print(f"Run {custom.run_id} (Custom profile): {custom.outcome}")
        _print_counts(out, views.logs(caught_up(store), custom.run_id)[0])
        guarded = [e for e in custom.errors if e["code"] == "MASS_CHANGE"]
        if guarded:
            out.print(Text(f"The mass-change guard stopped the run before its first write: "
                           f"{guarded[0]['message']}"))
            out.print("Those are the Leads the first run created for tm-bob's people, which "
                      "Salesforce gave to the connected user; the pairs say Bob owns them. "
                      "Checked, the demo says yes (syncledger sync --allow-mass-changes)")
            with steps_progress(out) as progress:
                allowed = run_sync(store, ACTOR, datetime.now(UTC), progress=progress,
                                   allow_mass_changes=True)
            out.print(f"Run {allowed.run_id} (Custom profile, mass changes allowed): "
                      f"{allowed.outcome}")
            _print_counts(out, views.logs(caught_up(store), allowed.run_id)[0])
        linked = views.people(store, "salesforce")
    table = Table("id", "email", "owner", "linked to", title="A few linked people")
    for row in linked[:5]:
        link = row["links"][0]
        table.add_row(row["id"], row["email"], row["owner"] or "",
                      f"{link['object']} {link['id']}")
    out.print(table)
    example = linked[0]["id"] if linked else "p-1"
    out.print("Look further (the store stays in demo/):")
    out.print(f"  .venv/bin/syncledger --store {store_url} logs")
    out.print(f"  .venv/bin/syncledger --store {store_url} people list --linked salesforce")
    out.print(f"  .venv/bin/syncledger --store {store_url} history {example}")
    out.print(f"  .venv/bin/syncledger --store {store_url} explain {example} owner")
    out.print(f"  .venv/bin/syncledger --store {store_url} verify")
    out.print("The demo's emulator has stopped: to sync again, serve one and connect to it "
              "(README, \"To sync against a CRM yourself\").")


def _custom_owner_pairs(store: SyncLedger, crm_data: dict[str, Any]) -> tuple[OwnerMapping, ...]:
    """Map the CRM users of Alice and Bob to their team members; the others stay unmapped."""
    members = {"alice@team.example": "tm-alice", "bob@team.example": "tm-bob"}
    pairs = tuple(OwnerMapping(user["Id"], members[user["Email"]])
                  for user in crm_data["User"] if user.get("Email") in members)
    integration = AggregateCache(store).get_existing(integration_id("salesforce"),
                                                    Integration)
    current = integration.configuration()
    config = replace(current, profile="custom",
                     settings=replace(current.settings, owner_mappings=pairs))
    apply_configuration(store, config, ACTOR, "demo")
    return pairs


def _print_counts(out: Console, run: dict[str, object]) -> None:
    table = Table("kind", "created", "updated", "skipped", "failed", title="The Logs")
    counts = run["counts"]
    assert isinstance(counts, dict)
    for kind, values in counts.items():
        if any(values.values()):
            table.add_row(kind, *(str(values[k]) for k in ("created", "updated", "skipped",
                                                          "failed")))
    out.print(table)
    reasons = run["skip_reasons"]
    assert isinstance(reasons, dict)
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        out.print(f"  skipped {count}: {reason}")


# -- the Pipedrive tour ---------------------------------------------------------------------
DEMO_PERSONS = 2000
# The company's users are the Salesforce demo's (Alice, Bob and Carol match team members by
# email, Dave and Erin match nobody), each owning the same share of the persons.
OWNER_WEIGHTS = (30, 25, 20, 15, 10)
ROUTED_MEMBER = "tm-bob"
ROUTED_SEQUENCE = "seq-q4"


def _pipedrive_company(persons: int, seed: int) -> dict[str, Any]:
    """The generated company, its users swapped for the team's (and two strangers'), the
    persons' owners drawn again among them."""
    data = generate_pipedrive(persons, seed)
    data["users"] = [{"id": 1000 + index, "name": f"{first} {last}", "email": email,
                      "is_admin": index == 0, "is_you": index == 0}
                     for index, (first, last, email, _member) in enumerate(SALESFORCE_USERS)]
    owners = [user["id"] for user in data["users"]]
    rng = random.Random(seed)
    for person in data["persons"]:
        person["owner_id"] = rng.choices(owners, OWNER_WEIGHTS)[0]
    return data


def _pipedrive_tour(directory: Path, out: Console) -> None:
    # Pipedrive syncs people only: the sample's emails and calls would have nowhere to go;
    # its Default profile maps phones, so the people have some.
    data = write_app_data(directory / "app.jsonl", DEMO_PEOPLE, activities=False, phones=True)
    store_url = f"sqlite:///{directory / 'syncledger.db'}"
    crm_data = _pipedrive_company(DEMO_PERSONS, seed=1)
    with running("pipedrive", crm_data) as emulator, store_session(store_url) as store:
        out.print(f"Pipedrive emulator at {emulator.url}: {DEMO_PERSONS} persons (some "
                  "duplicates by email, some owned by users no team member matches)")
        summary = import_file(store, data, ACTOR)
        recorded = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.recorded.items()))
        out.print(f"Imported {data}: {recorded} (no emails or calls: Pipedrive syncs people "
                  "only)")
        connection = connect_pipedrive(store, PipedriveCredentials(
            emulator.url, emulator.token, str(emulator.ca_cert)), ACTOR)
        out.print(f"Connected to company {connection.org_name} ({connection.org_id}) as "
                  f"{connection.user_email}")
        for warning in connection.warnings:
            out.print(Text(f"  warning: {warning}"))
        switch_integration(store, "pipedrive", True, ACTOR)
        out.print(f"Syncing with the Default profile (no ownership mappings: persons come in "
                  f"as people of {ACTOR}, who connected, and people go out with no owner, "
                  "which Pipedrive gives to the connected user)")
        _pipedrive_run(store, out, "Default profile")
        config_path, pairs = _pipedrive_custom_config(store, crm_data,
                                                      directory / "custom.toml")
        out.print(f"Applied a Custom configuration ({config_path}): ownership mappings "
                  f"({', '.join(f'{p.crm} -> {p.app}' for p in pairs)}, the Pipedrive users "
                  "Alice and Bob), so persons of Alice and Bob come in as their members' "
                  "people and persons of other owners are skipped inbound, tm-bob's people "
                  "go out owned by Bob and tm-carol's are skipped outbound (the reasons are "
                  "in the Logs); a sequence mapping, so "
                  f"persons of Bob coming in join {ROUTED_SEQUENCE} at step 1; and the custom "
                  "field Lead source, by its hash key, comes in as lead_source")
        out.print("Syncing with the Custom profile")
        custom = _pipedrive_run(store, out, "Custom profile")
        guarded = [e for e in custom.errors if e["code"] == "MASS_CHANGE"]
        if guarded:
            out.print(Text(f"The mass-change guard stopped the run before its first write: "
                           f"{guarded[0]['message']}"))
            out.print("Those are the persons the first run created for tm-bob's people, "
                      "which Pipedrive gave to the connected user; the pairs say Bob owns "
                      "them. Checked, the demo says yes (syncledger sync --allow-mass-changes)")
            _pipedrive_run(store, out, "Custom profile, mass changes allowed",
                           allow_mass_changes=True)
        linked = views.people(store, "pipedrive")
    routed = [row for row in linked if (row["sequence"] or {}).get("id") == ROUTED_SEQUENCE]
    out.print(f"{len(linked)} people are linked to Pipedrive persons, {len(routed)} of them "
              f"in the sequence {ROUTED_SEQUENCE}; below, an imported person of each team "
              "member, then two persons of Bob that came in")
    table = Table("id", "owner", "sequence", title="A few linked people")
    table.add_column("Pipedrive person", no_wrap=True)
    for row in _a_few(linked, routed):
        link = row["links"][0]
        table.add_row(row["id"], row["owner"] or "", (row["sequence"] or {}).get("id", ""),
                      link["url"] or f"{link['object']} {link['id']}")
    out.print(table)
    example = routed[0]["id"] if routed else "p-1"
    out.print(f"Look further (the store stays in {directory}/):")
    command = f"  .venv/bin/syncledger --store {store_url}"
    out.print(f"{command} logs")
    out.print(f"{command} people list --linked pipedrive")
    out.print(f"{command} people show {example}")
    out.print(f"{command} explain {example} owner")
    out.print(f"{command} explain {example} sequence")
    out.print(f"{command} history p-1")
    out.print(f"{command} config show --crm pipedrive")
    out.print(f"{command} verify")
    out.print("The links are the persons' pages ({company URL}/person/{id}), here on the "
              "demo's emulator, which has stopped: to sync again, serve one and connect to "
              "it (README, \"To sync against a CRM yourself\").")


def _a_few(linked: list[dict[str, Any]],
           routed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    imported = [row for row in linked if row["id"].startswith("p-")]
    each = [next(row for row in imported if row["owner"] == member)
            for member, _email, _name in TEAM
            if any(row["owner"] == member for row in imported)]
    return each + routed[:2]


def _pipedrive_run(store: SyncLedger, out: Console, label: str,
                   allow_mass_changes: bool = False) -> RunReport:
    with steps_progress(out) as progress:
        report = run_sync(store, ACTOR, datetime.now(UTC), crm="pipedrive", progress=progress,
                          allow_mass_changes=allow_mass_changes)
    out.print(f"Run {report.run_id} ({label}): {report.outcome}")
    _print_counts(out, views.logs(caught_up(store), report.run_id)[0])
    for error in report.errors:
        if error["code"] != "MASS_CHANGE":  # the caller tells that one's story
            out.print(Text(f"  error: {error['message']}"))
    return report


def _pipedrive_custom_config(store: SyncLedger, crm_data: dict[str, Any],
                             path: Path) -> tuple[Path, tuple[OwnerMapping, ...]]:
    """The Default profile's two steps under the Custom profile, with ownership mappings for
    Alice and Bob, Bob's people routed to seq-q4 and Lead source mapped, written as the file
    a user would write, then applied from it."""
    members = {"alice@team.example": "tm-alice", "bob@team.example": "tm-bob"}
    pairs = tuple(OwnerMapping(str(user["id"]), members[user["email"]])
                  for user in crm_data["users"] if user["email"] in members)
    lead_source = next(f["key"] for f in crm_data["personFields"] if f["name"] == "Lead source")
    inbound, outbound = DEFAULT_STEPS["pipedrive"]
    inbound = replace(inbound, field_mappings=(
        *inbound.field_mappings, FieldMapping(lead_source, "lead_source")),
        sequence_mappings=(SequenceMapping(ROUTED_MEMBER, ROUTED_SEQUENCE),))
    integration = AggregateCache(store).get_existing(integration_id("pipedrive"),
                                                    Integration)
    current = integration.configuration()
    config = replace(current, profile="custom", steps=(inbound, outbound),
                     settings=replace(current.settings, owner_mappings=pairs))
    path.write_text(configuration_toml(config, header=(
        "The demo's Custom configuration for Pipedrive (syncledger config apply reads it).\n"
        f"Ownership: Pipedrive user {pairs[0].crm} is Alice, {pairs[1].crm} is Bob.\n"
        f"{lead_source} is the hash key of the custom person field Lead source\n"
        "(syncledger fields --crm pipedrive lists every field with its key).")),
        encoding="utf-8")
    apply_configuration(store, read_configuration(path), ACTOR, str(path))
    return path, pairs
