"""Check and convert a value a client writes into a field, with Salesforce's error codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from syncledger.emulator.salesforce.clock import canonical_datetime, parse_date
from syncledger.emulator.salesforce.errors import ApiError
from syncledger.emulator.salesforce.ids import normalise_id, object_of
from syncledger.emulator.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, Field

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Given a reference field and an 18-char id, raise when the target is missing or unusable.
ReferenceCheck = Callable[[Field, str], None]


def _json_error(field: Field, value: Any, kind: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {kind} from {type(value).__name__} value "
                    f"{value!r} or request may be missing a required field", [field.name])


def coerce(field: Field, value: Any, picklist: tuple[str, ...] | None,
           check_reference: ReferenceCheck) -> Any:
    """The stored form of `value`: text trimmed of nothing, ids in 18 chars, datetimes in UTC."""
    label = field.label or field.name
    ftype = field.type
    if ftype == "boolean":
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error(field, value, "boolean")
    if value is None or value == "":
        return None
    if ftype in NUMBER_TYPES:
        if isinstance(value, bool):
            raise _json_error(field, value, "double")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _json_error(field, value, "double") from None
        if not isinstance(value, int | float):
            raise _json_error(field, value, "double")
        if ftype == "int":
            if value != int(value):
                raise _json_error(field, value, "int")
            return int(value)
        return value
    if ftype == "date":
        if not isinstance(value, str) or parse_date(value[:10]) is None:
            raise _json_error(field, value, "date")
        return value[:10]
    if ftype == "datetime":
        moment = canonical_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _json_error(field, value, "datetime")
        return moment
    if ftype in ("id", "reference"):
        if not isinstance(value, str):
            raise _json_error(field, value, "id")
        normal = normalise_id(value)
        if normal is None:
            raise ApiError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}",
                           [field.name])
        if field.reference_to and object_of(normal) not in field.reference_to:
            raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                           f"{label}: id value of incorrect type: {value}", [field.name])
        check_reference(field, normal)
        return normal
    if ftype in TEXT_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _json_error(field, value, "String")
        text = str(value)
        if field.length and len(text) > field.length:
            raise ApiError(400, "STRING_TOO_LONG",
                           f"{label}: data value too large: {text[:80]} "
                           f"(max length={field.length})", [field.name])
        if ftype == "email" and not _EMAIL.match(text):
            raise ApiError(400, "INVALID_EMAIL_ADDRESS",
                           f"{label}: invalid email address: {text}", [field.name])
        if ftype == "picklist" and field.restricted and picklist is not None \
                and text not in picklist:
            raise _bad_picklist(field, text)
        if ftype == "multipicklist":
            parts = [p.strip() for p in text.split(";") if p.strip()]
            if field.restricted and picklist is not None:
                for part in parts:
                    if part not in picklist:
                        raise _bad_picklist(field, part)
            return ";".join(dict.fromkeys(parts)) or None
        return text
    return value


def _bad_picklist(field: Field, value: str) -> ApiError:
    return ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{field.label or field.name}: bad value for restricted picklist field: "
                    f"{value}", [field.name])
