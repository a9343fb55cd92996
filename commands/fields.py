"""`syncledger fields`: the CRM fields (describe, through the stored connection) and the app
fields a mapping can name, with type, length and whether they can be written, so a user
writes a mapping without guessing."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.configure import crm_catalog, custom_person_fields
from syncledger.domain.config_rules import WRITABLE_RELATED
from syncledger.domain.field_types import (
    APP_CORE_FIELDS,
    APP_OWNER_FIELD,
    MULTIPLE_OPTIONS,
    CrmField,
)


def list_fields(app: SyncLedger, crm: str, objects: list[str] | None) -> dict[str, Any]:
    """{"crm": {object: [field rows]}, "app": [field rows]}; every key always present."""
    catalog = crm_catalog(app, crm)
    crm_rows: dict[str, list[dict[str, Any]]] = {}
    for stream in objects or catalog.objects():
        fields = catalog.fields(stream)
        rows = [crm_row(f) for f in fields.values()]
        for owner, path in WRITABLE_RELATED:
            relationship, _, name = path.partition(".")
            reference = next((f for f in fields.values() if f.relationship == relationship),
                             None)
            if owner == stream and reference is not None:
                related = catalog.fields(reference.reference_to[0]).get(name)
                if related is not None:
                    rows.append(crm_row(related, path, f"through {reference.name}: People → "
                                        f"{stream}s finds or creates the {relationship} "
                                        f"by {name}"))
        crm_rows[stream] = rows
    return {"crm": crm_rows, "app": app_rows(app)}


def crm_row(field: CrmField, name: str | None = None, note: str | None = None
            ) -> dict[str, Any]:
    mappable = field.type != MULTIPLE_OPTIONS
    if not mappable:
        note = "multi-select picklist: the app has none, so it cannot be mapped"
    elif note is None and not field.writable:
        note = "read-only: inbound steps only"
    return {"name": name or field.name, "label": field.label, "type": field.type,
            "length": field.length or None, "createable": field.createable,
            "updateable": field.updateable, "mappable": mappable, "note": note}


def app_rows(app: SyncLedger) -> list[dict[str, Any]]:
    rows = [{"name": name, "type": kind, "custom": False, "writable": True, "note": None}
            for name, kind in APP_CORE_FIELDS.items()]
    rows.append({"name": APP_OWNER_FIELD, "type": "team_member", "custom": False,
                 "writable": False, "note": "set by ownership mappings (owner_mappings, "
                                            "owner_match), not by a field mapping"})
    rows += [{"name": name, "type": kind, "custom": True, "writable": True,
              "note": f"the person's fields.{name}"}
             for name, kind in custom_person_fields(app).items()]
    return rows
