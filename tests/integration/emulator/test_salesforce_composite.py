"""The Composite resource carrying sObject Collections: one call for up to five, each with
its own headers, answered per subrequest; refused past Salesforce's limits."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ALICE, BOB, Org
from simple_salesforce.exceptions import SalesforceMalformedRequest

V = "/services/data/v59.0"


def collection(method: str, path: str, records: list[dict[str, Any]], reference: str,
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    sub: dict[str, Any] = {"method": method, "url": f"{V}/{path}", "referenceId": reference,
                           "body": {"allOrNone": False, "records": records}}
    if headers:
        sub["httpHeaders"] = headers
    return sub


def lead(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, **fields}


def test_subrequests_run_with_their_own_headers_and_count_once(org: Org) -> None:
    org.load({"LeadAssignmentRules": [
        {"field": "Company", "op": "contains", "value": "Co", "owner": BOB}]})
    before = org.stats()["collections"]
    answer = org.sf.restful("composite", method="POST", json={"compositeRequest": [
        collection("POST", "composite/sobjects",
                   [lead(LastName="Kept", Company="Co", OwnerId=ALICE)], "kept",
                   {"Sforce-Auto-Assign": "FALSE"}),
        collection("POST", "composite/sobjects",
                   [lead(LastName="Assigned", Company="Co", OwnerId=ALICE),
                    lead(LastName="NoCompany")], "assigned"),
    ]})
    by_reference = {a["referenceId"]: a for a in answer["compositeResponse"]}
    assert by_reference["kept"]["httpStatusCode"] == 200
    kept, assigned = by_reference["kept"]["body"], by_reference["assigned"]["body"]
    assert kept[0]["success"] and assigned[0]["success"]
    assert assigned[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    owners = {r["LastName"]: r["OwnerId"] for r in org.sf.query(
        "SELECT LastName, OwnerId FROM Lead WHERE LastName IN ('Kept', 'Assigned')")["records"]}
    assert owners == {"Kept": ALICE, "Assigned": BOB}
    assert org.stats()["collections"] - before == 1


def test_more_than_five_collections_are_refused(org: Org) -> None:
    subrequests = [collection("POST", "composite/sobjects", [lead(LastName=f"L{n}",
                                                                  Company="C")], f"c{n}")
                   for n in range(6)]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        org.sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


def test_a_subrequest_refused_whole_answers_with_its_status(org: Org) -> None:
    answer = org.sf.restful("composite", method="POST", json={"compositeRequest": [
        collection("PATCH", "composite/sobjects/Lead/No_Such_Field__c",
                   [lead(LastName="X", Company="C")], "bad")]})
    (only,) = answer["compositeResponse"]
    assert only["httpStatusCode"] >= 400 and isinstance(only["body"], list)
