"""What the Salesforce client read besides records, held for the run to record (see
domain/crm_readings.py): field lengths from describe, the Lead Status picklist, and the rows
of the batched email matching queries. The client only collects; the run decides what to
keep, so a dry run or a replay that never saves them costs nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from syncledger.adapters.salesforce import soql
from syncledger.domain.crm_readings import match_key


class Readings:
    def __init__(self) -> None:
        self.lengths: dict[str, dict[str, int]] = {}
        self.lead_statuses: list[dict[str, str]] | None = None
        self._asked: Counter[str] = Counter()
        self._rows: dict[str, list[list[Any]]] = {}

    def described(self, sobject: str, answer: dict[str, Any]) -> None:
        # Only lengths: they are what the run's decisions read from describe (truncation).
        self.lengths[sobject] = {str(f["name"]): int(f["length"])
                                 for f in answer.get("fields", []) if f.get("length")}

    def watch(self, query: str, pages: Iterator[list[dict[str, Any]]]
              ) -> Iterator[list[dict[str, Any]]]:
        """The query's pages, unchanged, noting the answers a replay will need."""
        sobject = soql.object_of(query)
        emails = soql.emails_in(query)
        if sobject == "LeadStatus":
            statuses: list[dict[str, str]] = []
            for page in pages:
                statuses += [{"ApiName": str(r["ApiName"]), "MasterLabel": str(r["MasterLabel"])}
                             for r in page]
                yield page
            self.lead_statuses = statuses
        elif emails is not None and sobject is not None:
            self._asked[sobject] += len(emails)
            rows = self._rows.setdefault(sobject, [])
            for page in pages:
                rows += [[match_key(str(r["Email"])), r["Id"], bool(r.get("IsConverted"))]
                         for r in page if r.get("Email")]
                yield page
        else:
            yield from pages

    def take_matches(self) -> dict[str, tuple[int, list[list[Any]]]]:
        """The matching answers not yet taken: object -> (emails asked, rows)."""
        taken = {sobject: (asked, self._rows.get(sobject, []))
                 for sobject, asked in self._asked.items()}
        self._asked.clear()
        self._rows = {}
        return taken
