"""Creating and dropping a PostgreSQL database of a test's own, with a random name."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest

POSTGRES = os.environ.get("SYNCLEDGER_TEST_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/test")


def postgres_listening() -> bool:
    parts = urlsplit(POSTGRES)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432),
                                      timeout=1):
            return True
    except OSError:
        return False


def _admin_url() -> str:
    return POSTGRES.replace("postgresql+psycopg://", "postgresql://")


def create_postgres_database() -> str:
    name = f"syncledger_test_{secrets.token_hex(6)}"
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(_admin_url())
    return parts._replace(path=f"/{name}").geturl()


def drop_postgres_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of the test's own, dropped after; the test is skipped without a server."""
    if not postgres_listening():
        pytest.skip("no PostgreSQL listening")
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)
