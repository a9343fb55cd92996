"""The gateway factory: the one place that knows which adapter speaks for which CRM. A sync
run asks here for a live gateway, a dry run's (reads for real, writes nothing) or a
replay's (answers from what a past run recorded, calls nothing), and the replay how the CRM's
recorded answers are keyed. With its sibling adapters/crm_connections.py (connect, login,
catalog) it is the only module outside adapters/salesforce and adapters/pipedrive that
imports them (an import-linter contract in pyproject.toml holds it)."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.credentials import load_credentials
from syncledger.adapters.crm_connections import pipedrive_client, salesforce_client
from syncledger.adapters.database import Database
from syncledger.adapters.dry_run_gateway import DryRunGateway
from syncledger.adapters.match_readings import MatchReadings
from syncledger.adapters.pipedrive import gateway as pipedrive
from syncledger.adapters.pipedrive.gateway import PipedriveGateway
from syncledger.adapters.recorded_answers import AnswerKeys, RecordedAnswers
from syncledger.adapters.replay_gateway import KEY as replay_gateway_key
from syncledger.adapters.replay_gateway import ReplayGateway, pull_key
from syncledger.adapters.salesforce.client import SalesforceClient, SalesforceCredentials
from syncledger.adapters.salesforce.dry_run_client import DryRunClient
from syncledger.adapters.salesforce.gateway import SalesforceGateway
from syncledger.adapters.salesforce.readings import Readings
from syncledger.adapters.salesforce.replay_client import ANSWER_KEYS, ReplayClient
from syncledger.domain.integration import Integration
from syncledger.domain.ports import CrmGateway
from syncledger.domain.steps import read_fields


def live_gateway(database: Database, integration: Integration) -> CrmGateway:
    """The gateway for the stored credentials; a refreshed token is stored again."""
    crm = integration.crm
    if crm == "pipedrive":
        return _pipedrive(database)
    budget = CallBudget()
    return _salesforce(salesforce_client(database, crm, budget), integration, budget)


def dry_run_gateway(database: Database, integration: Integration) -> CrmGateway:
    if integration.crm == "pipedrive":
        return DryRunGateway(_pipedrive(database))
    credentials = SalesforceCredentials(**load_credentials(database, integration.crm))
    budget = CallBudget()
    return _salesforce(DryRunClient(credentials, budget), integration, budget)


def replay_gateway(answers: Any, integration: Integration) -> tuple[CrmGateway, list[str]]:
    """The gateway, and the list it fills with what the record could not answer."""
    assert isinstance(answers, RecordedAnswers)
    if integration.crm == "pipedrive":
        base = integration.instance_url or ""
        gateway = ReplayGateway(
            "pipedrive", pipedrive.PEOPLE, answers,
            record_url=lambda _, record_id: f"{base}/person/{record_id}",
            parse_stamp=pipedrive.parse_stamp,
            as_held=lambda _, fields: pipedrive.as_held(fields))
        return gateway, gateway.gaps
    client = ReplayClient(answers)
    # Nothing to keep for a replay of its own: it reads only what the run kept.
    return SalesforceGateway(client, integration.instance_url or "",
                             missing_keys=integration.missing_keys), client.gaps


def answer_keys(crm: str) -> AnswerKeys:
    """How the answers a run of this CRM recorded are keyed for its replay gateway: the
    query a pull is found by, the field a write's key travels in, a modstamp's form."""
    if crm == "pipedrive":
        return AnswerKeys(key_field=replay_gateway_key,
                          pull_key=lambda step: pull_key(step.crm_object, read_fields(step)),
                          modstamp=pipedrive.modstamp)
    return ANSWER_KEYS


def _salesforce(client: SalesforceClient, integration: Integration, budget: CallBudget
                ) -> SalesforceGateway:
    return SalesforceGateway(client, integration.instance_url or "",
                             missing_keys=integration.missing_keys, readings=Readings(),
                             budget=budget)


def _pipedrive(database: Database) -> PipedriveGateway:
    budget = CallBudget()
    return PipedriveGateway(pipedrive_client(database, budget), readings=MatchReadings(),
                            budget=budget)
