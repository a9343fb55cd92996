"""What a Salesforce answer must hold before the engine reads it (adapters/salesforce/answers):
each malformation refused as retryable, naming what was wrong and never quoting a value that
could be personal."""

from __future__ import annotations

from typing import Any

import pytest

from syncledger.adapters.crm_errors import CrmRetryable
from syncledger.adapters.salesforce import answers
from syncledger.adapters.salesforce.answers import MAX_TEXT, MalformedAnswer

SOQL = "SELECT Id, Email, SystemModstamp, Account.Name FROM Contact WHERE Email != null"
RECORD = {"attributes": {"type": "Contact"}, "Id": "0035g0000000001AAA", "Email": "a@b.example",
          "SystemModstamp": "2026-11-20T10:00:00.000+0000", "Account": None}


def page(*records: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"totalSize": len(records), "done": True, "records": list(records), **extra}


def test_a_well_formed_page_passes_and_a_parent_may_be_null_or_nested() -> None:
    fields = answers.selected(SOQL)
    assert fields == ["Id", "Email", "SystemModstamp", "Account.Name"]
    nested = {**RECORD, "Account": {"attributes": {"type": "Account"}, "Name": "Acme"}}
    assert answers.query_page(page(RECORD, nested), SOQL, fields)["totalSize"] == 2
    assert answers.selected("SELECT COUNT() FROM Lead") == []


@pytest.mark.parametrize(("answer", "said"), [
    ([], "with a list, not a page of records"),
    ({"done": True, "records": []}, "without 'totalSize'"),
    (page(done="yes"), "with 'done' a str, not bool"),
    ({"totalSize": 9, "done": False, "records": []}, "no 'nextRecordsUrl'"),
    (page({k: v for k, v in RECORD.items() if k != "Email"}), "a record without Email"),
    (page({**RECORD, "Account": {"attributes": {}}}), "a record without Account.Name"),
    (page({**RECORD, "Id": "not an id"}), "whose Id is 'not an id'"),
    (page({**RECORD, "SystemModstamp": "yesterday"}), "whose SystemModstamp is 'yesterday'"),
    (page({**RECORD, "Email": "x" * (MAX_TEXT + 1)}), "131,073 characters in Email"),
])
def test_a_malformed_page_is_refused_naming_what_is_wrong(answer: Any, said: str) -> None:
    with pytest.raises(MalformedAnswer) as refused:
        answers.query_page(answer, SOQL, answers.selected(SOQL))
    assert isinstance(refused.value, CrmRetryable)
    assert said in str(refused.value) and "Contact" in str(refused.value)
    assert "a@b.example" not in str(refused.value)


@pytest.mark.parametrize(("answer", "said"), [
    ({"id": "0035g0000000001AAA", "success": True, "errors": []}, None),
    ({"success": False, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "m"}]}, None),
    ({"id": "0035g0000000001AAA", "errors": []}, "a result without 'success'"),
    ({"id": "0035g0000000001AAA", "success": True}, "a result without 'errors'"),
    ({"id": 7, "success": True, "errors": []}, "a success whose id is 7"),
    ({"success": False, "errors": []}, "a failure that names no error"),
])
def test_each_collections_result_says_what_became_of_its_record(answer: dict[str, Any],
                                                                said: str | None) -> None:
    if said is None:
        assert answers.collections_results([answer], 1) == [answer]
        return
    with pytest.raises(MalformedAnswer, match=said):
        answers.collections_results([answer], 1)
    with pytest.raises(MalformedAnswer, match="without one result per record"):
        answers.collections_results([answer, answer], 1)


def test_a_composite_answer_and_a_describe_hold_what_the_engine_reads() -> None:
    sub = {"referenceId": "collection0", "httpStatusCode": 200, "body": []}
    assert answers.composite({"compositeResponse": [sub]}, 1) == {"collection0": sub}
    for key in sub:
        with pytest.raises(MalformedAnswer, match=f"without '{key}'"):
            answers.composite({"compositeResponse": [
                {k: v for k, v in sub.items() if k != key}]}, 1)
    assert answers.describe({"fields": [{"name": "Email", "length": 80}]}, "Lead")
    for bad, said in (({}, "without its fields"), ({"fields": [{"length": 80}]}, "without a name"),
                      ({"fields": [{"name": "Email", "length": "80"}]}, "length '80'")):
        with pytest.raises(MalformedAnswer, match=said):
            answers.describe(bad, "Lead")
