"""Shared fixtures for the Pipedrive emulator tests: one HTTPS server per module, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from syncledger.emulator.server import RunningEmulator, running

FIELD_SOURCE = "a" * 39 + "1"
FIELD_INTERESTS = "b" * 39 + "2"

BASE_DATA: dict[str, Any] = {
    "users": [
        {"id": 11, "name": "Olivia Owner", "email": "olivia@acme.example", "is_admin": True},
        {"id": 12, "name": "Sam Seller", "email": "sam@acme.example"},
    ],
    "personFields": [
        {"key": FIELD_SOURCE, "name": "Lead source", "field_type": "varchar"},
        {"key": FIELD_INTERESTS, "name": "Interests", "field_type": "set",
         "options": [{"id": 1, "label": "Analytics"}, {"id": 2, "label": "Security"}]},
    ],
}


class Pipedrive:
    """A requests session on the emulator; `api` for Pipedrive calls, `admin` for the rest."""

    def __init__(self, emu: RunningEmulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(emu.ca_cert)
        self.session.headers["x-api-token"] = emu.token

    def url(self, path: str) -> str:
        return self.emu.url + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.url(path), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), **kwargs)

    def admin(self, name: str, body: Any = None, method: str = "POST") -> Any:
        response = self.session.request(method, self.url(f"/__emulator__/{name}"), json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.session.close()


@pytest.fixture(scope="module")
def pd_server() -> Iterator[RunningEmulator]:
    with running("pipedrive") as emu:
        yield emu


@pytest.fixture()
def pd(pd_server: RunningEmulator) -> Iterator[Pipedrive]:
    client = Pipedrive(pd_server)
    client.admin("reset")
    client.admin("load", BASE_DATA)
    yield client
    client.close()
