"""A fresh store connected to a (reset) Salesforce emulator and enabled, for the properties
that drive random histories through our own handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.client import SalesforceCredentials
from syncledger.commands.connect import connect_salesforce
from syncledger.commands.session import open_store
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.emulator.server import RunningEmulator


def connect_enabled(app: SyncLedger, emulator: RunningEmulator) -> None:
    """Connect the store to the emulator as tm-alice and switch the integration on."""
    connect_salesforce(app, SalesforceCredentials(
        instance_url=emulator.url, access_token=emulator.token,
        refresh_token=emulator.token, client_id="x", ca_cert=str(emulator.ca_cert)),
        "production", "tm-alice")
    integration = AggregateCache(app).find(integration_id("salesforce"))
    integration.switch(True, Context("config:test", "tm-alice"))
    app.save(integration)


class EmulatedWorld:
    def __init__(self, emulator: RunningEmulator, directory: Path,
                 users: list[dict[str, Any]], current_user: str) -> None:
        self.emulator = emulator
        self.directory = directory
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(emulator.ca_cert)
        self.session.headers["Authorization"] = f"Bearer {emulator.token}"
        self.admin("reset", {})
        self.admin("load", {"User": users, "options": {"current_user": current_user,
                                                       "now": "2026-11-20T10:00:00Z"}})
        self.app: SyncLedger = open_store(f"sqlite:///{directory / 'store.db'}")
        connect_enabled(self.app, emulator)

    def admin(self, path: str, body: Any) -> Any:
        response = self.session.post(f"{self.emulator.url}/__emulator__/{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        response = self.session.get(f"{self.emulator.url}/__emulator__/dump")
        return response.json()  # type: ignore[no-any-return]

    def calls(self) -> dict[str, int]:
        stats = self.session.get(f"{self.emulator.url}/__emulator__/stats").json()
        return dict(stats["api_calls"])

    def close(self) -> None:
        self.app.close()
        self.app.database.dispose()
