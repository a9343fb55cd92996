"""Our transcoder writes and reads exactly what the library's does: stores written by either
read alike, and a seal over stored bytes stays the same."""

from __future__ import annotations

from collections import Counter, OrderedDict
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.transcoder import FastJSONTranscoder


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY = registered(JSONTranscoder())
OURS = registered(FastJSONTranscoder())

scalars = (st.none() | st.booleans() | st.integers() | st.text() | st.uuids()
           | st.datetimes(timezones=st.timezones()) | st.datetimes()
           | st.decimals(allow_nan=False) | st.floats(allow_nan=False))
states = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(st.dictionaries(st.text(), states, max_size=8))
def test_states_encode_to_the_librarys_bytes_and_decode_back_alike(state: dict[str, Any]
                                                                    ) -> None:
    encoded = OURS.encode(state)
    assert encoded == LIBRARY.encode(state)
    assert OURS.decode(encoded) == LIBRARY.decode(encoded)


def test_floats_beyond_json_are_written_as_the_library_writes_them() -> None:
    state = {"values": [float("nan"), float("inf"), -float("inf"), 1e16, -0.0, 0.1]}
    assert OURS.encode(state) == LIBRARY.encode(state)


def test_subclasses_of_json_types_are_written_as_the_library_writes_them() -> None:
    class Stage(StrEnum):
        NEW = "new"

    class Pair(NamedTuple):
        left: int
        right: UUID

    state = {"stage": Stage.NEW, "pair": Pair(1, UUID(int=7)), "by": OrderedDict(a=UUID(int=1)),
             "counts": Counter(a=2), "big": 2**70, 3: "not text"}
    assert OURS.encode(state) == LIBRARY.encode(state)


def test_a_value_of_no_registered_type_is_refused_as_the_library_refuses_it() -> None:
    for transcoder in (OURS, LIBRARY):
        with pytest.raises(TranscodingNotRegisteredError, match="set"):
            transcoder.encode({"value": {1, 2}})


def test_a_decimal_is_encoded_through_its_registered_transcoding() -> None:
    assert OURS.encode({"amount": Decimal("1.50")}) == \
        b'{"amount":{"_type_":"decimal_str","_data_":"1.50"}}'
