"""Filtering rules (eq, ne, contains, starts_with, ends_with, in, is_empty) over a record's
values: inbound on CRM fields, outbound on person fields, flags, status and lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncledger.domain.steps import FilterRule

SAVED_FLAG_FILTERS = {"Opened": "opened", "Replied": "replied", "Bounced": "bounced",
                      "Opted out": "opted_out", "To call": "to_call", "Clicked": "clicked"}


def _text(value: Any) -> str:
    return "" if value is None else str(value).lower()


def rule_matches(rule: FilterRule, values: Mapping[str, Any]) -> bool:
    value = values.get(rule.field)
    wanted = rule.value
    if rule.op == "is_empty":
        empty = value in (None, "", [], {})
        return empty if wanted in (None, True) else not empty
    if isinstance(value, list):  # flags, lists: any element
        return any(rule_matches(FilterRule("x", rule.op, wanted), {"x": v}) for v in value)
    if rule.op == "eq":
        return _text(value) == _text(wanted)
    if rule.op == "ne":
        return _text(value) != _text(wanted)
    if rule.op == "contains":
        return _text(wanted) in _text(value)
    if rule.op == "starts_with":
        return _text(value).startswith(_text(wanted))
    if rule.op == "ends_with":
        return _text(value).endswith(_text(wanted))
    if rule.op == "in":
        options = wanted if isinstance(wanted, list) else [wanted]
        return _text(value) in {_text(o) for o in options}
    raise ValueError(f"unknown filter operator {rule.op!r}")


def all_match(rules: Sequence[FilterRule], values: Mapping[str, Any]) -> bool:
    return all(rule_matches(rule, values) for rule in rules)
