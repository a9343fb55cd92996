"""Encrypts the personal attributes of each event with its person's key (AES-GCM), so the
log never holds personal data in the clear and a destroyed key redacts it everywhere."""

from __future__ import annotations

import base64
import os
from binascii import a2b_base64
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from syncledger.adapters.omitted_values import (
    Omissible,
    leave_out,
    omissible,
    put_back,
    typed_timestamp,
)
from syncledger.adapters.person_keys import PersonKeys, SubjectForgotten
from syncledger.domain.privacy import (
    FORGOTTEN,
    PERSONAL_FIELDS,
    PERSONAL_ITEMS,
    mask_emails,
    redacted,
)

SEALED = "_personal"
# Beside the items sealed one by one (domain.privacy.PERSONAL_ITEMS): the names of the
# attributes that hold them, so a reader looks only in events that have some.
SEALED_ITEMS = "_personal_items"


class _Class(NamedTuple):
    """What encoding an event of one class needs, looked up once."""

    topic: str
    class_version: int
    attributes: int  # how many its events have (its fields)
    personal: tuple[str, ...]  # its fields that PERSONAL_FIELDS names
    omits: Omissible


@lru_cache(maxsize=1024)
def _class(event_class: type) -> _Class:
    topic = get_topic(event_class)
    fields = getattr(event_class, "__dataclass_fields__", {})
    return _Class(topic, getattr(event_class, "class_version", 1), len(fields),
                  tuple(name for name in PERSONAL_FIELDS if name in fields),
                  omissible(event_class, topic))


@lru_cache(maxsize=4096)
def _cipher(key: bytes) -> AESGCM:
    # Setting up AES-GCM costs more than decrypting one small event with it.
    return AESGCM(key)


def event_subject(state: dict[str, Any], originator_id: UUID) -> UUID:
    """Whose key covers this event: its `subject` (an activity's person) or its originator."""
    subject = state.get("subject")
    return subject if isinstance(subject, UUID) else originator_id


class PersonalDataMapper(Mapper[UUID]):
    keys: PersonKeys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        known = _class(type(domain_event))
        state = dict(vars(domain_event))
        # An event with attributes besides its fields (none is built so) is searched whole.
        names = known.personal if len(state) == known.attributes else PERSONAL_FIELDS
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        # Every event carries its schema version, from the first one on.
        state["class_version"] = known.class_version
        personal = {name: state.pop(name) for name in names
                    if state.get(name) not in (None, {}, "")}
        if personal:
            key = self.keys.key_for(event_subject(state, originator_id), create=True)
            assert key is not None
            nonce = os.urandom(12)
            sealed = _cipher(key).encrypt(nonce, self.transcoder.encode(personal),
                                         originator_id.bytes)
            state[SEALED] = {"names": sorted(personal),
                             "data": base64.b64encode(nonce + sealed).decode()}
        items = [name for name in PERSONAL_ITEMS if state.get(name)]
        if items:
            for name in items:
                state[name] = [self._seal_item(item, PERSONAL_ITEMS[name], originator_id)
                               for item in state[name]]
            state[SEALED_ITEMS] = items
        leave_out(state, known.omits, originator_id)
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=known.topic, state=self.transcoder.encode(state))

    def _seal_item(self, item: Any, name: str, originator_id: UUID) -> Any:
        """One item of a PERSONAL_ITEMS list, its `name` value sealed under the key of the
        item's `subject` (a copy: the event's own list is the aggregate's)."""
        if not isinstance(item, dict) or not isinstance(item.get(name), str):
            return item
        subject = item.get("subject")
        if not isinstance(subject, str):
            return {**item, name: mask_emails(item[name])}
        try:
            key = self.keys.key_for(UUID(subject), create=True)
        except SubjectForgotten:  # forgotten since the message came: nothing to keep
            key = None
        sealed = {k: v for k, v in item.items() if k != name}
        if key is None:
            sealed[name] = FORGOTTEN
        else:
            sealed[SEALED] = seal(key, item[name].encode(), originator_id.bytes)
        return sealed

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        typed_timestamp(state)
        put_back(state, omissible(type(domain_event), stored_event.topic),
                 domain_event.originator_id)
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state.update(self._open(sealed, state, domain_event.originator_id))
        items = state.pop(SEALED_ITEMS, None)
        if items:
            originator = domain_event.originator_id.bytes
            for name in items:
                open_items(state.get(name), PERSONAL_ITEMS[name], originator,
                           lambda subject: self.keys.key_for(UUID(subject), create=False))
        return domain_event

    def _open(self, sealed: dict[str, Any], state: dict[str, Any],
              originator_id: UUID) -> dict[str, Any]:
        key = self.keys.key_for(event_subject(state, originator_id), create=False)
        plain = open_sealed(key, sealed["data"], originator_id.bytes)
        if plain is None:
            return {name: redacted(name) for name in sealed["names"]}
        opened: dict[str, Any] = self.transcoder.decode(plain)
        return opened


def open_sealed(key: bytes | None, data: str, originator: bytes) -> bytes | None:
    """The encoded personal fields, or None when the key is gone (forgotten) or does not
    open them."""
    if key is None:
        return None
    raw = a2b_base64(data)  # base64.b64decode's own checks cost as much as the decoding
    try:
        return _cipher(key).decrypt(raw[:12], raw[12:], originator)
    except InvalidTag:
        return None


def seal(key: bytes, plain: bytes, originator: bytes) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _cipher(key).encrypt(nonce, plain, originator)).decode()


def open_items(items: Any, name: str, originator: bytes,
               key_of: Callable[[str], bytes | None]) -> None:
    """Open, in place, the sealed `name` values of a PERSONAL_ITEMS list: the value, or
    [forgotten] once the item's subject is forgotten."""
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, dict) and SEALED in item:
            plain = open_sealed(key_of(item["subject"]), item.pop(SEALED), originator)
            item[name] = FORGOTTEN if plain is None else plain.decode()
