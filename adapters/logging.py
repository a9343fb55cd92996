"""structlog, configured once: JSON lines when not on a terminal, and never a secret.

Our own log lines go through structlog; the standard-library records of our dependencies
(urllib3, requests, psycopg, simple-salesforce, ...) and `warnings` are routed through
structlog's ProcessorFormatter, so the same redaction reaches them: secret-named keys at any
depth of nested dicts and lists, and secrets inside text (query strings such as
`?access_token=...`, `refresh_token=`, `password=`, `token=`, JSON or dict reprs, an
`Authorization` or `x-api-token` header)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(
    r"(token|password|passwd|secret|authorization|api_key|apikey|session_id|sessionid|"
    r"cookie|key)$", re.IGNORECASE)
REDACTED = "***"

# Names whose value is a secret, as query parameters, headers, JSON or dict keys.
_NAMES = (r"(?:access_token|refresh_token|id_token|api_token|x-api-token|x-api-key|api_key|"
          r"apikey|client_secret|code_verifier|session_id|sessionid|password|passwd|secret|"
          r"token|sid)")
# An Authorization header (or key) with its scheme: the credentials after it go.
_AUTHORIZATION = re.compile(
    r"""(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Token|OAuth|Digest)"""
    r"""\s+)?)[^\s"',}&]+""", re.IGNORECASE)
_BEARER = re.compile(r"(\bBearer\s+)[^\s\"',}&]+", re.IGNORECASE)
# `name=value` (a query string, a form body), `name: value` (a header), `"name": "value"`
# (JSON) or `'name': 'value'` (a dict repr); `\b` keeps `token` from matching inside
# `access_token` or a word such as `tokens`.
_NAMED = re.compile(
    rf"""((?<![\w-]){_NAMES}["']?\s*(?:=|:\s*)["']?)[^\s"'&,;}}\])]+""", re.IGNORECASE)


def redact_text(text: str) -> str:
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _NAMED.sub(lambda m: m.group(1) + REDACTED, text)


def redact_value(value: Any) -> Any:
    """A copy of `value` without secrets: dicts and lists at any depth, text inside."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(key, str) and SECRET_KEYS.search(key)
                else redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(item) for item in value]
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    return value


def redact_secrets(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]
                   ) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key.startswith("_"):  # ProcessorFormatter's own (the LogRecord): never rendered
            continue
        if key != "event" and SECRET_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(value)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the sys.stderr of the moment (a test, or a redirect, replaces it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER_NAME = "syncledger"


def configure_logging(level: int = logging.WARNING) -> None:
    renderer: Any = (structlog.dev.ConsoleRenderer() if sys.stderr.isatty()
                     else structlog.processors.JSONRenderer())
    structlog.configure(
        # Tracebacks become text before the redaction, so it reaches them too.
        processors=[structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"),
                    structlog.processors.format_exc_info, redact_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The standard library's records (our dependencies'), through the same redaction.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                           structlog.processors.TimeStamper(fmt="iso")],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, redact_secrets, renderer])
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Configured again (a test, a second entry point): one handler of ours, never two.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # warnings.warn (urllib3's InsecureRequestWarning, ...) becomes a record of its own.
    logging.captureWarnings(True)
