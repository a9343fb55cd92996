"""Malformed answers (`{"malformed": ..., "rate": ...}`): a body cut short, keys taken out,
values grown past any field's size; the request is served as usual, only its answer spoiled."""

from __future__ import annotations

import json

from conftest import Org

QUERY = {"q": "SELECT Id, LastName FROM Lead ORDER BY Id"}


def test_a_cut_answer_is_not_json_and_the_write_behind_it_landed(org: Org) -> None:
    org.admin("POST", "faults", {"malformed": "json", "kinds": ["collections"], "cut": 0.3,
                                 "junk": "]}"})
    answer = org.api("POST", "/composite/sobjects", json={
        "records": [{"attributes": {"type": "Lead"}, "LastName": "Landed", "Company": "C"}]})
    assert answer.status_code == 200
    try:
        json.loads(answer.text)
        raise AssertionError(f"still JSON: {answer.text}")
    except ValueError:
        pass
    assert answer.text.endswith("]}")
    # Only the kinds named: a query answers as ever, and shows the write landed.
    found = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead WHERE "
                                             "LastName = 'Landed'"})
    assert found.json()["totalSize"] == 1
    assert org.admin("GET", "stats")["malformed_answers"] == 1
    assert org.admin("GET", "faults")["malformed"]["cut"] == 0.3


def test_fields_named_are_taken_out_at_any_depth(org: Org) -> None:
    org.admin("POST", "faults", {"malformed": "missing_fields", "fields": ["LastName", "done"]})
    page = org.api("GET", "/query", params=QUERY).json()
    assert "done" not in page and page["totalSize"] == 2
    assert all("LastName" not in r and "Id" in r for r in page["records"])


def test_without_names_one_key_of_each_object_goes_the_same_for_a_seed(org: Org) -> None:
    answers = []
    for _ in range(2):
        org.admin("POST", "faults", {"malformed": "missing_fields", "seed": 7})
        answers.append(org.api("GET", "/query", params=QUERY).json())
    first = answers[0]
    assert answers[1] == first
    assert len(first) == 2  # of totalSize, done, records
    for record in first.get("records", []):
        assert len(record) == 2  # of attributes, Id, LastName


def test_huge_values_outgrow_every_field_and_numbers_every_reader(org: Org) -> None:
    org.admin("POST", "faults", {"malformed": "huge_values", "size": 150_000})
    page = org.api("GET", "/query", params=QUERY).json()
    assert {len(r["LastName"]) for r in page["records"]} == {150_000}
    assert page["totalSize"] == 2
    org.admin("POST", "faults", {"malformed": "huge_values", "size": 0, "digits": 5000})
    text = org.api("GET", "/query", params=QUERY).text
    assert '"totalSize":' + "9" * 5000 + "," in text


def test_a_rate_spoils_that_share_and_none_clears_it(org: Org) -> None:
    org.admin("POST", "faults", {"malformed": "json", "rate": 0.5, "seed": 3})
    spoiled = 0
    for _ in range(40):
        try:
            org.api("GET", "/query", params=QUERY).json()
        except ValueError:
            spoiled += 1
    assert 10 < spoiled < 30
    assert org.admin("GET", "stats")["malformed_answers"] == spoiled
    org.admin("POST", "faults", {"malformed": None})
    assert org.api("GET", "/query", params=QUERY).json()["totalSize"] == 2


def test_a_bad_setting_is_refused(org: Org) -> None:
    for body in ({"malformed": "xml"}, {"malformed": "json", "kinds": ["admin"]},
                 {"malformed": "json", "cut": 2}, {"malformed": "json", "rate": "x"}):
        refused = org.http.post(org.url("/__emulator__/faults"), json=body,
                                headers={"Authorization": f"Bearer {org.emu.token}"})
        assert refused.status_code == 400, body
