"""CRM credentials, encrypted (Fernet) in the store with a key held outside it:
SYNCLEDGER_KEY, else an owner-only key file in the user's config directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, LargeBinary, String, Table, delete, select

from syncledger.adapters.database import Database, metadata

credentials = Table(
    "credentials", metadata,
    Column("crm", String(40), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
)


class CredentialsError(RuntimeError):
    pass


def key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "syncledger" / "key"


def _fernet() -> Fernet:
    key = os.environ.get("SYNCLEDGER_KEY")
    if not key:
        path = key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
        key = path.read_text().strip()
    try:
        return Fernet(key.encode())
    except ValueError as error:
        raise CredentialsError(f"the credentials key is not a Fernet key ({error}); set "
                               "SYNCLEDGER_KEY or remove the key file to make a new one") from None


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
