"""`replay --run`: a past run decided again from what it recorded, against the Salesforce
emulator (which must see no request) and a real store (whose log must not grow)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sync_support import BOB, NOW, Org, connected_org, contact, lead, person
from typer.testing import CliRunner

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import sync_inbound, views
from syncledger.commands.cli.app import app as cli
from syncledger.commands.configure import apply_configuration
from syncledger.commands.replay_run import RunReplay, replay_run
from syncledger.commands.session import caught_up
from syncledger.commands.sync import _start, run_sync
from syncledger.domain import outbound_person_plan
from syncledger.domain.context import Context
from syncledger.domain.ids import app_person_id, integration_id, natural_id
from syncledger.domain.ownership import (
    OWNER_NOT_MAPPED,
    OwnerDecision,
    inbound_owner,
    outbound_owner,
)
from syncledger.domain.steps import SequenceMapping
from syncledger.replay.run_record import UnknownRun


def replayed(org: Org, run_id: str) -> RunReplay:
    """The replay, checked to call no CRM and to append nothing to the log."""
    calls = org.stats()
    head = org.app.recorder.max_notification_id()
    result = replay_run(org.app, run_id)
    assert org.stats() == calls
    assert org.app.recorder.max_notification_id() == head
    return result


def two_runs(org: Org) -> tuple[str, str]:
    """A first run (people in and out, a skip, an activity) and an incremental second."""
    org.load(Contact=[contact(1), contact(2, BOB)], Lead=[lead(1), lead(2, IsConverted=True)])
    org.import_lines([person(1), person(2, account=None),
                      {"kind": "email", "id": "e-1", "person": "p-1", "subject": "Hello",
                       "body": "Hi", "at": "2026-11-20T09:00:00Z"}])
    first = org.sync()
    assert first.outcome == "succeeded", first.errors
    org.admin("POST", "clock", {"advance": 600})
    org.load(Contact=[contact(1, LastName="Renamed"), contact(3, Email="person1@example.com")])
    org.import_lines([person(3, owner="tm-bob"), {**person(1), "first_name": "Changed",
                                  "at": "2026-11-21T10:00:00Z"}])
    second = org.sync()
    assert second.outcome == "succeeded", second.errors
    return first.run_id, second.run_id


def test_runs_replayed_with_unchanged_code_decide_the_same(store: SyncLedger,
                                                          tmp_path: Path) -> None:
    with connected_org(store, tmp_path) as org:
        for run_id in two_runs(org):
            result = replayed(org, run_id)
            assert result.differences == [], result.differences
            assert result.same
            assert result.counts["recorded"] == result.counts["now"]
            assert result.not_replayed == []


def test_a_changed_inbound_decision_is_reported_for_its_record(
        sqlite_store: SyncLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        first, _ = two_runs(org)

        def today(crm_owner: str | None, *args: Any) -> OwnerDecision:
            """Today's code: Bob's records are no longer anyone's to sync."""
            if crm_owner == BOB:
                return OwnerDecision(None, "changed rule", OWNER_NOT_MAPPED)
            return inbound_owner(crm_owner, *args)

        monkeypatch.setattr(sync_inbound, "inbound_owner", today)
        result = replayed(org, first)
        assert not result.same
        [entry] = result.differences
        assert entry["step"] == "Contacts to People"
        assert entry["record"] == {"app": "sf-contact-003000000000002AAA",
                                   "crm": "003000000000002AAA"}
        assert entry["recorded"]["action"] == "create"
        assert entry["now"]["action"] == "skip"
        assert entry["now"]["reason"] == OWNER_NOT_MAPPED
        assert entry["changes"]["owner"] == ["tm-alice", None]
        assert entry["changes"]["skipped"] == [None, OWNER_NOT_MAPPED]
        assert result.skip_reasons["now"][OWNER_NOT_MAPPED] == 1
        assert result.counts["now"]["people"]["created"] == \
            result.counts["recorded"]["people"]["created"] - 1


