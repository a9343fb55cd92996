"""The library's JSON transcoder, encoding and decoding the same values faster.

The library's object hook raises and catches a KeyError for every plain JSON object and
builds each UUID through `UUID.__init__`'s string parsing; reading the log (a rebuild, a
catch-up, loading a batch of aggregates) decodes millions of both. Every event holds a
timestamp and most a UUID or another datetime: their encoding is written out here, as the
library's transcodings write it, rather than looked up and called for each. A save encodes
two states an event (its sealed personal values, then the whole), each written by orjson, an
order of magnitude faster than the standard library's encoder, once its UUIDs and datetimes
are replaced by the library's typed objects (orjson would write them as plain strings, which
read back as strings). The bytes are the library's: a state orjson would write otherwise
(one holding a float) or refuses (an integer beyond 64 bits) is written by the standard
library's encoder, as the library writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, SafeUUID

import orjson
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown  # read once: an enum member lookup costs as much as the rest
# The values JSON holds as they are, which orjson writes as json does. Not a float: orjson
# writes some in other digits (5.96e-8, json 5.96e-08) and NaN as null; our events hold few.
_PLAIN = frozenset({str, int, bool, type(None)})


class _NotForOrjson(ValueError):
    """A value orjson would write otherwise than the standard library's encoder."""


def uuid_from_hex(value: str) -> UUID:
    """UUID(value) for the 32 hex digits we store, without re-validating its layout."""
    if len(value) != 32:
        return UUID(value)
    uuid = _new(UUID)
    _set(uuid, "int", int(value, 16))
    _set(uuid, "is_safe", _UNKNOWN)
    return uuid


class FastJSONTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if not isinstance(obj, dict):
            return super().encode(obj)
        try:
            # Keys that are not text (none is, in an event) as json writes them.
            return orjson.dumps(self._typed(obj), option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, _NotForOrjson):
            return super().encode(obj)

    def _typed(self, value: Any) -> Any:
        """`value` with every UUID, datetime and other registered type inside it replaced by
        the library's {"_type_", "_data_"} object, as the library's encoder writes them (a
        copy of what holds one; the event's own values are never changed)."""
        kind = type(value)
        if kind is dict:
            typed = None  # a copy, made at the first value to replace
            for key, item in value.items():
                if type(item) not in _PLAIN:
                    if typed is None:
                        typed = dict(value)
                    typed[key] = self._typed(item)
            return value if typed is None else typed
        if kind is list or kind is tuple:
            return [v if type(v) in _PLAIN else self._typed(v) for v in value]
        if kind is UUID:
            return {"_type_": "uuid_hex", "_data_": value.hex}
        if kind is datetime:
            return {"_type_": "datetime_iso", "_data_": value.isoformat()}
        if isinstance(value, float):
            raise _NotForOrjson(value)
        # Subclasses, as json writes them: an enum of text as its text, a named tuple as
        # a list.
        if kind in _PLAIN or isinstance(value, (str, int)):
            return value
        if isinstance(value, dict):
            return self._typed(dict(value))
        if isinstance(value, (list, tuple)):
            return self._typed(list(value))
        # Another type the library has a transcoding for (or refuses, as it would).
        return self._typed(self._encode_obj(value))

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        if len(d) != 2 or "_type_" not in d or "_data_" not in d:
            return d
        name = d["_type_"]
        if name == "uuid_hex":
            return uuid_from_hex(d["_data_"])
        try:
            transcoding = self.names[name]
        except KeyError as e:
            msg = f"Data serialized with name '{name}' is not deserializable."
            raise TranscodingNotRegisteredError(msg) from e
        return transcoding.decode(d["_data_"])
