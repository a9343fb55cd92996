"""Connecting Pipedrive: the API token's user and company (users/me), the credentials kept
encrypted, the facts recorded on the integration (never a secret)."""

from __future__ import annotations

from dataclasses import asdict

from syncledger.adapters.credentials import load_credentials, save_credentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.client import PipedriveClient, PipedriveCredentials
from syncledger.commands.connect import Connection, record_connection


def connect_pipedrive(app: SyncLedger, credentials: PipedriveCredentials,
                      actor: str) -> Connection:
    client = PipedriveClient(credentials)
    me = client.me()
    connection = Connection(
        crm="pipedrive", org_id=str(me["company_id"]),
        org_name=str(me.get("company_name") or ""), environment="production",
        instance_url=credentials.api_url.rstrip("/"), user_id=str(me["id"]),
        user_email=me.get("email"), missing_keys=[])
    save_credentials(app.database, "pipedrive", asdict(credentials))
    record_connection(app, connection, actor)
    return connection


def pipedrive_client(app: SyncLedger) -> PipedriveClient:
    return PipedriveClient(PipedriveCredentials(**load_credentials(app.database, "pipedrive")))
