"""A run hides the CRM's round trips (issue 22): its fixed reads go side by side, and a send
of writes stays in flight while the next due people are planned, with the same calls as one
at a time. What was in flight together is counted by the emulator, or read from the order of
the log, never timed."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from sync_support import STATUSES, Org, connected_org, contact, lead, person

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.gateways import live_gateway
from syncledger.adapters.store_opening import open_store
from syncledger.commands.configure import apply_configuration
from syncledger.commands.replay_run import replay_run
from syncledger.commands.sync_outbound import PLAN_CHUNK
from syncledger.domain.ids import integration_id
from syncledger.domain.integration import Integration
from syncledger.domain.steps import STATUS_STREAM, STATUS_TARGET

LATENCY_MS = 300  # every call held this long by the emulator: far longer than a thread start


def spent(org: Org, before: dict[str, int]) -> Counter[str]:
    after = org.stats()
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)})


def concurrency(org: Org) -> dict[str, int]:
    found: dict[str, int] = org.admin("GET", "stats")["concurrency"]
    return found


def test_the_pulls_first_pages_are_in_flight_together(sqlite_store: SyncLedger,
                                                      tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1)], Lead=[lead(1)])
        org.admin("POST", "faults", {"latency_ms": LATENCY_MS})
        assert concurrency(org)["max_in_flight"] == 1  # connect's calls, one at a time
        before = org.stats()
        report = org.sync()
        assert report.outcome == "succeeded"
        assert report.counts["people"]["created"] == 2
        # The calls a run makes one at a time (the Users, each step's pull, Task's fields for
        # the activity steps), no more: the Contacts' and Leads' pulls went together.
        assert spent(org, before) == {"total": 4, "query": 3, "describe": 1}
        assert concurrency(org) == {"in_flight": 0, "max_in_flight": 2}
        again = replay_run(sqlite_store, report.run_id)
        assert again.same and not again.not_replayed, again


def test_the_next_people_are_planned_while_a_send_is_in_flight(sqlite_store: SyncLedger,
                                                               tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(n) for n in range(PLAN_CHUNK + 200)])
        integration = AggregateCache(sqlite_store).get(integration_id("salesforce"),
                                                       Integration)
        assert integration is not None
        gateway = live_gateway(sqlite_store.database, integration)
        # A send a Collections call of 200: a first chunk of due people fills two sends, the
        # second a third, its rest a fourth.
        gateway.groups_at_once = 1
        position = sqlite_store.recorder.max_notification_id() or 0
        before = org.stats()
        report = org.sync(gateway=gateway)
        assert report.counts["leads"]["created"] == PLAN_CHUNK + 200
        assert spent(org, before)["collections"] == 4
        saved = [n.topic.rpartition(".")[2] for n in sqlite_store.recorder.select_notifications(
            start=position + 1, limit=100_000) if ":Person." in n.topic]
        intents = [i for i, name in enumerate(saved) if name == "CrmCreateRequested"]
        results = [i for i, name in enumerate(saved) if name == "Linked"]
        assert len(intents) == len(results) == PLAN_CHUNK + 200
        # Every intent is in the log before any call is made for it ...
        assert max(intents[:PLAN_CHUNK]) < min(results)
        # ... and the second chunk's were saved while the second send was in flight: only
        # the first send's outcomes came before them (one at a time, the second's would).
        assert results[199] < min(intents[PLAN_CHUNK:]) and max(intents) < results[200]
        # Decided again one call at a time (a replay answers from memory), it is the same.
        again = replay_run(sqlite_store, report.run_id)
        assert again.same and not again.not_replayed, again


def _only_leads_and_statuses(store: SyncLedger) -> None:
    """No pull and no activity step: the run's calls in flight together are the Lead's."""
    integration = AggregateCache(store).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = tuple(replace(step, enabled=step.target == STATUS_TARGET or (
        step.is_people and not step.inbound and step.crm_object == STATUS_STREAM))
        for step in current.steps)
    apply_configuration(store, replace(current, profile="custom", steps=steps),
                        "tm-alice", "test")


def test_the_lead_status_picklist_is_asked_with_the_leads_describe(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(LeadStatus=STATUSES)
        _only_leads_and_statuses(sqlite_store)
        org.import_lines([person(1)])  # no status: the picklist is not needed, nor read
        org.admin("POST", "faults", {"latency_ms": LATENCY_MS})
        before = org.stats()
        report = org.sync()
        assert report.counts["leads"]["created"] == 1
        # The Users, the Leads looked up by email (no pull keeps the mirror), the describe,
        # the write: one after the other.
        assert spent(org, before) == {"total": 4, "query": 2, "describe": 1, "collections": 1}
        assert concurrency(org)["max_in_flight"] == 1
        org.import_lines([person(2, status="Replied")])
        before = org.stats()
        report = org.sync()
        assert report.counts["leads"]["created"] == 1
        assert org.dump("Lead")[-1]["Status"] == "Replied"
        # As before, and the Lead Status picklist (a query) alongside the Lead's describe.
        assert spent(org, before) == {"total": 5, "query": 3, "describe": 1, "collections": 1}
        assert concurrency(org)["max_in_flight"] == 2
        again = replay_run(sqlite_store, report.run_id)
        assert again.same and not again.not_replayed, again


def _leads_run(store: SyncLedger, tmp: Path, people: int) -> tuple[Counter[str], int]:
    """A first sync of `people` new app people, some with a status: its calls, and the most
    it had in flight together."""
    tmp.mkdir()
    with connected_org(store, tmp) as org:
        org.load(LeadStatus=STATUSES)
        integration = AggregateCache(store).find(integration_id("salesforce"))
        current = integration.configuration()
        # The outbound people steps (Contacts too) and the status steps; no pull.
        steps = tuple(replace(step, enabled=step.target == STATUS_TARGET or (
            step.is_people and not step.inbound)) for step in current.steps)
        apply_configuration(store, replace(current, profile="custom", steps=steps),
                            "tm-alice", "test")
        org.import_lines([person(n, **({"status": "Replied"} if n % 2 else {}))
                          for n in range(people)])
        org.admin("POST", "faults", {"latency_ms": LATENCY_MS})
        before = org.stats()
        report = org.sync()
        assert report.counts["leads"]["created"] == people
        assert report.counts["statuses"]["updated"] == people // 2
        again = replay_run(store, report.run_id)
        assert again.same and not again.not_replayed, again
        return spent(org, before), concurrency(org)["max_in_flight"]


def test_a_large_run_asks_its_describe_and_statuses_ahead_with_the_same_calls(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    """A run of a full chunk of due people or more asks the describes its first chunk will
    read (and the Lead Status picklist) before the mass-change guard and the chunk's own
    work, where a smaller run asks them as it plans its first write: the same calls, only
    earlier, and no describe of an object it does not write (the Contacts step is on)."""
    small, small_in_flight = _leads_run(open_store(f"sqlite:///{tmp_path / 'small.db'}"),
                          tmp_path / "small", PLAN_CHUNK - 1)
    large, in_flight = _leads_run(sqlite_store, tmp_path / "large", PLAN_CHUNK)
    assert large == small
    assert large["describe"] == 1  # the Lead's: a new person is created as a Lead
    # Asked ahead, the describe and the picklist were in flight while the first chunk
    # looked its people up by email; the smaller run asked each as it came to need it.
    assert in_flight == 3 and small_in_flight < in_flight
