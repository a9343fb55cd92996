"""Pipedrive emulator: v1 routes, auth, rate limits, faults and the admin routes."""

from __future__ import annotations

import re

import requests
from pipedrive_fixtures import FIELD_SOURCE, Pipedrive, pd, pd_server

from syncledger.emulator.pipedrive.generate import generate_pipedrive
from syncledger.emulator.server import RunningEmulator

__all__ = ["pd", "pd_server"]

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                "x-daily-requests-left")


def test_users_and_me_carry_company(pd: Pipedrive) -> None:
    users = pd.get("/api/v1/users").json()
    assert users["success"] is True
    assert [u["id"] for u in users["data"]] == [11, 12]
    assert users["data"][0]["is_you"] is True and users["data"][0]["active_flag"] is True
    me = pd.get("/api/v1/users/me").json()["data"]
    assert me["id"] == 11 and me["email"] == "olivia@acme.example"
    assert isinstance(me["company_id"], int) and me["company_domain"]


def test_person_fields_list_custom_fields_by_hash(pd: Pipedrive) -> None:
    body = pd.get("/api/v1/personFields").json()
    keys = [f["key"] for f in body["data"]]
    assert {"name", "email", "phone", "owner_id"} <= set(keys)
    custom = [f for f in body["data"] if re.fullmatch(r"[0-9a-f]{40}", f["key"])]
    assert [f["name"] for f in custom] == ["Lead source", "Interests"]
    assert custom[1]["options"] == [{"id": 1, "label": "Analytics"},
                                    {"id": 2, "label": "Security"}]
    assert body["additional_data"]["more_items_in_collection"] is False


