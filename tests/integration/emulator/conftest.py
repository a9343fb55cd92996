"""Salesforce emulator fixtures: one HTTPS server per module, reset and reloaded per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import simple_salesforce

from syncledger.emulator.server import RunningEmulator, running

ALICE = "0058d0000000001AAA"
BOB = "0058d0000000002AAA"
ACME = "0018d0000000001AAA"
CARL = "0038d0000000001AAA"
LENA = "00Q8d0000000001EAA"
CONVERTED = "00Q8d0000000002EAA"
PINNED_NOW = "2026-03-02T10:00:00.000+0000"

BASE_DATA: dict[str, Any] = {
    "User": [
        {"Id": ALICE, "FirstName": "Alice", "LastName": "Archer", "Email": "alice@team.example",
         "Username": "alice@team.example.crm", "IsActive": True},
        {"Id": BOB, "FirstName": "Bob", "LastName": "Baker", "Email": "bob@team.example",
         "Username": "bob@team.example.crm", "IsActive": True},
        {"Id": "0058d0000000003AAA", "FirstName": "Ina", "LastName": "Active",
         "Email": "ina@team.example", "Username": "ina@team.example.crm", "IsActive": False},
    ],
    "Account": [{"Id": ACME, "Name": "Acme", "OwnerId": ALICE}],
    "Contact": [
        {"Id": "0038d0000000001AAA", "FirstName": "Carl", "LastName": "Contact",
         "Email": "carl@acme.example", "AccountId": ACME, "OwnerId": BOB,
         "CreatedDate": "2026-03-01T08:00:00Z"},
    ],
    "Lead": [
        {"Id": "00Q8d0000000001EAA", "FirstName": "Lena", "LastName": "Lead",
         "Email": "lena@globex.example", "Company": "Globex", "OwnerId": ALICE,
         "CreatedDate": "2026-02-20T08:00:00Z"},
        {"Id": "00Q8d0000000002EAA", "FirstName": "Carl", "LastName": "Contact",
         "Email": "carl@acme.example", "Company": "Acme", "IsConverted": True,
         "Status": "Closed - Converted", "ConvertedContactId": "0038d0000000001AAA",
         "ConvertedAccountId": ACME, "ConvertedDate": "2026-03-01"},
    ],
    "options": {"now": PINNED_NOW, "current_user": ALICE},
}


class Org:
    """Clients for one emulator: `sf` is simple-salesforce, `http` a plain requests session."""

    def __init__(self, emu: RunningEmulator) -> None:
        self.emu = emu
        self.http = session(emu)
        self.sf = simple_salesforce.Salesforce(instance_url=emu.url, session_id=emu.token,
                                               session=self.http)

    def url(self, path: str) -> str:
        return self.emu.url + path

    def api(self, method: str, path: str, token: str | None = None,
            **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.emu.token}",
                   **kwargs.pop("headers", {})}
        return self.http.request(method, self.url("/services/data/v59.0" + path),
                                 headers=headers, **kwargs)

    def admin(self, method: str, name: str, body: Any = None) -> Any:
        response = self.http.request(method, self.url(f"/__emulator__/{name}"), json=body,
                                     headers={"Authorization": f"Bearer {self.emu.token}"})
        assert response.status_code == 200, response.text
        return response.json()

    def load(self, data: dict[str, Any]) -> Any:
        return self.admin("POST", "load", data)

    def stats(self) -> dict[str, int]:
        calls: dict[str, int] = self.admin("GET", "stats")["api_calls"]
        return calls


def session(emu: RunningEmulator) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.verify = str(emu.ca_cert)
    return http


@pytest.fixture(scope="module")
def sf_emulator() -> Iterator[RunningEmulator]:
    with running("salesforce") as emu:
        yield emu


@pytest.fixture
def org(sf_emulator: RunningEmulator) -> Org:
    """A fresh org per test: reset, then the small base data, the clock pinned."""
    org = Org(sf_emulator)
    org.admin("POST", "reset")
    org.load(BASE_DATA)
    return org
