"""The log read as plain JSON, the way projections read it.

A projection needs a few values of each event, not an event object. The library's mapper
builds every UUID and datetime of every event through its transcoder's object hook; over a
rebuild's millions of events that costs several times the read itself. Here a stored state
is parsed once with orjson and its typed values stay in the stored form
(`{"_type_": "uuid_hex", "_data_": "..."}`: `hex_of`, `text_of` read them). Personal fields
are opened with the subject's key exactly as the mapper opens them, and an event of an older
schema version goes through its class's own upcasters, which therefore only add or rename
plain values (they run on the stored form here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from eventsourcing.utils import resolve_topic

from syncledger.adapters.json_text import loads
from syncledger.adapters.omitted_values import Omissible, omissible, put_back
from syncledger.adapters.person_keys import PersonKeys
from syncledger.adapters.personal_data_mapper import (
    SEALED,
    SEALED_ITEMS,
    open_items,
    open_sealed,
)
from syncledger.domain.privacy import PERSONAL_ITEMS, redacted

# position, originator (hex), version, topic, state, and the originator's key when read
Row = tuple[int, str, int, str, bytes, bytes | None]

KEYS_A_QUERY = 500

_new = tuple.__new__


class Logged(NamedTuple):
    position: int
    originator: str  # 32 hex digits
    version: int
    topic: str
    kind: str  # the event class's qualified name: "Person.Linked", "Contact.Observed"
    data: dict[str, Any]  # the stored state, personal fields opened


def hex_of(value: Any) -> str | None:
    """A stored UUID's 32 hex digits."""
    found = value["_data_"] if isinstance(value, dict) else value
    return None if found is None else str(found)


def text_of(value: Any) -> str | None:
    """A stored datetime's ISO text (what `isoformat()` gave when it was saved)."""
    found = value["_data_"] if isinstance(value, dict) else value
    return None if found is None else str(found)


def stored_value(state: bytes, name: str) -> Any:
    """One plain value of a stored state, as stored, without decoding the event (None when
    absent, as in a state older than the value: no upcaster runs)."""
    found = loads(state)
    return found.get(name) if isinstance(found, dict) else None


# An event's state, its sealed box, its originator and the subject whose key opens it.
Sealed = tuple[dict[str, Any], dict[str, Any], str, str]


class PlainDecoder:
    """Stored rows to Logged events: parsed, upcast, personal fields opened."""

    def __init__(self, keys: PersonKeys) -> None:
        self.keys = keys
        self._kinds: dict[str, tuple[str, int, type | None, Omissible | None]] = {}

    def decode(self, rows: Sequence[Row],
               keys: Mapping[str, bytes | None] | None = None) -> list[Logged]:
        """`keys`: the originators' keys as stored (wrapped), when the rows do not carry
        them."""
        # The loop runs for every event of a rebuild: names are bound locally and the
        # common case (the originator's own key, the current schema) is kept inline.
        logged: list[Logged] = []
        append = logged.append
        elsewhere: list[Sealed] = []  # filed under another key
        itemised: list[tuple[dict[str, Any], str]] = []  # with items sealed one by one
        kinds = self._kinds
        fast_loads = orjson.loads
        opened = self.keys.opened
        for position, originator, version, topic, state, key in rows:
            kind = kinds.get(topic) or self._kind(topic)
            try:
                data = fast_loads(state)
            except orjson.JSONDecodeError:
                data = loads(state)
            if kind[1] and data.get("class_version", 1) < kind[1]:
                _upcast(kind[2], data)
            if kind[3] is not None:
                put_back(data, kind[3], {"_type_": "uuid_hex", "_data_": originator})
            box = data.pop(SEALED, None)
            if box is not None:
                subject = data.get("subject")
                subject = subject["_data_"] if isinstance(subject, dict) else originator
                if keys is not None:
                    key = keys.get(originator)
                if subject == originator and key is not None:
                    # Rows carry the stored (wrapped) key: unwrapped once, then cached.
                    _open(data, box, opened(originator, key), originator)
                else:
                    elsewhere.append((data, box, originator, subject))
            if SEALED_ITEMS in data:
                itemised.append((data, originator))
            append(_new(Logged, (position, originator, version, topic, kind[0], data)))
        if elsewhere:
            self._open_elsewhere(elsewhere)
        for data, originator in itemised:
            self._open_items(data, originator)
        return logged

    def _open_items(self, data: dict[str, Any], originator: str) -> None:
        """The items sealed one by one, each under its own subject's key (a run's errors)."""
        names = data.pop(SEALED_ITEMS)
        subjects = [item["subject"] for name in names for item in data.get(name) or []
                    if isinstance(item, dict) and SEALED in item]
        for start in range(0, len(subjects), KEYS_A_QUERY):
            self.keys.prefetch_hex(subjects[start:start + KEYS_A_QUERY])
        for name in names:
            open_items(data.get(name), PERSONAL_ITEMS[name], bytes.fromhex(originator),
                       self.keys.cached_hex)

    def _kind(self, topic: str) -> tuple[str, int, type | None, Omissible | None]:
        name = topic.partition(":")[2]
        try:
            cls: type | None = resolve_topic(topic)
        except Exception:  # a class renamed or removed since: read as stored
            cls = None
        # The class's schema version when older events need upcasting to it, else 0; and
        # the values its states may leave out (adapters/omitted_values.py).
        current = getattr(cls, "class_version", 1)
        omits = omissible(cls, topic) if cls is not None else None
        found = (name, current if current > 1 else 0, cls,
                 omits if omits is not None and any(omits) else None)
        self._kinds[topic] = found
        return found

    def _open_elsewhere(self, sealed: list[Sealed]) -> None:
        subjects = list(dict.fromkeys(subject for _, _, _, subject in sealed))
        for start in range(0, len(subjects), KEYS_A_QUERY):
            self.keys.prefetch_hex(subjects[start:start + KEYS_A_QUERY])
        for data, box, originator, subject in sealed:
            _open(data, box, self.keys.cached_hex(subject), originator)


def _open(data: dict[str, Any], box: dict[str, Any], key: bytes | None,
          originator: str) -> None:
    plain = open_sealed(key, box["data"], bytes.fromhex(originator))
    if plain is None:
        data.update({name: redacted(name) for name in box["names"]})
    else:
        data.update(loads(plain))


def _upcast(cls: type | None, data: dict[str, Any]) -> None:
    if cls is None:
        return
    version = data.pop("class_version", 1)
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(data)
        version += 1
    data["class_version"] = version
