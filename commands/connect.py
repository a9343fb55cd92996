"""Connecting a CRM: check who and where we are (userinfo, Organization), which external id
fields exist (describe), keep the credentials encrypted, record the facts (never a secret)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from syncledger.adapters import crm_connections
from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.credentials import forget_credentials, save_credentials
from syncledger.adapters.crm_connections import (
    SALESFORCE_KEY_FIELD,
    LoginRequest,
    SalesforceClient,
    SalesforceCredentials,
)
from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration

KEY_FIELD = SALESFORCE_KEY_FIELD  # the external id field a write's idempotency key goes in


@dataclass
class Connection:
    crm: str
    org_id: str
    org_name: str
    environment: str
    instance_url: str
    user_id: str
    user_email: str | None
    missing_keys: list[str]
    warnings: list[str] = field(default_factory=list)


def integration_of(app: SyncLedger, crm: str, ctx: Context) -> Integration:
    existing = AggregateCache(app).get(integration_id(crm), Integration)
    return existing if existing is not None else Integration.start(crm, ctx)


def connect_salesforce(app: SyncLedger, credentials: SalesforceCredentials, environment: str,
                       actor: str) -> Connection:
    org = crm_connections.check_salesforce(credentials)
    connection = Connection(
        crm="salesforce", org_id=org.org_id, org_name=org.org_name, environment=environment,
        instance_url=org.instance_url, user_id=org.user_id, user_email=org.user_email,
        missing_keys=org.missing_keys)
    if org.sandbox != (environment == "sandbox"):
        connection.warnings.append(
            f"the org is {'a sandbox' if org.sandbox else 'production'} "
            f"but --environment is {environment}")
    if org.missing_keys:
        connection.warnings.append(
            f"{KEY_FIELD} (Text(64), unique, external id) is missing on "
            f"{', '.join(org.missing_keys)}: writes there fall back to natural keys, so "
            "activities are at-least-once; an admin can add the field once")
    save_credentials(app.database, "salesforce", org.credentials)
    record_connection(app, connection, actor)
    return connection


def login_salesforce(app: SyncLedger, request: LoginRequest, environment: str,
                     actor: str, open_browser: Callable[[str], Any]) -> Connection:
    """The OAuth web-server flow with PKCE in the browser, then connect with its tokens."""
    credentials = crm_connections.login_salesforce(request, open_browser)
    return connect_salesforce(app, credentials, environment, actor)


def record_connection(app: SyncLedger, connection: Connection, actor: str) -> None:
    """Record the connection's facts on the integration (never a secret)."""
    ctx = Context(cause=f"config:{uuid4().hex[:12]}", actor=actor)

    def record() -> bool:
        integration = integration_of(app, connection.crm, ctx)
        other_org = integration.connect(connection.org_id, connection.environment,
                                        connection.instance_url, connection.user_id,
                                        connection.missing_keys, ctx)
        app.save(integration)
        return other_org

    if app.decide(record):
        connection.warnings.append("this is a different org from the one connected before: "
                                   "its records start fresh links")


def salesforce_client(app: SyncLedger) -> SalesforceClient:
    """The client for the stored credentials; a refreshed token is stored again."""
    return crm_connections.salesforce_client(app.database)


def disconnect(app: SyncLedger, crm: str, actor: str) -> None:
    """Forget the credentials and stop syncing; the log, links and cursors stay."""
    forget_credentials(app.database, crm)
    ctx = Context(cause=f"config:{uuid4().hex[:12]}", actor=actor)

    def record() -> None:
        integration = integration_of(app, crm, ctx)
        integration.disconnect(ctx)
        if integration.pending_events:
            app.save(integration)

    app.decide(record)


def connection_facts(integration: Integration) -> dict[str, Any]:
    return {"crm": integration.crm, "org_id": integration.org_id,
            "environment": integration.environment, "instance_url": integration.instance_url,
            "connected_user": integration.connected_user, "connected": integration.connected,
            "missing_keys": integration.missing_keys}
