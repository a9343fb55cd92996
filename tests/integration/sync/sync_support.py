"""A connected store and a Salesforce emulator for sync tests, driven through our handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.client import SalesforceCredentials
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.connect import connect_salesforce
from syncledger.commands.session import caught_up
from syncledger.commands.sync import RunReport, run_sync
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.emulator.server import RunningEmulator, running

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
STRANGER = "005000000000009AAA"
STATUSES = [{"Id": "01J000000000001AAA", "MasterLabel": "Open - Not Contacted",
             "ApiName": "Open - Not Contacted", "IsDefault": True, "SortOrder": 1},
            {"Id": "01J000000000002AAA", "MasterLabel": "Replied", "ApiName": "Replied",
             "SortOrder": 2}]
USERS = [
    {"Id": ALICE, "FirstName": "Alice", "LastName": "A", "Email": "alice@team.example",
     "Username": "alice@crm", "IsActive": True},
    {"Id": BOB, "FirstName": "Bob", "LastName": "B", "Email": "bob@team.example",
     "Username": "bob@crm", "IsActive": True},
    {"Id": STRANGER, "FirstName": "Sam", "LastName": "S", "Email": "sam@elsewhere.example",
     "Username": "sam@crm", "IsActive": True},
]
TEAM = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"}]


@dataclass
class Org:
    app: SyncLedger
    emulator: RunningEmulator
    tmp: Path
    session: requests.Session
    imports: int = 0

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.emulator.url}/__emulator__/{path}",
                                        json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def load(self, **objects: Any) -> None:
        self.admin("POST", "load", objects)

    def dump(self, sobject: str) -> list[dict[str, Any]]:
        return [r for r in self.admin("GET", "dump")[sobject] if not r.get("IsDeleted")]

    def stats(self) -> dict[str, int]:
        return dict(self.admin("GET", "stats")["api_calls"])

    def writes(self) -> int:
        calls = self.stats()
        return calls["collections"] + calls["sobject_write"]

    def import_lines(self, lines: list[dict[str, Any]]) -> None:
        self.imports += 1
        path = self.tmp / f"import-{self.imports}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        import_file(self.app, path, "tm-alice")

    def sync(self, **kwargs: Any) -> RunReport:
        return run_sync(self.app, "tm-alice", NOW, **kwargs)

    def people(self) -> dict[str, dict[str, Any]]:
        return {p["email"]: p for p in views.people(caught_up(self.app), None)}


@contextmanager
def connected_org(app: SyncLedger, tmp: Path, options: dict[str, Any] | None = None,
                  enable: bool = True) -> Iterator[Org]:
    data: dict[str, Any] = {"User": USERS, "options": {"current_user": ALICE,
                                                       "now": "2026-11-20T10:00:00Z",
                                                       **(options or {})}}
    with running("salesforce", data) as emulator:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(emulator.ca_cert)
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        connect_salesforce(app, SalesforceCredentials(
            instance_url=emulator.url, access_token=emulator.token,
            refresh_token=emulator.token, client_id="syncledger",
            ca_cert=str(emulator.ca_cert)), "production", "tm-alice")
        if enable:
            ctx = Context("config:test", "tm-alice")
            integration = AggregateCache(app).find(integration_id("salesforce"))
            integration.switch(True, ctx)
            app.save(integration)
        org = Org(app, emulator, tmp, session)
        org.import_lines(TEAM)
        yield org


def person(n: int, **extra: Any) -> dict[str, Any]:
    """App person n as an import line."""
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "account": f"Acct{n}",
            "owner": "tm-alice", **extra}


def contact(n: int, owner: str = ALICE, **extra: Any) -> dict[str, Any]:
    """CRM Contact n as the emulator loads it."""
    return {"Id": f"003{n:012d}AAA", "FirstName": f"C{n}", "LastName": f"Last{n}",
            "Email": f"contact{n}@example.com", "OwnerId": owner, **extra}


def lead(n: int, owner: str = ALICE, **extra: Any) -> dict[str, Any]:
    """CRM Lead n as the emulator loads it."""
    return {"Id": f"00Q{n:012d}AAA", "FirstName": f"L{n}", "LastName": f"Lead{n}",
            "Email": f"lead{n}@example.com", "Company": f"Co{n}", "OwnerId": owner, **extra}
