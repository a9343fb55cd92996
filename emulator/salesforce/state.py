"""Everything one emulated org holds, behind one lock: records, sessions, meters, cursors."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from syncledger.emulator.salesforce.errors import ApiError
from syncledger.emulator.salesforce.faults import Governor
from syncledger.emulator.salesforce.ids import make_id
from syncledger.emulator.salesforce.query import Plan
from syncledger.emulator.salesforce.sessions import Sessions
from syncledger.emulator.salesforce.store import Store

MAX_CURSORS = 500   # like a real org, old query locators expire


@dataclass
class Cursor:
    plan: Plan
    rows: list[dict[str, Any]]


class Org:
    def __init__(self, token: str) -> None:
        self.store = Store()
        self.lock = self.store.lock
        self.sessions = Sessions(token)
        self.governor = Governor()
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._locators = itertools.count(1)

    def reset(self) -> None:
        self.store.reset()
        self.sessions.reset()
        self.governor = Governor()
        self.cursors.clear()

    def open_cursor(self, plan: Plan, rows: list[dict[str, Any]]) -> str:
        locator = "01g" + make_id("01g", next(self._locators))[3:15]
        self.cursors[locator] = Cursor(plan, rows)
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return locator

    def cursor(self, locator: str) -> Cursor:
        found = self.cursors.get(locator)
        if found is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self.cursors.move_to_end(locator)
        return found
