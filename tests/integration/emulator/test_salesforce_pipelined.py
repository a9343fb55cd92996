"""SalesforceClient.collections_pipelined against the emulator over loopback: Composite calls
of five collections, several in flight at once, each record's result in the order of the
calls, and what befalls one Composite call failing only its own records. No test here
measures time: overlap is read from the emulator's count of calls in flight at once."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Org

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.salesforce.client import (
    KEY_FIELD,
    RETRYABLE_CODES,
    CollectionsCall,
    SalesforceClient,
    SalesforceCredentials,
    WritesStopped,
    collections_call,
)
from syncledger.adapters.salesforce.dry_run_client import DryRunClient

POISON = "Poison"  # a LastName the emulator's `match` aims a fault at


def client(org: Org, refresh: bool = False, budget: int | None = None) -> SalesforceClient:
    return SalesforceClient(SalesforceCredentials(
        instance_url=org.emu.url, access_token=org.emu.token, ca_cert=str(org.emu.ca_cert),
        refresh_token=org.emu.token if refresh else None, client_id="x" if refresh else None),
        budget=CallBudget(budget))


def lead_calls(count: int, size: int = 3, poisoned: int | None = None) -> list[CollectionsCall]:
    """`count` upserts of `size` Leads each, keyed k-<call>-<record>; the call `poisoned`
    carries one Lead the emulator's fault is aimed at."""
    return [collections_call("upsert", "Lead", [
        {KEY_FIELD: f"k-{call}-{n}", "Company": "Pipelined",
         "LastName": POISON if call == poisoned and n == 0 else f"L{call}x{n}"}
        for n in range(size)], True, KEY_FIELD) for call in range(count)]


def landed(org: Org) -> dict[str, str]:
    """Key -> Id of the Leads the calls made (read by the admin routes, which no limit or
    expired session refuses)."""
    return {r[KEY_FIELD]: r["Id"] for r in org.admin("GET", "dump")["Lead"]
            if r.get("Company") == "Pipelined"}


def codes(results: list[list[dict[str, Any]]]) -> list[set[str]]:
    """Per call, the outcomes of its records: "ok" or the error code."""
    return [{"ok" if r["success"] else r["errors"][0]["statusCode"] for r in call}
            for call in results]


def concurrency(org: Org) -> dict[str, int]:
    found: dict[str, int] = org.admin("GET", "stats")["concurrency"]
    return found


