"""Field mappings between a CRM record and an app person, and the rules that settle a field
changed on both sides since the last sync."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncledger.domain.content import normalise_value
from syncledger.domain.steps import FieldMapping

CORE_APP_FIELDS = ("email", "first_name", "last_name", "account", "owner", "status",
                   "inbox_category")


def app_value(person: Mapping[str, Any], app_field: str) -> Any:
    """A person's value for a mapping's app side (`title` lives in the person's fields)."""
    if app_field in CORE_APP_FIELDS:
        return person.get(app_field)
    return (person.get("fields") or {}).get(app_field)


def crm_to_app(record: Mapping[str, Any], mappings: Sequence[FieldMapping]) -> dict[str, Any]:
    return {m.app: normalise_value(m.app, record.get(m.crm)) for m in mappings}


def app_to_crm(person: Mapping[str, Any], mappings: Sequence[FieldMapping],
               writable: Sequence[str] | None = None) -> dict[str, Any]:
    """Only plain fields are written (a relationship such as Account.Name is not)."""
    return {m.crm: normalise_value(m.crm, app_value(person, m.app)) for m in mappings
            if "." not in m.crm and (writable is None or m.crm in writable)}


@dataclass(frozen=True)
class Settled:
    field: str
    value: Any  # what the person gets
    changed: bool  # whether the person's value changes
    conflict: dict[str, Any] | None = None  # both values and the policy, when both changed


def settle(app_field: str, crm_before: Any, crm_now: Any, app_now: Any, policy: str,
           first_link: bool, crm_at: datetime | None, app_at: datetime | None) -> Settled:
    """What the person's field becomes after the CRM was observed.

    crm_before is what we last knew of the CRM (None on a first link, when every differing
    field counts as changed on both sides). An empty value never wins over a filled one."""
    if crm_now == app_now:
        return Settled(app_field, app_now, False)
    crm_changed = first_link or crm_now != crm_before
    app_changed = first_link or app_now != crm_before
    if not crm_changed:
        return Settled(app_field, app_now, False)  # an app change: it goes out, not in
    if not app_changed:
        return Settled(app_field, crm_now, True)
    if crm_now in (None, ""):
        winner = "app"
    elif app_now in (None, ""):
        winner = "crm"
    elif policy == "latest":
        winner = "app" if (app_at and crm_at and app_at > crm_at) else "crm"
    else:
        winner = policy
    conflict = {"field": app_field, "policy": policy, "winner": winner,
                "crm_value": crm_now, "app_value": app_now}
    if winner == "crm":
        return Settled(app_field, crm_now, True, conflict)
    return Settled(app_field, app_now, False, conflict)


def is_empty(value: Any) -> bool:
    return value is None or value == ""


def blanks(changes: Mapping[str, Any], known: Mapping[str, Any], app_fields: Mapping[str, str],
           cleared: set[str]) -> list[str]:
    """The outbound changes that empty a filled CRM field and may: the app recorded a change
    that cleared that field (then the clearing is the change). Any other empty value stays
    home, so a person who never had a title never blanks the CRM's."""
    return [name for name, value in changes.items()
            if is_empty(value) and not is_empty(known.get(name))
            and app_fields.get(name) in cleared]
