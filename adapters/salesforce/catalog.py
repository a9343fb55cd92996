"""What a Salesforce org offers a configuration: describe results and users, as the domain's
plain values, read through the one client."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.salesforce.client import SalesforceClient
from syncledger.domain.config_rules import CrmUser
from syncledger.domain.field_types import CrmField

PEOPLE_OBJECTS = ("Contact", "Lead")


def crm_field(raw: dict[str, Any]) -> CrmField:
    return CrmField(
        name=str(raw["name"]), type=str(raw.get("type") or "string"),
        label=str(raw.get("label") or raw["name"]), length=int(raw.get("length") or 0),
        createable=bool(raw.get("createable")), updateable=bool(raw.get("updateable")),
        reference_to=tuple(raw.get("referenceTo") or ()),
        relationship=raw.get("relationshipName"),
        picklist=tuple(str(v["value"]) for v in raw.get("picklistValues") or ()
                       if v.get("active", True)))


class SalesforceCatalog:
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def objects(self) -> tuple[str, ...]:
        return PEOPLE_OBJECTS

    def fields(self, sobject: str) -> dict[str, CrmField]:
        described = self.client.describe(sobject)
        return {f.name: f for f in map(crm_field, described.get("fields") or ())}

    def users(self) -> dict[str, CrmUser]:
        users = {}
        for page in self.client.query("SELECT Id, Name, Email, IsActive FROM User"):
            for row in page:
                users[str(row["Id"])] = CrmUser(id=str(row["Id"]), name=str(row.get("Name")
                                                                            or ""),
                                                email=row.get("Email"),
                                                active=bool(row.get("IsActive", True)))
        return users
