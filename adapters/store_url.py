"""One store URL names both the event store (eventsourcing's own recorders) and the database
that holds the read models (SQLAlchemy)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from eventsourcing.utils import get_topic

from syncledger.adapters.postgres_recorder import BinaryInsertRecorder
from syncledger.adapters.sqlite_recorder import CheckpointingRecorder

DEFAULT_STORE = "sqlite:///syncledger.db"


class StoreURLError(ValueError):
    pass


@dataclass(frozen=True)
class StoreURL:
    url: str
    kind: str  # "sqlite" | "postgres"
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            if not path or ":memory:" in path:
                raise StoreURLError(f"store {url!r}: give a file, e.g. sqlite:///syncledger.db")
            return cls(url=url, kind="sqlite", sqlite_path=Path(path).absolute())
        parts = urlsplit(url)
        if parts.scheme in ("postgresql", "postgresql+psycopg", "postgres"):
            dbname = parts.path.lstrip("/")
            if not dbname:
                raise StoreURLError(f"store {url!r}: the URL names no database")
            return cls(url=url, kind="postgres", host=parts.hostname or "127.0.0.1",
                       port=parts.port or 5432, user=unquote(parts.username or "postgres"),
                       password=unquote(parts.password or ""), dbname=dbname)
        raise StoreURLError(
            f"store {url!r}: expected sqlite:///FILE or postgresql://USER@HOST:PORT/DB")

    @classmethod
    def from_env(cls, url: str | None) -> StoreURL:
        return cls.parse(url or os.environ.get("SYNCLEDGER_STORE") or DEFAULT_STORE)

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(self.sqlite_path), "SQLITE_LOCK_TIMEOUT": "30",
                    "APPLICATION_RECORDER_TOPIC": get_topic(CheckpointingRecorder)}
        return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": self.dbname,
                "POSTGRES_HOST": self.host, "POSTGRES_PORT": str(self.port),
                "POSTGRES_USER": self.user, "POSTGRES_PASSWORD": self.password,
                "POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "4",
                "POSTGRES_LOCK_TIMEOUT": "30",
                # The library's recorder, sending a save's events in binary.
                "APPLICATION_RECORDER_TOPIC": get_topic(BinaryInsertRecorder)}

    def sqlalchemy_url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{self.dbname}"

    def redacted(self) -> str:
        """For messages and logs: never show a password."""
        if self.kind == "postgres" and self.password:
            return self.url.replace(self.password, "***")
        return self.url
