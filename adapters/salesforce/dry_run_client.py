"""A Salesforce client for `sync --dry-run`: it reads the CRM for real and answers every write
with a success it did not perform, counting the calls the real run would spend."""

from __future__ import annotations

from itertools import count
from typing import Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.salesforce.client import (
    IN_FLIGHT,
    CollectionsCall,
    SalesforceClient,
    SalesforceCredentials,
)
from syncledger.adapters.salesforce.streams import made_up_id


class DryRunClient(SalesforceClient):
    # Its writes are answered from memory, counted as they come: the run stays in one
    # thread, as a preview that costs little.
    side_by_side = False

    def __init__(self, credentials: SalesforceCredentials, budget: CallBudget | None = None
                 ) -> None:
        super().__init__(credentials, budget=budget)
        self._ids = count(1)

    def collections_pipelined(self, calls: list[CollectionsCall], in_flight: int = IN_FLIGHT
                              ) -> list[list[dict[str, Any]]]:
        """Answered as the Composite calls the real client would send, in turn (nothing is
        sent, so nothing is kept in flight), each counted as the one call it is."""
        return self.composites_in_turn(calls)

    def _composite(self, calls: list[CollectionsCall]) -> list[list[dict[str, Any]]]:
        """Answered as the collections it carries, counted as the one call it is."""
        results = [self._collections(c.method, c.path, c.sobject, c.records, c.auto_assign)
                   for c in calls]
        self.calls["collections"] -= len(calls) - 1
        return results

    def _collections(self, method: str, path: str, sobject: str,
                     records: list[dict[str, Any]], auto_assign: bool) -> list[dict[str, Any]]:
        self.calls["collections"] += 1
        results: list[dict[str, Any]] = []
        for record in records:
            made_up = made_up_id(sobject, "DRYRUN", next(self._ids))
            record_id = record.get("Id") or made_up
            results.append({"id": record_id, "success": True, "errors": [],
                            "created": "Id" not in record})
        return results
