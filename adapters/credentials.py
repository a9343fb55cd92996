"""CRM credentials, encrypted (Fernet) in the store with a key held outside it:
SYNCLEDGER_KEY, else an owner-only key file in the user's config directory. The same key,
through a key derived from it, wraps the person keys (adapters/key_encryption.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Connection, LargeBinary, String, Table, delete, select, update

from syncledger.adapters.database import Database, metadata

credentials = Table(
    "credentials", metadata,
    Column("crm", String(40), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
)


class CredentialsError(RuntimeError):
    pass


class KeyEncryptionError(CredentialsError):
    """The key held outside the store (SYNCLEDGER_KEY or the key file) cannot be read, is no
    key, or does not open this store's person keys: the user's to fix (one line, exit 2)."""


def key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "syncledger" / "key"


@dataclass(frozen=True)
class MasterKeys:
    """The keys held outside the store: `keys[0]` encrypts; the others, retired by
    `rotate-key` but kept in the key file for stores not rotated yet, still decrypt.
    `path` is the key file they came from (None: SYNCLEDGER_KEY)."""

    keys: tuple[str, ...]
    path: Path | None

    @property
    def source(self) -> str:
        return "SYNCLEDGER_KEY" if self.path is None else f"the key file {self.path}"


def check_key(key: str, source: str) -> str:
    """`key` if it is a Fernet key (32 bytes in URL-safe base64), else a one-line error."""
    try:
        Fernet(key.encode())
    except ValueError as error:
        raise KeyEncryptionError(f"the key in {source} is not a Fernet key ({error}); make one "
                               "with `python -c 'from cryptography.fernet import Fernet; "
                               "print(Fernet.generate_key().decode())'`") from None
    return key


def master_keys() -> MasterKeys:
    """SYNCLEDGER_KEY, else the key file (made, owner-only, the first time)."""
    key = os.environ.get("SYNCLEDGER_KEY")
    if key:
        return MasterKeys((check_key(key.strip(), "SYNCLEDGER_KEY"),), None)
    path = key_file()
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
        lines = path.read_text().split()
    except IsADirectoryError:
        raise KeyEncryptionError(f"the key file {path} is a folder, not a key file; set "
                                 "SYNCLEDGER_KEY or put the key file there") from None
    except OSError as error:
        folder = next((p for p in path.parents if p.exists()), None)
        if folder is not None and not folder.is_dir():
            raise KeyEncryptionError(f"the key file {path} cannot be made: {folder} is not a "
                                     "folder; set SYNCLEDGER_KEY or move that file") from None
        raise KeyEncryptionError(f"the key file {path} cannot be read "
                                 f"({error.strerror or error}); set SYNCLEDGER_KEY or fix "
                                 "the file") from None
    except UnicodeDecodeError:
        raise KeyEncryptionError(f"the key file {path} is not a key (not text); set "
                                 "SYNCLEDGER_KEY or fix the file") from None
    if not lines:
        raise KeyEncryptionError(f"the key file {path} is empty; set SYNCLEDGER_KEY or "
                                 "remove the file to make a new key")
    return MasterKeys(tuple(check_key(line, str(path)) for line in lines), path)


def write_key_file(path: Path, keys: tuple[str, ...]) -> None:
    """Replace the key file at once (a new file, owner-only, renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(fresh, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in master_keys().keys])


def save_credentials(database: Database, crm: str, secret: dict[str, Any]) -> None:
    sealed = _fernet().encrypt(json.dumps(secret).encode())
    with database.writer.begin() as connection:
        connection.execute(delete(credentials).where(credentials.c.crm == crm))
        connection.execute(credentials.insert(), [{"crm": crm, "sealed": sealed}])


def load_credentials(database: Database, crm: str) -> dict[str, Any]:
    with database.reader.connect() as connection:
        sealed = connection.scalar(select(credentials.c.sealed).where(credentials.c.crm == crm))
    if sealed is None:
        raise CredentialsError(f"{crm} is not connected: run `syncledger connect {crm}`")
    try:
        loaded: dict[str, Any] = json.loads(_fernet().decrypt(sealed))
    except InvalidToken:
        raise CredentialsError(f"the stored {crm} credentials cannot be read with this key "
                               "(SYNCLEDGER_KEY or the key file changed): connect again") from None
    return loaded


def forget_credentials(database: Database, crm: str) -> None:
    with database.writer.begin() as connection:
        connection.execute(delete(credentials).where(credentials.c.crm == crm))


def rewrap_credentials(connection: Connection, old: MultiFernet, new: Fernet) -> int:
    """Re-encrypt every stored credential under `new` (rotate-key), in the caller's
    transaction; returns how many."""
    rows = list(connection.execute(select(credentials.c.crm, credentials.c.sealed)))
    for crm, sealed in rows:
        try:
            plain = old.decrypt(sealed)
        except InvalidToken:
            raise CredentialsError(f"the stored {crm} credentials cannot be read with the "
                                   "current key: rotate-key changes nothing") from None
        connection.execute(update(credentials).where(credentials.c.crm == crm)
                           .values(sealed=new.encrypt(plain)))
    return len(rows)
