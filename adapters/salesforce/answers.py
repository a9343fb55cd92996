"""What a Salesforce answer must hold before the engine reads it. An answer that is not JSON,
lacks what every such answer carries, or holds a value no Salesforce field can hold (a proxy
cut it short, an API answered in another shape) is refused whole, naming what was wrong, as a
retryable failure: the client tries the call again, the run records the failure, and nothing
of the answer is applied."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from syncledger.adapters.crm_errors import CrmRetryable
from syncledger.adapters.salesforce.soql import object_of, parse_salesforce_datetime

# The most characters a Salesforce field holds (a Long Text Area's 131,072).
MAX_TEXT = 131_072
_ID = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_SELECT = re.compile(r"\s*SELECT\s+(.+?)\s+FROM\s", re.IGNORECASE | re.DOTALL)
DATETIMES = ("SystemModstamp", "CreatedDate", "LastModifiedDate")


class MalformedAnswer(CrmRetryable):
    """Salesforce's answer cannot be what it claims to be."""


def selected(soql: str) -> list[str]:
    """The fields a SELECT names (none when it names more than plain fields)."""
    found = _SELECT.match(soql)
    if found is None or "(" in found.group(1):
        return []
    return [name.strip() for name in found.group(1).split(",")]


def query_page(answer: Any, soql: str, fields: Sequence[str]) -> dict[str, Any]:
    """A page of a query's records, each with every field the query selected."""
    what = f"a query of {object_of(soql) or 'records'}"
    if not isinstance(answer, dict):
        raise MalformedAnswer(f"Salesforce answered {what} with {_kind(answer)}, not a page "
                              "of records")
    for key, kind in (("totalSize", int), ("done", bool), ("records", list)):
        if key not in answer:
            raise MalformedAnswer(f"Salesforce answered {what} without {key!r}")
        if not isinstance(answer[key], kind) or (kind is int and isinstance(answer[key], bool)):
            raise MalformedAnswer(f"Salesforce answered {what} with {key!r} "
                                  f"{_kind(answer[key])}, not {kind.__name__}")
    if not answer["done"] and not isinstance(answer.get("nextRecordsUrl"), str):
        raise MalformedAnswer(f"Salesforce answered {what} with more pages to come and no "
                              "'nextRecordsUrl'")
    for record in answer["records"]:
        _record(record, fields, what)
    return answer


def _record(record: Any, fields: Sequence[str], what: str) -> None:
    if not isinstance(record, dict):
        raise MalformedAnswer(f"Salesforce answered {what} with {_kind(record)} for a record")
    keys = {key.lower(): key for key in record}
    for name in fields:
        # A parent's fields come nested under its name (null when there is no parent).
        parent, _, child = name.partition(".")
        if parent.lower() not in keys:
            raise MalformedAnswer(f"Salesforce answered {what} with a record without {name}")
        nested = record[keys[parent.lower()]]
        if child and nested is not None and not (
                isinstance(nested, dict) and child.lower() in map(str.lower, nested)):
            raise MalformedAnswer(f"Salesforce answered {what} with a record without {name}")
    record_id = record.get("Id")
    if "id" in keys and not (isinstance(record_id, str) and _ID.fullmatch(record_id)):
        raise MalformedAnswer(f"Salesforce answered {what} with a record whose Id is "
                              f"{_shown(record_id)}")
    for name in DATETIMES:
        value = record.get(name)
        if value is not None:
            try:
                parse_salesforce_datetime(value)
            except ValueError:
                raise MalformedAnswer(f"Salesforce answered {what} with a record whose {name} "
                                      f"is {_shown(value)}") from None
    too_long(record, what)


def collections_results(answer: Any, count: int) -> list[dict[str, Any]]:
    """One result per record written: success, the record's Id, or the errors."""
    what = f"a collections call of {count} records"
    if not isinstance(answer, list) or len(answer) != count:
        raise MalformedAnswer(f"Salesforce answered {what} without one result per record")
    for result in answer:
        if not isinstance(result, dict):
            raise MalformedAnswer(f"Salesforce answered {what} with {_kind(result)} for a "
                                  "result")
        for key, kind in (("success", bool), ("errors", list)):
            if not isinstance(result.get(key), kind):
                raise MalformedAnswer(f"Salesforce answered {what} with a result without "
                                      f"{key!r}" if key not in result else
                                      f"Salesforce answered {what} with a result whose "
                                      f"{key!r} is {_kind(result[key])}")
        if result["success"] and not (isinstance(result.get("id"), str)
                                      and _ID.fullmatch(result["id"])):
            raise MalformedAnswer(f"Salesforce answered {what} with a success whose id is "
                                  f"{_shown(result.get('id'))}")
        if not result["success"] and not all(
                isinstance(e, dict) and isinstance(e.get("statusCode"), str)
                for e in result["errors"] or [None]):
            raise MalformedAnswer(f"Salesforce answered {what} with a failure that names no "
                                  "error")
        too_long(result, what)
    return answer


def composite(answer: Any, calls: int) -> dict[str, dict[str, Any]]:
    """A Composite call's subrequest answers by referenceId, each with its HTTP status and
    body (their records' results are checked as a collections call's)."""
    what = f"a composite call of {calls} collections"
    if not isinstance(answer, dict) or not isinstance(answer.get("compositeResponse"), list):
        raise MalformedAnswer(f"Salesforce answered {what} without 'compositeResponse'")
    found = {}
    for sub in answer["compositeResponse"]:
        if not isinstance(sub, dict):
            raise MalformedAnswer(f"Salesforce answered {what} with {_kind(sub)} for a "
                                  "subrequest's answer")
        for key, kind in (("referenceId", str), ("httpStatusCode", int)):
            if not isinstance(sub.get(key), kind) or isinstance(sub.get(key), bool):
                raise MalformedAnswer(f"Salesforce answered {what} with a subrequest's answer "
                                      f"without {key!r}" if key not in sub else
                                      f"Salesforce answered {what} with a subrequest's answer "
                                      f"whose {key!r} is {_kind(sub[key])}")
        if "body" not in sub:
            raise MalformedAnswer(f"Salesforce answered {what} with a subrequest's answer "
                                  "without 'body'")
        found[sub["referenceId"]] = sub
    return found


def describe(answer: Any, sobject: str) -> dict[str, Any]:
    """An object's fields, each named, with its length when it has one."""
    what = f"describe of {sobject}"
    if not isinstance(answer, dict) or not isinstance(answer.get("fields"), list):
        raise MalformedAnswer(f"Salesforce answered {what} without its fields")
    for entry in answer["fields"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise MalformedAnswer(f"Salesforce answered {what} with a field without a name")
        length = entry.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool)
                                   or length < 0):
            raise MalformedAnswer(f"Salesforce answered {what} with field {entry['name']}'s "
                                  f"length {_shown(length)}")
    too_long(answer, what)
    return answer


def too_long(value: Any, what: str, where: str = "") -> None:
    """No text longer than any Salesforce field holds, at any depth."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise MalformedAnswer(f"Salesforce answered {what} with a value of {len(value):,} "
                                  f"characters in {where or 'it'}, more than any Salesforce "
                                  f"field holds ({MAX_TEXT:,})")
    elif isinstance(value, dict):
        for key, item in value.items():
            too_long(item, what, str(key))
    elif isinstance(value, list):
        for item in value:
            too_long(item, what, where)


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