def test_recents_report_changes_and_deletions(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-04-01T12:00:00Z"})
    pd.admin("load", {"persons": [{"id": 1, "name": "Kept", "update_time":
                                   "2026-01-01T00:00:00Z"},
                                  {"id": 2, "name": "Doomed"}]})
    pd.admin("clock", {"advance_seconds": 60})
    assert pd.delete("/api/v2/persons/2").status_code == 200
    body = pd.get("/api/v1/recents", params={"since_timestamp": "2026-04-01 12:00:30",
                                             "items": "person"}).json()
    assert [(r["item"], r["id"]) for r in body["data"]] == [("person", 2)]
    assert body["data"][0]["data"]["active_flag"] is False
    assert body["additional_data"]["last_timestamp_on_page"] == "2026-04-01 12:01:00"
    assert pd.get("/api/v1/recents").status_code == 400


def test_notes_create_and_list(pd: Pipedrive) -> None:
    person = pd.post("/api/v2/persons", json={"name": "Noted Person"}).json()["data"]
    created = pd.post("/api/v1/notes", json={"content": "Called, interested",
                                             "person_id": person["id"]})
    assert created.status_code == 201
    note = created.json()["data"]
    assert note["person_id"] == person["id"] and note["person"] == {"name": "Noted Person"}
    listed = pd.get("/api/v1/notes", params={"person_id": person["id"]}).json()
    assert [n["content"] for n in listed["data"]] == ["Called, interested"]
    assert pd.post("/api/v1/notes", json={"content": "orphan"}).status_code == 400
    assert pd.post("/api/v1/notes", json={"content": "x", "person_id": 999}).status_code == 404


def test_v1_persons_are_gone(pd: Pipedrive) -> None:
    for method, path in (("GET", "/api/v1/persons"), ("POST", "/api/v1/persons"),
                         ("PUT", "/api/v1/persons/5"), ("GET", "/api/v1/persons/search")):
        response = pd.session.request(method, pd.url(path), json={})
        assert response.status_code == 410, path
        assert response.json()["success"] is False
        assert "/api/v2/persons" in response.json()["error"]


def test_wrong_token_is_401_and_query_token_works(pd: Pipedrive,
                                                  pd_server: RunningEmulator) -> None:
    anonymous = requests.Session()
    anonymous.trust_env = False
    anonymous.verify = str(pd_server.ca_cert)
    with anonymous:
        wrong = anonymous.get(pd.url("/api/v2/persons"), headers={"x-api-token": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "unauthorized access"
        assert all(h in wrong.headers for h in RATE_HEADERS)
        assert anonymous.get(pd.url("/__emulator__/stats")).status_code == 401
        by_query = anonymous.get(pd.url("/api/v1/users"), params={"api_token": pd_server.token})
        assert by_query.status_code == 200


def test_burst_limit_gives_429_with_headers_then_reopens(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-05-01T00:00:00Z"})
    pd.admin("faults", {"rate_limit": 3})
    statuses = [pd.get("/api/v1/users") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in statuses] == ["2", "1", "0", "0"]
    limited = statuses[-1]
    assert all(h in limited.headers for h in RATE_HEADERS)
    assert limited.headers["x-ratelimit-limit"] == "3"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["success"] is False
    pd.admin("clock", {"advance_seconds": 2})  # the frozen clock moves past the window
    assert pd.get("/api/v1/users").status_code == 200

    pd.admin("faults", {"rate_limit": 1, "rate_limit_blocks": 2})
    codes = [pd.get("/api/v1/users").status_code for _ in range(5)]
    assert codes == [200, 429, 429, 200, 429]
    stats = pd.admin("stats", method="GET")
    assert stats["throttled"] == 4


def test_daily_budget(pd: Pipedrive) -> None:
    pd.admin("faults", {"daily_limit": 2})
    first = pd.get("/api/v1/users")
    assert first.headers["x-daily-requests-left"] == "1"
    assert pd.get("/api/v1/users").headers["x-daily-requests-left"] == "0"
    over = pd.get("/api/v1/users")
    assert over.status_code == 429 and "Daily" in over.json()["error"]


def test_fault_injection_is_deterministic_for_a_seed(pd: Pipedrive) -> None:
    def run() -> list[int]:
        pd.admin("faults", {"error_rate": 0.4, "status": 503, "seed": 7})
        return [pd.get("/api/v2/persons").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert 503 in first and 200 in first
    pd.admin("faults", {"error_rate": 0.4, "status": 503, "seed": 8})
    assert [pd.get("/api/v2/persons").status_code for _ in range(20)] != first
    pd.admin("faults", {"error_rate": 1.0, "status": 500, "latency_ms": 5})
    failed = pd.get("/api/v2/persons")
    assert failed.status_code == 500 and failed.json()["success"] is False
    assert pd.admin("stats", method="GET")["injected_errors"] >= 2
    bad = pd.session.post(pd.url("/__emulator__/faults"), json={"eror_rate": 1})
    assert bad.status_code == 400


def test_admin_load_dump_reset_and_stats(pd: Pipedrive) -> None:
    pd.admin("stats", method="DELETE")
    loaded = pd.admin("load", {"persons": [
        {"id": 77, "name": "Kept Id", "emails": [{"value": "k@example.com"}],
         "custom_fields": {FIELD_SOURCE: "Event"}},
        {"name": "Generated Id"}]})
    assert loaded["loaded"]["persons"] == 2
    dump = pd.admin("dump", method="GET")
    ids = [p["id"] for p in dump["persons"]]
    assert ids == [77, 78]
    assert dump["persons"][0]["emails"] == [{"value": "k@example.com", "primary": True,
                                             "label": "work"}]
    assert dump["persons"][0]["custom_fields"][FIELD_SOURCE] == "Event"
    assert pd.admin("stats", method="GET")["api_calls"]["total"] == 0
    pd.get("/api/v2/persons")
    pd.get("/api/v2/persons/77")
    pd.post("/api/v2/persons", json={"name": "New One"})
    pd.get("/api/v2/persons/search", params={"term": "kept"})
    pd.get("/api/v1/personFields")
    calls = pd.admin("stats", method="GET")["api_calls"]
    assert calls["total"] == 5
    assert (calls["persons_list"], calls["persons_read"], calls["persons_write"],
            calls["search"], calls["fields"]) == (1, 1, 1, 1, 1)
    pd.admin("reset")
    assert pd.admin("dump", method="GET")["persons"] == []


def test_generated_data_loads_and_pages(pd: Pipedrive) -> None:
    data = generate_pipedrive(300, seed=3)
    assert data == generate_pipedrive(300, seed=3)
    pd.admin("reset")
    pd.admin("load", data)
    body = pd.get("/api/v2/persons", params={"limit": 500}).json()
    assert len(body["data"]) == 300 and body["additional_data"]["next_cursor"] is None
    owners = {p["owner_id"] for p in body["data"]}
    assert owners <= {u["id"] for u in data["users"]}
    emails = [p["emails"][0]["value"] for p in body["data"]]
    assert len(set(emails)) < len(emails)  # some duplicates by email, on purpose


def test_a_merge_deletes_one_and_the_survivor_names_it_in_recents(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-04-01T12:00:00Z"})
    pd.admin("load", {"persons": [
        {"id": 1, "name": "Ann Old", "emails": [{"value": "ann@old.example"}],
         "custom_fields": {FIELD_SOURCE: "Web"}, "update_time": "2026-01-01T00:00:00Z"},
        {"id": 2, "name": "Ann New", "emails": [{"value": "ann@new.example"}],
         "update_time": "2026-01-01T00:00:00Z"}]})
    pd.post("/api/v1/notes", json={"content": "met", "person_id": 1})
    pd.admin("clock", {"advance_seconds": 60})
    merged = pd.admin("merge", {"id": 1, "merge_with_id": 2})["data"]
    assert merged["id"] == 2 and merged["merge_what_id"] == 1
    assert [e["value"] for e in merged["email"]] == ["ann@new.example", "ann@old.example"]
    assert merged[FIELD_SOURCE] == "Web" and merged["update_time"] == "2026-04-01 12:01:00"
    body = pd.get("/api/v1/recents", params={"since_timestamp": "2026-04-01 12:00:30",
                                             "items": "person"}).json()
    by_id = {r["id"]: r["data"] for r in body["data"]}
    assert by_id[1]["active_flag"] is False and by_id[1]["delete_time"] == "2026-04-01 12:01:00"
    assert by_id[2]["active_flag"] is True and by_id[2]["merge_what_id"] == 1
    assert [n["person_id"] for n in pd.get("/api/v1/notes").json()["data"]] == [2]
    again = pd.session.post(pd.url("/__emulator__/merge"), json={"id": 2, "merge_with_id": 2})
    assert again.status_code == 400
    gone = pd.session.post(pd.url("/__emulator__/merge"), json={"id": 1, "merge_with_id": 2})
    assert gone.status_code == 404


def test_daily_budget_headers_and_a_short_window_told_in_milliseconds(pd: Pipedrive) -> None:
    pd.admin("faults", {"daily_limit": 5, "rate_window_s": 0.05})
    headers = pd.get("/api/v1/users").headers
    assert headers["x-daily-ratelimit-token-limit"] == "5"
    assert headers["x-daily-ratelimit-token-remaining"] == "4"
    assert headers["x-daily-requests-left"] == "4"
    assert 0 < float(headers["x-ratelimit-reset"]) <= 0.05
