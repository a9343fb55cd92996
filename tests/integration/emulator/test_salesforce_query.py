"""SOQL through simple-salesforce: operators, relationships, paging, queryAll, errors."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ACME, ALICE, BOB, Org
from simple_salesforce.exceptions import SalesforceMalformedRequest


def ids(result: dict[str, Any]) -> list[str]:
    return [r["Id"] for r in result["records"]]


def bulk_contacts(org: Org, count: int, **extra: Any) -> None:
    org.load({"Contact": [{"LastName": f"Bulk{i:05d}", "Email": f"bulk{i}@x.example",
                           "AccountId": ACME, **extra} for i in range(count)]})


def test_select_with_parent_relationship_fields(org: Org) -> None:
    result = org.sf.query("SELECT Id, Name, Account.Name, Owner.Email, Owner.Name "
                          "FROM Contact WHERE Email = 'CARL@acme.example'")
    [record] = result["records"]
    assert record["attributes"]["type"] == "Contact"
    assert record["Name"] == "Carl Contact"
    assert record["Account"]["Name"] == "Acme"
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["Owner"] == {"attributes": record["Owner"]["attributes"],
                               "Email": "bob@team.example", "Name": "Bob Baker"}


def test_null_parent_is_null(org: Org) -> None:
    org.load({"Contact": [{"LastName": "Loner"}]})
    [record] = org.sf.query("SELECT Account.Name FROM Contact WHERE LastName = 'Loner'")[
        "records"]
    assert record["Account"] is None


@pytest.mark.parametrize(("where", "expected"), [
    ("LastName = 'lead'", ["Lena"]),
    ("LastName != 'Lead'", ["Carl"]),
    ("Email LIKE 'lena@%'", ["Lena"]),
    ("Email LIKE '%ACME%'", ["Carl"]),
    ("Company IN ('Globex', 'Initech')", ["Lena"]),
    ("Company NOT IN ('Globex')", ["Carl"]),
    ("IsConverted = true", ["Carl"]),
    ("NOT IsConverted = true", ["Lena"]),
    ("ConvertedContactId = null", ["Lena"]),
    ("ConvertedContactId != null", ["Carl"]),
    ("(Company = 'Globex' OR Company = 'Acme') AND IsConverted = false", ["Lena"]),
    ("CreatedDate < 2026-02-21T00:00:00Z", ["Lena"]),
    ("CreatedDate >= 2026-02-21T00:00:00+01:00", ["Carl"]),
    ("CreatedDate = LAST_N_DAYS:3", ["Carl"]),
    ("CreatedDate < LAST_N_DAYS:3", ["Lena"]),
    ("ConvertedDate = 2026-03-01", ["Carl"]),
    ("ConvertedDate = YESTERDAY", ["Carl"]),
    ("CreatedDate = THIS_MONTH", ["Carl"]),
    ("Owner.Email = 'alice@team.example'", ["Carl", "Lena"]),
    ("OwnerId = '" + ALICE[:15] + "'", ["Carl", "Lena"]),
])
def test_where_operators(org: Org, where: str, expected: list[str]) -> None:
    result = org.sf.query(f"SELECT FirstName FROM Lead WHERE {where} ORDER BY FirstName")
    assert [r["FirstName"] for r in result["records"]] == expected


def test_numbers_and_multipicklists(org: Org) -> None:
    org.load({"Lead": [{"LastName": "Num", "Company": "N", "Score__c": 7.5,
                        "Interests__c": "Pricing;Security"}]})
    assert ids(org.sf.query("SELECT Id FROM Lead WHERE Score__c > 7")) != []
    assert ids(org.sf.query("SELECT Id FROM Lead WHERE Score__c <= -1")) == []
    found = org.sf.query("SELECT Interests__c FROM Lead WHERE Interests__c INCLUDES "
                         "('Security;Pricing')")
    assert [r["Interests__c"] for r in found["records"]] == ["Pricing;Security"]
    assert ids(org.sf.query("SELECT Id FROM Lead WHERE Interests__c EXCLUDES ('Pricing') "
                            "AND LastName = 'Num'")) == []


def test_order_by_several_keys_limit_offset(org: Org) -> None:
    org.load({"Contact": [{"LastName": name, "FirstName": first} for name, first in
                          [("b", "2"), ("a", "9"), ("B", "1"), ("c", None)]]})
    query = "SELECT LastName, FirstName FROM Contact WHERE LastName IN ('a','b','c') "
    rows = org.sf.query(query + "ORDER BY LastName DESC, FirstName ASC")["records"]
    assert [(r["LastName"], r["FirstName"]) for r in rows] == [
        ("c", None), ("B", "1"), ("b", "2"), ("a", "9")]
    rows = org.sf.query(query + "ORDER BY FirstName NULLS LAST LIMIT 2 OFFSET 1")["records"]
    assert [r["FirstName"] for r in rows] == ["2", "9"]
    rows = org.sf.query(query + "ORDER BY FirstName")["records"]
    assert rows[0]["FirstName"] is None


def test_count(org: Org) -> None:
    result = org.sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = false")
    assert result["totalSize"] == 1 and result["records"] == []


def test_paging_through_next_records_url(org: Org) -> None:
    bulk_contacts(org, 4500)
    first = org.sf.query("SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Bulk%' "
                         "ORDER BY SystemModstamp, Id")
    assert first["totalSize"] == 4500 and not first["done"]
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert first["nextRecordsUrl"].endswith("-2000")
    second = org.sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000 and second["nextRecordsUrl"].endswith("-4000")
    everything = org.sf.query_all("SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Bulk%'"
                                  " ORDER BY LastName")
    names = [r["LastName"] for r in everything["records"]]
    assert len(names) == 4500 and names == sorted(names)
    calls = org.stats()
    assert calls["query"] == 2 and calls["query_more"] == 3


def test_records_sharing_a_timestamp_page_by_id(org: Org) -> None:
    bulk_contacts(org, 2100)   # all loaded at the pinned clock: one SystemModstamp
    query = ("SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp >= "
             "2026-03-02T10:00:00Z ORDER BY SystemModstamp, Id")
    rows = org.sf.query_all(query)["records"]
    assert len({r["SystemModstamp"] for r in rows}) == 1
    assert [r["Id"] for r in rows] == sorted(r["Id"] for r in rows)
    assert len(rows) == 2100


def test_query_all_sees_deleted_and_merged(org: Org) -> None:
    org.sf.Lead.delete("00Q8d0000000001EAA")
    assert ids(org.sf.query("SELECT Id FROM Lead WHERE IsDeleted = true")) == []
    deleted = org.sf.query_all("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true",
                               include_deleted=True)
    assert ids(deleted) == ["00Q8d0000000001EAA"]
    org.load({"Contact": [{"Id": "0038d0000000009AAA", "LastName": "Twin",
                           "Email": "carl@acme.example"}]})
    org.admin("POST", "merge", {"object": "Contact", "master_id": "0038d0000000001AAA",
                                "merged_ids": ["0038d0000000009AAA"]})
    merged = org.sf.query_all("SELECT Id, MasterRecordId FROM Contact WHERE IsDeleted = true",
                              include_deleted=True)["records"]
    assert [(r["Id"], r["MasterRecordId"]) for r in merged] == [
        ("0038d0000000009AAA", "0038d0000000001AAA")]


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company = 'a' AND Email = 'b' OR Email = 'c'",
     "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Company = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Owner.Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE CreatedDate > 2026-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE Score__c = 'x'", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE OwnerId = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Nothing", "INVALID_TYPE"),
])
def test_query_errors(org: Org, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.query(soql)
    [error] = caught.value.content
    assert error["errorCode"] == code
    assert set(error) >= {"message", "errorCode"}


def test_organization_and_lead_status(org: Org) -> None:
    [record] = org.sf.query("SELECT Id, Name, IsSandbox FROM Organization")["records"]
    assert record["Id"].startswith("00D") and len(record["Id"]) == 18
    assert record["IsSandbox"] is False
    statuses = org.sf.query("SELECT MasterLabel, ApiName, IsConverted, IsDefault, SortOrder "
                            "FROM LeadStatus ORDER BY SortOrder")["records"]
    assert statuses[0]["MasterLabel"] == "Open - Not Contacted" and statuses[0]["IsDefault"]
    assert any(s["IsConverted"] for s in statuses)


def test_user_fields(org: Org) -> None:
    users = org.sf.query("SELECT Id, Name, Email, IsActive, Username FROM User "
                         "WHERE IsActive = true ORDER BY Email")["records"]
    assert [u["Email"] for u in users][:2] == ["alice@team.example", "bob@team.example"]
    assert users[0]["Id"] == ALICE and users[1]["Id"] == BOB


def test_request_line_over_16k_gets_414(org: Org) -> None:
    emails = ",".join(f"'person{i}@example.com'" for i in range(700))
    response = org.api("GET", "/query", params={
        "q": f"SELECT Id FROM Lead WHERE Email IN ({emails})"})
    assert response.status_code == 414
    ok = org.api("GET", "/query", params={
        "q": "SELECT Id FROM Lead WHERE Email IN (" + ",".join(emails.split(",")[:300]) + ")"})
    assert ok.status_code == 200
