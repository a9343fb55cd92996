"""The person record, how requests change it, and how v2 and v1 render it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncledger.emulator.pipedrive.http import ApiError
from syncledger.emulator.pipedrive.timefmt import rfc3339, v1_time

VISIBLE_TO = frozenset({1, 3, 5, 7})
CONTACT_LABELS = frozenset({"work", "home", "mobile", "other"})
# The Campaigns product's consent states; a new person without one is `no_consent`.
MARKETING_STATUSES = ("no_consent", "unsubscribed", "subscribed", "archived")
NO_CONSENT = "no_consent"


@dataclass(frozen=True, slots=True)
class Person:
    """Immutable, so a reader rendering one outside the store's lock never sees half a write."""

    id: int
    name: str
    first_name: str | None
    last_name: str | None
    owner_id: int
    org_id: int | None
    emails: tuple[dict[str, Any], ...]
    phones: tuple[dict[str, Any], ...]
    add_time: int
    update_time: int
    visible_to: int = 3
    label_ids: tuple[int, ...] = ()
    is_deleted: bool = False
    custom_fields: dict[str, Any] = field(default_factory=dict)
    marketing_status: str = NO_CONSENT
    # On the survivor of a merge: the id of the person merged into it (the last one), as
    # Pipedrive's merge answer and v1 person objects carry it.
    merge_what_id: int | None = None

    def email_values(self) -> list[str]:
        return [str(e["value"]) for e in self.emails]


def split_name(name: str) -> tuple[str | None, str | None]:
    parts = name.strip().split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 else None)


def contacts(raw: Any, kind: str) -> tuple[dict[str, Any], ...]:
    """Normalise emails/phones to [{value, primary, label}] with exactly one primary."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ApiError(400, f"'{kind}' must be an array of {{value, primary, label}} objects")
    items: list[dict[str, Any]] = []
    for entry in raw:
        if not isinstance(entry, dict) or not str(entry.get("value") or "").strip():
            raise ApiError(400, f"Every item of '{kind}' needs a non-empty 'value'")
        label = str(entry.get("label") or "work")
        if label not in CONTACT_LABELS:
            raise ApiError(400, f"'{kind}' label must be one of {sorted(CONTACT_LABELS)}")
        items.append({"value": str(entry["value"]).strip(), "primary": bool(entry.get("primary")),
                      "label": label})
    if items and not any(item["primary"] for item in items):
        items[0]["primary"] = True
    seen_primary = False
    for item in items:
        if item["primary"] and seen_primary:
            item["primary"] = False
        seen_primary = seen_primary or item["primary"]
    return tuple(items)


def person_changes(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The Person attributes a POST or PATCH body sets; custom_fields are checked by the store."""
    changes: dict[str, Any] = {}
    if "name" in body:
        name = str(body["name"] or "").strip()
        if not name:
            raise ApiError(400, "'name' cannot be empty")
        changes["name"] = name
        changes["first_name"], changes["last_name"] = split_name(name)
    for part in ("first_name", "last_name"):
        if part in body:
            raw = body[part]
            changes[part] = (str(raw).strip() or None) if raw is not None else None
    if "name" not in changes and ("first_name" in changes or "last_name" in changes):
        joined = " ".join(p for p in (changes.get("first_name"), changes.get("last_name")) if p)
        if joined:
            changes["name"] = joined
    if creating and "name" not in changes:
        raise ApiError(400, "'name' is required", "ERR_SCHEMA_VALIDATION_FAILED")
    for key in ("owner_id", "org_id"):
        if key in body:
            value = body[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ApiError(400, f"'{key}' must be an integer")
            changes[key] = value
    if "emails" in body:
        changes["emails"] = contacts(body["emails"], "emails")
    if "phones" in body:
        changes["phones"] = contacts(body["phones"], "phones")
    if "visible_to" in body:
        try:
            visible = int(body["visible_to"])
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "'visible_to' must be 1, 3, 5 or 7") from exc
        if visible not in VISIBLE_TO:
            raise ApiError(400, "'visible_to' must be 1, 3, 5 or 7")
        changes["visible_to"] = visible
    if "label_ids" in body:
        labels = body["label_ids"] or []
        if not isinstance(labels, list) or not all(isinstance(x, int) for x in labels):
            raise ApiError(400, "'label_ids' must be an array of integers")
        changes["label_ids"] = tuple(labels)
    if "marketing_status" in body:
        status = body["marketing_status"]
        if status not in MARKETING_STATUSES:
            raise ApiError(400, f"'marketing_status' must be one of {list(MARKETING_STATUSES)}",
                           "ERR_SCHEMA_VALIDATION_FAILED")
        changes["marketing_status"] = status
    if "custom_fields" in body:
        custom = body["custom_fields"]
        if custom is not None and not isinstance(custom, dict):
            raise ApiError(400, "'custom_fields' must be an object keyed by field key")
        changes["custom_fields"] = dict(custom or {})
    return changes


def to_v2(person: Person, field_keys: Iterable[str],
          include: Iterable[str] = ()) -> dict[str, Any]:
    """v2's shape. `marketing_status` only when asked for (`include_fields` on reads; a
    write's answer always carries it), as with the Campaigns product."""
    body: dict[str, Any] = {
        "id": person.id,
        "name": person.name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "owner_id": person.owner_id,
        "org_id": person.org_id,
        "add_time": rfc3339(person.add_time),
        "update_time": rfc3339(person.update_time),
        "emails": [dict(e) for e in person.emails],
        "phones": [dict(p) for p in person.phones],
        "is_deleted": person.is_deleted,
        "visible_to": person.visible_to,
        "label_ids": list(person.label_ids),
        "picture_id": None,
        "custom_fields": {key: person.custom_fields.get(key) for key in field_keys},
    }
    if "marketing_status" in include:
        body["marketing_status"] = person.marketing_status
    return body


def to_v1(person: Person, field_keys: Iterable[str], company_id: int) -> dict[str, Any]:
    """v1's flat shape (as /v1/recents sends it): custom fields are top-level keys."""
    primary = next((e["value"] for e in person.emails if e["primary"]), None)
    body: dict[str, Any] = {
        "id": person.id, "company_id": company_id, "owner_id": person.owner_id,
        "org_id": person.org_id, "name": person.name, "first_name": person.first_name,
        "last_name": person.last_name, "active_flag": not person.is_deleted,
        "email": [dict(e) for e in person.emails] or [{"value": "", "primary": True}],
        "phone": [dict(p) for p in person.phones] or [{"value": "", "primary": True}],
        "primary_email": primary, "add_time": v1_time(person.add_time),
        "update_time": v1_time(person.update_time),
        "delete_time": v1_time(person.update_time) if person.is_deleted else None,
        "visible_to": str(person.visible_to), "label_ids": list(person.label_ids),
        "marketing_status": person.marketing_status,
    }
    if person.merge_what_id is not None:
        body["merge_what_id"] = person.merge_what_id
    for key in field_keys:
        body[key] = person.custom_fields.get(key)
    return body
