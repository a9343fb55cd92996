"""Person keys at rest: wrapped by a key-encryption key derived from the key held outside the
store (SYNCLEDGER_KEY or the key file), so the store file alone opens nothing; store files
owner-only; stores made before wrapping wrapped on first open; `rotate-key` re-wraps."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select, update

from syncledger.adapters.credentials import load_credentials, save_credentials
from syncledger.adapters.key_encryption import (
    RAW_KEY,
    KeyEncryptionError,
    key_encryption,
    rotate_key,
)
from syncledger.adapters.person_keys import person_keys
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.forget import find_person_id, forget
from syncledger.commands.session import caught_up, store_session
from syncledger.domain.privacy import FORGOTTEN
from syncledger.replay.verify import verify

PEOPLE = [{"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
           "first_name": f"Zqvfirst{n}", "last_name": "Lovelace"} for n in range(3)]


def imported(url: str, tmp_path: Path, lines: list[dict[str, Any]] = PEOPLE) -> None:
    source = tmp_path / f"import-{len(list(tmp_path.glob('import-*')))}.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with store_session(url) as app:
        import_file(app, source, "tm-alice")


def first_names(url: str) -> list[str]:
    with store_session(url) as app:
        return sorted(p["first_name"] for p in views.people(caught_up(app), None))


def sealed_boxes(path: Path) -> list[tuple[bytes, bytes]]:
    """(originator bytes, nonce + ciphertext) of every event with sealed personal fields."""
    database = sqlite3.connect(path)
    try:
        rows = database.execute("SELECT originator_id, state FROM stored_events").fetchall()
    finally:
        database.close()
    boxes = []
    for originator, state in rows:
        sealed = json.loads(state).get("_personal")
        if sealed:
            boxes.append((bytes.fromhex(originator.replace("-", "")),
                          base64.b64decode(sealed["data"])))
    return boxes


def test_the_sqlite_file_alone_opens_no_personal_field(sqlite_url: str, tmp_path: Path
                                                       ) -> None:
    imported(sqlite_url, tmp_path)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    database = sqlite3.connect(path)
    try:
        stored = [bytes(key) for (key,) in database.execute("SELECT key FROM person_keys")]
    finally:
        database.close()
    boxes = sealed_boxes(path)
    assert len(stored) == len(PEOPLE) and boxes
    assert all(len(key) != RAW_KEY for key in stored)
    # No stored blob, nor any 32 bytes of one, opens a sealed field.
    for blob in stored:
        for start in range(len(blob) - RAW_KEY + 1):
            cipher = AESGCM(blob[start:start + RAW_KEY])
            for originator, data in boxes:
                with pytest.raises(InvalidTag):
                    cipher.decrypt(data[:12], data[12:], originator)
    assert first_names(sqlite_url) == ["Zqvfirst0", "Zqvfirst1", "Zqvfirst2"]


def test_a_new_sqlite_store_and_its_wal_and_shm_are_owner_only(sqlite_url: str,
                                                               tmp_path: Path) -> None:
    imported(sqlite_url, tmp_path)
    with store_session(sqlite_url):  # open: the -wal and -shm files are there
        path = sqlite_url.removeprefix("sqlite:///")
        modes = {suffix: stat.S_IMODE(Path(path + suffix).stat().st_mode)
                 for suffix in ("", "-wal", "-shm")}
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_a_store_with_raw_keys_is_wrapped_on_first_open(store_url: str,
                                                        tmp_path: Path) -> None:
    imported(store_url, tmp_path)
    # As a version before wrapping left it: raw keys, no key_encryption row, mode 0644.
    with store_session(store_url) as app:
        raw = {name: app.keys.cached_hex(name) for name in _subjects(app)}
        with app.database.writer.begin() as connection:
            for name, key in raw.items():
                connection.execute(update(person_keys).where(person_keys.c.subject == name)
                                   .values(key=key))
            connection.execute(delete(key_encryption))
    path = Path(store_url.removeprefix("sqlite:///"))
    if store_url.startswith("sqlite"):
        path.chmod(0o644)

    assert first_names(store_url) == ["Zqvfirst0", "Zqvfirst1", "Zqvfirst2"]
    with store_session(store_url) as app, app.database.reader.connect() as connection:
        stored = dict(connection.execute(select(person_keys.c.subject, person_keys.c.key)).all())
    assert stored.keys() == raw.keys()
    assert all(len(stored[name]) != RAW_KEY and raw[name] not in stored[name] for name in raw)
    if store_url.startswith("sqlite"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _subjects(app: Any) -> list[str]:
    with app.database.reader.connect() as connection:
        return list(connection.scalars(select(person_keys.c.subject)))


def test_rotate_key_rewraps_every_key_and_the_old_key_no_longer_opens(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imported(store_url, tmp_path)
    with store_session(store_url) as app:
        save_credentials(app.database, "salesforce", {"access_token": "tok"})
        before = {name: app.keys.cached_hex(name) for name in _subjects(app)}
        head = verify(app).head
    new = Fernet.generate_key().decode()

    with store_session(store_url) as app:
        rotated = rotate_key(app.database, new)
    assert (rotated.keys, rotated.credentials, rotated.key_file) == (3, 1, None)

    with pytest.raises(KeyEncryptionError, match="does not hold"):
        first_names(store_url)  # SYNCLEDGER_KEY still holds the old key
    monkeypatch.setenv("SYNCLEDGER_KEY", new)
    assert first_names(store_url) == ["Zqvfirst0", "Zqvfirst1", "Zqvfirst2"]
    with store_session(store_url) as app:
        assert {name: app.keys.cached_hex(name) for name in _subjects(app)} == before
        assert load_credentials(app.database, "salesforce") == {"access_token": "tok"}
        assert verify(app).head == head  # the log itself never changes
        # forget still destroys the one person's (wrapped) key.
        forget(app, find_person_id(app, "p-1"), "tm-alice")
        assert views.person(caught_up(app), "p-1")["first_name"] == FORGOTTEN
        with app.database.reader.connect() as connection:
            keys = dict(connection.execute(select(person_keys.c.subject,
                                                  person_keys.c.key)).all())
        assert sum(key is None for key in keys.values()) == 1
    assert first_names(store_url) == ["Zqvfirst0", "Zqvfirst2", FORGOTTEN]


def test_a_writer_opened_before_a_rotation_refuses_to_wrap_with_the_old_key(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imported(store_url, tmp_path, PEOPLE[:1])
    source = tmp_path / "later.jsonl"
    source.write_text(json.dumps(PEOPLE[1]) + "\n")
    with store_session(store_url) as stale:
        with store_session(store_url) as other:
            rotate_key(other.database, Fernet.generate_key().decode())
        with pytest.raises(KeyEncryptionError, match="rotate-key"):
            import_file(stale, source, "tm-alice")


def test_rotating_to_the_key_in_use_changes_nothing(sqlite_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    imported(sqlite_url, tmp_path, PEOPLE[:1])
    with store_session(sqlite_url) as app, pytest.raises(KeyEncryptionError, match="in use"):
        rotate_key(app.database, app.keys.kek.master)


def test_unwrapped_keys_held_for_a_pass_stay_bounded_and_right() -> None:
    """A catch-up over many people holds only the last few thousand unwrapped keys (the
    store's lifetime would otherwise keep one per person), and each still opens to its
    own key, before and after the cache is dropped."""
    from syncledger.adapters.key_encryption import Kek, Unwrapper

    kek = Kek.derive(Fernet.generate_key().decode())
    opened = Unwrapper(kek)
    people = [(f"{n:032x}", AESGCM.generate_key(bit_length=256))
              for n in range(Unwrapper.LIMIT + 10)]
    wrapped = [(subject, kek.wrap(subject, key), key) for subject, key in people]
    for subject, sealed, key in wrapped:
        assert opened(subject, sealed) == key
        assert len(opened._opened) <= Unwrapper.LIMIT
    first_subject, first_sealed, first_key = wrapped[0]
    assert opened(first_subject, first_sealed) == first_key  # after the drop: unwrapped again
