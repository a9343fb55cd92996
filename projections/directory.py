"""The app's team members, lists, saved filters and sequences, as the sync needs them:
owners matched by email, outbound filters by list id or name, sequence steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Connection, MetaData, String, Table, select

from syncledger.projections.base import Batch, Projection

KINDS = {"TeamMember": "team_member", "PersonList": "list", "SavedFilter": "saved_filter",
         "Sequence": "sequence"}


class Directory(Projection):
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

    def process(self, connection: Connection, batch: Batch) -> None:
        table = self.tables["directory"]
        for _, event in batch:
            owner, _, name = type(event).__qualname__.partition(".")
            kind = KINDS.get(owner)
            uuid = event.originator_id.hex
            if kind is not None and name == "Recorded":
                connection.execute(table.insert(), [{"uuid": uuid, "kind": kind,
                                                     "key": event.key,
                                                     "attributes": event.attributes}])
            elif kind is not None and name == "Changed":
                current = connection.execute(select(table.c.attributes).where(
                    table.c.uuid == uuid)).scalar_one()
                connection.execute(table.update().where(table.c.uuid == uuid),
                                   {"attributes": {**current, **event.attributes}})


def entries(connection: Connection, table: Table, kind: str) -> dict[str, dict[str, Any]]:
    return {row.key: row.attributes for row in connection.execute(
        select(table.c.key, table.c.attributes).where(table.c.kind == kind))}
