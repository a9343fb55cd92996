"""Connecting to the Salesforce emulator with the real client: facts recorded, credentials
encrypted, external id fields checked, an expired session refreshed once."""

from __future__ import annotations

import requests

from syncledger.adapters.credentials import credentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.client import SalesforceCredentials
from syncledger.commands.connect import (
    connect_salesforce,
    disconnect,
    salesforce_client,
)
from syncledger.domain.ids import integration_id
from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import running


def admin(emulator, path: str, body: object) -> None:  # type: ignore[no-untyped-def]
    session = requests.Session()
    session.trust_env = False
    response = session.post(f"{emulator.url}/__emulator__/{path}", json=body,
                            headers={"Authorization": f"Bearer {emulator.token}"},
                            verify=str(emulator.ca_cert))
    response.raise_for_status()


def test_connect_records_the_org_and_keeps_the_token_out_of_the_log(sqlite_store: SyncLedger
                                                                    ) -> None:
    with running("salesforce", generate_salesforce(5, 5)) as emulator:
        creds = SalesforceCredentials(instance_url=emulator.url, access_token=emulator.token,
                                      refresh_token=emulator.token, client_id="syncledger",
                                      ca_cert=str(emulator.ca_cert))
        connection = connect_salesforce(sqlite_store, creds, "production", "tm-alice")
        assert connection.org_id.startswith("00D")
        assert connection.missing_keys == []
        integration = sqlite_store.repository.get(integration_id("salesforce"))
        assert integration.org_id == connection.org_id
        states = b"".join(n.state for n in sqlite_store.recorder.select_notifications(1, 100))
        assert emulator.token.encode() not in states
        with sqlite_store.database.reader.connect() as db:
            sealed = db.execute(credentials.select()).one().sealed
        assert emulator.token.encode() not in sealed

        admin(emulator, "faults", {"expire_session": True})
        client = salesforce_client(sqlite_store)
        assert client.describe("Contact")["name"] == "Contact"
        assert client.calls["auth"] == 1  # refreshed once

        disconnect(sqlite_store, "salesforce", "tm-alice")
        assert not sqlite_store.repository.get(integration_id("salesforce")).connected


def test_connect_names_the_objects_missing_the_external_id_field(sqlite_store: SyncLedger
                                                                 ) -> None:
    data = generate_salesforce(2, 2)
    data["options"] = {"external_id_fields": False}
    with running("salesforce", data) as emulator:
        creds = SalesforceCredentials(instance_url=emulator.url, access_token=emulator.token,
                                      ca_cert=str(emulator.ca_cert))
        connection = connect_salesforce(sqlite_store, creds, "production", "system")
    assert connection.missing_keys == ["Lead", "Contact", "Account", "Task"]
    assert any("at-least-once" in w for w in connection.warnings)
