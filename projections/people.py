"""The people view: one row per app person, with its CRM links, answered straight from its
own table (`people list`, `people show`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    MetaData,
    String,
    Table,
    or_,
    select,
)

from syncledger.adapters.plain_events import Logged
from syncledger.domain.ids import app_person_id
from syncledger.domain.person import Person
from syncledger.domain.privacy import FORGOTTEN
from syncledger.projections.base import AggregateRows, Rows
from syncledger.projections.event_names import event_name, events_of, topic_prefix

ROW_KEYS = ("id", "email", "first_name", "last_name", "account", "owner", "status",
            "inbox_category", "flags", "lists", "fields", "sequence", "links")

# The events the view routes on, named after their classes (see event_names).
_person = events_of(Person)
RECORDED = event_name(_person.Recorded)
RESTARTED = event_name(_person.Restarted)
EMAIL_CHANGED = event_name(_person.EmailChanged)
OWNER_REASSIGNED = event_name(_person.OwnerReassigned)
UPDATED = event_name(_person.Updated)
SEQUENCE_JOINED = event_name(_person.SequenceJoined)
SEQUENCE_LEFT = event_name(_person.SequenceLeft)
LINKED = event_name(_person.Linked)
LINK_DELETED = event_name(_person.LinkDeleted)
DELETED = event_name(_person.Deleted)
PERSON_FORGOTTEN = event_name(_person.Forgotten)  # FORGOTTEN is the placeholder value


class PeopleView(AggregateRows):
    name = "people"
    topics = (topic_prefix(Person),)

    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        people = Table(
            f"people{suffix}", metadata,
            Column("uuid", String(32), primary_key=True),
            Column("id", String(200), nullable=False),
            Column("email", String(320)),
            Column("first_name", String(200)),
            Column("last_name", String(200)),
            Column("account", String(300)),
            Column("owner", String(200)),
            Column("status", String(200)),
            Column("inbox_category", String(200)),
            Column("flags", JSON, nullable=False),
            Column("lists", JSON, nullable=False),
            Column("fields", JSON, nullable=False),
            Column("sequence", JSON),
            Column("links", JSON, nullable=False),
            Column("deleted", Boolean, nullable=False),
            Column("forgotten", Boolean, nullable=False),
            # The cause of every event of the person so far, while they share one (a person
            # a run created from a CRM record and nothing else touched since); else None.
            Column("only_cause", String(200)),
        )
        return {"people": people}

    def apply(self, rows: Rows, event: Logged) -> None:
        _apply(rows, event)

    def apply_all(self, rows: Rows, events: Iterable[Logged]) -> None:
        for event in events:  # the busiest loop of a rebuild: no method call per event
            _apply(rows, event)


def _apply(rows: Rows, event: Logged) -> None:
    uuid = event.originator
    kind = event.kind
    data = event.data
    if kind in (RECORDED, RESTARTED):
        app_id = data["app_id"] if kind == RECORDED else rows[uuid]["id"]
        # From issue 22 a person made from a CRM record is recorded with its link.
        link = data.get("link")
        row = {"uuid": uuid, "id": app_id, "email": data["email"], "owner": data["owner"],
               "first_name": None, "last_name": None, "account": None, "status": None,
               "inbox_category": None, "flags": [], "lists": [], "fields": {},
               "sequence": None, "links": [_link(link)] if link else [], "deleted": False,
               "forgotten": False, "only_cause": data.get("cause")}
        rows[uuid] = row
        _apply_values(row, data["values"])
        row.update(data["attributes"])
        return
    row = rows[uuid]
    if row["only_cause"] is not None and data.get("cause") != row["only_cause"]:
        row["only_cause"] = None
    if kind == EMAIL_CHANGED:
        row["email"] = data["email"]
    elif kind == OWNER_REASSIGNED:
        row["owner"] = data["owner"]
    elif kind == UPDATED:
        _apply_values(row, data["values"])
        row.update(data["attributes"])
    elif kind == SEQUENCE_JOINED:
        row["sequence"] = {"id": data["sequence"], "step": data["step"],
                           "ignore_step_delay": data["ignore_step_delay"]}
    elif kind == SEQUENCE_LEFT:
        row["sequence"] = None
    elif kind == LINKED:
        links = [link for link in row["links"]
                 if (link["crm"], link["object"]) != (data["crm"], data["stream"])]
        links.append(_link(data))
        row["links"] = links
    elif kind == LINK_DELETED:
        row["links"] = [dict(link, deleted=True) if link["id"] == data["record_id"] else link
                        for link in row["links"]]
    elif kind == DELETED:
        row["deleted"] = True
    elif kind == PERSON_FORGOTTEN:
        # The read model holds plaintext: forgetting rewrites the row too.
        row.update(forgotten=True, email=FORGOTTEN, first_name=FORGOTTEN,
                   last_name=FORGOTTEN, account=FORGOTTEN, fields={})


def _link(linked: dict[str, Any]) -> dict[str, Any]:
    """A row's link, from a Linked's facts or a Recorded's `link`."""
    return {"crm": linked["crm"], "object": linked["stream"], "id": linked["record_id"],
            "url": linked["url"], "deleted": False}


