"""What every part of the command line shares: the global options, consoles, errors."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from syncledger.domain.context import SYSTEM_ACTOR

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Settings:
    store: str | None = None
    actor: str = SYSTEM_ACTOR


settings = Settings()


class UserError(Exception):
    """A mistake the user can fix: one line on stderr, exit 2."""


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def progress_bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err,
                    transient=True, disable=not err.is_terminal)
