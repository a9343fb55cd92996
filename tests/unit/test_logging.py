"""The structlog configuration: JSON lines off a terminal, and no secret in them, not even
in a traceback."""

from __future__ import annotations

import json

import pytest
import structlog

from syncledger.adapters.logging import configure_logging


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
