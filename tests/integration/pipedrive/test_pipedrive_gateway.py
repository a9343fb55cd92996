"""The Pipedrive gateway against the emulator over HTTPS loopback: pulls, removals, email
lookups, writes with their idempotency key, rate limits and budgets. No sleeping for timing:
the emulator's burst window is set to 50 ms, and what is asserted is behaviour (every person
seen, calls counted), never elapsed time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from integration.emulator.pipedrive_fixtures import FIELD_INTERESTS, FIELD_SOURCE, Pipedrive
from integration.emulator.pipedrive_fixtures import pd as pd
from integration.emulator.pipedrive_fixtures import pd_server as pd_server

from syncledger.adapters.crm_errors import CrmLimitReached
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.client import (
    KEY_FIELD_NAME,
    PipedriveClient,
    PipedriveCredentials,
)
from syncledger.adapters.pipedrive.gateway import PipedriveGateway
from syncledger.commands.connect_pipedrive import connect_pipedrive
from syncledger.domain.ports import CrmRow, RecordWrite, Removal

FIELD_KEY = "c" * 39 + "3"
KEY_FIELD = {"key": FIELD_KEY, "name": KEY_FIELD_NAME, "field_type": "varchar"}


class Waits(list[float]):
    """The client's sleep: records each wait asked for, then waits it (milliseconds here)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def credentials(pd: Pipedrive) -> PipedriveCredentials:
    return PipedriveCredentials(pd.emu.url, pd.emu.token, str(pd.emu.ca_cert))


def gateway_of(pd: Pipedrive, page_size: int = 500) -> tuple[PipedriveGateway, Waits]:
    waits = Waits()
    return PipedriveGateway(PipedriveClient(credentials(pd), sleep=waits),
                            page_size=page_size), waits


@pytest.fixture
def keyed(pd: Pipedrive) -> Pipedrive:
    """The company with the "Syncledger key" person field."""
    pd.admin("load", {"personFields": [KEY_FIELD]})
    return pd


def persons(pd: Pipedrive) -> list[dict[str, Any]]:
    return [p for p in pd.admin("dump", method="GET")["persons"] if not p["is_deleted"]]


def stats(pd: Pipedrive) -> dict[str, Any]:
    result: dict[str, Any] = pd.admin("stats", method="GET")
    return result


def pull(gateway: PipedriveGateway, fields: list[str], since: datetime | None
         ) -> Iterator[list[CrmRow]]:
    return gateway.changed("person", fields, since)


# -- reads ----------------------------------------------------------------------------------
def test_changed_pages_to_the_end_in_stamp_order_and_never_misses_a_shared_stamp(
        pd: Pipedrive) -> None:
    old = [{"id": 900, "name": "Too Old", "update_time": "2026-02-01T00:00:00Z"}]
    # Seven persons share one update_time, across the pages of three; ids not in load order.
    shared = [{"id": n, "name": f"Shared {n}", "update_time": "2026-03-01T09:00:00Z"}
              for n in (17, 3, 11, 5, 23, 8, 2)]
    later = [{"id": 40 + n, "name": f"Later {n}", "update_time": f"2026-03-01T09:00:0{n}Z"}
             for n in (1, 2)]
    rich = {"id": 7, "name": "Rita Rich", "owner_id": 12, "org_id": 5,
            "update_time": "2026-03-01T08:59:59Z", "marketing_status": "unsubscribed",
            "emails": [{"value": "rita@home.example", "primary": False, "label": "home"},
                       {"value": "rita@work.example", "primary": True, "label": "work"}],
            "phones": [{"value": "+1 555 0100", "label": "mobile"}],
            "custom_fields": {FIELD_SOURCE: "Web", FIELD_INTERESTS: [1]}}
    pd.admin("load", {"persons": [*old, *shared, *later, rich]})
    gateway, _ = gateway_of(pd, page_size=3)

    pages = list(pull(gateway, ["name", "email", FIELD_SOURCE],
                      datetime(2026, 3, 1, 8, 0, tzinfo=UTC)))
    rows = [row for page in pages for row in page]
    assert all(len(page) <= 3 for page in pages)
    assert len(rows) == 10 and len({r.id for r in rows}) == 10
    assert [r.id for r in rows] == ["7", "2", "3", "5", "8", "11", "17", "23", "41", "42"]
    stamps = [(gateway.parse_stamp(r.stamp), int(r.id)) for r in rows]
    assert stamps == sorted(stamps)
    assert gateway.calls["persons_list"] == len(pages) == 4

    rita = rows[0]
    assert rita.stamp == "2026-03-01T08:59:59Z" and rita.created
    assert rita.owner == "12" and rita.opted_out
    assert rita.values["email"] == "rita@work.example"
    assert rita.values["emails"] == ["rita@work.example", "rita@home.example"]
    assert rita.values["phone"] == "+1 555 0100" and rita.values["phones"] == ["+1 555 0100"]
    assert rita.values["owner_id"] == "12" and rita.values["org_id"] == 5
    assert rita.values["marketing_status"] == "unsubscribed"
    assert rita.values["first_name"] == "Rita" and rita.values["last_name"] == "Rich"
    # The step's custom field, flattened by its key; one it did not ask for is left out.
    assert rita.values[FIELD_SOURCE] == "Web" and FIELD_INTERESTS not in rita.values
    assert not rows[1].opted_out and rows[1].values["email"] is None

    # Another standard field a step reads comes by its name.
    assert "visible_to" not in rows[1].values
    [seen] = [r for page in pull(gateway, ["visible_to"], None) for r in page if r.id == "7"]
    assert seen.values["visible_to"] == 3
    everyone = [row for page in pull(gateway, [], None) for row in page]
    assert len(everyone) == 11 and everyone[0].id == "900"
    assert everyone[1].values[FIELD_INTERESTS] == [1]  # no fields named: all of them


