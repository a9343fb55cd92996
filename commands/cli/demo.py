"""`syncledger demo`: a Salesforce emulator with generated data, generated app data imported
into a fresh store, a sync with the Default profile, then the Logs and where to look next."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.client import SalesforceCredentials
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.cli.common import steps_progress
from syncledger.commands.configure import apply_configuration, switch_integration
from syncledger.commands.connect import connect_salesforce
from syncledger.commands.sample_app_data import write_app_data
from syncledger.commands.session import caught_up, store_session
from syncledger.commands.sync import run_sync
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import OwnerMapping
from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import running

DEMO_PEOPLE = 500
DEMO_CONTACTS = 2000
DEMO_LEADS = 1000
ACTOR = "tm-alice"


def run_demo(directory: Path, out: Console) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
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
    integration = AggregateCache(store).get(integration_id("salesforce"))
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
