"""sObject Collections through simple-salesforce's restful(): per-record results, allOrNone."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ACME, BOB, CARL, CONVERTED, LENA, Org
from simple_salesforce.exceptions import SalesforceMalformedRequest


def lead(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, **fields}


def test_create_with_per_record_results(org: Org) -> None:
    results = org.sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": False,
        "records": [lead(LastName="Ok", Company="C"), lead(LastName="NoCompany"),
                    {"attributes": {"type": "Contact"}, "LastName": "Mixed"}]})
    assert results[0]["success"] and results[0]["id"].startswith("00Q")
    assert results[1] == {"success": False, "errors": [{
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [Company]", "fields": ["Company"]}]}
    assert results[2]["id"].startswith("003")
    assert org.stats()["collections"] == 1


def test_all_or_none_rolls_back(org: Org) -> None:
    before = org.sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    results = org.sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": True,
        "records": [lead(LastName="Ok", Company="C"), lead(LastName="Bad")]})
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert org.sf.query("SELECT COUNT() FROM Lead")["totalSize"] == before


def test_all_or_none_rolls_back_updates(org: Org) -> None:
    results = org.sf.restful("composite/sobjects", method="PATCH", json={
        "allOrNone": True,
        "records": [lead(id=LENA, Title="Changed"), lead(id=CONVERTED, Title="No")]})
    assert [r["id"] for r in results] == [LENA, CONVERTED]
    assert results[1]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert org.sf.Lead.get(LENA)["Title"] is None


def test_update_and_delete(org: Org) -> None:
    results = org.sf.restful("composite/sobjects", method="PATCH", json={
        "records": [lead(id=LENA, Title="VP"), lead(Title="no id"),
                    {"attributes": {"type": "Contact"}, "id": CARL, "Title": "CEO"}]})
    assert results[0] == {"id": LENA, "success": True, "errors": []}
    assert results[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert org.sf.Contact.get(CARL)["Title"] == "CEO"
    deleted = org.sf.restful("composite/sobjects", method="DELETE",
                             params={"ids": f"{LENA},{LENA[:15]}", "allOrNone": "false"})
    assert deleted[0] == {"id": LENA, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_upsert_on_external_id(org: Org) -> None:
    path = "composite/sobjects/Contact/Syncledger_Key__c"
    records = [{"attributes": {"type": "Contact"}, "Syncledger_Key__c": f"k{i}",
                "LastName": f"Person {i}", "AccountId": ACME} for i in range(3)]
    first = org.sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["created"] for r in first] == [True, True, True]
    records[0]["Title"] = "Boss"
    second = org.sf.restful(path, method="PATCH", json={"records": records})
    assert [r["created"] for r in second] == [False, False, False]
    assert [r["id"] for r in second] == [r["id"] for r in first]
    [row] = org.sf.query("SELECT Title FROM Contact WHERE Syncledger_Key__c = 'k0'")["records"]
    assert row["Title"] == "Boss"
    twice = org.sf.restful(path, method="PATCH", json={"records": [records[1], records[1]]})
    assert {r["errors"][0]["statusCode"] for r in twice} == {"DUPLICATE_EXTERNAL_ID"}


def test_upsert_needs_an_external_id_field(org: Org) -> None:
    org.load({"options": {"external_id_fields": False}})
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.restful("composite/sobjects/Lead/Syncledger_Key__c", method="PATCH",
                       json={"records": [lead(Syncledger_Key__c="a", LastName="x")]})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_upsert_runs_assignment_rules_unless_told_not_to(org: Org) -> None:
    org.load({"LeadAssignmentRules": [{"field": "Company", "op": "eq", "value": "Initech",
                                       "owner": BOB}]})
    path = "composite/sobjects/Lead/Syncledger_Key__c"
    records = [lead(Syncledger_Key__c="a", LastName="A", Company="Initech")]
    org.sf.restful(path, method="PATCH", json={"records": records})
    records = [lead(Syncledger_Key__c="b", LastName="B", Company="Initech")]
    org.sf.restful(path, method="PATCH", json={"records": records},
                   headers={"Sforce-Auto-Assign": "FALSE"})
    owners = org.sf.query("SELECT Syncledger_Key__c, OwnerId FROM Lead WHERE "
                          "Syncledger_Key__c != null ORDER BY Syncledger_Key__c")["records"]
    assert [r["OwnerId"] for r in owners] == [BOB, "0058d0000000001AAA"]


def test_limit_of_200_records(org: Org) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.restful("composite/sobjects", method="POST", json={
            "records": [lead(LastName=str(i), Company="C") for i in range(201)]})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    results = org.sf.restful("composite/sobjects", method="POST", json={
        "records": [lead(LastName=str(i), Company="C") for i in range(200)]})
    assert all(r["success"] for r in results)


def test_read_by_ids(org: Org) -> None:
    rows = org.sf.restful("composite/sobjects/Lead", method="GET",
                          params={"ids": f"{LENA},00Q5g0000000999AAA", "fields": "Id,Email"})
    assert rows[0]["Email"] == "lena@globex.example" and rows[0]["attributes"]["type"] == "Lead"
    assert set(rows[0]) == {"attributes", "Id", "Email"}
    assert rows[1] is None
    posted = org.sf.restful("composite/sobjects/Lead", method="POST",
                            json={"ids": [LENA], "fields": ["Company"]})
    assert posted[0]["Company"] == "Globex"
    calls = org.stats()
    assert calls["collections_read"] == 2 and calls["collections"] == 0
