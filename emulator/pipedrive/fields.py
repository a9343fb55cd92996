"""Person fields: the standard ones, custom ones keyed by 40-character hashes, value checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from syncledger.emulator.pipedrive.http import ApiError
from syncledger.emulator.pipedrive.timefmt import v1_time

FIELD_TYPES = frozenset({
    "address", "date", "daterange", "double", "enum", "monetary", "org", "people", "phone",
    "set", "text", "time", "timerange", "user", "varchar", "varchar_auto", "visible_to",
})

# (key, name, field_type, editable-in-bulk) as personFields lists them before any custom field.
STANDARD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("id", "ID", "int"),
    ("name", "Name", "varchar"),
    ("label", "Label", "enum"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("org_id", "Organization", "org"),
    ("owner_id", "Owner", "user"),
    ("phone", "Phone", "phone"),
    ("email", "Email", "varchar"),
    ("add_time", "Person created", "date"),
    ("update_time", "Update time", "date"),
    ("visible_to", "Visible to", "visible_to"),
)


def custom_key(name: str, salt: str) -> str:
    """A 40-character hex key, like Pipedrive's, stable for a given name and salt."""
    return hashlib.sha1(f"person-field:{name}:{salt}".encode()).hexdigest()


@dataclass(frozen=True)
class CustomField:
    id: int
    key: str
    name: str
    field_type: str
    options: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    add_time: int = 0

    def option_ids(self) -> set[int]:
        return {int(option["id"]) for option in self.options}

    def to_v1(self, order_nr: int) -> dict[str, Any]:
        body = _v1_common(self.id, self.key, self.name, self.field_type, order_nr,
                          self.add_time, custom=True)
        body["options"] = [dict(o) for o in self.options] or None
        return body

    def to_load(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "name": self.name,
                "field_type": self.field_type, "options": [dict(o) for o in self.options],
                "add_time": self.add_time}


def standard_fields_v1(add_time: int) -> list[dict[str, Any]]:
    return [_v1_common(index + 1, key, name, ftype, index, add_time, custom=False)
            for index, (key, name, ftype) in enumerate(STANDARD_FIELDS)]


def _v1_common(field_id: int, key: str, name: str, ftype: str, order_nr: int, add_time: int,
               *, custom: bool) -> dict[str, Any]:
    return {
        "id": field_id, "key": key, "name": name, "order_nr": order_nr, "field_type": ftype,
        "add_time": v1_time(add_time), "update_time": v1_time(add_time),
        "last_updated_by_user_id": None, "created_by_user_id": None, "active_flag": True,
        "edit_flag": custom, "index_visible_flag": True, "details_visible_flag": True,
        "add_visible_flag": True, "important_flag": False, "bulk_edit_allowed": True,
        "searchable_flag": custom, "filtering_allowed": True, "sortable_flag": True,
        "mandatory_flag": key == "name", "options": None,
    }


def parse_custom_field(raw: dict[str, Any], field_id: int, salt: str,
                       add_time: int) -> CustomField:
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ApiError(400, "A person field needs a name")
    ftype = str(raw.get("field_type") or "varchar")
    if ftype not in FIELD_TYPES:
        raise ApiError(400, f"Unknown field_type '{ftype}'")
    key = str(raw.get("key") or custom_key(name, salt))
    options: list[dict[str, Any]] = []
    for index, option in enumerate(raw.get("options") or []):
        if isinstance(option, dict):
            options.append({"id": int(option.get("id", index + 1)),
                            "label": str(option.get("label", ""))})
        else:
            options.append({"id": index + 1, "label": str(option)})
    return CustomField(id=int(raw.get("id") or field_id), key=key, name=name, field_type=ftype,
                       options=tuple(options), add_time=int(raw.get("add_time") or add_time))


def check_value(spec: CustomField, value: Any) -> Any:
    """Reject a value the real API would refuse for this field type; None clears a field."""
    if value is None:
        return None
    ftype = spec.field_type
    if ftype in ("double",):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(400, f"Custom field '{spec.key}' expects a number")
    elif ftype == "enum":
        if not isinstance(value, int) or value not in spec.option_ids():
            raise ApiError(400, f"Custom field '{spec.key}' expects one of its option ids")
    elif ftype == "set":
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise ApiError(400, f"Custom field '{spec.key}' expects a list of option ids")
        unknown = set(value) - spec.option_ids()
        if unknown:
            raise ApiError(400, f"Custom field '{spec.key}' has no options {sorted(unknown)}")
    elif ftype in ("varchar", "text", "varchar_auto", "phone", "date") \
            and not isinstance(value, str):
        raise ApiError(400, f"Custom field '{spec.key}' expects a string")
    return value
