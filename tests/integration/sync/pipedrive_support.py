"""A connected store and a Pipedrive emulator for sync tests, driven through our handlers
(the Pipedrive counterpart of sync_support.py).

One emulator serves a whole test module (starting one costs a TLS certificate); each test
resets it and loads the company below, then connects a fresh store of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.client import (
    KEY_FIELD_NAME,
    PipedriveClient,
    PipedriveCredentials,
)
from syncledger.adapters.pipedrive.gateway import PipedriveGateway
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.configure import apply_configuration
from syncledger.commands.connect_pipedrive import connect_pipedrive
from syncledger.commands.session import caught_up
from syncledger.commands.sync import RunReport, run_sync
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import OwnerMapping, Step
from syncledger.emulator.server import RunningEmulator

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CRM = "pipedrive"
# Pipedrive users (ids as the API gives them; the engine speaks of them as strings).
ALICE, BOB, STRANGER = 11, 12, 19
USERS = [
    {"id": ALICE, "name": "Alice A", "email": "alice@team.example", "is_admin": True,
     "is_you": True},
    {"id": BOB, "name": "Bob B", "email": "bob@team.example"},
    {"id": STRANGER, "name": "Sam S", "email": "sam@elsewhere.example"},
]
TEAM = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"}]
# Custom person fields, by their 40-character hash keys.
KEY_FIELD = "c" * 39 + "3"  # "Syncledger key": a create's idempotency key
SOURCE = "a" * 39 + "1"  # text
INTERESTS = "b" * 39 + "2"  # multiple options (a multi-select picklist)
TIER = "d" * 39 + "4"  # single option
SCORE = "e" * 39 + "5"  # number
FIELDS = [
    {"key": KEY_FIELD, "name": KEY_FIELD_NAME, "field_type": "varchar"},
    {"key": SOURCE, "name": "Lead source", "field_type": "varchar"},
    {"key": INTERESTS, "name": "Interests", "field_type": "set",
     "options": [{"id": 1, "label": "Analytics"}, {"id": 2, "label": "Security"}]},
    {"key": TIER, "name": "Tier", "field_type": "enum",
     "options": [{"id": 7, "label": "Gold"}, {"id": 8, "label": "Silver"}]},
    {"key": SCORE, "name": "Score", "field_type": "double"},
]
COMPANY = {"id": 4242, "name": "Acme Sales", "domain": "acme"}
# Fixed stamps for loaded persons, so that the ones loaded in one test share or order them
# as the test says, whatever the wall clock.
EARLY = "2026-11-01T09:00:00Z"


@dataclass
class Company:
    app: SyncLedger
    emulator: RunningEmulator
    tmp: Path
    session: requests.Session
    imports: int = 0

    # -- the emulator, as an admin sees it (never counted as API calls) ---------------------
    def admin(self, name: str, body: Any = None, method: str = "POST") -> Any:
        response = self.session.request(method, f"{self.emulator.url}/__emulator__/{name}",
                                        json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def load(self, **data: Any) -> None:
        self.admin("load", data)

    def persons(self) -> dict[int, dict[str, Any]]:
        """The live persons, by id."""
        return {p["id"]: p for p in self.admin("dump", method="GET")["persons"]
                if not p["is_deleted"]}

    def by_email(self) -> dict[str, dict[str, Any]]:
        """The live persons, by primary email."""
        return {primary(p): p for p in self.persons().values() if primary(p)}

    def calls(self) -> dict[str, int]:
        return dict(self.admin("stats", method="GET")["api_calls"])

    def writes(self) -> int:
        return self.calls()["persons_write"]

    def tick(self, seconds: float = 60) -> None:
        self.admin("clock", {"advance_seconds": seconds})

    def faults(self, **settings: Any) -> None:
        self.admin("faults", settings)

    def merge(self, gone: int, survivor: int) -> None:
        self.admin("merge", {"id": gone, "merge_with_id": survivor})

    # -- Pipedrive's API, as a user of the CRM changes it -----------------------------------
    def api(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.emulator.url}{path}", json=body)
        response.raise_for_status()
        return response.json()

    def edit(self, person_id: int, **body: Any) -> None:
        self.api("PATCH", f"/api/v2/persons/{person_id}", body)

    def delete(self, person_id: int) -> None:
        self.api("DELETE", f"/api/v2/persons/{person_id}")

    # -- the app and our handlers -----------------------------------------------------------
    def import_lines(self, lines: list[dict[str, Any]]) -> None:
        self.imports += 1
        path = self.tmp / f"import-{self.imports}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        import_file(self.app, path, "tm-alice")

    def sync(self, actor: str = "tm-alice", **kwargs: Any) -> RunReport:
        return run_sync(self.app, actor, NOW, crm=CRM, **kwargs)

    def gateway(self, page_size: int = 500) -> PipedriveGateway:
        """A gateway of our own for run_sync(gateway=...): the real adapter over loopback,
        with smaller pages."""
        return PipedriveGateway(PipedriveClient(PipedriveCredentials(
            self.emulator.url, self.emulator.token, str(self.emulator.ca_cert))),
            page_size=page_size)

    def people(self) -> dict[str, dict[str, Any]]:
        return {p["email"]: p for p in views.people(caught_up(self.app), None)}

    def configure(self, pairs: tuple[OwnerMapping, ...] | None = None, change: Any = None,
                  **settings: Any) -> None:
        """Switch to the Custom profile; `pairs` at integration level, `change` edits each
        step, `settings` the other [integration] keys."""
        integration = AggregateCache(self.app).find(integration_id(CRM))
        current = integration.configuration()
        steps = tuple(change(s) if change else s for s in current.steps)
        if pairs is not None:
            settings["owner_mappings"] = pairs
        apply_configuration(self.app, replace(
            current, profile="custom", steps=steps,
            settings=replace(current.settings, **settings)), "tm-alice", "test")


def primary(person: dict[str, Any]) -> str | None:
    emails = person.get("emails") or []
    found = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    return str(found["value"]).lower() if found else None


def steps_named(name: str, edit: Any) -> Any:
    """A `change` for Company.configure that edits one step."""
    def change(step: Step) -> Step:
        return edit(step) if step.name == name else step
    return change


def reset(server: RunningEmulator, session: requests.Session, keyed: bool = True) -> None:
    base = f"{server.url}/__emulator__"
    session.post(f"{base}/reset").raise_for_status()
    fields = FIELDS if keyed else [f for f in FIELDS if f["key"] != KEY_FIELD]
    session.post(f"{base}/load", json={"company": COMPANY, "users": USERS,
                                       "personFields": fields}).raise_for_status()


@contextmanager
def connected_company(app: SyncLedger, tmp: Path, server: RunningEmulator,
                      keyed: bool = True, enable: bool = True) -> Iterator[Company]:
    """The emulator reset to the company above (with the "Syncledger key" field unless not
    `keyed`), this store connected to it by tm-alice and (unless not `enable`) switched on,
    the team imported."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_cert)
    session.headers["x-api-token"] = server.token
    reset(server, session, keyed)
    connect_pipedrive(app, PipedriveCredentials(server.url, server.token,
                                                str(server.ca_cert)), "tm-alice")
    if enable:
        integration = AggregateCache(app).find(integration_id(CRM))
        integration.switch(True, Context("config:test", "tm-alice"))
        app.save(integration)
    company = Company(app, server, tmp, session)
    company.import_lines(TEAM)
    try:
        yield company
    finally:
        session.close()


def pd_person(n: int, owner: int = ALICE, **extra: Any) -> dict[str, Any]:
    """Pipedrive person n as the emulator loads it."""
    return {"id": n, "name": f"Pat{n} Person{n}", "owner_id": owner,
            "emails": [{"value": f"pd{n}@example.com", "primary": True, "label": "work"}],
            "phones": [{"value": f"+1 555 01{n:02d}", "primary": True, "label": "work"}],
            "add_time": EARLY, "update_time": EARLY, **extra}


def app_person(n: int, **extra: Any) -> dict[str, Any]:
    """App person n as an import line."""
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "owner": "tm-alice", **extra}
