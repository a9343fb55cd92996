"""The calls a run may still spend on a CRM (its api_budget), counted by kind. Made by the
gateway factory and handed both to the client, which spends it call by call, and to the
gateway, which sets the limit the run allows: nobody reaches into the other's attributes."""

from __future__ import annotations

import threading
from collections import Counter

from syncledger.adapters.crm_errors import CrmLimitReached


class CallBudget:
    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit  # None: no budget (connect checks, a replay)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()  # pipelined calls spend from several threads

    def spend(self, kind: str) -> None:
        """Count one call, refused with CrmLimitReached once the limit is reached."""
        with self._lock:
            if self.limit is not None and self.calls.total() >= self.limit:
                raise CrmLimitReached(f"the api_budget for today is spent ({self.limit} "
                                      "calls in this run)")
            self.calls[kind] += 1

    def count(self, kind: str) -> None:
        """A call that spends nothing of the limit's check (a token refresh) but is counted."""
        with self._lock:
            self.calls[kind] += 1
