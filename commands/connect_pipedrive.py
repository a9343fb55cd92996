"""Connecting Pipedrive: the API token's user and company (users/me), whether the "Syncledger
key" person field is there (personFields), the credentials kept encrypted, the facts recorded
on the integration (never a secret)."""

from __future__ import annotations

from dataclasses import asdict

from syncledger.adapters.credentials import load_credentials, save_credentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.client import (
    KEY_FIELD_NAME,
    PipedriveClient,
    PipedriveCredentials,
    key_field,
)
from syncledger.commands.connect import Connection, record_connection

PERSON = "person"


def connect_pipedrive(app: SyncLedger, credentials: PipedriveCredentials,
                      actor: str) -> Connection:
    client = PipedriveClient(credentials)
    me = client.me()
    # Without the key field a create cannot carry its idempotency key: a create retried
    # after a lost answer is then matched by email instead.
    missing = [] if key_field(client.person_fields()) is not None else [PERSON]
    connection = Connection(
        crm="pipedrive", org_id=str(me["company_id"]),
        org_name=str(me.get("company_name") or ""), environment="production",
        instance_url=credentials.api_url.rstrip("/"), user_id=str(me["id"]),
        user_email=me.get("email"), missing_keys=missing)
    if missing:
        connection.warnings.append(
            f'the person field "{KEY_FIELD_NAME}" (text) is missing: a create retried after '
            "its answer was lost is matched by email instead of by key, so a person without "
            "an email may be created twice; an admin can add the field once (Company "
            "settings > Data fields > Person)")
    save_credentials(app.database, "pipedrive", asdict(credentials))
    record_connection(app, connection, actor)
    return connection


def pipedrive_client(app: SyncLedger) -> PipedriveClient:
    return PipedriveClient(PipedriveCredentials(**load_credentials(app.database, "pipedrive")))
