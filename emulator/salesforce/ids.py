"""Salesforce record ids: 15 case-sensitive characters plus a 3-character case suffix."""

from __future__ import annotations

import string

# Key prefixes of the objects the emulator knows, as real orgs use them.
KEY_PREFIXES: dict[str, str] = {
    "Organization": "00D",
    "User": "005",
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "Task": "00T",
    "Note": "002",
    "LeadStatus": "01J",
}
OBJECT_BY_PREFIX: dict[str, str] = {prefix: name for name, prefix in KEY_PREFIXES.items()}

# Ordered so that zero-padded ids sort (as plain strings) in creation order.
_DIGITS = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_CHARS = string.ascii_uppercase + "012345"
_ID_CHARS = frozenset(_DIGITS)


def case_suffix(id15: str) -> str:
    """The 3 characters that make an id case-insensitively unique (Salesforce's algorithm)."""
    out = []
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        out.append(_SUFFIX_CHARS[bits])
    return "".join(out)


def make_id(prefix: str, number: int, pod: str = "5g") -> str:
    """The id of the `number`-th record with this key prefix; `pod` keeps id ranges apart."""
    body = []
    for _ in range(10):
        number, digit = divmod(number, 62)
        body.append(_DIGITS[digit])
    id15 = prefix + pod + "".join(reversed(body))
    return id15 + case_suffix(id15)


def normalise_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id."""
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    id15 = value[:15]
    return id15 + case_suffix(id15)


def object_of(record_id: str) -> str | None:
    return OBJECT_BY_PREFIX.get(record_id[:3])
