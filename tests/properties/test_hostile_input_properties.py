"""Fuzzing the edges (issue 20): import lines, configuration files, store URLs and store
files. Whatever hypothesis makes, the answer is a store's result or one of the errors the
command line prints as one line with exit 2 (cli.user_errors()) naming what was wrong; never
another exception, and never an import half recorded."""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from syncledger.adapters.store_url import StoreURL, StoreURLError
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.cli.app import user_errors
from syncledger.commands.config_file import ConfigFileError, read_configuration
from syncledger.commands.import_format import ImportLineError, parse_line
from syncledger.commands.session import caught_up, store_session

FAST = settings(max_examples=150, deadline=None)
STORES = settings(max_examples=15, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text of any code point, lone surrogates and NUL included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
hostile_numbers = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400",
                                   "9" * 5000, "9223372036854775808", "0." + "1" * 150])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


hostile_json = st.one_of(
    any_text.map(lambda t: json.dumps(t)),  # lone surrogates as \ud800 escapes
    any_text.map(lambda t: json.dumps(t + "\x00")),
    hostile_numbers,
    st.integers(min_value=20, max_value=3000).map(nested),
    st.integers(min_value=2**62, max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: json.dumps(f, allow_nan=True)),
    st.integers(min_value=150, max_value=400).map(lambda n: json.dumps("x" * n)),
)
FIELDS = ["first_name", "last_name", "account", "owner", "status", "inbox_category", "email",
          "id", "fields", "lists", "at"]


@st.composite
def person_lines(draw: st.DrawFn, number: int) -> str:
    """A person line with one hostile value somewhere a user's file could put it."""
    field = draw(st.sampled_from(FIELDS))
    value = draw(hostile_json)
    if field == "fields":
        key = draw(st.sampled_from(["title", "a\\u0000", "\\ud800"]))
        value = f'{{"{key}": {value}}}'
    elif field == "lists":
        value = f'["l-1", {value}]'
    base = {"kind": "person", "id": f"p-{number}", "email": f"p{number}@example.com"}
    base.pop(field, None)
    head = json.dumps(base)[:-1]
    return f'{head}, "{field}": {value}}}'


def stored_form_is_writable(line: Any) -> None:
    """What the save writes: the library's encoder, then UTF-8 (a NaN or a surrogate fails)."""
    data = line.model_dump(mode="json")
    json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")

    def walk(value: Any) -> None:
        if isinstance(value, str):
            assert "\x00" not in value
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, float):
            assert math.isfinite(value)
    walk(data)


@FAST
@given(st.data())
def test_a_line_is_either_refused_naming_file_and_line_or_storable(data: st.DataObject
                                                                   ) -> None:
    text = data.draw(person_lines(3))
    try:
        line = parse_line("f.jsonl", 3, text)
    except ImportLineError as error:
        assert str(error).startswith("f.jsonl:3: ") and "\n" not in str(error)
        assert isinstance(error, user_errors())
        return
    stored_form_is_writable(line)


@FAST
@given(st.recursive(st.none() | st.booleans() | any_text
                    | st.floats(allow_nan=True, allow_infinity=True)
                    | st.integers(min_value=-(2**80), max_value=2**80),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(any_text, children, max_size=3), max_leaves=20),
       st.sampled_from(["team_member", "sequence", "list", "person", "email", "call",
                        "task", "note", "linkedin", "saved_filter"]))
def test_any_json_value_under_any_kind_is_refused_or_storable(value: Any, kind: str) -> None:
    line = {"kind": kind, "id": "x-1", "person": "p-1", "email": "a@b.example", "name": "n",
            "rules": [], "action": "view", "text": "t", "extra": value}
    for key in ("extra", "name", "text", "fields"):
        candidate = {**line, key: value}
        if key == "extra":
            candidate.pop("extra")
            candidate = {**candidate, "fields": {"k": value}} if kind == "person" else candidate
        text = json.dumps(candidate, allow_nan=True)
        try:
            parsed = parse_line("f.jsonl", 1, text)
        except ImportLineError as error:
            assert str(error).startswith("f.jsonl:1: ")
            continue
        stored_form_is_writable(parsed)


