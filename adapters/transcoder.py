"""The library's JSON transcoder, encoding and decoding the same values faster.

The library's object hook raises and catches a KeyError for every plain JSON object and
builds each UUID through `UUID.__init__`'s string parsing; reading the log (a rebuild, a
catch-up, loading a batch of aggregates) decodes millions of both. Every event holds a
timestamp and most a UUID or another datetime: their encoding is written out here, as the
library's transcodings write it, rather than looked up and called for each. And a save
encodes two states an event (its sealed personal values, then the whole): the standard
library's encoder is set up once, not again for each (as `json.JSONEncoder.encode` does)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from json import encoder as json_encoder
from typing import Any
from uuid import UUID, SafeUUID

from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown  # read once: an enum member lookup costs as much as the rest


def uuid_from_hex(value: str) -> UUID:
    """UUID(value) for the 32 hex digits we store, without re-validating its layout."""
    if len(value) != 32:
        return UUID(value)
    uuid = _new(UUID)
    _set(uuid, "int", int(value, 16))
    _set(uuid, "is_safe", _UNKNOWN)
    return uuid


class FastJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        # What json.JSONEncoder(default, separators=(",", ":"), ensure_ascii=False) builds
        # for each encode() (the C encoder, when this Python has one), without the check for
        # circular references: an event's state is plain data.
        make = getattr(json_encoder, "c_make_encoder", None)  # not in typeshed's stubs
        self._encode_once: Callable[[Any, int], list[str]] | None = None
        if make is not None:
            self._encode_once = make(None, self._encode_obj, json_encoder.encode_basestring,
                                     None, ":", ",", False, False, True)

    def encode(self, obj: Any) -> bytes:
        if self._encode_once is None or not isinstance(obj, dict):
            return super().encode(obj)
        return "".join(self._encode_once(obj, 0)).encode("utf8")

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        kind = type(o)
        if kind is datetime:
            return {"_type_": "datetime_iso", "_data_": o.isoformat()}
        if kind is UUID:
            return {"_type_": "uuid_hex", "_data_": o.hex}
        return super()._encode_obj(o)

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