def test_removed_reports_a_deletion_and_a_merge_with_its_survivor(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-04-01T12:00:00Z"})
    pd.admin("load", {"persons": [
        {"id": n, "name": f"P {n}", "emails": [{"value": f"p{n}@example.com"}],
         "update_time": "2026-01-01T00:00:00Z"} for n in range(1, 6)]})
    assert pd.delete("/api/v2/persons/1").status_code == 200  # before `since`
    pd.admin("clock", {"advance_seconds": 120})
    assert pd.delete("/api/v2/persons/2").status_code == 200
    pd.admin("clock", {"advance_seconds": 1})
    pd.admin("merge", {"id": 3, "merge_with_id": 4})
    gateway, _ = gateway_of(pd)

    since = datetime(2026, 4, 1, 12, 1, tzinfo=UTC)
    removals = [r for page in gateway.removed("person", since) for r in page]
    assert removals == [Removal("2", "2026-04-01T12:02:00Z", None),
                        Removal("3", "2026-04-01T12:02:01Z", "4")]
    assert gateway.calls["recents"] == 1
    # The survivor moved: the next pull sees it, with the merged person's email.
    survivor = [r for page in pull(gateway, [], since) for r in page]
    assert [r.id for r in survivor] == ["4"]
    assert survivor[0].values["emails"] == ["p4@example.com", "p3@example.com"]


def test_by_emails_searches_each_email_once_exactly(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [
        {"id": 1, "name": "Ada One", "owner_id": 12,
         "emails": [{"value": "ada@example.com"}, {"value": "ada@home.example"}]},
        {"id": 2, "name": "Ada Two", "emails": [{"value": "ada@example.comx"}]}]})
    gateway, _ = gateway_of(pd)
    pages = list(gateway.by_emails("person", ["ADA@example.com", "ada@example.com",
                                              "ada@home.example", "none@example.com", ""]))
    rows = [row for page in pages for row in page]
    assert [(r.id, r.owner) for r in rows] == [("1", "12"), ("1", "12")]
    assert rows[0].values["email"] == "ada@example.com"
    assert gateway.calls["search"] == 3


# -- writes ---------------------------------------------------------------------------------
def create(fields: dict[str, Any], key: str, reconcile: bool = False) -> RecordWrite:
    return RecordWrite("person", "create", fields, key, reconcile=reconcile)


def update(crm_id: str, fields: dict[str, Any]) -> RecordWrite:
    return RecordWrite("person", "update", fields, f"u-{crm_id}", crm_id=crm_id)


