"""One store URL names both the event store (eventsourcing's own recorders) and the database
that holds the read models (SQLAlchemy).

URLs are read and written with SQLAlchemy's own URL type, so that a percent-encoded password
(`p%40ss` for `p@ss`) reaches both connections as the same password and the same host, a
PostgreSQL option such as `?sslmode=require` reaches both, and a URL shown to the user hides
its password."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from eventsourcing.utils import get_topic
from psycopg import ProgrammingError
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from syncledger.adapters.postgres_recorder import BinaryInsertRecorder, OptionsPostgresFactory
from syncledger.adapters.sqlite_recorder import CheckpointingRecorder

DEFAULT_STORE = "sqlite:///syncledger.db"
EXPECTED = "expected sqlite:///FILE or postgresql://USER@HOST:PORT/DB"
SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg", "postgres")
CONNECT_TIMEOUT = "10"  # seconds, unless the URL says otherwise (?connect_timeout=N)


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
    options: tuple[tuple[str, str], ...] = ()  # PostgreSQL connection options (?sslmode=...)

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreURLError(f"store {masked(url)!r}: not a URL; {EXPECTED}") from None
        except ValueError:  # SQLAlchemy reads the port with int()
            raise StoreURLError(f"store {masked(url)!r}: the port is not a number; "
                                f"{EXPECTED}") from None
        shown = parsed.render_as_string(hide_password=True) if parsed.password else url
        parts = [parsed.username, parsed.password, parsed.host, parsed.database,
                 *(k for k in parsed.query), *(v for v in parsed.query.values()
                                                if isinstance(v, str))]
        if "\x00" in url or any("\x00" in part for part in parts if part):
            raise StoreURLError(f"store {shown!r}: the URL holds a NUL character (%00)")
        if parsed.drivername in SQLITE_DRIVERS:
            return cls._sqlite(url, parsed)
        if parsed.drivername in POSTGRES_DRIVERS:
            return cls._postgres(url, shown, parsed)
        raise StoreURLError(f"store {shown!r}: {EXPECTED}")

    @classmethod
    def _sqlite(cls, url: str, parsed: URL) -> StoreURL:
        if parsed.host or parsed.username or parsed.port:
            raise StoreURLError(f"store {url!r}: a SQLite store is a file, named after three "
                                "slashes: sqlite:///syncledger.db or sqlite:////abs/path.db")
        path = parsed.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            raise StoreURLError(f"store {url!r}: give a file, e.g. sqlite:///syncledger.db")
        if parsed.query:
            raise StoreURLError(f"store {url!r}: a SQLite store takes no options "
                                f"(?{'&'.join(parsed.query)})")
        return cls(url=url, kind="sqlite", sqlite_path=Path(path).absolute())

    @classmethod
    def _postgres(cls, url: str, shown: str, parsed: URL) -> StoreURL:
        if not parsed.database:
            raise StoreURLError(f"store {shown!r}: the URL names no database")
        if parsed.host and "@" in parsed.host:
            raise StoreURLError(f"store {masked(url)!r}: a user name or password holding @, "
                                "/ or : is written percent-encoded (%40, %2F, %3A)")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise StoreURLError(f"store {shown!r}: port {parsed.port} is not a port "
                                "(1 to 65535)")
        options: dict[str, str] = {}
        for key, value in parsed.query.items():
            if not isinstance(value, str):
                raise StoreURLError(f"store {shown!r}: option {key} is given twice")
            options[key] = value
        try:
            make_conninfo("", **options)  # libpq's own check of the option names
        except ProgrammingError as error:
            raise StoreURLError(f"store {shown!r}: {str(error).strip()}") from None
        return cls(url=url, kind="postgres", host=parsed.host or "127.0.0.1",
                   port=parsed.port or 5432, user=parsed.username or "postgres",
                   password=parsed.password or "", dbname=parsed.database,
                   options=tuple(options.items()))

    @classmethod
    def from_env(cls, url: str | None) -> StoreURL:
        return cls.parse(url or os.environ.get("SYNCLEDGER_STORE") or DEFAULT_STORE)

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(self.sqlite_path), "SQLITE_LOCK_TIMEOUT": "30",
                    "APPLICATION_RECORDER_TOPIC": get_topic(CheckpointingRecorder)}
        env = {"PERSISTENCE_MODULE": get_topic(OptionsPostgresFactory),
               "POSTGRES_DBNAME": self.dbname,
               "POSTGRES_HOST": self.host, "POSTGRES_PORT": str(self.port),
               "POSTGRES_USER": self.user, "POSTGRES_PASSWORD": self.password,
               "POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "4",
               "POSTGRES_LOCK_TIMEOUT": "30",
               # The library's recorder, sending a save's events in binary.
               "APPLICATION_RECORDER_TOPIC": get_topic(BinaryInsertRecorder)}
        if self.options:
            env[OptionsPostgresFactory.POSTGRES_OPTIONS] = json.dumps(dict(self.options))
        return env

    def sqlalchemy_url(self) -> URL:
        if self.kind == "sqlite":
            return URL.create("sqlite", database=str(self.sqlite_path))
        return URL.create("postgresql+psycopg", username=self.user,
                          password=self.password or None, host=self.host, port=self.port,
                          database=self.dbname,
                          query={"connect_timeout": CONNECT_TIMEOUT, **dict(self.options)})

    def redacted(self) -> str:
        """For messages and logs: never show a password."""
        if self.kind == "postgres" and self.password:
            return make_url(self.url).render_as_string(hide_password=True)
        return self.url


def masked(url: str) -> str:
    """A URL SQLAlchemy could not read, its password (if it has one) hidden all the same."""
    return re.sub(r"(://[^:/@]*:).*@", r"\1***@", url)
