"""Hostile input at the command line (issue 20, items 3, 4 and 9): each bad import line,
configuration file, store URL, store file or key path is one line on stderr and exit 2,
never a traceback, and nothing is half-applied."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path

import pytest
from e2e.test_cli import LINES, run, write
from sqlalchemy.engine import make_url
from stores import NO_POSTGRES, POSTGRES, postgres_listening


def refused(store: str, *args: str) -> str:
    """The one line a refused command prints (exit 2, no traceback)."""
    result = run(store, *args, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("syncledger: ").strip()


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def people(store: str) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(run(store, "people", "list", "--json").stdout)
    return listed


# -- import lines --------------------------------------------------------------------------

PERSON = '{"kind": "person", "id": "p-9", "email": "p9@example.com", '


BAD_LINES = {
    PERSON + '"first_name": "a\\u0000b"}': "first_name: the text contains a NUL character",
    PERSON + '"fields": {"n": ' + "9" * 5000 + "}}": "fields.n: a number of 5000 digits",
    PERSON + '"fields": {"n": ' + "[" * 5000 + "]" * 5000 + "}}":
        "nested more than 32 levels deep",
    PERSON + '"fields": {"n": NaN}}': "fields.n: NaN is not a number",
    PERSON + '"fields": {"n": Infinity}}': "fields.n: Infinity is not a number",
}


def test_a_line_the_store_could_not_hold_is_refused_before_anything_is_recorded(
        store_url: str, tmp_path: Path) -> None:
    # The same on both stores: refused at validation, not left to the database.
    for number, (bad_line, reason) in enumerate(BAD_LINES.items()):
        path = tmp_path / f"bad{number}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in LINES) + bad_line + "\n")
        assert refused(store_url, "app", "import", str(path)).startswith(f"{path}:5: {reason}")
    assert people(store_url) == []


def test_a_lone_surrogate_after_a_thousand_lines_leaves_nothing_half_applied(
        store: str, tmp_path: Path) -> None:
    good = [{"kind": "person", "id": f"p-{i}", "email": f"p{i}@example.com"}
            for i in range(1500)]
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in good)
                    + PERSON + '"last_name": "\\ud800"}\n')
    assert refused(store, "app", "import", str(path)) == \
        f"{path}:1501: last_name: the text contains a lone surrogate (\\ud800), which is not text"
    assert people(store) == []


def test_text_that_is_not_utf8_is_reported_at_its_line(store: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in LINES)
                     + b'{"kind": "list", "id": "l-2", "name": "Caf\xe9"}\n')
    assert refused(store, "app", "import", str(path)) == \
        f"{path}:5: not UTF-8 text (invalid continuation byte: 0xe9, byte 43 of the line)"
    assert people(store) == []


def test_a_nul_never_reaches_a_postgresql_store(postgres_url: str, tmp_path: Path) -> None:
    # It used to import with exit 0, after which every read of the store crashed.
    path = tmp_path / "nul.jsonl"
    path.write_text(PERSON + '"first_name": "a\\u0000b"}\n')
    assert refused(postgres_url, "app", "import", str(path)).startswith(
        f"{path}:1: first_name: the text contains a NUL character")
    assert people(postgres_url) == []
    run(postgres_url, "app", "import", write(tmp_path / "a.jsonl", LINES))
    assert [p["email"] for p in people(postgres_url)] == ["ada@example.com"]


# -- configuration files -------------------------------------------------------------------

CONFIG = b"[integration]\ncrm = 'salesforce'\n"


BAD_CONFIGS = {
    CONFIG + b"timezone = 'Europe/Z\xfcrich'\n": "not UTF-8 text (line 3",
    CONFIG + b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n": "nested more than 32 levels deep",
    CONFIG + b"every = '99999999999999999999h'\n":
        "[integration] every: '99999999999999999999h' is longer than a year",
    CONFIG + b'timezone = "UTC\\u0000"\n': "[integration] timezone: the text contains a NUL",
}


def test_a_hostile_configuration_file_is_one_line(store: str, tmp_path: Path) -> None:
    for number, (content, reason) in enumerate(BAD_CONFIGS.items()):
        path = tmp_path / f"config{number}.toml"
        path.write_bytes(content)
        assert refused(store, "config", "apply", str(path)).startswith(f"{path}: {reason}")


# -- store URLs and store files ------------------------------------------------------------

def a_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sqlite_paths_that_cannot_be_a_store(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a database\n")
    empty = tmp_path / "empty.db"
    empty.touch()
    os.utime(empty, (0, 0))  # not one another process is creating right now
    cases = {
        tmp_path / "no-such-folder" / "s.db":
            f"the folder {tmp_path / 'no-such-folder'} does not exist",
        tmp_path / "folder": "is a folder; name a file in it, e.g. sqlite:///",
        tmp_path / "notes.txt": "is not a SQLite database",
        tmp_path / "notes.txt" / "s.db": f"{tmp_path / 'notes.txt'} is not a folder",
        empty: "is an empty file (0 bytes), not a store; remove it to start a new store",
    }
    for path, reason in cases.items():
        assert reason in refused(f"sqlite:///{path}", "people", "list"), path
    assert empty.stat().st_size == 0  # not silently made a new store


def test_a_damaged_store_file_is_one_line(tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    run(f"sqlite:///{made}", "app", "import", write(tmp_path / "a.jsonl", LINES))
    with sqlite3.connect(made) as connection:  # everything into the file itself
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = made.read_bytes()
    damaged = {"truncated": data[:len(data) // 2],
               # the first page's b-tree header
               "corrupted": data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]}
    for name, content in damaged.items():
        copy = tmp_path / f"{name}.db"
        copy.write_bytes(content)
        message = refused(f"sqlite:///{copy}", "people", "list")
        assert message.startswith(f"store {copy} is damaged"), message


def test_postgresql_urls_that_cannot_be_opened() -> None:
    if not postgres_listening():
        pytest.skip(NO_POSTGRES)
    server = make_url(POSTGRES)
    port = a_free_port()
    cases = {
        f"postgresql://postgres@127.0.0.1:{port}/test": "cannot open it (Connection refused)",
        server.set(username="no_such_role").render_as_string(False):
            'cannot open it (role "no_such_role" does not exist)',
        server.set(database="no_such_database").render_as_string(False):
            'cannot open it (database "no_such_database" does not exist)',
        "postgresql://postgres:p%40ss%2Fword@127.0.0.1:70000/test": "postgres:***@",
    }
    for url, reason in cases.items():
        assert reason in refused(url, "people", "list"), url


def test_a_key_path_that_is_a_folder_is_one_line(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLEDGER_KEY")
    key_path = Path(os.environ["XDG_CONFIG_HOME"]) / "syncledger" / "key"
    key_path.mkdir(parents=True)
    message = refused(f"sqlite:///{tmp_path / 's.db'}", "app", "import",
                      write(tmp_path / "a.jsonl", LINES))
    assert message == (f"the key file {key_path} is a folder, not a key file; set "
                       "SYNCLEDGER_KEY or put the key file there")
