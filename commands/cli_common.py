"""What every part of the command line shares: the global options, consoles, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from syncledger.domain.context import SYSTEM_ACTOR

# No console markup: what is printed holds values from the CRM, the app and the log, and a
# value in brackets (a forgotten person's "[forgotten]") would be read as a style and vanish.
out = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)


class Settings:
    store: str | None = None
    actor: str = SYSTEM_ACTOR


settings = Settings()


class UserError(Exception):
    """A mistake the user can fix: one line on stderr, exit 2."""


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def steps_progress(console: Console = err) -> Iterator[Callable[[str, int], None]]:
    """A bar per step of a sync run, counting the records it decided (how many there are
    is known only once the CRM's pages have come)."""
    bars = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                    TextColumn("{task.completed:,.0f} records"), console=console,
                    transient=True, disable=not console.is_terminal)
    tasks: dict[str, TaskID] = {}

    def advanced(label: str, records: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(label, total=None)
        bars.advance(tasks[label], records)

    with bars:
        yield advanced


def progress_bar(label: str) -> Progress:
    return Progress(TextColumn(label, markup=False), BarColumn(), MofNCompleteColumn(), console=err,
                    transient=True, disable=not err.is_terminal)
