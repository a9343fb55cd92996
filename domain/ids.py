"""Deterministic aggregate ids: uuid5 of a natural key, so re-imports and replays land on the
same aggregate. CRM keys include the org, because a Salesforce sandbox copies production's ids."""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha1
from uuid import UUID, SafeUUID, uuid5

NAMESPACE = UUID("6f1c3b0e-5a43-5d7e-9a8e-2f3d1c0b9a11")

LEDGER_ID = uuid5(NAMESPACE, "ledger")

_NAMESPACE_BYTES = NAMESPACE.bytes
_CLEAR_VERSION_VARIANT = ~(0xF000 << 64 | 0xC000 << 48)
_VERSION_5_VARIANT = 5 << 76 | 0x8000 << 48
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


# A batch of a thousand records asks for each record's few ids several times (bounded: the
# import's memory stays flat).
@lru_cache(maxsize=8192)
def natural_id(key: str) -> UUID:
    """uuid5(NAMESPACE, key), without UUID.__init__'s checks of what it builds itself: an
    initial sync computes a few for every record, and the checks were a third of uuid5's time."""
    digest = int.from_bytes(sha1(_NAMESPACE_BYTES + key.encode()).digest()[:16])
    uuid = _new(UUID)
    _set(uuid, "int", digest & _CLEAR_VERSION_VARIANT | _VERSION_5_VARIANT)
    _set(uuid, "is_safe", _UNKNOWN)
    return uuid


def app_person_id(person: str) -> UUID:
    return natural_id(f"app:person:{person}")


def person_subject_id(person: UUID, generation: int) -> UUID:
    """Whose key encrypts a person's personal values: a new one after each forget."""
    return person if generation == 0 else natural_id(f"subject:{person.hex}:{generation}")


def team_member_id(member: str) -> UUID:
    return natural_id(f"app:team_member:{member}")


def sequence_id(sequence: str) -> UUID:
    return natural_id(f"app:sequence:{sequence}")


def person_list_id(list_id: str) -> UUID:
    return natural_id(f"app:list:{list_id}")


def saved_filter_id(name: str) -> UUID:
    return natural_id(f"app:saved_filter:{name}")


def activity_id(kind: str, activity: str) -> UUID:
    return natural_id(f"app:{kind}:{activity}")


@lru_cache(maxsize=8192)  # asked for a few times over for each record of a batch
def email_claim_id(side: str, email: str) -> UUID:
    """One claim per lowercased email and side ("app", or a CRM org)."""
    return natural_id(f"email:{side}:{email.strip().lower()}")


def crm_record_id(crm: str, org: str, stream: str, record: str) -> UUID:
    return natural_id(f"{crm}:{org}:{stream}:{record}")


def integration_id(crm: str) -> UUID:
    return natural_id(f"integration:{crm}")


def step_cursor_id(crm: str, step: str) -> UUID:
    return natural_id(f"cursor:{crm}:{step}")


def run_lease_id(crm: str) -> UUID:
    return natural_id(f"lease:{crm}")


def sync_run_id(run: str) -> UUID:
    return natural_id(f"run:{run}")


def import_id(content_hash: str) -> UUID:
    return natural_id(f"import:{content_hash}")


def account_name_id(crm: str, org: str, name: str) -> UUID:
    """One per company name and org: Salesforce compares Names case-insensitively."""
    return natural_id(f"{crm}:{org}:AccountName:{name.strip().lower()}")
