"""sObject rows through simple-salesforce: CRUD, upsert, describe, rules and their errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import ACME, ALICE, BOB, CARL, CONVERTED, LENA, PINNED_NOW, Org
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from syncledger.emulator.salesforce.ids import case_suffix


def error_of(exc: pytest.ExceptionInfo[Exception]) -> dict[str, object]:
    [error] = exc.value.content  # type: ignore[attr-defined]
    assert set(error) >= {"message", "errorCode", "fields"}
    return dict(error)


def test_create_get_update_delete(org: Org) -> None:
    created = org.sf.Contact.create({"FirstName": "Dana", "LastName": "Doe",
                                     "Email": "dana@acme.example", "AccountId": ACME})
    assert created["success"] and created["errors"] == []
    new_id = created["id"]
    assert new_id.startswith("003") and len(new_id) == 18
    assert new_id[15:] == case_suffix(new_id[:15])
    record = org.sf.Contact.get(new_id)
    assert record["Name"] == "Dana Doe" and record["OwnerId"] == ALICE
    assert record["SystemModstamp"] == record["CreatedDate"] == PINNED_NOW
    assert record["IsDeleted"] is False
    org.admin("POST", "clock", {"advance": 60})
    assert org.sf.Contact.update(new_id, {"Title": "CTO", "OwnerId": BOB}) == 204
    record = org.sf.Contact.get(new_id)
    assert record["Title"] == "CTO" and record["OwnerId"] == BOB
    assert record["SystemModstamp"] == "2026-03-02T10:01:00.000+0000"
    assert record["LastModifiedDate"] == record["SystemModstamp"]
    assert org.sf.Contact.delete(new_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        org.sf.Contact.get(new_id)
    assert error_of(caught)["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        org.sf.Contact.get("0035g0000000999AAA")
    assert error_of(caught)["errorCode"] == "NOT_FOUND"


def test_get_selected_fields_and_fifteen_char_ids(org: Org) -> None:
    record = org.api("GET", f"/sobjects/Lead/{LENA[:15]}", params={"fields": "Email,Company"})
    assert record.json() == {"attributes": {"type": "Lead",
                                            "url": f"/services/data/v59.0/sobjects/Lead/{LENA}"},
                             "Email": "lena@globex.example", "Company": "Globex"}


def test_clock_can_give_many_writes_one_timestamp(org: Org) -> None:
    first = org.sf.Lead.create({"LastName": "A", "Company": "X"})["id"]
    second = org.sf.Lead.create({"LastName": "B", "Company": "X"})["id"]
    stamps = {org.sf.Lead.get(i)["SystemModstamp"] for i in (first, second)}
    assert stamps == {PINNED_NOW}
    org.admin("POST", "clock", {"now": None})
    third = org.sf.Lead.create({"LastName": "C", "Company": "X"})["id"]
    stamp = org.sf.Lead.get(third)["SystemModstamp"]
    assert abs(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
               - datetime.now(UTC)).total_seconds() < 60


@pytest.mark.parametrize(("sobject", "body", "missing"), [
    ("Lead", {"FirstName": "No"}, ["LastName", "Company"]),
    ("Lead", {"LastName": "No"}, ["Company"]),
    ("Contact", {"FirstName": "No"}, ["LastName"]),
    ("Note", {"ParentId": CARL, "Body": "text"}, ["Title"]),
])
def test_required_fields(org: Org, sobject: str, body: dict[str, str],
                         missing: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        getattr(org.sf, sobject).create(body)
    error = error_of(caught)
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING" and error["fields"] == missing


def test_required_field_cannot_be_cleared(org: Org) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.Lead.update(LENA, {"Company": ""})
    assert error_of(caught)["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_converted_lead_cannot_be_updated(org: Org) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.Lead.update(CONVERTED, {"Title": "CEO"})
    assert error_of(caught)["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


@pytest.mark.parametrize(("sobject", "body", "code"), [
    ("Lead", {"LastName": "X", "Company": "Y", "Nope__c": 1}, "INVALID_FIELD"),
    ("Lead", {"LastName": "X", "Company": "Y", "IsConverted": True},
     "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ("Lead", {"LastName": "X", "Company": "Y", "Status": "Bogus"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ("Lead", {"LastName": "X", "Company": "Y", "Interests__c": "Pricing;Bogus"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ("Lead", {"LastName": "X", "Company": "Y", "Email": "not-an-email"},
     "INVALID_EMAIL_ADDRESS"),
    ("Lead", {"LastName": "X" * 81, "Company": "Y"}, "STRING_TOO_LONG"),
    ("Lead", {"LastName": "X", "Company": "Y", "OwnerId": "0058d0000000003AAA"},
     "INACTIVE_OWNER_OR_USER"),
    ("Lead", {"LastName": "X", "Company": "Y", "OwnerId": "0055g0000000777AAA"},
     "INVALID_CROSS_REFERENCE_KEY"),
    ("Contact", {"LastName": "X", "AccountId": LENA}, "FIELD_INTEGRITY_EXCEPTION"),
    ("Contact", {"LastName": "X", "AccountId": "garbage"}, "MALFORMED_ID"),
    ("Task", {"Subject": "x", "TaskSubtype": "Fax"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
])
def test_write_errors(org: Org, sobject: str, body: dict[str, object], code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        getattr(org.sf, sobject).create(body)
    assert error_of(caught)["errorCode"] == code


def test_task_subtype_on_create_only(org: Org) -> None:
    task = org.sf.Task.create({"WhoId": CARL, "WhatId": ACME, "Subject": "Call Carl",
                               "TaskSubtype": "Call", "ActivityDate": "2026-03-02",
                               "Description": "Talked about pricing", "Type": "Call"})
    record = org.sf.Task.get(task["id"])
    assert task["id"].startswith("00T")
    assert (record["TaskSubtype"], record["Status"], record["Priority"]) == (
        "Call", "Not Started", "Normal")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.Task.update(task["id"], {"TaskSubtype": "Email"})
    assert error_of(caught)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert org.sf.Task.update(task["id"], {"Status": "Completed"}) == 204
    linked = org.sf.query(f"SELECT Who.Name, What.Name FROM Task WHERE Id = '{task['id']}'")
    [row] = linked["records"]
    assert row["Who"]["Name"] == "Carl Contact" and row["What"]["Name"] == "Acme"


def test_note(org: Org) -> None:
    note = org.sf.Note.create({"ParentId": LENA, "Title": "Met at expo [k:123]",
                               "Body": "Long text"})
    assert note["id"].startswith("002")
    assert org.sf.Note.get(note["id"])["Title"] == "Met at expo [k:123]"


def test_upsert_by_external_id(org: Org) -> None:
    first = org.sf.Lead.upsert("Syncledger_Key__c/key-1",
                               {"LastName": "Up", "Company": "Sert"}, raw_response=True)
    assert first.status_code == 201
    assert first.json()["created"] is True
    second = org.sf.Lead.upsert("Syncledger_Key__c/key-1",
                                {"LastName": "Up2", "Company": "Sert"}, raw_response=True)
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [],
                             "created": False}
    record = org.api("GET", "/sobjects/Lead/Syncledger_Key__c/key-1").json()
    assert record["LastName"] == "Up2" and record["Syncledger_Key__c"] == "key-1"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.Lead.create({"LastName": "Dup", "Company": "X", "Syncledger_Key__c": "key-1"})
    assert error_of(caught)["errorCode"] == "DUPLICATE_VALUE"


def test_describe(org: Org) -> None:
    describe = org.sf.Lead.describe()
    assert describe["name"] == "Lead" and describe["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in describe["fields"]}
    key = fields["Syncledger_Key__c"]
    assert (key["type"], key["length"], key["externalId"], key["unique"]) == (
        "string", 64, True, True)
    assert fields["Company"]["nillable"] is False
    assert fields["IsConverted"]["createable"] is False
    assert fields["Interests__c"]["type"] == "multipicklist"
    statuses = [v["value"] for v in fields["Status"]["picklistValues"]]
    assert statuses[:2] == ["Open - Not Contacted", "Working - Contacted"]
    task = {f["name"]: f for f in org.sf.Task.describe()["fields"]}
    subtypes = [v["value"] for v in task["TaskSubtype"]["picklistValues"]]
    assert {"Task", "Email", "Call", "LinkedIn", "ListEmail", "Cadence"} <= set(subtypes)
    assert task["TaskSubtype"]["createable"] and not task["TaskSubtype"]["updateable"]
    names = {o["name"] for o in org.sf.describe()["sobjects"]}
    assert {"Organization", "User", "Lead", "Contact", "Account", "Task", "Note",
            "LeadStatus"} <= names
    assert org.stats()["describe"] == 3


def test_without_external_id_fields(org: Org) -> None:
    org.load({"options": {"external_id_fields": False}})
    fields = {f["name"] for f in org.sf.Contact.describe()["fields"]}
    assert "Syncledger_Key__c" not in fields
    with pytest.raises(SalesforceResourceNotFound) as caught:
        org.sf.Contact.upsert("Syncledger_Key__c/k", {"LastName": "X"})
    assert error_of(caught)["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.query("SELECT Syncledger_Key__c FROM Contact")
    assert error_of(caught)["errorCode"] == "INVALID_FIELD"


def test_duplicate_rule(org: Org) -> None:
    org.sf.Lead.create({"LastName": "Twin", "Company": "X", "Email": "lena@globex.example"})
    org.admin("POST", "settings", {"duplicate_rule": True})
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.sf.Contact.create({"LastName": "Twin", "Email": "CARL@acme.example"})
    error = error_of(caught)
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"]["Id"] == CARL
    allowed = org.sf.Contact.create({"LastName": "Twin", "Email": "carl@acme.example"},
                                    headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"})
    assert allowed["success"]
    # a different object with the same email is not a duplicate under the rule
    assert org.sf.Lead.create({"LastName": "T", "Company": "C", "Email": "dana@x.example"})


def test_assignment_rules_respect_auto_assign_header(org: Org) -> None:
    org.load({"LeadAssignmentRules": [
        {"field": "Company", "op": "contains", "value": "globex", "owner": BOB}]})
    assigned = org.sf.Lead.create({"LastName": "R", "Company": "Globex EU", "OwnerId": ALICE})
    assert org.sf.Lead.get(assigned["id"])["OwnerId"] == BOB
    kept = org.sf.Lead.create({"LastName": "R", "Company": "Globex EU", "OwnerId": ALICE},
                              headers={"Sforce-Auto-Assign": "FALSE"})
    assert org.sf.Lead.get(kept["id"])["OwnerId"] == ALICE
    other = org.sf.Lead.create({"LastName": "R", "Company": "Initech"})
    assert org.sf.Lead.get(other["id"])["OwnerId"] == ALICE
    org.sf.Lead.update(LENA, {"Title": "x"})   # updates run the rules too
    assert org.sf.Lead.get(LENA)["OwnerId"] == BOB
    org.sf.Lead.update(LENA, {"OwnerId": ALICE}, headers={"Sforce-Auto-Assign": "FALSE"})
    assert org.sf.Lead.get(LENA)["OwnerId"] == ALICE


def test_updated_and_deleted_endpoints(org: Org) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    end = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    made = org.sf.Lead.create({"LastName": "New", "Company": "X"})["id"]
    org.sf.Lead.delete(LENA)
    updated = org.sf.Lead.updated(start, end)
    assert made in updated["ids"] and LENA not in updated["ids"]
    assert updated["latestDateCovered"] == "2026-03-02T11:00:00.000+0000"
    deleted = org.sf.Lead.deleted(start, end)
    assert deleted["deletedRecords"] == [{"id": LENA, "deletedDate": PINNED_NOW}]


def test_admin_convert_and_merge_move_children(org: Org) -> None:
    converted = org.admin("POST", "convert", {"lead_id": LENA})
    lead = org.sf.Lead.get(LENA)
    assert lead["IsConverted"] and lead["ConvertedContactId"] == converted["contact_id"]
    assert lead["Status"] == "Closed - Converted" and lead["ConvertedDate"] == "2026-03-02"
    contact = org.sf.Contact.get(converted["contact_id"])
    assert contact["Email"] == "lena@globex.example"
    task = org.sf.Task.create({"WhoId": converted["contact_id"], "Subject": "hi"})["id"]
    org.admin("POST", "merge", {"object": "Contact", "master_id": CARL,
                                "merged_ids": [converted["contact_id"]]})
    assert org.sf.Task.get(task)["WhoId"] == CARL


def test_dump_round_trips(org: Org) -> None:
    dump = org.admin("GET", "dump")
    assert {r["Id"] for r in dump["Lead"]} == {LENA, CONVERTED}
    assert dump["options"]["current_user"] == ALICE
    org.admin("POST", "reset")
    org.load(dump)
    assert org.admin("GET", "dump") == dump
