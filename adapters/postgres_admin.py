"""Databases of their own on a PostgreSQL server, created with a random name and dropped
after, so that test runs and benchmarks never see each other's leftovers."""

from __future__ import annotations

import secrets
import socket
from urllib.parse import urlsplit

import psycopg


def admin_url(url: str) -> str:
    """The URL as psycopg takes it (SQLAlchemy's driver suffix removed)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def listening(url: str) -> bool:
    """Whether anything accepts connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432),
                                      timeout=1):
            return True
    except OSError:
        return False


def create_database(server: str, prefix: str) -> str:
    """A new, empty database on `server` (any database URL there); returns its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url(server), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(admin_url(server))._replace(path=f"/{name}").geturl()


def drop_database(server: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
