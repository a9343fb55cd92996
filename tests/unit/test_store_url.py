"""Store URLs are read and written with SQLAlchemy's URL type: encoded passwords, options
and redaction come out right, and a bad URL is one line."""

from __future__ import annotations

import pytest

from syncledger.adapters.store_url import StoreURL, StoreURLError


def test_a_password_with_at_and_slash_reaches_both_connections_unchanged() -> None:
    store = StoreURL.parse("postgresql://us%40er:p%40ss%2Fw%3Ard@db.example:6543/crm"
                           "?sslmode=require")
    assert (store.user, store.password, store.host, store.port, store.dbname) == \
        ("us@er", "p@ss/w:rd", "db.example", 6543, "crm")
    assert store.options == (("sslmode", "require"),)
    url = store.sqlalchemy_url()
    assert (url.username, url.password, url.host, url.port, url.database) == \
        ("us@er", "p@ss/w:rd", "db.example", 6543, "crm")
    assert url.query["sslmode"] == "require"
    env = store.eventsourcing_env()
    assert (env["POSTGRES_HOST"], env["POSTGRES_PASSWORD"]) == ("db.example", "p@ss/w:rd")
    assert '"sslmode": "require"' in env["SYNCLEDGER_POSTGRES_OPTIONS"]


def test_the_redacted_url_hides_the_password_however_it_is_encoded() -> None:
    shown = StoreURL.parse("postgresql://u:p%40ss%2Fw@h/db?sslmode=require").redacted()
    assert shown == "postgresql://u:***@h/db?sslmode=require"
    assert "ss" not in shown.replace("sslmode", "")
    assert StoreURL.parse("postgresql://u@h/db").redacted() == "postgresql://u@h/db"


def test_defaults_and_spellings() -> None:
    store = StoreURL.parse("postgresql+psycopg:///db")
    assert (store.host, store.port, store.user, store.password) == \
        ("127.0.0.1", 5432, "postgres", "")
    assert StoreURL.parse("postgres://u@h/db").kind == "postgres"
    sqlite = StoreURL.parse("sqlite:///relative/store.db")
    assert sqlite.kind == "sqlite" and sqlite.sqlite_path is not None
    assert sqlite.sqlite_path.is_absolute() and sqlite.sqlite_path.name == "store.db"


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://x", "expected sqlite:///FILE or postgresql://"),
    ("not a url", "not a URL"),
    ("postgresql://postgres@127.0.0.1:99999/test", "port 99999 is not a port (1 to 65535)"),
    ("postgresql://postgres@127.0.0.1:0/test", "port 0 is not a port"),
    ("postgresql://postgres@127.0.0.1:abc/test", "the port is not a number"),
    ("postgresql://postgres@127.0.0.1:5432/te%00st", "the URL holds a NUL character (%00)"),
    ("sqlite:///x%00y.db", "the URL holds a NUL character (%00)"),
    ("postgresql://u:se%00cret@h/db", "the URL holds a NUL character (%00)"),
    ("postgresql://postgres@127.0.0.1:5432/", "the URL names no database"),
    ("postgresql://u@h/db?nosuchoption=1", 'invalid connection option "nosuchoption"'),
    ("postgresql://u@h/db?sslmode=require&sslmode=disable", "option sslmode is given twice"),
    ("sqlite://", "give a file"),
    ("sqlite:///:memory:", "give a file"),
    ("sqlite://host/store.db", "three slashes"),
    ("sqlite:///store.db?mode=ro", "takes no options"),
])
def test_a_bad_url_is_one_line(url: str, message: str) -> None:
    with pytest.raises(StoreURLError) as raised:
        StoreURL.parse(url)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("url", ["postgresql://u:p@ss@h/db", "postgresql://u:s3cret@h:x/db",
                                 "postgresql://u:s3cret@h/db?bad=1"])
def test_no_error_shows_a_password(url: str) -> None:
    with pytest.raises(StoreURLError) as raised:
        StoreURL.parse(url)
    assert "s3cret" not in str(raised.value) and "p@ss" not in str(raised.value)
    assert "***" in str(raised.value)
