"""structlog, configured once: JSON lines when not on a terminal, and never a secret."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"(token|password|secret|authorization|api_key|session_id|key)$",
                         re.IGNORECASE)
SECRET_VALUES = re.compile(r"(Bearer\s+)\S+|(password=)[^&\s]+|(access_token=)[^&\s]+",
                           re.IGNORECASE)
REDACTED = "***"


def redact_secrets(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]
                   ) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if SECRET_KEYS.search(key) and key != "event":
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = SECRET_VALUES.sub(
                lambda m: (m.group(1) or m.group(2) or m.group(3)) + REDACTED, value)
    return event_dict


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