def _apply_values(row: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "fields":
            fields = dict(row["fields"])
            for name, field_value in value.items():
                if field_value is None:
                    fields.pop(name, None)
                else:
                    fields[name] = field_value
            row["fields"] = fields
        else:
            row[key] = value


def to_json(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in ROW_KEYS}


def touched_elsewhere(connection: Connection, table: Table, ids: list[str],
                      cause: str) -> set[str]:
    """Of these people (hex ids), those that something besides `cause` changed: the others
    were made by it alone."""
    return set(connection.scalars(select(table.c.uuid).where(
        table.c.uuid.in_(ids), touched_elsewhere_than(table, cause))).all())


def touched_elsewhere_than(table: Table, cause: str) -> ColumnElement[bool]:
    """People something besides `cause` changed."""
    return or_(table.c.only_cause.is_(None), table.c.only_cause != cause)


def list_people(connection: Connection, table: Table, linked: str | None) -> list[dict[str, Any]]:
    rows = connection.execute(select(table).where(table.c.deleted.is_(False))
                              .order_by(table.c.id)).mappings()
    people = [to_json(row) for row in rows]
    if linked == "none":
        return [p for p in people if not any(not link["deleted"] for link in p["links"])]
    if linked:
        return [p for p in people
                if any(link["crm"] == linked and not link["deleted"] for link in p["links"])]
    return people


def find_person(connection: Connection, table: Table, records: Table,
                key: str) -> dict[str, Any] | None:
    """By app id (found through its aggregate id, which the id determines), email
    (case-insensitive) or linked CRM id (through the CRM mirror's index of record ids).

    The view keeps no index of its own on ids or emails: every catch-up and rebuild would
    maintain two more random-order indexes (a fifth of a catch-up's time), for lookups a
    person asks for now and then, and an email is found by one scan in the database."""
    linked = select(records.c.person).where(records.c.record_id == key).scalar_subquery()
    for condition in (table.c.uuid == app_person_id(key).hex,
                      table.c.email == key.strip().lower(), table.c.uuid.in_(linked)):
        row = connection.execute(select(table).where(condition)).mappings().first()
        if row is not None:
            return to_json(row)
    # A link to a record the mirror never saw (a merge's master, say): the rows themselves.
    for row in connection.execute(select(table)).mappings():
        if any(link["id"] == key for link in row["links"]):
            return to_json(row)
    return None


def rows_in_uuid_order(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """Every row, deleted ones too, streamed in the order of the hex uuid: the same order on
    SQLite and PostgreSQL (an app id's order depends on the database's collation), so two
    stores' views can be merged in one pass."""
    rows = connection.execution_options(yield_per=1000).execute(
        select(table).order_by(table.c.uuid)).mappings()
    for row in rows:
        yield dict(row)
