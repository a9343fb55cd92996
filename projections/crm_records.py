"""Our mirror of the CRM, indexed: which record has which email and person, so outbound
matching spends no query where the inbound pull keeps the mirror current."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Connection, MetaData, String, Table, select

from syncledger.domain.crm_record import CrmRecord
from syncledger.projections.base import Batch, Projection
from syncledger.projections.bulk_rows import insert_rows, update_rows


class CrmRecords(Projection):
    name = "crm_records"
    topics = ("syncledger.domain.crm_record:",)

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"crm_records{suffix}", metadata,
            Column("uuid", String(32), primary_key=True),
            Column("crm", String(20), nullable=False),
            Column("org", String(40), nullable=False),
            Column("object", String(40), nullable=False),
            Column("record_id", String(40), nullable=False, index=True),
            Column("email", String(320), index=True),
            Column("person", String(32)),
            Column("converted", Boolean, nullable=False),
            Column("deleted", Boolean, nullable=False),
        )
        return {"crm_records": table}

    def process(self, connection: Connection, batch: Batch) -> None:
        table = self.tables["crm_records"]
        events: list[Any] = [e for _, e in batch if isinstance(e, CrmRecord.Event)]
        if not events:
            return
        wanted = {e.originator_id.hex for e in events}
        rows: dict[str, dict[str, Any]] = {r["uuid"]: dict(r) for r in connection.execute(
            select(table).where(table.c.uuid.in_(wanted))).mappings()}
        existing = set(rows)
        for event in events:
            uuid = event.originator_id.hex
            kind = type(event).__qualname__.split(".")[-1]
            if kind == "Discovered":
                rows[uuid] = {"uuid": uuid, "crm": event.crm, "org": event.org,
                              "object": event.sobject, "record_id": event.record_id,
                              "email": None, "person": None, "converted": False,
                              "deleted": False}
                continue
            row = rows[uuid]
            if kind in ("Observed", "Written"):
                email = event.content.get("Email") or event.content.get("email")
                if email:
                    row["email"] = str(email).lower()
            elif kind == "PersonLinked":
                row["person"] = event.person.hex
            elif kind == "Converted":
                row["converted"] = True
            elif kind == "Removed":
                row["deleted"] = True
        update_rows(connection, table, [row for uuid, row in rows.items() if uuid in existing])
        insert_rows(connection, table, [row for uuid, row in rows.items()
                                        if uuid not in existing])


def by_emails(connection: Connection, table: Table, crm: str, org: str,
              emails: list[str]) -> list[dict[str, Any]]:
    if not emails:
        return []
    return [dict(r) for r in connection.execute(select(table).where(
        table.c.crm == crm, table.c.org == org, table.c.email.in_(emails),
        table.c.deleted.is_(False))).mappings()]
