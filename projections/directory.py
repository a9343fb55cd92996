"""The app's team members, lists, saved filters and sequences, as the sync needs them:
owners matched by email, outbound filters by list id or name, sequence steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, String, Table, select

from syncledger.adapters.plain_events import Logged
from syncledger.domain.app_records import AppRecord, PersonList, SavedFilter, Sequence, TeamMember
from syncledger.projections.base import AggregateRows, Rows
from syncledger.projections.event_names import event_name, events_of, topic_prefix

RECORDS: dict[type[AppRecord], str] = {TeamMember: "team_member", PersonList: "list",
                                       SavedFilter: "saved_filter", Sequence: "sequence"}
# Each record class has its own copy of AppRecord's events: routed on their names, derived
# from the classes (see event_names), to the entry kind they make.
RECORDED = {event_name(cls.Recorded): kind for cls, kind in RECORDS.items()}
CHANGED = {event_name(events_of(cls).Changed) for cls in RECORDS}


class Directory(AggregateRows):
    name = "directory"
    topics = tuple(topic_prefix(cls) for cls in RECORDS)

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
        kind = RECORDED.get(event.kind)
        if kind is not None:
            rows[event.originator] = {"uuid": event.originator, "kind": kind,
                                      "key": event.data["key"],
                                      "attributes": event.data["attributes"]}
        elif event.kind in CHANGED:
            row = rows[event.originator]
            row["attributes"] = {**row["attributes"], **event.data["attributes"]}


def entries(connection: Connection, table: Table, kind: str) -> dict[str, dict[str, Any]]:
    return {row.key: row.attributes for row in connection.execute(
        select(table.c.key, table.c.attributes).where(table.c.kind == kind))}
