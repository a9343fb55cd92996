"""What a Pipedrive company offers a configuration: person fields and users, as the domain's
plain values (Pipedrive's field types mapped onto Salesforce's describe types)."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.pipedrive.client import PipedriveClient
from syncledger.domain.config_rules import CrmUser
from syncledger.domain.field_types import CrmField

PERSON = "person"
# Pipedrive field type -> the describe type the checks know
FIELD_TYPES = {"varchar": "string", "varchar_auto": "string", "text": "textarea",
               "phone": "phone", "enum": "picklist", "set": "multipicklist",
               "double": "double", "monetary": "currency", "int": "int", "date": "date",
               "daterange": "string", "time": "string", "timerange": "string",
               "address": "string", "user": "reference", "org": "reference",
               "people": "reference", "visible_to": "picklist"}
READ_ONLY = {"id", "add_time", "update_time"}
REFERENCES = {"user": "User", "org": "Organization", "people": "Person"}


def crm_field(raw: dict[str, Any]) -> CrmField:
    key = str(raw["key"])
    kind = str(raw.get("field_type") or "varchar")
    writable = key not in READ_ONLY
    options = tuple(str(o.get("label", "")) for o in raw.get("options") or ())
    return CrmField(name=key, type="id" if key == "id" else FIELD_TYPES.get(kind, "string"),
                    label=str(raw.get("name") or key), length=0, createable=writable,
                    updateable=writable,
                    reference_to=(REFERENCES[kind],) if kind in REFERENCES else (),
                    picklist=options)


class PipedriveCatalog:
    def __init__(self, client: PipedriveClient) -> None:
        self.client = client

    def objects(self) -> tuple[str, ...]:
        return (PERSON,)

    def fields(self, sobject: str) -> dict[str, CrmField]:
        if sobject != PERSON:
            raise KeyError(f"Pipedrive has no object {sobject!r} here; its people are {PERSON}")
        return {f.name: f for f in map(crm_field, self.client.person_fields())}

    def users(self) -> dict[str, CrmUser]:
        return {str(u["id"]): CrmUser(id=str(u["id"]), name=str(u.get("name") or ""),
                                      email=u.get("email"), active=bool(u.get("active_flag",
                                                                              True)))
                for u in self.client.users()}