def test_a_changed_outbound_decision_is_reported_and_the_cli_exits_1(
        sqlite_store: SyncLedger, sqlite_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        _, second = two_runs(org)

        def today(member: str | None, *args: Any) -> OwnerDecision:
            """Today's code: Bob's people are no longer anyone's to sync out."""
            if member == "tm-bob":
                return OwnerDecision(None, "changed rule", OWNER_NOT_MAPPED)
            return outbound_owner(member, *args)

        monkeypatch.setattr(outbound_person_plan, "outbound_owner", today)
        result = replayed(org, second)
        [entry] = result.differences
        assert entry["step"] == "People to Leads"
        assert entry["record"]["app"] == "p-3"
        assert entry["recorded"]["action"] == "create"
        assert (entry["now"]["action"], entry["now"]["reason"]) == ("skip", OWNER_NOT_MAPPED)
        assert entry["changes"]["Lead.LastName"] == ["Person3", None]
        assert result.skip_reasons["now"][OWNER_NOT_MAPPED] == 1
        runner = CliRunner()
        answer = runner.invoke(cli, ["--store", sqlite_url, "replay", "--run", second])
        assert answer.exit_code == 1, answer.output
        assert "p-3" in answer.output and "1 records decided differently" in answer.output


def test_owner_matching_and_outbound_email_matches_are_answered_from_the_record(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    """Owner email matching needs the CRM's users; an outbound step whose object is not
    pulled in matches by `Email IN (...)`: both are recorded, so both replay."""
    with connected_org(sqlite_store, tmp_path) as org:
        integration = AggregateCache(sqlite_store).find(integration_id("salesforce"))
        current = integration.configuration()
        steps = tuple(s for s in current.steps if s.name != "Leads to People")
        apply_configuration(sqlite_store, replace(
            current, profile="custom", steps=steps,
            settings=replace(current.settings, owner_match="email")), "tm-alice", "test")
        org.load(Contact=[contact(1, BOB)], Lead=[lead(7, Email="person7@example.com")])
        org.import_lines([person(7, owner="tm-bob"), person(8, owner="tm-bob")])
        report = org.sync()
        assert report.counts["leads"] == {"created": 1, "updated": 1, "skipped": 0,
                                          "failed": 0}, report
        assert org.people()["contact1@example.com"]["owner"] == "tm-bob"
        result = replayed(org, report.run_id)
        assert result.differences == [] and result.same, result.differences
        assert result.not_replayed == []


@pytest.mark.parametrize("key_fields", [True, False], ids=["keyed", "without-key-fields"])
def test_every_rule_replays_the_same(sqlite_store: SyncLedger, tmp_path: Path,
                                     key_fields: bool) -> None:
    """Converted leads, deletions, merges, duplicates, opt-outs, a CRM refusal, a conflict,
    statuses, activities with a truncated subject, a step reset by a configuration change
    (a full pull of records it had already seen), and `sync --full`."""
    with connected_org(sqlite_store, tmp_path,
                       options={"external_id_fields": key_fields}) as org:
        org.load(Lead=[lead(1), lead(2, Email="same@example.com")],
                 Contact=[contact(1), contact(2), contact(3, Email="contact2@example.com"),
                          contact(4, Email="same@example.com", HasOptedOutOfEmail=True),
                          # a duplicate the reset step below skips again, recording nothing
                          contact(5), contact(6, Email="contact5@example.com")])
        at = "2026-11-20T09:00:00Z"
        org.import_lines([
            person(1), person(2, email="broken@localhost"),
            person(3, status="Working - Contacted"),
            {"kind": "email", "id": "e-1", "person": "p-1", "subject": "x" * 300,
             "body": "b", "at": at},
            {"kind": "note", "id": "n-1", "person": "p-1", "text": "A note\nmore", "at": at},
            {"kind": "call", "id": "c-1", "person": "p-3", "outcome": "ok", "at": at}])
        org.sync()
        org.admin("POST", "clock", {"advance": 60})
        org.admin("POST", "convert", {"lead_id": "00Q000000000001AAA"})
        org.session.delete(f"{org.emulator.url}/services/data/v59.0/sobjects/Contact/"
                           "003000000000001AAA").raise_for_status()
        org.admin("POST", "merge", {"object": "Contact", "master_id": "003000000000003AAA",
                                    "merged_ids": ["003000000000002AAA"]})
        org.sync()
        created = next(r["Id"] for r in org.dump("Lead") if r["Email"] == "person1@example.com")
        org.admin("POST", "clock", {"advance": 60})
        org.load(Lead=[{"Id": created, "LastName": "FromCrm"}])
        later = "2030-01-01T00:00:00Z"
        org.import_lines([person(1, last_name="FromApp", at=later),
                          person(3, status="Closed - Converted", at=later),
                          {"kind": "sequence", "id": "seq-1", "name": "S",
                           "steps": [{"number": 1, "delay_days": 0}]}])
        org.sync()
        _change_step(org, "Contacts to People", sequence_mappings=(
            SequenceMapping("*", "seq-1"),))
        assert org.sync().counts["people"]["updated"] > 0  # decided again, unchanged
        org.sync(full=True)
        for run in views.logs(caught_up(sqlite_store), None):
            result = replayed(org, run["run_id"])
            assert result.same and result.differences == [], result.differences
            assert result.not_replayed == []


def _change_step(org: Org, name: str, **changes: Any) -> None:
    integration = AggregateCache(org.app).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = tuple(replace(s, **changes) if s.name == name else s for s in current.steps)
    apply_configuration(org.app, replace(current, profile="custom", steps=steps), "tm-alice",
                        "test")


def test_a_run_that_died_and_the_run_that_reconciled_its_intent(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    """The next run creates what a dead run only intended (the intent is an earlier run's):
    it replays the same; the dead run's replay says it never finished."""
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(9)])
        integration = AggregateCache(sqlite_store).find(integration_id("salesforce"))
        dead = Context("run:dead-run", "system")
        _start(sqlite_store, "salesforce", "dead-run", integration, NOW, dead)
        somebody = AggregateCache(sqlite_store).find(app_person_id("p-9"))
        key = natural_id(f"key:{integration.org_id}:Lead:{somebody.id.hex}").hex
        somebody.request_create("salesforce", "Lead", key, {"LastName": "Person9"}, dead)
        sqlite_store.save(somebody)
        report = run_sync(sqlite_store, "tm-alice", NOW + timedelta(minutes=1))
        assert report.interrupted == "dead-run"
        assert report.counts["leads"]["created"] == 1
        result = replayed(org, report.run_id)
        assert result.same and result.not_replayed == [], result.to_json()
        died = replayed(org, "dead-run")
        assert died.outcome["recorded"] == "interrupted"
        assert died.counts["recorded"] is None
        assert any("did not finish" in line for line in died.not_replayed)


def test_an_unknown_run_is_refused(sqlite_store: SyncLedger) -> None:
    with pytest.raises(UnknownRun, match="no run 'nope'"):
        replay_run(sqlite_store, "nope")
