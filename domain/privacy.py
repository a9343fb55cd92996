"""Which event attributes hold personal data, and what they read as once forgotten.

The store encrypts these attributes with a key per person; the domain only names them, so
every event that carries one of these names is covered without each class opting in."""

from __future__ import annotations

from typing import Any

FORGOTTEN = "[forgotten]"

# Attribute name -> the value it reads as after its person's key is destroyed.
PERSONAL_FIELDS: dict[str, Any] = {
    "email": FORGOTTEN,
    "first_name": FORGOTTEN,
    "last_name": FORGOTTEN,
    "account": FORGOTTEN,
    "fields": {},
    "content": {},
    "details": {},
    "values": {},
}


def redacted(name: str) -> Any:
    value = PERSONAL_FIELDS[name]
    return dict(value) if isinstance(value, dict) else value
