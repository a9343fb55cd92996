"""Salesforce query paging: one object that follows nextRecordsUrl, with guards against a
cursor that does not move and against pages that do not add up to the query's totalSize."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from syncledger.adapters.crm_errors import CrmFatal
from syncledger.adapters.salesforce.answers import MalformedAnswer


class QueryPages:
    def __init__(self, first: Callable[[], dict[str, Any]],
                 more: Callable[[str], dict[str, Any]], counted: bool = True) -> None:
        self._first = first
        self._more = more
        self._counted = counted  # the pages' records add up to the first page's totalSize

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        page = self._first()
        seen: set[str] = set()
        total, read = page.get("totalSize"), 0
        while True:
            records = page.get("records", [])
            read += len(records)
            yield [_without_attributes(r) for r in records]
            locator = page.get("nextRecordsUrl")
            if page.get("done", True) or not locator:
                if self._counted and isinstance(total, int) and read != total:
                    raise MalformedAnswer(f"Salesforce answered a query of {total} records "
                                          f"with {read}")
                return
            if locator in seen:
                raise CrmFatal(f"Salesforce returned the page {locator} twice: the query "
                               "cursor does not move")
            seen.add(locator)
            page = self._more(locator)


def _without_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """Drop the `attributes` envelope, flattening parent fields to `Account.Name`."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict) and "attributes" in value:
            for child, child_value in _without_attributes(value).items():
                flat[f"{key}.{child}"] = child_value
        else:
            flat[key] = value
    return flat