def test_twelve_collections_answer_in_order_as_three_composite_calls(org: Org) -> None:
    calls = lead_calls(12)
    calls[7].records[1].pop("Company")  # refused alone: REQUIRED_FIELD_MISSING
    sf = client(org)
    results = sf.collections_pipelined(calls)
    assert [len(r) for r in results] == [3] * 12
    ids = landed(org)
    for index, (call, answered) in enumerate(zip(calls, results, strict=True)):
        for record, result in zip(call.records, answered, strict=True):
            if (index, record[KEY_FIELD]) == (7, "k-7-1"):
                assert result["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
            else:
                assert result["success"] and result["id"] == ids[record[KEY_FIELD]]
    assert len(ids) == 35
    assert dict(sf.calls) == {"collections": 3}
    assert org.stats()["collections"] == 3
    assert sf.limit_reached is None


def test_composite_calls_are_in_flight_together_up_to_the_bound(org: Org) -> None:
    org.admin("POST", "faults", {"latency_ms": 300})
    sf = client(org)
    sf.collections_pipelined(lead_calls(20, size=1), in_flight=2)
    assert concurrency(org) == {"in_flight": 0, "max_in_flight": 2}
    org.admin("POST", "reset")
    org.admin("POST", "faults", {"latency_ms": 300})
    results = sf.collections_pipelined(lead_calls(20, size=1))
    assert codes(results) == [{"ok"}] * 20
    # Four at once, each held 300 ms by the emulator: had they gone one after the other,
    # no two would ever have been in flight together.
    assert concurrency(org) == {"in_flight": 0, "max_in_flight": 4}
    assert org.stats()["collections"] == 4


@pytest.mark.parametrize(("fault", "applied"), [
    ({"error_rate": 1.0}, False),  # refused at the door (a 503): nothing landed
    ({"applied_error_rate": 1.0}, True),  # the writes landed, their answer was lost
    ({"malformed": "json", "kinds": ["collections"]}, True),  # answered, but cut short
])
def test_a_composite_call_that_fails_fails_only_its_records(org: Org, fault: dict[str, Any],
                                                           applied: bool) -> None:
    org.admin("POST", "faults", {**fault, "match": POISON})
    sf = client(org)
    results = sf.collections_pipelined(lead_calls(12, poisoned=6))  # the 2nd of 3 composites
    assert codes(results) == [{"ok"}] * 5 + [{"RETRYABLE"}] * 5 + [{"ok"}] * 2
    assert "RETRYABLE" in RETRYABLE_CODES
    second = {f"k-{call}-{n}" for call in range(5, 10) for n in range(3)}
    assert (second <= set(landed(org))) is applied
    assert (second & set(landed(org)) == set()) is not applied
    # Sent once, never again blindly: the caller looks by key before a write goes again.
    assert org.stats()["collections"] == 3 and sf.calls["collections"] == 3


def test_a_spent_budget_leaves_the_last_composite_calls_unsent(org: Org) -> None:
    sf = client(org, budget=2)
    results = sf.collections_pipelined(lead_calls(20))  # four Composite calls
    assert codes(results) == [{"ok"}] * 10 + [{"REQUEST_LIMIT_EXCEEDED"}] * 10
    assert "REQUEST_LIMIT_EXCEEDED" in RETRYABLE_CODES
    assert results[19][0]["errors"][0]["message"].startswith("not sent: the api_budget")
    assert set(landed(org)) == {f"k-{call}-{n}" for call in range(10) for n in range(3)}
    assert org.stats()["collections"] == 2 and sf.calls["collections"] == 2
    assert sf.limit_reached is not None and "api_budget" in str(sf.limit_reached)


def test_the_orgs_limit_met_midway_fails_what_it_refused_or_was_never_sent(org: Org) -> None:
    org.admin("POST", "faults", {"daily_limit": 2, "latency_ms": 50})
    sf = client(org)
    results = sf.collections_pipelined(lead_calls(20))
    # Which two Composite calls the org admitted is the order they reached it in.
    by_composite = [set().union(*codes(results)[start:start + 5]) for start in (0, 5, 10, 15)]
    assert sorted(map(sorted, by_composite)) == [["REQUEST_LIMIT_EXCEEDED"]] * 2 + [["ok"]] * 2
    written = {f"k-{call}-{n}" for start, found in zip((0, 5, 10, 15), by_composite,
                                                       strict=True) if found == {"ok"}
               for call in range(start, start + 5) for n in range(3)}
    assert set(landed(org)) == written
    assert sf.limit_reached is not None


def test_a_fatal_refusal_sends_nothing_more_and_raises_with_every_result(org: Org) -> None:
    org.admin("POST", "faults", {"error_rate": 1.0, "status": 400, "match": POISON})
    sf = client(org)
    with pytest.raises(WritesStopped) as stopped:
        sf.collections_pipelined(lead_calls(20, poisoned=5), in_flight=1)
    results = stopped.value.results
    assert codes(results) == [{"ok"}] * 5 + [{"RETRYABLE"}] * 15
    assert results[5][0]["errors"][0]["message"].startswith("not applied:")
    assert results[10][0]["errors"][0]["message"].startswith("not sent:")
    assert set(landed(org)) == {f"k-{call}-{n}" for call in range(5) for n in range(3)}
    assert org.stats()["collections"] == 2


def test_an_expired_session_is_refreshed_once_for_every_call_in_flight(org: Org) -> None:
    sf = client(org, refresh=True)
    assert codes(sf.collections_pipelined(lead_calls(5))) == [{"ok"}] * 5
    org.admin("POST", "faults", {"expire_session": True, "latency_ms": 100})
    results = sf.collections_pipelined(lead_calls(20))
    assert codes(results) == [{"ok"}] * 20
    assert sf.calls["auth"] == 1


def test_a_dry_run_counts_each_composite_call_once_and_sends_nothing(org: Org) -> None:
    dry = DryRunClient(SalesforceCredentials(instance_url=org.emu.url,
                                             access_token=org.emu.token,
                                             ca_cert=str(org.emu.ca_cert)))
    results = dry.collections_pipelined(lead_calls(12))
    assert codes(results) == [{"ok"}] * 12 and [len(r) for r in results] == [3] * 12
    assert dict(dry.calls) == {"collections": 3}
    assert org.stats()["collections"] == 0 and landed(org) == {}
