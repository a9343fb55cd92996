"""Encrypts the personal attributes of each event with its person's key (AES-GCM), so the
log never holds personal data in the clear and a destroyed key redacts it everywhere."""

from __future__ import annotations

import base64
import os
from binascii import a2b_base64
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

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


# A created event's aggregate class, which the library keeps in its state. The event class
# is declared in the aggregate's (Person.Recorded in Person, Contact.Discovered in Contact),
# so its topic names the aggregate's too: a state whose value says no more is stored without
# it (52 bytes of each new record's three events), and the value is put back on reading.
ORIGINATOR_TOPIC = "originator_topic"


@lru_cache(maxsize=1024)
def aggregate_topic(event_topic: str) -> str:
    """The topic of the class an event class is declared in: "m:Person" of "m:Person.Recorded"."""
    return event_topic.rpartition(".")[0]


@lru_cache(maxsize=1024)
def names_its_aggregate(event_class: type) -> bool:
    """A created event (the library's keep the aggregate's topic)."""
    return ORIGINATOR_TOPIC in getattr(event_class, "__dataclass_fields__", {})


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
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        # Every event carries its schema version, from the first one on.
        state["class_version"] = getattr(type(domain_event), "class_version", 1)
        personal = {name: state.pop(name) for name in PERSONAL_FIELDS
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
        topic = get_topic(type(domain_event))
        if state.get(ORIGINATOR_TOPIC) == aggregate_topic(topic):
            del state[ORIGINATOR_TOPIC]  # the event's own topic names it: see to_domain_event
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=topic, state=self.transcoder.encode(state))

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
        if ORIGINATOR_TOPIC not in state and names_its_aggregate(type(domain_event)):
            state[ORIGINATOR_TOPIC] = aggregate_topic(stored_event.topic)
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