def test_a_create_carries_its_key_and_a_reconciled_retry_updates_never_duplicates(
        keyed: Pipedrive) -> None:
    gateway, _ = gateway_of(keyed)
    fields = {"name": "Nia New", "email": "nia@example.com", "phone": "+1 555 0199",
              "owner_id": "12", FIELD_SOURCE: "Web", "marketing_status": False}
    [[first]] = gateway.write([[create(fields, "key-1")]])
    assert first.ok and first.created and first.crm_id
    [nia] = persons(keyed)
    assert str(nia["id"]) == first.crm_id
    assert nia["custom_fields"][FIELD_KEY] == "key-1"
    assert nia["custom_fields"][FIELD_SOURCE] == "Web" and nia["owner_id"] == 12
    assert nia["emails"] == [{"value": "nia@example.com", "primary": True, "label": "work"}]
    assert nia["phones"][0]["value"] == "+1 555 0199"
    assert nia["marketing_status"] == "no_consent"  # Pipedrive's default, not ours

    # The first attempt's answer was lost: the retry finds the key and updates that person.
    renamed = {**fields, "name": "Nia Newer"}
    [[again]] = gateway.write([[create(renamed, "key-1", reconcile=True)]])
    assert again.ok and again.created and again.crm_id == first.crm_id
    [nia] = persons(keyed)
    assert nia["name"] == "Nia Newer"
    assert gateway.calls["search"] == 1 and gateway.calls["persons_write"] == 2

    # A reconciled create whose first attempt never landed creates.
    [[other]] = gateway.write([[create({"name": "Otto Other"}, "key-2", reconcile=True)]])
    assert other.ok and other.crm_id != first.crm_id
    assert sorted(p["custom_fields"][FIELD_KEY] for p in persons(keyed)) == ["key-1", "key-2"]
    assert gateway.calls["fields"] == 1  # the key field is looked up once


def test_without_the_key_field_a_reconciled_create_matches_by_email(pd: Pipedrive) -> None:
    gateway, _ = gateway_of(pd)
    assert gateway.key_field() is None
    fields = {"first_name": "Mo", "last_name": "Mail", "email": "mo@example.com"}
    [[first]] = gateway.write([[create(fields, "key-1")]])
    [[again]] = gateway.write([[create(fields, "key-1", reconcile=True)]])
    assert first.ok and again.crm_id == first.crm_id
    [mo] = persons(pd)
    assert mo["name"] == "Mo Mail" and mo["first_name"] == "Mo" and mo["last_name"] == "Mail"


def test_an_update_changes_the_primary_email_and_keeps_the_others(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [
        {"id": 5, "name": "Eve Mail", "emails": [
            {"value": "eve@old.example", "primary": True, "label": "work"},
            {"value": "eve@home.example", "primary": False, "label": "home"}]}]})
    gateway, _ = gateway_of(pd)
    outcomes = gateway.write([[update("5", {
        "email": "eve@new.example", "emails": ["eve@old.example", "eve@home.example"]})]])
    assert outcomes[0][0].ok and not outcomes[0][0].created
    [eve] = persons(pd)
    assert [(e["value"], e["primary"]) for e in eve["emails"]] == [
        ("eve@new.example", True), ("eve@old.example", False), ("eve@home.example", False)]
    assert eve["name"] == "Eve Mail"  # what was not given stays


def test_an_opt_out_is_written_and_never_undone(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [{"id": 5, "name": "Otto Out"}]})
    gateway, _ = gateway_of(pd)
    gateway.write([[update("5", {"marketing_status": True})]])
    assert persons(pd)[0]["marketing_status"] == "unsubscribed"
    gateway.write([[update("5", {"marketing_status": False, "name": "Otto Still Out"})]])
    [otto] = persons(pd)
    assert otto["marketing_status"] == "unsubscribed" and otto["name"] == "Otto Still Out"
    [[created]] = gateway.write([[create({"name": "New Out", "marketing_status": True}, "k")]])
    [row] = [r for page in pull(gateway, [], None) for r in page if r.id == created.crm_id]
    assert row.opted_out and row.values["marketing_status"] == "unsubscribed"


def test_failed_writes_are_typed_and_never_retried_blindly(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [{"id": 5, "name": "Gone Soon"}, {"id": 6, "name": "Kept"}]})
    pd.delete("/api/v2/persons/5")
    gateway, _ = gateway_of(pd)
    gone, invalid = gateway.write([[update("5", {"name": "Back"})],
                                   [update("6", {"owner_id": "999"})]])
    assert gone[0].code == "ENTITY_IS_DELETED" and not gone[0].retryable
    assert gone[0].crm_id == "5"
    assert invalid[0].code == "ERR_USER_NOT_FOUND" and not invalid[0].retryable
    assert "999" in invalid[0].message
    [[no_number]] = gateway.write([[update("6", {"owner_id": "sam"})]])
    assert no_number.code == "INVALID_FIELD" and not no_number.retryable

    assert gateway.key_field() is None  # looked up before the faults begin
    pd.admin("stats", method="DELETE")
    pd.admin("faults", {"error_rate": 1.0, "status": 503})
    [[failed]] = gateway.write([[create({"name": "Maybe Landed"}, "k-9")]])
    assert failed.code == "SERVER_ERROR" and failed.retryable
    assert stats(pd)["api_calls"]["persons_write"] == 1  # sent once, not again


