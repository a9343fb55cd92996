"""What an outbound people step sends to a CRM record, decided over plain values: the
fields of a person's record (cut to the CRM's lengths, never an identity), and of an update
only what changes, by the rules that never damage a customer's CRM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncledger.domain.field_mapping import app_to_crm, blanks, is_empty
from syncledger.domain.quick_init import quick_init
from syncledger.domain.steps import FieldMapping


@quick_init
@dataclass(frozen=True)
class RecordContent:
    """The fields a write sends; the truncations to note in the Logs; and, when an identity
    (the email) is longer than the CRM's field, the reason it is not sent at all."""

    record: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None


def record_content(person: Mapping[str, Any], mappings: Sequence[FieldMapping],
                   lengths: Mapping[str, int | None], opted_out: bool, opt_out_field: str,
                   label: str) -> RecordContent:
    """`person`: the app person's values (email, names, account, ..., `fields`); `lengths`:
    the CRM's field lengths; `label` names the person and object in the notes."""
    record = app_to_crm(person, mappings)
    identities = {m.crm for m in mappings if m.app == "email"}
    notes = []
    for name, value in list(record.items()):
        length = lengths.get(name)
        if isinstance(value, str) and length and len(value) > length:
            if name in identities:
                return RecordContent(record, [], f"{name} longer than the CRM's {length} "
                                                 "characters (an identity is never truncated)")
            record[name] = value[:length]
            notes.append(f"{label}.{name} truncated to {length} characters")
    # Always sent, so the record we create reads back exactly as we wrote it; an update
    # never clears a CRM opt-out (see update_changes).
    record[opt_out_field] = opted_out
    return RecordContent(record, notes)


@quick_init
@dataclass(frozen=True)
class UpdateChanges:
    changes: dict[str, Any]  # what the update sends
    blanked: list[str]  # filled CRM fields it empties (the app recorded the clearing)


def update_changes(held: Mapping[str, Any], known: Mapping[str, Any], owner: str | None,
                   known_owner: str | None, owner_field: str, opt_out_field: str,
                   app_fields: Mapping[str, str], cleared: set[str]) -> UpdateChanges:
    """Of the record as the CRM would hold it once written (`held`, normalised), what
    differs from what we know it holds (`known`, normalised): never an opt-out undone,
    never an empty value the app did not choose over a filled one; the owner to send
    (`owner`, None: none) only when it differs from `known_owner`. `app_fields`: CRM field
    -> app field; `cleared`: the app fields whose emptying the app recorded."""
    changes = {k: v for k, v in held.items() if k != owner_field and known.get(k) != v}
    if known.get(opt_out_field) and opt_out_field in changes:
        changes.pop(opt_out_field)
    blanked = blanks(changes, known, app_fields, cleared)
    for name in [k for k in changes if is_empty(changes[k]) and k not in blanked]:
        changes.pop(name)
    if owner is not None and known_owner != owner:
        changes[owner_field] = owner
    return UpdateChanges(changes, blanked)
