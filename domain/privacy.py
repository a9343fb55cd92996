"""Which event attributes hold personal data, and what they read as once forgotten.

The store encrypts these attributes with a key per person; the domain only names them, so
every event that carries one of these names is covered without each class opting in."""

from __future__ import annotations

import re
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
    # What a create wrote, carried by the Discovered of the record it made (a Written's
    # `content` until issue 22 folded the two).
    "written": {},
    "details": {},
    "values": {},
    # What a CRM answered about a person's record (a WriteFailed's, a CrmCreateFailed's):
    # it may quote their values ("duplicate value: ada@example.com").
    "message": FORGOTTEN,
}

# Attributes holding a list of items each about one person: the item's `subject` (the hex of
# that person's key, or None) encrypts the value under the given name (a run's `errors`, each
# a CRM's message about one record). An item about no one in particular has the email
# addresses in that value masked (EMAIL_MASK) instead.
PERSONAL_ITEMS: dict[str, str] = {"errors": "message"}
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
EMAIL_MASK = "[email]"


def mask_emails(text: str) -> str:
    return EMAIL.sub(EMAIL_MASK, text)


def redacted(name: str) -> Any:
    value = PERSONAL_FIELDS[name]
    return dict(value) if isinstance(value, dict) else value
