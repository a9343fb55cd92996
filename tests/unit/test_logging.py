"""The structlog configuration: JSON lines off a terminal, and no secret in them, not even
in a traceback."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator

import pytest
import structlog

from syncledger.adapters.logging import configure_logging, redact_text


def test_log_lines_are_json_and_redact_secrets_also_in_tracebacks(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Configured in the test itself: the logger prints to the stderr of the moment, and
    # pytest gives a test's body a stderr of its own.
    configure_logging()
    try:
        log = structlog.get_logger("test")
        try:
            raise RuntimeError("refused: Authorization: Bearer 00Dq7WxK!AQ")
        except RuntimeError:
            log.error("sync run failed", run_id="r1", access_token="tok-123", exc_info=True)
        log.info("below the level: not printed")
    finally:
        structlog.reset_defaults()
    [line] = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert (entry["event"], entry["level"], entry["run_id"]) == ("sync run failed", "error", "r1")
    assert entry["access_token"] == "***"
    assert "RuntimeError" in entry["exception"] and "Bearer ***" in entry["exception"]
    assert "q7WxK" not in line and "tok-123" not in line


@pytest.fixture
def configured() -> Iterator[None]:
    """The logging configuration as it was, after a test that calls configure_logging()
    (in its body: structlog's printer keeps the stderr of the moment it is configured)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.reset_defaults()
        logging.captureWarnings(False)
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_dependency_s_stdlib_record_goes_through_the_redaction(
        configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying after connection broken: /services/oauth2/token?grant_type=refresh_token"
        "&refresh_token=5Aep861rT&access_token=abc&client_id=cid")
    logging.getLogger("requests").warning("sent %s", {"headers": {
        "Authorization": "Bearer 00Dq7WxK!AQ", "x-api-token": "pd-tok-9"}, "page": 2})
    logging.getLogger("psycopg").info("below the level: not printed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["logger"] == "urllib3.connectionpool" and first["level"] == "warning"
    assert "refresh_token=***" in first["event"] and "access_token=***" in first["event"]
    assert "grant_type=refresh_token" in first["event"] and "client_id=cid" in first["event"]
    for secret in ("5Aep861rT", "abc&", "q7WxK", "pd-tok-9"):
        assert secret not in "\n".join(lines)
    assert "'page': 2" in second["event"]


def test_warnings_and_nested_values_are_redacted(
        configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the suite's own filter makes warnings errors
        warnings.warn("Unverified request to https://x.example/v1/persons?api_token=pd-77",
                      stacklevel=1)
    structlog.get_logger("test").warning(
        "call", request={"params": {"token": "t-1", "password": "pw-2", "limit": 5},
                         "url": "https://h/?password=pw-3&token=t-4", "list": ["Bearer b-5"]})
    out = capsys.readouterr().err
    for secret in ("pd-77", "t-1", "pw-2", "pw-3", "t-4", "b-5"):
        assert secret not in out
    entry = json.loads(out.splitlines()[-1])
    assert entry["request"]["params"] == {"token": "***", "password": "***", "limit": 5}
    assert entry["request"]["url"] == "https://h/?password=***&token=***"


@pytest.mark.parametrize(("text", "expected"), [
    ("GET /q?access_token=abc&x=1", "GET /q?access_token=***&x=1"),
    ('{"refresh_token": "r-1", "instance_url": "u"}', '{"refresh_token": "***", '
     '"instance_url": "u"}'),
    ("Authorization: Basic dXNlcjpwdw==", "Authorization: Basic ***"),
    ("x-api-token: pd-1", "x-api-token: ***"),
    ("password=hunter2 token=t", "password=*** token=***"),
    ("3 tokens left; tokenize", "3 tokens left; tokenize"),
])
def test_secrets_inside_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected
