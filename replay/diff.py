"""`replay diff URL_A URL_B`: what differs between two stores' projections: the people view
row by row (added, removed, changed fields), and every projection's row counts.

Both views are streamed in the same order and merged in one pass, so two large stores are
compared without holding either in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from syncledger.adapters.event_store import SyncLedger
from syncledger.projections.people import ROW_KEYS, rows_in_uuid_order, to_json
from syncledger.projections.registry import LIVE, PEOPLE

# Beyond the JSON shape: a deleted or forgotten person is a difference too.
COMPARED = (*(key for key in ROW_KEYS if key not in ("id", "fields")), "deleted", "forgotten")


@dataclass
class StoreDiff:
    a: str
    b: str
    counts: dict[str, dict[str, int]]  # table -> {"a": rows, "b": rows}
    added: list[dict[str, Any]] = field(default_factory=list)  # people only in B
    removed: list[dict[str, Any]] = field(default_factory=list)  # people only in A
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"id", "changes"}

    @property
    def empty(self) -> bool:
        counts_differ = any(c["a"] != c["b"] for c in self.counts.values())
        return not (counts_differ or self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "counts": self.counts, "added": self.added,
                "removed": self.removed, "changed": self.changed}


def diff_stores(a: SyncLedger, b: SyncLedger) -> StoreDiff:
    """Compare the projections as they stand (callers catch both stores up first)."""
    result = StoreDiff(a.store.redacted(), b.store.redacted(), _counts(a, b))
    table = PEOPLE.tables["people"]
    with a.database.reader.connect() as ca, b.database.reader.connect() as cb:
        for left, right in _merged(rows_in_uuid_order(ca, table), rows_in_uuid_order(cb, table)):
            if left is None:
                assert right is not None
                result.added.append(to_json(right))
            elif right is None:
                result.removed.append(to_json(left))
            else:
                changes = row_changes(left, right)
                if changes:
                    result.changed.append({"id": right["id"], "changes": changes})
    for rows in (result.added, result.removed, result.changed):
        rows.sort(key=lambda row: row["id"])
    return result


def row_changes(left: dict[str, Any], right: dict[str, Any]) -> dict[str, list[Any]]:
    """Each differing field as [A's value, B's value]; `fields` compared name by name, as
    `fields.NAME`, so one changed custom field does not show as the whole dict."""
    changes = {key: [left[key], right[key]] for key in COMPARED if left[key] != right[key]}
    names = sorted(set(left["fields"]) | set(right["fields"]))
    for name in names:
        old, new = left["fields"].get(name), right["fields"].get(name)
        if old != new:
            changes[f"fields.{name}"] = [old, new]
    return changes


def _merged(left: Iterator[dict[str, Any]], right: Iterator[dict[str, Any]]
            ) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Pairs by uuid from two streams ordered by uuid; None for a row that one side lacks."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a["uuid"] < b["uuid"]):
            yield a, None
            a = next(left, None)
        elif a is None or b["uuid"] < a["uuid"]:
            yield None, b
            b = next(right, None)
        else:
            yield a, b
            a, b = next(left, None), next(right, None)


def _counts(a: SyncLedger, b: SyncLedger) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for projection in LIVE.values():
        for table in projection.tables.values():
            counts[table.name] = {side: _rows(app, table) for side, app in (("a", a), ("b", b))}
    return counts


def _rows(app: SyncLedger, table: Any) -> int:
    with app.database.reader.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)