class Store:
    """A real SQLite store in a directory of its own, for one example."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.directory = Path(self.tmp.name)
        self.url = f"sqlite:///{self.directory / 'store.db'}"

    def close(self) -> None:
        self.tmp.cleanup()


@STORES
@given(st.data(), st.integers(min_value=1, max_value=30))
def test_an_import_with_a_hostile_line_records_all_of_it_or_nothing(data: st.DataObject,
                                                                    count: int) -> None:
    store = Store()
    try:
        where = data.draw(st.integers(min_value=1, max_value=count + 1))
        lines = [json.dumps({"kind": "person", "id": f"p-{n}", "email": f"p{n}@example.com"})
                 for n in range(1, count + 1)]
        lines.insert(where - 1, data.draw(person_lines(1000)))
        path = store.directory / "a.jsonl"
        raw = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
        if data.draw(st.booleans()):  # or a byte that is no UTF-8 on that line
            chunks = raw.split(b"\n")
            chunks[where - 1] = chunks[where - 1].replace(b'"email"', b'"em\xffail"', 1)
            raw = b"\n".join(chunks)
        path.write_bytes(raw)
        with store_session(store.url) as app:
            try:
                import_file(app, path, "system")
            except ImportLineError as error:
                assert str(error).startswith(f"{path}:{where}: "), str(error)
                assert app.recorder.max_notification_id() in (None, 0)
                return
            people = views.people(caught_up(app), None)
            assert len(people) == count + 1
    finally:
        store.close()


# -- configuration files -------------------------------------------------------------------

@FAST
@given(st.binary(max_size=200), st.sampled_from(["c.toml", "c.json"]))
def test_any_bytes_as_a_configuration_file_are_read_or_one_line(content: bytes,
                                                                name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(b"[integration]\ncrm = 'salesforce'\n" + content
                         if name.endswith("toml") else content)
        try:
            read_configuration(path)
        except ConfigFileError as error:  # the CLI's config commands: one line, exit 2
            assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
            assert ": : " not in str(error)


@FAST
@given(st.sampled_from(["every", "overlap", "timezone", "conflict", "api_budget",
                        "owner_match", "mass_change_limit", "extra"]), hostile_json)
def test_a_hostile_configuration_value_is_one_line(key: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "c.json"
        path.write_text(f'{{"integration": {{"crm": "salesforce", "{key}": {value}}}}}',
                        encoding="utf-8", errors="surrogatepass")
        try:
            read_configuration(path)
        except ConfigFileError as error:
            assert str(error).startswith(f"{path}: ") and "\n" not in str(error)


# -- store URLs and store files ------------------------------------------------------------

SECRET = "S3cr3tPassw0rd"
url_text = st.lists(st.sampled_from([*"abc019:/@?&=%._-+[]# \x00", "%00", "%40", "%2F"]),
                    max_size=20).map("".join)


@FAST
@given(st.sampled_from(["sqlite://", "sqlite:///", "postgresql://", "postgres://",
                        "postgresql+psycopg://", "mysql://", ""]), url_text, url_text)
def test_any_store_url_is_read_or_one_line_and_never_shows_its_password(
        scheme: str, host: str, rest: str) -> None:
    url = f"{scheme}user:{SECRET}@{host}/{rest}" if scheme.startswith("postgres") \
        else f"{scheme}{host}{rest}"
    try:
        store = StoreURL.parse(url)
    except StoreURLError as error:
        assert "\n" not in str(error) and str(error).startswith("store ")
        assert SECRET not in str(error)
        return
    assert SECRET not in store.redacted()
    if store.kind == "postgres":
        assert store.sqlalchemy_url().password in (None, store.password)
        assert "\x00" not in store.password + store.host + store.dbname


@pytest.fixture
def made_store(tmp_path: Path) -> bytes:
    """The bytes of a small real store (made under this test's key), to damage copies of."""
    path = tmp_path / "made.db"
    lines = tmp_path / "a.jsonl"
    lines.write_text("".join(json.dumps({"kind": "person", "id": f"p-{n}",
                                         "email": f"p{n}@example.com", "first_name": "Ada"})
                             + "\n" for n in range(40)))
    with store_session(f"sqlite:///{path}") as app:
        import_file(app, lines, "system")
        views.people(caught_up(app), None)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()


@STORES
@given(st.data())
def test_a_damaged_store_file_opens_or_is_one_line(made_store: bytes,
                                                    data: st.DataObject) -> None:
    size = len(made_store)
    how = data.draw(st.sampled_from(["truncate", "flip", "zero page", "random"]))
    if how == "truncate":
        content = made_store[:data.draw(st.integers(min_value=0, max_value=size - 1))]
    elif how == "flip":
        at = data.draw(st.integers(min_value=0, max_value=size - 1))
        content = made_store[:at] + bytes([made_store[at] ^ 0xFF]) + made_store[at + 1:]
    elif how == "zero page":
        page = data.draw(st.integers(min_value=0, max_value=size // 4096 - 1))
        content = made_store[:page * 4096] + bytes(4096) + made_store[(page + 1) * 4096:]
    else:
        content = made_store[:16] + data.draw(st.binary(min_size=0, max_size=2000))
    assume(content != made_store)
    store = Store()
    try:
        path = store.directory / "store.db"
        path.write_bytes(content)
        try:
            with store_session(store.url) as app:
                views.people(caught_up(app), None)
        except StoreURLError as error:  # StoreError: the one line the CLI prints
            assert str(error).startswith(f"store {path}") and "\n" not in str(error)
            assert isinstance(error, user_errors())
    finally:
        store.close()
