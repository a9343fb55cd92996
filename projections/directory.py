"""The app's team members, lists, saved filters and sequences, as the sync needs them:
owners matched by email, outbound filters by list id or name, sequence steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, String, Table, select

from syncledger.adapters.plain_events import Logged
from syncledger.projections.base import AggregateRows, Rows

KINDS = {"TeamMember": "team_member", "PersonList": "list", "SavedFilter": "saved_filter",
         "Sequence": "sequence"}


class Directory(AggregateRows):
    name = "directory"
    topics = tuple(f"syncledger.domain.app_records:{kind}." for kind in KINDS)

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"directory{suffix}", metadata,
            Column("uuid", String(32), primary_key=True),
            Column("kind", String(20), nullable=False, index=True),
            Column("key", String(200), nullable=False),
            Column("attributes", JSON, nullable=False),
        )
        return {"directory": table}

    def apply(self, rows: Rows, event: Logged) -> None:
        owner, _, name = event.kind.partition(".")
        kind = KINDS.get(owner)
        if kind is None:
            return
        if name == "Recorded":
            rows[event.originator] = {"uuid": event.originator, "kind": kind,
                                      "key": event.data["key"],
                                      "attributes": event.data["attributes"]}
        elif name == "Changed":
            row = rows[event.originator]
            row["attributes"] = {**row["attributes"], **event.data["attributes"]}


def entries(connection: Connection, table: Table, kind: str) -> dict[str, dict[str, Any]]:
    return {row.key: row.attributes for row in connection.execute(
        select(table.c.key, table.c.attributes).where(table.c.kind == kind))}
