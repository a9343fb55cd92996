"""Encrypts the personal attributes of each event with its person's key (AES-GCM), so the
log never holds personal data in the clear and a destroyed key redacts it everywhere."""

from __future__ import annotations

import base64
import os
from binascii import a2b_base64
from functools import lru_cache
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from syncledger.adapters.person_keys import PersonKeys
from syncledger.domain.privacy import PERSONAL_FIELDS, redacted

SEALED = "_personal"


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
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=get_topic(type(domain_event)),
                           state=self.transcoder.encode(state))

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state.update(self._open(sealed, state, domain_event.originator_id))
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
