"""What no store can hold is refused where it is read, naming where it was."""

from __future__ import annotations

import json

import pytest

from syncledger.commands.import_format import ImportLineError, parse_line
from syncledger.commands.input_values import MAX_DEPTH, InputValueError, check, load_json


def refused(text: str) -> str:
    with pytest.raises(InputValueError) as caught:
        load_json(text)
    return str(caught.value)


def test_plain_values_pass_as_json_reads_them() -> None:
    text = ('{"a": [1, -2, 3.5, true, null, "x\\u00e9\\ud83d\\ude00"], '
            '"b": {"c": 9223372036854775807}}')
    assert load_json(text) == json.loads(text)


def test_nul_and_lone_surrogates_are_refused_in_values_and_keys() -> None:
    assert refused('{"first_name": "a\\u0000b"}') == \
        "first_name: the text contains a NUL character (\\u0000), which a store cannot hold"
    assert refused('{"x": ["ok", "\\ud800"]}') == \
        "x.1: the text contains a lone surrogate (\\ud800), which is not text"
    assert refused('{"fields": {"a\\u0000": 1}}').startswith("fields: a key contains a NUL")
    assert "lone surrogate (\\udc00)" in refused('{"x": "\\udc00\\ud800"}')


def test_numbers_a_store_cannot_hold_are_refused() -> None:
    assert refused('{"n": NaN}') == "n: NaN is not a number (NaN and Infinity are not allowed)"
    assert refused('{"n": -Infinity}').startswith("n: -Infinity is not a number")
    assert refused('{"n": 1e999}') == "n: 1e999 is out of range"
    assert refused('{"n": 9223372036854775808}').startswith(
        "n: 9223372036854775808 is too large (whole numbers must fit in 64 bits)")
    assert refused('{"n": ' + "9" * 5000 + "}") == \
        "n: a number of 5000 digits is too large (whole numbers must fit in 64 bits)"
    assert refused('{"n": 0.' + "1" * 5000 + "}").startswith("n: a number of 5001 digits is "
                                                             "too long")
    assert load_json('{"n": -9223372036854775808}') == {"n": -(2**63)}


def test_deep_nesting_is_refused_without_a_traceback() -> None:
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert refused("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).endswith(
        f"nested more than {MAX_DEPTH} levels deep")
    assert refused("[" * 100_000 + "]" * 100_000) == f"nested more than {MAX_DEPTH} levels deep"
    assert refused('{"fields": {"n": ' + "[" * 40 + "]" * 40 + "}}").startswith(
        "fields.n.0.0.0...: nested")


def test_check_walks_values_from_any_reader() -> None:
    check({"ok": [1, 2.5, "x", None, True]})
    with pytest.raises(InputValueError, match="api_budget: nan is not a number"):
        check({"integration": {"api_budget": float("nan")}})
    with pytest.raises(InputValueError, match="too large"):
        check({"n": 2**64})


@pytest.mark.parametrize(("line", "reason"), [
    ('{"kind": "person", "id": "p", "email": "a@b.c", "first_name": "a\\u0000b"}',
     "first_name: the text contains a NUL character"),
    ('{"kind": "person", "id": "p", "email": "a@b.c", "last_name": "\\ud800"}',
     "last_name: the text contains a lone surrogate"),
    ('{"kind": "call", "id": "c", "person": "p", "duration_s": 1e400}',
     "duration_s: 1e400 is out of range"),
    ('{"kind": "person", "id": "p", "email": "a@b.c", "fields": {"n": NaN}}',
     "fields.n: NaN is not a number"),
    ('{"kind": "person", "id": "' + "p" * 201 + '", "email": "a@b.c"}',
     "id: String should have at most 200 characters"),
    ('{"kind": "person", "id": "p", "email": "a@b.c", "first_name": "' + "f" * 201 + '"}',
     "first_name: String should have at most 200 characters"),
    ('{"kind": "person", "id": "p", "email": "a@b.c", "at": "9999-12-31T23:59:59-23:00"}',
     "at: a time out of range"),
])
def test_an_import_line_is_refused_with_file_line_and_field(line: str, reason: str) -> None:
    with pytest.raises(ImportLineError) as caught:
        parse_line("people.jsonl", 7, line)
    assert str(caught.value).startswith(f"people.jsonl:7: {reason}"), str(caught.value)
