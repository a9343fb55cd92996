"""Connecting Pipedrive: the API token's user and company (users/me), whether the "Syncledger
key" person field is there (personFields), the credentials kept encrypted, the facts recorded
on the integration (never a secret)."""

from __future__ import annotations

from syncledger.adapters import crm_connections
from syncledger.adapters.credentials import save_credentials
from syncledger.adapters.crm_connections import PIPEDRIVE_KEY_FIELD_NAME, PipedriveCredentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.connect import Connection, record_connection


def connect_pipedrive(app: SyncLedger, credentials: PipedriveCredentials,
                      actor: str) -> Connection:
    # Without the key field a create cannot carry its idempotency key: a create retried
    # after a lost answer is then matched by email instead.
    org = crm_connections.check_pipedrive(credentials)
    connection = Connection(
        crm="pipedrive", org_id=org.org_id, org_name=org.org_name, environment="production",
        instance_url=org.instance_url, user_id=org.user_id, user_email=org.user_email,
        missing_keys=org.missing_keys)
    if org.missing_keys:
        connection.warnings.append(
            f'the person field "{PIPEDRIVE_KEY_FIELD_NAME}" (text) is missing: a create '
            "retried after its answer was lost is matched by email instead of by key, so a "
            "person without an email may be created twice; an admin can add the field once "
            "(Company settings > Data fields > Person)")
    save_credentials(app.database, "pipedrive", org.credentials)
    record_connection(app, connection, actor)
    return connection
