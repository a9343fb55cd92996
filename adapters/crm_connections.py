"""Connecting a CRM, for the connect, login, fields and configuration commands: with the gateway
factory (adapters/gateways.py) the only module outside adapters/salesforce and
adapters/pipedrive that imports them (an import-linter contract in pyproject.toml holds it).

It gives the credentials each CRM takes, checks them against the CRM (who and where we are,
whether the key field is there), logs in to Salesforce in the browser, and gives a CRM's
catalog (its fields and users) and its client through the stored credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.credentials import load_credentials, save_credentials
from syncledger.adapters.database import Database
from syncledger.adapters.pipedrive.catalog import PipedriveCatalog
from syncledger.adapters.pipedrive.client import KEY_FIELD_NAME as PIPEDRIVE_KEY_FIELD_NAME
from syncledger.adapters.pipedrive.client import (
    PipedriveClient,
    PipedriveCredentials,
    key_field,
)
from syncledger.adapters.salesforce import oauth
from syncledger.adapters.salesforce.catalog import SalesforceCatalog
from syncledger.adapters.salesforce.client import KEY_FIELD as SALESFORCE_KEY_FIELD
from syncledger.adapters.salesforce.client import SalesforceClient, SalesforceCredentials
from syncledger.adapters.salesforce.oauth import (
    DEFAULT_CLIENT_ID,
    DEFAULT_PORT,
    LoginRequest,
    login_url_for,
)
from syncledger.domain.integration import Integration

__all__ = [
    "DEFAULT_CLIENT_ID", "DEFAULT_PORT", "PIPEDRIVE_KEY_FIELD_NAME", "PIPEDRIVE_PERSON",
    "SALESFORCE_KEYED_OBJECTS", "SALESFORCE_KEY_FIELD", "LoginRequest", "OrgFacts",
    "PipedriveClient", "PipedriveCredentials", "SalesforceClient", "SalesforceCredentials",
    "catalog_for", "check_pipedrive", "check_salesforce", "login_salesforce", "login_url_for",
    "pipedrive_client", "salesforce_client",
]

SALESFORCE_KEYED_OBJECTS = ("Lead", "Contact", "Account", "Task")  # carry SALESFORCE_KEY_FIELD
PIPEDRIVE_PERSON = "person"  # the one object the Pipedrive key field goes on


@dataclass
class OrgFacts:
    """What a check of the credentials learnt of the CRM's org (or company) and its user."""

    org_id: str
    org_name: str
    instance_url: str
    user_id: str
    user_email: str | None
    missing_keys: list[str]  # the keyed objects without the key field
    sandbox: bool | None  # None: the CRM has no sandboxes
    credentials: dict[str, Any]  # to keep (encrypted): as checked, a refreshed token included


def check_salesforce(credentials: SalesforceCredentials) -> OrgFacts:
    """Who and where we are (userinfo, Organization), and which objects lack the external
    id field (describe)."""
    client = SalesforceClient(credentials)
    info = client.userinfo()
    organization = client.organization()
    missing = [sobject for sobject in SALESFORCE_KEYED_OBJECTS
               if not any(f["name"] == SALESFORCE_KEY_FIELD
                          for f in client.describe(sobject)["fields"])]
    return OrgFacts(
        org_id=str(info.get("organization_id") or organization["Id"]),
        org_name=str(organization.get("Name") or ""),
        instance_url=client.credentials.instance_url, user_id=str(info["user_id"]),
        user_email=info.get("email"), missing_keys=missing,
        sandbox=bool(organization.get("IsSandbox")), credentials=asdict(client.credentials))


def check_pipedrive(credentials: PipedriveCredentials) -> OrgFacts:
    """The API token's user and company (users/me), and whether the "Syncledger key" person
    field is there (personFields)."""
    client = PipedriveClient(credentials)
    me = client.me()
    missing = [] if key_field(client.person_fields()) is not None else [PIPEDRIVE_PERSON]
    return OrgFacts(
        org_id=str(me["company_id"]), org_name=str(me.get("company_name") or ""),
        instance_url=credentials.api_url.rstrip("/"), user_id=str(me["id"]),
        user_email=me.get("email"), missing_keys=missing, sandbox=None,
        credentials=asdict(credentials))


def login_salesforce(request: LoginRequest, open_browser: Callable[[str], Any]
                     ) -> SalesforceCredentials:
    """The OAuth web-server flow with PKCE in the browser: the credentials it gives."""
    return oauth.login(request, open_browser)


def salesforce_client(database: Database, crm: str = "salesforce",
                      budget: CallBudget | None = None) -> SalesforceClient:
    """The client for the stored credentials; a refreshed token is stored again."""
    credentials = SalesforceCredentials(**load_credentials(database, crm))
    return SalesforceClient(credentials, on_refresh=lambda fresh: save_credentials(
        database, crm, asdict(fresh)), budget=budget)


def pipedrive_client(database: Database, budget: CallBudget | None = None) -> PipedriveClient:
    return PipedriveClient(PipedriveCredentials(**load_credentials(database, "pipedrive")),
                           budget=budget)


def catalog_for(database: Database, integration: Integration
                ) -> SalesforceCatalog | PipedriveCatalog:
    """The CRM's fields and users through the stored credentials (CredentialsError when
    there are none)."""
    if integration.crm == "pipedrive":
        return PipedriveCatalog(pipedrive_client(database))
    return SalesforceCatalog(salesforce_client(database))
