"""Several activity steps of one kind to one object (a Custom profile clone with a filter):
each step decides its own records, an activity goes out once however many steps select it,
and one that no step selects is skipped with its reason in the Logs."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from sync_support import connected_org, contact

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.configure import apply_configuration
from syncledger.commands.session import caught_up
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import StepFilter

STEP = "Emails to Contact Tasks"
FILTERED_OUT = "filtered out by every step"


def _people(lists: dict[int, list[str]]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"kind": "list", "id": "l-a", "name": "List A"},
                                   {"kind": "list", "id": "l-b", "name": "List B"}]
    for n, member_of in lists.items():
        lines.append({"kind": "person", "id": f"p-{n}", "email": f"contact{n}@example.com",
                      "last_name": f"Last{n}", "owner": "tm-alice", "lists": member_of})
        lines.append({"kind": "email", "id": f"e-{n}", "person": f"p-{n}",
                      "at": "2026-11-02T10:00:00Z", "subject": f"Email {n}",
                      "direction": "sent"})
    return lines


def _with_clone(store: SyncLedger, first: StepFilter | None, clone: StepFilter) -> None:
    integration = AggregateCache(store).find(integration_id("salesforce"))
    current = integration.configuration()
    steps = []
    for step in current.steps:
        if step.name == STEP:
            steps += [replace(step, filter=first),
                      replace(step, name=f"{STEP} (clone)", filter=clone)]
        else:
            steps.append(step)
    apply_configuration(store, replace(current, profile="custom", steps=tuple(steps)),
                        "tm-alice", "test")


def test_an_email_the_clone_filters_out_still_goes_out_by_the_first_step(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2)])
        org.import_lines(_people({1: ["l-a"], 2: []}))
        _with_clone(sqlite_store, None, StepFilter(list="l-a"))
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        tasks = org.dump("Task")
        # e-1 is selected by both steps and goes out once; e-2 only by the first.
        assert sorted(t["Subject"] for t in tasks) == ["Email 1", "Email 2"]
        assert len({t["Syncledger_Key__c"] for t in tasks}) == 2
        contacts = {c["Email"]: c["Id"] for c in org.dump("Contact")}
        assert {t["Subject"]: t["WhoId"] for t in tasks} == {
            "Email 1": contacts["contact1@example.com"],
            "Email 2": contacts["contact2@example.com"]}
        assert report.counts["emails"]["created"] == 2
        assert FILTERED_OUT not in report.skip_reasons
        writes = org.writes()
        again = org.sync(full=True)
        assert again.counts["emails"]["created"] == 0
        assert org.writes() == writes


def test_an_email_no_step_selects_is_skipped_with_the_reason(sqlite_store: SyncLedger,
                                                             tmp_path: Path) -> None:
    with connected_org(sqlite_store, tmp_path) as org:
        org.load(Contact=[contact(1), contact(2), contact(3)])
        org.import_lines(_people({1: ["l-a", "l-b"], 2: ["l-b"], 3: []}))
        _with_clone(sqlite_store, StepFilter(list="l-a"), StepFilter(list="List B"))
        report = org.sync()
        assert report.outcome == "succeeded", report.errors
        assert Counter(t["Subject"] for t in org.dump("Task")) == {"Email 1": 1, "Email 2": 1}
        assert report.counts["emails"]["skipped"] == 1
        assert report.skip_reasons[FILTERED_OUT] == 1
        run = views.logs(caught_up(sqlite_store), report.run_id)[0]
        assert run["skip_reasons"][FILTERED_OUT] == 1
