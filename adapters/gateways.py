"""The gateway factory: the one place that knows which adapter speaks for which CRM. A sync
run asks here for a live gateway, a dry run's (reads for real, writes nothing) or a
replay's (answers from what a past run recorded, calls nothing)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from syncledger.adapters.credentials import load_credentials, save_credentials
from syncledger.adapters.database import Database
from syncledger.adapters.dry_run_gateway import DryRunGateway
from syncledger.adapters.pipedrive.client import PipedriveClient, PipedriveCredentials
from syncledger.adapters.pipedrive.gateway import PipedriveGateway
from syncledger.adapters.salesforce.client import SalesforceClient, SalesforceCredentials
from syncledger.adapters.salesforce.dry_run_client import DryRunClient
from syncledger.adapters.salesforce.gateway import SalesforceGateway
from syncledger.adapters.salesforce.readings import Readings
from syncledger.adapters.salesforce.replay_client import RecordedAnswers, ReplayClient
from syncledger.domain.integration import Integration
from syncledger.domain.ports import CrmGateway


class GatewayRefused(ValueError):
    """No run can drive this CRM (yet)."""


def live_gateway(database: Database, integration: Integration) -> CrmGateway:
    """The gateway for the stored credentials; a refreshed token is stored again."""
    crm = integration.crm
    if crm == "pipedrive":
        return _pipedrive(database)
    credentials = SalesforceCredentials(**load_credentials(database, crm))
    client = SalesforceClient(credentials, on_refresh=lambda fresh: save_credentials(
        database, crm, asdict(fresh)))
    return _salesforce(client, integration)


def dry_run_gateway(database: Database, integration: Integration) -> CrmGateway:
    if integration.crm == "pipedrive":
        return DryRunGateway(_pipedrive(database))
    credentials = SalesforceCredentials(**load_credentials(database, integration.crm))
    return _salesforce(DryRunClient(credentials), integration)


def replay_gateway(answers: Any, integration: Integration) -> tuple[CrmGateway, list[str]]:
    """The gateway, and the list it fills with what the record could not answer."""
    if integration.crm != "salesforce":
        raise GatewayRefused(f"replay --run decides again only Salesforce runs so far, not "
                             f"{integration.crm} ones")
    assert isinstance(answers, RecordedAnswers)
    client = ReplayClient(answers)
    return _salesforce(client, integration), client.gaps


def _salesforce(client: SalesforceClient, integration: Integration) -> SalesforceGateway:
    return SalesforceGateway(client, integration.instance_url or "",
                             missing_keys=integration.missing_keys, readings=Readings())


def _pipedrive(database: Database) -> PipedriveGateway:
    credentials = PipedriveCredentials(**load_credentials(database, "pipedrive"))
    return PipedriveGateway(PipedriveClient(credentials))
