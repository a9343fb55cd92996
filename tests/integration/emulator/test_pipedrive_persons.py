"""API v2 persons on the Pipedrive emulator, over HTTPS with requests."""

from __future__ import annotations

from typing import Any

from pipedrive_fixtures import FIELD_INTERESTS, FIELD_SOURCE, Pipedrive, pd, pd_server

__all__ = ["pd", "pd_server"]


def _create(pd: Pipedrive, name: str, email: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "emails": [{"value": email, "primary": True, "label": "work"}],
            **extra}
    response = pd.post("/api/v2/persons", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_create_get_patch_delete_round_trip_with_custom_fields(pd: Pipedrive) -> None:
    created = _create(pd, "Ada Lovelace", "ada@example.com", owner_id=12,
                      phones=[{"value": "+1 555 0100", "label": "mobile"}],
                      custom_fields={FIELD_SOURCE: "Web", FIELD_INTERESTS: [1, 2]})
    assert created["first_name"] == "Ada" and created["last_name"] == "Lovelace"
    assert created["owner_id"] == 12 and created["is_deleted"] is False
    assert created["phones"] == [{"value": "+1 555 0100", "primary": True, "label": "mobile"}]
    assert created["custom_fields"] == {FIELD_SOURCE: "Web", FIELD_INTERESTS: [1, 2]}
    assert created["update_time"].endswith("Z")

    person_id = created["id"]
    # A write answers with marketing_status; a read only when asked (include_fields).
    assert created["marketing_status"] == "no_consent"
    plain = pd.get(f"/api/v2/persons/{person_id}").json()["data"]
    assert "marketing_status" not in plain
    got = pd.get(f"/api/v2/persons/{person_id}",
                 params={"include_fields": "marketing_status"}).json()["data"]
    assert got == created

    patched = pd.patch(f"/api/v2/persons/{person_id}",
                       json={"custom_fields": {FIELD_SOURCE: None}, "name": "Ada King"}).json()
    assert patched["data"]["custom_fields"] == {FIELD_SOURCE: None, FIELD_INTERESTS: [1, 2]}
    assert patched["data"]["last_name"] == "King"

    deleted = pd.delete(f"/api/v2/persons/{person_id}")
    assert deleted.json() == {"success": True, "data": {"id": person_id}}
    after = pd.get(f"/api/v2/persons/{person_id}").json()["data"]
    assert after["is_deleted"] is True
    listed = pd.get("/api/v2/persons").json()["data"]
    assert person_id not in [p["id"] for p in listed]
    assert pd.patch(f"/api/v2/persons/{person_id}", json={"name": "X"}).status_code == 404


def test_validation_errors_use_pipedrive_error_body(pd: Pipedrive) -> None:
    no_name = pd.post("/api/v2/persons", json={"emails": []})
    assert no_name.status_code == 400
    assert no_name.json()["success"] is False and "name" in no_name.json()["error"]
    bad_field = pd.post("/api/v2/persons", json={"name": "A B", "custom_fields": {"f" * 40: 1}})
    assert bad_field.status_code == 400
    bad_option = pd.post("/api/v2/persons",
                         json={"name": "A B", "custom_fields": {FIELD_INTERESTS: [9]}})
    assert bad_option.status_code == 400
    assert pd.post("/api/v2/persons", json={"name": "A B", "owner_id": 999}).status_code == 400
    assert pd.get("/api/v2/persons/424242").status_code == 404
    assert pd.get("/api/v2/persons?limit=501").status_code == 400
    assert pd.get("/api/v2/persons?cursor=not-a-cursor").status_code == 400
    assert pd.get("/api/v2/persons?updated_since=yesterday").status_code == 400


def test_cursor_paging_with_updated_since_and_shared_timestamps(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-03-01T09:00:00Z"})
    persons = [{"id": 10_000 + n, "name": f"Old {n}", "update_time": "2026-02-01T00:00:00Z"}
               for n in range(300)]
    # 1,200 persons share one update_time, so paging must not rely on time alone.
    persons += [{"id": 20_000 + n, "name": f"New {n}", "owner_id": 11 + n % 2,
                 "update_time": "2026-03-01T09:00:00Z"} for n in range(1200)]
    pd.admin("load", {"persons": persons})

    for sort_by in ("id", "update_time"):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"updated_since": "2026-03-01T09:00:00Z", "limit": 500,
                                      "sort_by": sort_by}
            if cursor:
                params["cursor"] = cursor
            body = pd.get("/api/v2/persons", params=params).json()
            seen += [p["id"] for p in body["data"]]
            pages += 1
            cursor = body["additional_data"]["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert sorted(seen) == list(range(20_000, 21_200)) and len(set(seen)) == len(seen)

    owned = pd.get("/api/v2/persons", params={"owner_id": 12, "limit": 500,
                                              "updated_since": "2026-03-01T00:00:00Z"}).json()
    assert len(owned["data"]) == 500 and all(p["owner_id"] == 12 for p in owned["data"])
    newest = pd.get("/api/v2/persons", params={"sort_by": "id", "sort_direction": "desc",
                                               "limit": 2}).json()["data"]
    assert [p["id"] for p in newest] == [21_199, 21_198]


def test_a_person_updated_mid_paging_is_seen_again_at_the_end(pd: Pipedrive) -> None:
    pd.admin("clock", {"now": "2026-03-01T09:00:00Z"})
    pd.admin("load", {"persons": [{"id": n, "name": f"P {n}"} for n in range(1, 11)]})
    params = {"sort_by": "update_time", "limit": 5, "updated_since": "2026-03-01T09:00:00Z"}
    first = pd.get("/api/v2/persons", params=params).json()
    pd.admin("clock", {"advance_seconds": 5})
    pd.patch("/api/v2/persons/2", json={"name": "P two"})
    rest: list[int] = []
    cursor = first["additional_data"]["next_cursor"]
    while cursor:
        body = pd.get("/api/v2/persons", params={**params, "cursor": cursor}).json()
        rest += [p["id"] for p in body["data"]]
        cursor = body["additional_data"]["next_cursor"]
    assert [p["id"] for p in first["data"]] == [1, 2, 3, 4, 5]
    assert rest == [6, 7, 8, 9, 10, 2]


def test_search_by_email_exact_and_by_name(pd: Pipedrive) -> None:
    ada = _create(pd, "Ada Lovelace", "Ada@Example.com")
    _create(pd, "Grace Hopper", "grace@example.com")
    found = pd.get("/api/v2/persons/search", params={"term": "ada@example.com",
                                                     "fields": "email",
                                                     "exact_match": "true"}).json()
    assert found["success"] is True
    items = found["data"]["items"]
    assert len(items) == 1 and items[0]["item"]["id"] == ada["id"]
    assert items[0]["item"]["emails"] == ["Ada@Example.com"]
    assert items[0]["item"]["type"] == "person" and items[0]["result_score"] > 0
    assert found["additional_data"] == {"next_cursor": None}
    by_name = pd.get("/api/v2/persons/search", params={"term": "hopp"}).json()
    assert [i["item"]["name"] for i in by_name["data"]["items"]] == ["Grace Hopper"]
    assert pd.get("/api/v2/persons/search", params={"term": "a"}).status_code == 400
    pd.delete(f"/api/v2/persons/{ada['id']}")
    gone = pd.get("/api/v2/persons/search", params={"term": "ada@example.com",
                                                    "fields": "email", "exact_match": "1"})
    assert gone.json()["data"]["items"] == []


def test_concurrent_creates_get_distinct_ids(pd: Pipedrive) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def create(n: int) -> int:
        return int(_create(pd, f"Thread {n}", f"t{n}@example.com")["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(80)))
    assert len(set(ids)) == 80
    listed = pd.get("/api/v2/persons", params={"limit": 500}).json()["data"]
    assert sorted(p["id"] for p in listed) == sorted(ids)


def test_marketing_status_is_checked_and_read_when_asked(pd: Pipedrive) -> None:
    person = _create(pd, "Opt Out", "out@example.com", marketing_status="unsubscribed")
    assert person["marketing_status"] == "unsubscribed"
    bad = pd.post("/api/v2/persons", json={"name": "X Y", "marketing_status": "maybe"})
    assert bad.status_code == 400 and "marketing_status" in bad.json()["error"]
    listed = pd.get("/api/v2/persons", params={"include_fields": "marketing_status"}).json()
    assert [p["marketing_status"] for p in listed["data"]] == ["unsubscribed"]
    patched = pd.patch(f"/api/v2/persons/{person['id']}",
                       json={"marketing_status": "subscribed"}).json()["data"]
    assert patched["marketing_status"] == "subscribed"