# -- limits ---------------------------------------------------------------------------------
def test_a_429_is_waited_out_as_retry_after_says_and_the_call_succeeds(pd: Pipedrive) -> None:
    pd.admin("faults", {"rate_limit": 1, "rate_window_s": 0.05, "rate_limit_blocks": 1})
    assert pd.get("/api/v1/users").status_code == 200  # someone else spends the window
    gateway, waits = gateway_of(pd)
    assert gateway.users() == {"11": "olivia@acme.example", "12": "sam@acme.example"}
    assert stats(pd)["throttled"] == 1
    assert gateway.calls["users"] == 2  # the refused call, then the same call again
    assert len(waits) == 1 and 0 < waits[0] <= 0.05


def test_a_spent_window_is_waited_out_before_the_next_call(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [{"id": n, "name": f"P {n}"} for n in range(1, 11)]})
    pd.admin("faults", {"rate_limit": 2, "rate_window_s": 0.05})
    gateway, waits = gateway_of(pd, page_size=2)
    rows = [row for page in pull(gateway, [], None) for row in page]
    assert sorted(int(r.id) for r in rows) == list(range(1, 11))
    assert stats(pd)["throttled"] == 0  # never refused: each spent window was waited out
    assert gateway.calls["persons_list"] == 5 and len(waits) >= 2


def test_a_spent_daily_budget_stops_with_limit_reached(pd: Pipedrive) -> None:
    pd.admin("faults", {"daily_limit": 3})
    gateway, waits = gateway_of(pd)
    assert gateway.api_limit() is None
    gateway.users()
    assert gateway.api_limit() == (1, 3)
    gateway.users()
    gateway.users()
    assert gateway.api_limit() == (3, 3)
    with pytest.raises(CrmLimitReached, match="daily API budget"):
        gateway.users()
    assert gateway.calls["users"] == 4 and waits == []  # not retried


def test_spend_at_most_stops_before_the_call_past_the_budget(pd: Pipedrive) -> None:
    pd.admin("load", {"persons": [{"id": n, "name": f"P {n}"} for n in range(1, 11)]})
    gateway, _ = gateway_of(pd, page_size=2)
    gateway.spend_at_most(2)
    pages: list[list[CrmRow]] = []
    with pytest.raises(CrmLimitReached, match="api_budget"):
        for page in pull(gateway, [], None):
            pages.append(page)
    assert len(pages) == 2
    assert stats(pd)["api_calls"]["total"] == 2


# -- the rest of the port -------------------------------------------------------------------
def test_record_url_users_describe_and_picklist(keyed: Pipedrive) -> None:
    gateway, _ = gateway_of(keyed)
    assert gateway.record_url("person", "42") == f"{keyed.emu.url}/person/42"
    assert gateway.users()["12"] == "sam@acme.example"
    described = gateway.describe("person")
    assert described["email"] == {"length": 0, "type": "varchar", "label": "Email"}
    assert described[FIELD_KEY]["label"] == KEY_FIELD_NAME
    assert gateway.picklist("person", FIELD_INTERESTS) == [("1", "Analytics"),
                                                           ("2", "Security")]
    assert gateway.parse_stamp("2026-03-01 09:00:00") == gateway.parse_stamp(
        "2026-03-01T09:00:00Z") == datetime(2026, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="person"):
        gateway.describe("Lead")


def test_connect_records_whether_the_key_field_is_there(pd: Pipedrive,
                                                         sqlite_store: SyncLedger) -> None:
    without = connect_pipedrive(sqlite_store, credentials(pd), "tm-alice")
    assert without.missing_keys == ["person"]
    assert any(KEY_FIELD_NAME in warning for warning in without.warnings)
    pd.admin("load", {"personFields": [KEY_FIELD]})
    with_key = connect_pipedrive(sqlite_store, credentials(pd), "tm-alice")
    assert with_key.missing_keys == [] and with_key.warnings == []
