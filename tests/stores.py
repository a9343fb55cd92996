"""Creating and dropping a PostgreSQL database of a test's own, with a random name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from syncledger.adapters.postgres_admin import create_database, drop_database, listening

POSTGRES = os.environ.get("SYNCLEDGER_TEST_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/test")
# The reason every PostgreSQL test gives when it skips; under CI=true such a skip is a
# failure (tests/conftest.py), so a CI machine whose server did not start cannot pass.
NO_POSTGRES = "no PostgreSQL listening"
POSTGRES_REQUIRED = os.environ.get("CI", "").lower() == "true"


def postgres_listening() -> bool:
    return listening(POSTGRES)


def create_postgres_database() -> str:
    return create_database(POSTGRES, "syncledger_test")


def drop_postgres_database(url: str) -> None:
    drop_database(POSTGRES, url)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of the test's own, dropped after; the test is skipped without a server."""
    if not postgres_listening():
        pytest.skip(NO_POSTGRES)
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)
