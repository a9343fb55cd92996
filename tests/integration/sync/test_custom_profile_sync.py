"""A Custom profile configuration drives the sync: ownership pairs, an inbound filter, a
sequence mapping, and an outbound list filter."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sync_support import ALICE, BOB, STRANGER, connected_org

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.configure import apply_configuration
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import (
    FilterRule,
    OwnerMapping,
    SequenceMapping,
    StepFilter,
)


def contact(n: int, owner: str, email: str) -> dict[str, object]:
    return {"Id": f"003{n:012d}AAA", "FirstName": f"C{n}", "LastName": f"Last{n}",
            "Email": email, "OwnerId": owner}


def test_pairs_filter_sequence_and_list_filter_shape_the_sync(sqlite_store: SyncLedger,
                                                              tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([
            {"kind": "sequence", "id": "seq-q4", "name": "Q4",
             "steps": [{"number": 1, "delay_days": 0}, {"number": 2, "delay_days": 3}]},
            {"kind": "list", "id": "l-webinar", "name": "Q4 webinar"},
            {"kind": "person", "id": "p-1", "email": "listed@example.com", "last_name": "In",
             "account": "Acme", "owner": "tm-alice", "lists": ["l-webinar"]},
            {"kind": "person", "id": "p-2", "email": "unlisted@example.com",
             "last_name": "Out", "account": "Acme", "owner": "tm-alice"},
        ])
        integration = AggregateCache(sqlite_store).find(integration_id("salesforce"))
        current = integration.configuration()
        steps = []
        for step in current.steps:
            if step.name == "Contacts to People":
                step = replace(step, filter=StepFilter(rules=(
                    FilterRule("Email", "ends_with", "@acme.com"),)),
                    sequence_mappings=(SequenceMapping("tm-bob", "seq-q4", 2, True, False),))
            elif step.name == "People to Leads":
                step = replace(step, filter=StepFilter(list="Q4 webinar"))
            steps.append(step)
        config = replace(current, profile="custom", steps=tuple(steps),
                         settings=replace(current.settings, owner_mappings=(
                             OwnerMapping(ALICE, "tm-alice"), OwnerMapping(BOB, "tm-bob"))))
        apply_configuration(sqlite_store, config, "tm-alice", "test")
        org.load(Contact=[contact(1, BOB, "bob.customer@acme.com"),
                          contact(2, STRANGER, "stranger.customer@acme.com"),
                          contact(3, ALICE, "elsewhere@other.com")])
        report = org.sync()
        people = org.people()
        bobs = people["bob.customer@acme.com"]
        assert bobs["owner"] == "tm-bob"
        assert bobs["sequence"] == {"id": "seq-q4", "step": 2, "ignore_step_delay": True}
        assert "stranger.customer@acme.com" not in people
        assert "elsewhere@other.com" not in people
        assert report.skip_reasons["owner not mapped"] == 1
        assert report.skip_reasons["filtered out"] == 1
        leads = {lead["Email"]: lead for lead in org.dump("Lead")}
        assert set(leads) == {"listed@example.com"}
        assert leads["listed@example.com"]["OwnerId"] == ALICE  # the pair's CRM user


def _with_pairs(store: SyncLedger, inbound: tuple[OwnerMapping, ...],
                outbound: tuple[OwnerMapping, ...]) -> None:
    """The Custom profile: Contacts to People reads `inbound`, People to Contacts
    `outbound` (each a step's own list)."""
    integration = AggregateCache(store).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = tuple(replace(s, owner_mappings=inbound) if s.name == "Contacts to People" else
                  replace(s, owner_mappings=outbound) if s.name == "People to Contacts" else s
                  for s in current.steps)
    apply_configuration(store, replace(current, profile="custom", steps=steps),
                        "tm-alice", "test")


def test_an_owner_no_member_matches_stays_on_the_record(sqlite_store: SyncLedger,
                                                        tmp_path: Path) -> None:
    # Given owners matched by email, and a Contact of a CRM user no team member matches
    with connected_org(sqlite_store, tmp_path) as org:
        integration = AggregateCache(sqlite_store).find(integration_id("salesforce"))
        current = integration.configuration()
        apply_configuration(sqlite_store, replace(
            current, profile="custom", settings=replace(current.settings, owner_match="email")),
            "tm-alice", "test")
        org.load(Contact=[contact(1, STRANGER, "kept@acme.com")])
        # When it syncs in (to the connecting member) and the app renames the person
        org.sync()
        org.import_lines([{"kind": "person", "id": "sf-contact-003000000000001AAA",
                           "email": "kept@acme.com", "first_name": "Renamed"}])
        org.sync()
        # Then the name goes out and the Contact keeps its owner: the connecting member owns
        # the person because nobody matched that owner, not because the app reassigned it
        (kept,) = org.dump("Contact")
        assert org.people()["kept@acme.com"]["owner"] == "tm-alice"
        assert kept["FirstName"] == "Renamed"
        assert kept["OwnerId"] == STRANGER


def test_outbound_pairs_of_their_own_move_a_record_synced_in_the_same_run(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given Bob's records come in as tm-alice's, and tm-alice's go out to Alice
    with connected_org(sqlite_store, tmp_path) as org:
        _with_pairs(sqlite_store, (OwnerMapping(BOB, "tm-alice"),),
                    (OwnerMapping(ALICE, "tm-alice"),))
        org.load(Contact=[contact(1, BOB, "moved@acme.com")])
        # When one run syncs it in
        report = org.sync()
        # Then the same run writes the owner the outbound pairs say
        (moved,) = org.dump("Contact")
        assert org.people()["moved@acme.com"]["owner"] == "tm-alice"
        assert moved["OwnerId"] == ALICE
        assert report.counts["contacts"]["updated"] == 1
