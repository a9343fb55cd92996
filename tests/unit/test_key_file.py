"""The key file (when SYNCLEDGER_KEY is not set): whatever is at its path, a problem is one
line naming it (KeyEncryptionError: exit 2), never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncledger.adapters.credentials import KeyEncryptionError, key_file, master_keys


@pytest.fixture
def path(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SYNCLEDGER_KEY")
    return key_file()


def refused() -> str:
    with pytest.raises(KeyEncryptionError) as raised:
        master_keys()
    assert "\n" not in str(raised.value)
    return str(raised.value)


def test_a_folder(path: Path) -> None:
    path.mkdir(parents=True)
    assert refused() == (f"the key file {path} is a folder, not a key file; set "
                         "SYNCLEDGER_KEY or put the key file there")


def test_a_file_where_its_folder_should_be(path: Path) -> None:
    path.parent.parent.mkdir(parents=True)
    path.parent.write_text("a file, not the syncledger folder\n")
    assert refused() == (f"the key file {path} cannot be made: {path.parent} is not a folder; "
                         "set SYNCLEDGER_KEY or move that file")


def test_not_text_empty_or_not_a_key(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe\x00key")
    assert refused().startswith(f"the key file {path} is not a key (not text)")
    path.write_text("\n")
    assert refused().startswith(f"the key file {path} is empty")
    path.write_text("not-a-key\n")
    assert refused().startswith(f"the key in {path} is not a Fernet key")


def test_made_owner_only_the_first_time(path: Path) -> None:
    keys = master_keys()
    assert keys.path == path and len(keys.keys) == 1
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert master_keys() == keys
