"""What outbound people writes cost: a Lead's write carries its Lead Status (no Status call
after it), and sObject Collections fill up to 200 records across the batches of due
people, never mixing records that need different headers, five to a Composite call."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from sync_support import ALICE, BOB, STATUSES, Org, connected_org, person

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.configure import apply_configuration
from syncledger.commands.sync_outbound import PLAN_CHUNK
from syncledger.domain.ids import integration_id


def spent(org: Org, before: dict[str, int]) -> Counter[str]:
    after = org.stats()
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)})


def test_a_leads_status_goes_in_its_own_write_and_no_status_call_follows(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(LeadStatus=STATUSES)
        org.import_lines([person(1, status="Replied"), person(2, status="Unknown status"),
                          person(3)])
        before = org.stats()
        report = org.sync()
        calls = spent(org, before)
        assert calls["collections"] == 1, calls  # one create call, the Status in it
        assert calls["sobject_write"] == 0
        leads = {lead["Email"]: lead for lead in org.dump("Lead")}
        assert leads["person1@example.com"]["Status"] == "Replied"
        assert leads["person3@example.com"]["Status"] == "Open - Not Contacted"  # the default
        assert report.counts["leads"]["created"] == 3
        assert report.counts["statuses"] == {"created": 0, "updated": 1, "skipped": 1,
                                             "failed": 0}
        assert report.skip_reasons == {"no matching Lead Status": 1}

        # A new status: the Lead's update carries it, one call again.
        org.import_lines([person(1, status="open - not contacted",
                                 at="2030-01-01T00:00:00Z")])
        before = org.stats()
        again = org.sync()
        assert spent(org, before)["collections"] == 1
        assert again.counts["leads"]["updated"] == 1
        assert again.counts["statuses"]["updated"] == 1
        lead = next(r for r in org.dump("Lead") if r["Email"] == "person1@example.com")
        assert lead["Status"] == "Open - Not Contacted"  # the picklist's API value
        writes = org.writes()
        org.sync()
        assert org.writes() == writes  # the echo records nothing, nothing goes out again


def test_collections_calls_fill_across_batches_and_never_mix_headers(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        # An email match sets OwnerId for tm-alice's people (sent with Sforce-Auto-Assign:
        # FALSE); a member no CRM user matches sends none, and the assignment rule decides.
        integration = AggregateCache(sqlite_store).find(integration_id("salesforce"))
        current = integration.configuration()
        apply_configuration(sqlite_store, replace(
            current, settings=replace(current.settings, owner_match="email")), "tm-alice",
            "test")
        org.load(LeadAssignmentRules=[{"field": "Company", "op": "contains", "value": "Acct",
                                       "owner": BOB}])
        count = PLAN_CHUNK + 200
        people = [person(n, owner="tm-alice" if n % 2 else "tm-nobody",
                         account=None if n % 7 == 0 else f"Acct{n}") for n in range(count)]
        org.import_lines(people)
        owned = sum(1 for p in people if p["account"] and p["owner"] == "tm-alice")
        unowned = sum(1 for p in people if p["account"] and p["owner"] == "tm-nobody")
        before = org.stats()
        report = org.sync()
        assert report.counts["leads"]["created"] == owned + unowned
        # Each group's collections are full but its last (no batch boundary split one), and
        # they go five to a Composite call, which the API limit counts once.
        collections = -(-owned // 200) + -(-unowned // 200)
        assert spent(org, before)["collections"] == -(-collections // 5)
        owners = Counter(lead["OwnerId"] for lead in org.dump("Lead"))
        assert owners == {ALICE: owned, BOB: unowned}


def test_a_thousand_people_go_out_in_one_composite_call(sqlite_store: SyncLedger,
                                                        tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(n) for n in range(1001)])
        before = org.stats()
        report = org.sync()
        assert report.counts["leads"]["created"] == 1001
        assert spent(org, before)["collections"] == 2  # ceil(1001 / 1000)
        assert len(org.dump("Lead")) == 1001


def test_activities_go_five_collections_to_a_composite_call(sqlite_store: SyncLedger,
                                                            tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1)])
        org.sync()  # the Lead the emails go to
        org.import_lines([{"kind": "email", "id": f"e-{n}", "person": "p-1",
                           "owner": "tm-alice", "subject": f"Hello {n}", "body": "Hi",
                           "at": "2026-11-02T10:00:00Z"} for n in range(450)])
        before = org.stats()
        report = org.sync()
        assert report.counts["emails"]["created"] == 450
        # Three collections of Tasks (200, 200, 50) in one Composite call.
        assert spent(org, before)["collections"] == 1
        assert len(org.dump("Task")) == 450
