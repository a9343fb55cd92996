"""People to Contacts with `{ crm = "Account.Name", app = "account" }`: the Contact's
AccountId comes from the person's company, an Account found by Name or created, once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from sync_support import connected_org, person

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.configure import apply_configuration
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import FieldMapping, Step

GLOBEX = "001000000000001AAA"


def _contacts_with_accounts(store: SyncLedger) -> None:
    """Custom profile: only the Contacts steps on, both mapping Account.Name <-> account."""
    integration = AggregateCache(store).find(integration_id("salesforce"))
    current = integration.configuration()

    def change(step: Step) -> Step:
        if "Lead" in step.name or not step.is_people:
            return replace(step, enabled=False)
        return replace(step, field_mappings=(*step.field_mappings,
                                             FieldMapping("Account.Name", "account")))
    apply_configuration(store, replace(current, profile="custom",
                                       steps=tuple(change(s) for s in current.steps)),
                        "tm-alice", "test")


def test_contacts_get_their_account_found_by_name_or_created_once(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given people of Acme (twice, in two spellings), of Globex (already in the CRM), and
    # one with no company
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Account=[{"Id": GLOBEX, "Name": "Globex"}])
        _contacts_with_accounts(sqlite_store)
        org.import_lines([person(1, account="Acme"), person(2, account="ACME "),
                          person(3, account="globex"), person(4, account=None)])
        # When they sync out
        report = org.sync()
        # Then Acme is created once, Globex found, and each Contact points at its Account
        accounts = org.dump("Account")
        assert Counter(a["Name"].lower() for a in accounts) == {"acme": 1, "globex": 1}
        acme = next(a["Id"] for a in accounts if a["Name"].lower() == "acme")
        by_email = {c["Email"]: c.get("AccountId") for c in org.dump("Contact")}
        assert by_email == {"person1@example.com": acme, "person2@example.com": acme,
                            "person3@example.com": GLOBEX, "person4@example.com": None}
        assert report.counts["accounts"]["created"] == 1
        # And syncing again, everything due, writes nothing
        writes = org.writes()
        again = org.sync(full=True)
        assert org.writes() == writes, again
        assert len(org.dump("Account")) == 2
        # And a person moving to another company moves its Contact
        org.import_lines([{"kind": "person", "id": "p-4", "email": "person4@example.com",
                           "account": "Initech", "at": "2030-01-01T00:00:00Z"}])
        org.sync()
        initech = next(a["Id"] for a in org.dump("Account") if a["Name"] == "Initech")
        assert {c["Email"]: c.get("AccountId") for c in org.dump("Contact")}[
            "person4@example.com"] == initech

