"""Field types on both sides of a mapping: a CRM field as describe tells it, the app's
person fields, whether values flow between two types in a step's direction, and the type
of a custom person field from the values people hold. Pure: describe results come in."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TEXT_TYPES = frozenset({"string", "email", "phone", "url", "textarea", "picklist",
                        "combobox"})
NUMBER_TYPES = frozenset({"double", "currency", "int", "percent"})
MULTIPLE_OPTIONS = "multipicklist"  # a field of several options (Pipedrive's `set` too)

# The app's person fields a mapping can name, with their types; any other name is a key of
# the person's `fields` (written `title` or `fields.title`).
APP_CORE_FIELDS: dict[str, str] = {"email": "email", "first_name": "text",
                                   "last_name": "text", "account": "text", "status": "text",
                                   "inbox_category": "text"}
APP_OWNER_FIELD = "owner"
CUSTOM_PREFIX = "fields."


@dataclass(frozen=True)
class CrmField:
    name: str
    type: str  # Salesforce's describe types; Pipedrive's field types mapped onto them
    label: str = ""
    length: int = 0
    createable: bool = True
    updateable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    picklist: tuple[str, ...] = ()

    @property
    def writable(self) -> bool:
        return self.createable or self.updateable


def app_field_type(name: str, custom: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(the app field's type, or a problem with its name)."""
    if name == APP_OWNER_FIELD:
        return None, ("the owner is set by ownership mappings (owner_mappings, owner_match), "
                      "not by a field mapping")
    if name in APP_CORE_FIELDS:
        return APP_CORE_FIELDS[name], None
    key = name.removeprefix(CUSTOM_PREFIX)
    if not key.strip():
        return None, "an app field needs a name"
    if name.startswith(CUSTOM_PREFIX) and key in (*APP_CORE_FIELDS, APP_OWNER_FIELD):
        return None, f"a custom field cannot be named like the person's own {key}"
    return custom.get(key, "any"), None


def canonical_app_field(name: str) -> str:
    """`fields.title` and `title` name the same custom field; the file may use either."""
    key = name.removeprefix(CUSTOM_PREFIX)
    if name.startswith(CUSTOM_PREFIX) and key not in (*APP_CORE_FIELDS, APP_OWNER_FIELD):
        return key
    return name


def resolve_crm_field(crm_object: str, name: str, fields: Mapping[str, CrmField],
                      objects: Mapping[str, Mapping[str, CrmField]]
                      ) -> tuple[CrmField | None, str | None]:
    """The field a name means, following one relationship (`Account.Name`)."""
    if "." not in name:
        found = fields.get(name)
        return (found, None) if found else (None, _unknown(crm_object, name, fields))
    relationship, _, rest = name.partition(".")
    reference = relationship_field(fields, relationship)
    if reference is None:
        return None, f"{crm_object} has no relationship {relationship!r}"
    if len(reference.reference_to) != 1:
        return None, (f"{relationship} may point at {', '.join(reference.reference_to)}; "
                      "only a relationship to one object can be mapped")
    target = reference.reference_to[0]
    target_fields = objects.get(target)
    if target_fields is None:
        return None, f"the fields of {target} are unknown"
    if "." in rest:
        return None, "only one relationship can be followed (such as Account.Name)"
    found = target_fields.get(rest)
    return (found, None) if found else (None, _unknown(target, rest, target_fields))


def relationship_field(fields: Mapping[str, CrmField], name: str) -> CrmField | None:
    return next((f for f in fields.values() if f.relationship == name), None)


def _unknown(crm_object: str, name: str, fields: Mapping[str, CrmField]) -> str:
    close = difflib.get_close_matches(name, list(fields), n=1)
    folded = {f.casefold(): f for f in fields}
    hint = folded.get(name.casefold()) or (close[0] if close else None)
    return f"unknown field {name} on {crm_object}" + (f" (did you mean {hint}?)" if hint else "")


def type_mismatch(app_type: str, crm_field: CrmField, inbound: bool) -> str | None:
    """None when values flow between the two types in this direction, else why not."""
    crm_type = crm_field.type
    if app_type == "any":
        ok = inbound or crm_type not in ("id", "reference")
    elif inbound:
        ok = {"text": True, "email": crm_type in ("email", "string"),
              "number": crm_type in NUMBER_TYPES, "boolean": crm_type == "boolean",
              "date": crm_type in ("date", "datetime"), "datetime": crm_type == "datetime",
              }.get(app_type, False)
    else:
        # text takes any scalar written as text; the other CRM types take their own
        accepts = {"text": {"text", "email", "number", "boolean", "date", "datetime"},
                   "email": {"text", "email"},
                   "number": {"number"}, "boolean": {"boolean"}, "date": {"date"},
                   "datetime": {"datetime", "date"}}
        ok = app_type in accepts.get(_crm_family(crm_type), set())
    if ok:
        return None
    return " (an id or lookup takes a CRM id)" if crm_type in ("id", "reference") else ""


def _crm_family(crm_type: str) -> str:
    if crm_type in TEXT_TYPES:
        return "text"
    if crm_type in NUMBER_TYPES:
        return "number"
    return crm_type


def infer_app_type(values: Iterable[Any]) -> str:
    """The type of a custom person field, from the values people hold."""
    kinds = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int | float):
            kinds.add("number")
        elif isinstance(value, list):
            kinds.add("list")
        elif isinstance(value, str):
            kinds.add(_text_kind(value))
        else:
            kinds.add("text")
    if len(kinds) == 1:
        return kinds.pop()
    if kinds and kinds <= {"date", "datetime"}:
        return "datetime"
    return "any" if not kinds else "text"


DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _text_kind(value: str) -> str:
    if DATE.match(value):
        return "date"
    if DATETIME.match(value):
        return "datetime"
    return "text"
