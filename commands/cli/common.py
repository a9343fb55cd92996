"""What every part of the command line shares: the global options, consoles, errors and
exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from syncledger.domain.context import SYSTEM_ACTOR

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

# No console markup: what is printed holds values from the CRM, the app and the log, and a
# value in brackets (a forgotten person's "[forgotten]") would be read as a style and vanish.
out = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)


class Settings:
    store: str | None = None
    actor: str = SYSTEM_ACTOR


settings = Settings()


# Exit codes, one scheme for every command (README, "Exit codes").
OK = 0
FAILED = 1  # a run failed, a replay differs, a seal is broken, a check did not pass
INVALID = 2  # usage or invalid input
CRM = 3  # the CRM did not answer or refused, or its credentials are missing or unusable
BUSY = 4  # another run holds the run lock

# The `code` of a JSON error on stderr, by exit code.
ERROR_CODES = {FAILED: "failed", INVALID: "invalid", CRM: "crm", BUSY: "busy"}


class UserError(Exception):
    """A mistake the user can fix: one line on stderr, exit 2."""

    exit_code = INVALID


class CrmProblem(UserError):
    """The CRM did not answer, refused us, or is not connected: one line, exit 3."""

    exit_code = CRM


class Busy(UserError):
    """Another run holds the run lock: nothing is wrong, it is not this one's turn (exit 4)."""

    exit_code = BUSY


# `--json` on every command that prints: a flag (no value; `--json true` is refused).
JSON_OPTION = typer.Option(False, "--json", help="print JSON on stdout (errors as JSON on "
                           "stderr)")


def _flags_shown_as_flags() -> None:
    """Typer's rich help gives every option a type column, flags included (`--json <bool>`,
    `--help <bool>`), which reads as if the flag took a value; a flag takes none, so it
    shows none. Only the help's rendering is touched (the parser already knows a flag)."""
    option = getattr(getattr(typer, "core", None), "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None or getattr(shown, "_flags_plain", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._flags_plain = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


_flags_shown_as_flags()


def json_requested(argv: list[str] | None = None) -> bool:
    """Whether the command line asked for JSON (errors then go as JSON on stderr too); read
    from the arguments, since an error may come before any option is parsed."""
    args = sys.argv[1:] if argv is None else argv
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def report_error(message: str, exit_code: int) -> None:
    """One line on stderr: `syncledger: MESSAGE`, or under --json
    `{"error": MESSAGE, "code": "invalid"|"crm"|"busy"|"failed", "exit_code": N}`."""
    if json_requested():
        sys.stderr.write(json.dumps({"error": message,
                                     "code": ERROR_CODES.get(exit_code, "failed"),
                                     "exit_code": exit_code}) + "\n")
    else:
        for line in message.splitlines() or [""]:  # several problems: one a line
            err.print(f"syncledger: {line}", highlight=False)


SINCE_HELP = ("a time (ISO 8601, UTC when no offset; a date: from its start) or a duration "
              "back from now (30m, 2h, 7d)")
LAST_HELP = "only the last N (the newest)"


def since_time(text: str, now: datetime) -> str:
    """`--since`: an ISO date or time, or a duration back from now, as the UTC ISO text the
    views store their times in (so that it compares as text)."""
    from syncledger.domain.schedule import parse_every

    value = text.strip()
    try:
        return (now - parse_every(value)).astimezone(UTC).isoformat()
    except ValueError:
        pass
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--since {text}: expected a time (2026-11-20T10:00:00Z), a date "
                        "(2026-11-20) or a duration back from now (30m, 2h, 7d)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_json_line(data: Any) -> None:
    """One JSON object a line (a stream of events, as `schedule --json` prints them)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def steps_progress(console: Console = err) -> Iterator[Callable[[str, int], None]]:
    """A bar per step of a sync run, counting the records it decided (how many there are
    is known only once the CRM's pages have come)."""
    from rich.progress import BarColumn, Progress, TextColumn

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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn(label, markup=False), BarColumn(), MofNCompleteColumn(), console=err,
                    transient=True, disable=not err.is_terminal)
