"""Our mirror of the CRM, indexed: which record has which email and person, so outbound
matching spends no query where the inbound pull keeps the mirror current."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    func,
    select,
    update,
)

from syncledger.adapters.in_lists import in_slices
from syncledger.adapters.plain_events import Logged, hex_of
from syncledger.domain.crm_record import CrmRecord
from syncledger.projections.base import AggregateRows, Rows
from syncledger.projections.event_names import events_of, module_prefix, own_name

# Every record class (Lead, Contact, ...) has its own copy of each event: the view routes on
# the name they share (see event_names).
_record = events_of(CrmRecord)
DISCOVERED = own_name(CrmRecord.Discovered)
OBSERVED = own_name(_record.Observed)
WRITTEN = own_name(_record.Written)
PERSON_LINKED = own_name(_record.PersonLinked)
CONVERTED = own_name(_record.Converted)
REMOVED = own_name(_record.Removed)


class CrmRecords(AggregateRows):
    name = "crm_records"
    topics = (module_prefix(CrmRecord),)  # every record class's, those added later too

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

    def apply(self, rows: Rows, event: Logged) -> None:
        uuid = event.originator
        kind = event.kind.rpartition(".")[2]
        data = event.data
        if kind == DISCOVERED:
            # From issue 22 a Discovered may carry the first observation and person link,
            # or (a record we created) the write after which it holds what we wrote.
            rows[uuid] = {"uuid": uuid, "crm": data["crm"], "org": data["org"],
                          "object": data["stream"], "record_id": data["record_id"],
                          "email": _email(data.get("written")) or _email(data.get("content")),
                          "person": hex_of(data.get("person")), "converted": False,
                          "deleted": False}
            return
        row = rows[uuid]
        if kind in (OBSERVED, WRITTEN):
            email = _email(data["content"])
            if email:
                row["email"] = email
        elif kind == PERSON_LINKED:
            row["person"] = hex_of(data["person"])
        elif kind == CONVERTED:
            row["converted"] = True
        elif kind == REMOVED:
            row["deleted"] = True


def _email(content: dict[str, Any] | None) -> str | None:
    email = (content.get("Email") or content.get("email")) if content else None
    return str(email).lower() if email else None


def by_emails(connection: Connection, table: Table, crm: str, org: str,
              emails: list[str]) -> list[dict[str, Any]]:
    """The live records of the org holding any of `emails` (a few statements, however many
    emails: see in_lists)."""
    unique = sorted(set(emails))
    return [dict(r) for part in in_slices(unique, 512) for r in connection.execute(
        select(table).where(table.c.crm == crm, table.c.org == org, table.c.email.in_(part),
                            table.c.deleted.is_(False))).mappings()]


def linked_counts(connection: Connection, table: Table, crm: str, org: str) -> dict[str, int]:
    """Per object, how many live records are linked to a person."""
    return {sobject: count for sobject, count in connection.execute(
        select(table.c.object, func.count()).where(
            table.c.crm == crm, table.c.org == org, table.c.person.is_not(None),
            table.c.deleted.is_(False)).group_by(table.c.object))}


def linked_to(connection: Connection, table: Table, person: str) -> list[str]:
    """The records (aggregate ids, hex) ever linked to this person (hex), live or not."""
    return list(connection.scalars(select(table.c.uuid).where(table.c.person == person)))


def forget_emails(connection: Connection, table: Table, records: list[str]) -> None:
    """Clear, in the caller's transaction, the emails of these records (aggregate ids, hex)
    whose keys `forget` destroyed: the log reads their content as forgotten, and so does
    this view at once, not after a rebuild."""
    for part in in_slices(records, 512):
        connection.execute(update(table).where(table.c.uuid.in_(part)).values(email=None))

