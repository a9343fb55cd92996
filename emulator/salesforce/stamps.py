"""An object's rows ordered by (SystemModstamp, Id), as a real org's index on SystemModstamp
keeps them, so that `WHERE SystemModstamp >= X` touches only the rows in range instead of
scanning the table.

Kept lazily, so that loading a large org stays linear: a write appends the record's new key
to a pending list, merged into the sorted keys at the next read; the key it had before is
left in place (stale) and skipped when read, and stale keys are dropped when they come to
outnumber the live ones.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import Any

Record = dict[str, Any]
STAMP = "SystemModstamp"
_AFTER_ANY_ID = "\U0010ffff"
_INSORT_AT_MOST = 64  # pending keys merged one by one; more: one sort of the whole list


class StampIndex:
    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []  # sorted (SystemModstamp, Id), stale ones too
        self.pending: list[tuple[str, str]] = []
        self.stale = 0

    def moved(self, record_id: str, before: str | None, after: str | None) -> None:
        """The record's SystemModstamp went from `before` to `after` (None: none, or gone)."""
        if before == after:
            return
        if before is not None:
            self.stale += 1
        if after is not None:
            self.pending.append((after, record_id))

    def clear(self) -> None:
        self.keys, self.pending, self.stale = [], [], 0

    def between(self, table: dict[str, Record], low: str | None,
                high: str | None) -> Iterator[Record]:
        """The table's rows whose SystemModstamp is within [low, high] (None: unbounded), in
        (SystemModstamp, Id) order; rows without a SystemModstamp are never in range."""
        self._settle(table)
        keys = self.keys
        start = 0 if low is None else bisect_left(keys, (low,))
        end = len(keys) if high is None else bisect_right(keys, (high, _AFTER_ANY_ID))
        previous = None
        for index in range(start, end):
            key = keys[index]
            if key == previous:
                continue  # a record back at a stamp it had: its keys are side by side
            previous = key
            stamp, record_id = key
            record = table.get(record_id)
            if record is None or record.get(STAMP) != stamp:
                continue  # stale: the record moved on, or went (a rolled-back insert)
            yield record

    def _settle(self, table: dict[str, Record]) -> None:
        if self.stale > (len(self.keys) + len(self.pending)) // 2 + _INSORT_AT_MOST:
            self.keys = sorted((stamp, record_id) for record_id, record in table.items()
                               if (stamp := record.get(STAMP)) is not None)
            self.pending, self.stale = [], 0
        elif len(self.pending) <= _INSORT_AT_MOST:
            for key in self.pending:
                insort(self.keys, key)
            self.pending = []
        else:
            self.keys.extend(self.pending)
            self.keys.sort()  # two sorted runs and a tail: timsort merges them in one pass
            self.pending = []
