"""Lead assignment rules: the first rule whose condition holds names the new owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncledger.emulator.salesforce.errors import ApiError

OPS = ("eq", "ne", "contains", "starts_with")


@dataclass(frozen=True)
class AssignmentRule:
    field: str
    op: str
    value: str
    owner: str

    def matches(self, record: dict[str, Any]) -> bool:
        actual = record.get(self.field)
        text = str(actual).lower() if actual is not None else ""
        wanted = self.value.lower()
        if self.op == "eq":
            return text == wanted
        if self.op == "ne":
            return text != wanted
        if self.op == "contains":
            return wanted in text
        return text.startswith(wanted)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "op": self.op, "value": self.value, "owner": self.owner}


def parse_rules(items: Any) -> list[AssignmentRule]:
    if not isinstance(items, list):
        raise ApiError(400, "INVALID_INPUT", "LeadAssignmentRules must be a list")
    rules = []
    for item in items:
        if not isinstance(item, dict) or not {"field", "value", "owner"} <= item.keys():
            raise ApiError(400, "INVALID_INPUT",
                           "each assignment rule needs field, op, value and owner")
        op = item.get("op", "eq")
        if op not in OPS:
            raise ApiError(400, "INVALID_INPUT", f"assignment rule op must be one of {OPS}")
        rules.append(AssignmentRule(str(item["field"]), op, str(item["value"]),
                                    str(item["owner"])))
    return rules


def assigned_owner(rules: list[AssignmentRule], record: dict[str, Any]) -> str | None:
    return next((rule.owner for rule in rules if rule.matches(record)), None)
