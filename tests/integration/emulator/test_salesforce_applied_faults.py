"""Writes that land but whose answer is lost (`applied_error_rate`), and TaskSubtype, which
an upsert that finds its record may not set (Salesforce: INVALID_FIELD_FOR_INSERT_UPDATE)."""

from __future__ import annotations

from typing import Any

from conftest import CARL, Org

KEYED_TASKS = "composite/sobjects/Task/Syncledger_Key__c"


def task(key: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Task"}, "Syncledger_Key__c": key, "Subject": "Hello",
            **fields}


def test_an_applied_write_is_kept_though_its_answer_is_an_error(org: Org) -> None:
    org.admin("POST", "faults", {"applied_error_rate": 1.0})
    answer = org.api("POST", "/composite/sobjects", json={
        "records": [{"attributes": {"type": "Lead"}, "LastName": "Landed", "Company": "C"}]})
    assert answer.status_code == 503
    assert answer.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    # Reads are not affected: only a write can be applied and answered with an error.
    found = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead WHERE "
                                             "LastName = 'Landed'"})
    assert found.status_code == 200 and found.json()["totalSize"] == 1
    assert org.admin("GET", "faults")["applied_error_rate"] == 1.0
    org.admin("POST", "faults", {"applied_error_rate": 0})
    again = org.api("POST", "/composite/sobjects", json={
        "records": [{"attributes": {"type": "Lead"}, "LastName": "Answered", "Company": "C"}]})
    assert again.status_code == 200 and again.json()[0]["success"]


def test_an_upsert_that_finds_its_task_may_not_set_task_subtype(org: Org) -> None:
    created = org.sf.restful(KEYED_TASKS, method="PATCH",
                             json={"records": [task("k1", TaskSubtype="Email")]})
    assert created[0]["created"] is True
    again = org.sf.restful(KEYED_TASKS, method="PATCH",
                           json={"records": [task("k1", TaskSubtype="Email")]})
    error = again[0]["errors"][0]
    assert (again[0]["success"], error["statusCode"], error["fields"]) == \
        (False, "INVALID_FIELD_FOR_INSERT_UPDATE", ["TaskSubtype"])
    assert error["message"].startswith("Unable to create/update fields: TaskSubtype.")
    updated = org.sf.restful(KEYED_TASKS, method="PATCH",
                             json={"records": [task("k1", Subject="Hello again")]})
    assert (updated[0]["success"], updated[0]["created"]) == (True, False)
    [row] = org.sf.query("SELECT Subject, TaskSubtype FROM Task WHERE "
                         "Syncledger_Key__c = 'k1'")["records"]
    assert (row["Subject"], row["TaskSubtype"]) == ("Hello again", "Email")


def test_a_note_keeps_its_parent_an_update_may_not_set_it(org: Org) -> None:
    created = org.sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Note"}, "ParentId": CARL, "Title": "Hello"}]})
    note = created[0]["id"]
    refused = org.sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Note"}, "Id": note, "ParentId": CARL, "Title": "Again"}]})
    assert refused[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert refused[0]["errors"][0]["fields"] == ["ParentId"]
    updated = org.sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Note"}, "Id": note, "Title": "Again"}]})
    assert updated[0]["success"]
