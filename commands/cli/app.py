"""The `syncledger` command line: parses arguments, calls one handler, prints the answer.

Errors a user can fix are caught here, once, and become one line on stderr and exit 2."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from syncledger.adapters.logging import configure_logging
from syncledger.commands.cli import config, keys, replay, sync
from syncledger.commands.cli.common import (
    CRM,
    FAILED,
    INVALID,
    JSON_OPTION,
    LAST_HELP,
    SINCE_HELP,
    UserError,
    err,
    json_requested,
    out,
    print_json,
    progress_bar,
    report_error,
    settings,
    since_time,
)
from syncledger.domain.context import SYSTEM_ACTOR

app = typer.Typer(no_args_is_help=True, add_completion=True,
                  help="Event-sourced two-way sync between a sales-engagement app and CRMs.")
app_data = typer.Typer(no_args_is_help=True, help="App-side data: import people and actions.")
people = typer.Typer(no_args_is_help=True, help="The people view.")
emulator = typer.Typer(no_args_is_help=True, help="Local CRM emulators for demos and tests.")
app.add_typer(app_data, name="app")
app.add_typer(people, name="people")
app.add_typer(emulator, name="emulator")

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
              "error": logging.ERROR}


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("syncledger")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "unknown (not installed)"
        out.print(f"syncledger {number}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    store: str = typer.Option(None, "--store", help="Store URL (default: SYNCLEDGER_STORE, "
                              "else sqlite:///syncledger.db)"),
    actor: str = typer.Option(None, "--as", help="The team member running the command "
                              "(default: SYNCLEDGER_ACTOR, else system)"),
    log_level: str = typer.Option(None, "--log-level", envvar="SYNCLEDGER_LOG_LEVEL",
                                  metavar="LEVEL", help="debug, info, warning (the default) "
                                  "or error; log lines go to stderr (default: "
                                  "SYNCLEDGER_LOG_LEVEL)"),
    _show_version: bool = typer.Option(False, "--version", is_eager=True,
                                       callback=_version, help="print the version and exit"),
) -> None:
    settings.store = store
    settings.actor = actor or os.environ.get("SYNCLEDGER_ACTOR") or SYSTEM_ACTOR
    if log_level is not None:
        level = LOG_LEVELS.get(log_level.strip().lower())
        if level is None:
            raise UserError(f"--log-level {log_level}: expected "
                            f"{', '.join(LOG_LEVELS)} (or SYNCLEDGER_LOG_LEVEL)")
        configure_logging(level)


@app_data.command("import")
def app_import(file: Path = typer.Argument(..., help="JSON Lines file"),
               as_json: bool = JSON_OPTION) -> None:
    """Record app-side data and actions (team members, people, activities, ...)."""
    from syncledger.commands.app_import import import_file, validate
    from syncledger.commands.session import store_session

    if not file.is_file():
        raise UserError(f"{file}: no such file")
    _, total = validate(file)
    with store_session(settings.store) as store, progress_bar("importing") as bar:
        task = bar.add_task("import", total=total)
        summary = import_file(store, file, settings.actor,
                              progress=lambda n: bar.advance(task, n))
    result = {"import": summary.import_id, "lines": summary.lines,
              "already_imported": summary.already_imported, "recorded": summary.recorded,
              "skipped": summary.skipped}
    if as_json:
        print_json(result)
        return
    if summary.already_imported:
        out.print(f"{file}: already imported (import {summary.import_id}); nothing recorded")
        return
    recorded = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.recorded.items()))
    out.print(f"{file}: {summary.lines} lines; recorded {recorded or 'nothing new'}")
    for skip in summary.skipped[:20]:
        out.print(f"  skipped line {skip['line']}: {skip['reason']}")
    if len(summary.skipped) > 20:
        out.print(f"  ... and {len(summary.skipped) - 20} more skipped lines")


@people.command("list")
def people_list(linked: str = typer.Option(None, "--linked",
                                           help="salesforce, pipedrive or none"),
                as_json: bool = JSON_OPTION) -> None:
    """Every person in the app, with owner, status and CRM links."""
    from syncledger.commands import views
    from syncledger.commands.session import caught_up, store_session

    if linked not in (None, "salesforce", "pipedrive", "none"):
        raise UserError(f"--linked {linked}: expected salesforce, pipedrive or none")
    with store_session(settings.store) as store:
        rows = views.people(caught_up(store), linked)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "email", "name", "account", "owner", "status", "links")
    for row in rows:
        name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
        links = ", ".join(f"{link['object']} {link['id']}" for link in row["links"])
        table.add_row(row["id"], row["email"], name, row["account"] or "",
                      row["owner"] or "", row["status"] or "", links)
    out.print(table)
    out.print(f"{len(rows)} people")


@people.command("show")
def people_show(key: str = typer.Argument(..., help="app id, email or CRM id"),
                as_json: bool = JSON_OPTION) -> None:
    """One person."""
    from syncledger.commands import views
    from syncledger.commands.session import caught_up, store_session

    with store_session(settings.store) as store:
        row = views.person(caught_up(store), key)
    if as_json:
        print_json(row)
        return
    for name, value in row.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        out.print(Text.assemble((name, "bold"), f": {shown}"))


@app.command("history")
def history_command(key: str = typer.Argument(..., help="app id (a person's or an "
                                              "activity's), email, CRM id, integration:CRM "
                                              "or run:RUN_ID"),
                    last: int = typer.Option(None, "-n", "--last", metavar="N", min=1,
                                             help=LAST_HELP),
                    since: str = typer.Option(None, "--since", help="events recorded since "
                                              f"then: {SINCE_HELP}"),
                    actor: str = typer.Option(None, "--actor", help="events of this team "
                                              "member (or system)"),
                    run: str = typer.Option(None, "--run", help="events this sync run "
                                            "caused"),
                    as_json: bool = JSON_OPTION) -> None:
    """The change trail of one record, oldest first."""
    from syncledger.commands import views
    from syncledger.commands.session import caught_up, store_session

    after = since_time(since, datetime.now(UTC)) if since else None
    with store_session(settings.store) as store:
        entries = [entry for entry in views.history(caught_up(store), key)
                   if (after is None or entry["time"] >= after)
                   and (actor is None or entry["actor"] == actor)
                   and (run is None or entry["cause"] == f"run:{run}")]
    if last is not None:
        entries = entries[-last:]
    if as_json:
        print_json(entries)
        return
    if not entries:
        out.print(f"no events of {key} match --since, --actor or --run", highlight=False)
        return
    table = Table("position", "time", "type", "cause", "actor", "data")
    for entry in entries:
        table.add_row(str(entry["position"]), entry["time"][:19], entry["type"],
                      entry["cause"] or "", entry["actor"] or "",
                      _data_shown(entry["data"]))
    out.print(table)


def _data_shown(data: dict[str, Any]) -> str:
    """An event's data as the trail's table shows it: the facts it holds, not the fields it
    leaves empty (a record the sync created says what it wrote after its ids, not after a
    row of nulls); --json gives every field."""
    held = {name: value for name, value in data.items() if value is not None}
    return json.dumps(held, default=str)[:DATA_SHOWN]


DATA_SHOWN = 200  # characters of an event's data in the trail's table


@app.command("rebuild")
def rebuild_command(projection: str = typer.Argument(None, help="one projection "
                                                     "(default: all)"),
                    as_json: bool = JSON_OPTION) -> None:
    """Rebuild read models from position 0 into shadow tables, then swap them in."""
    from syncledger.commands import views
    from syncledger.commands.session import store_session

    with store_session(settings.store) as store:
        total = store.recorder.max_notification_id() or 0
        with progress_bar("rebuilding") as bar:
            task = bar.add_task("rebuild", total=total)
            names, read = views.rebuild(store, projection,
                                        progress=lambda n: bar.advance(task, n))
    if as_json:
        print_json({"projections": names, "events": read})
        return
    out.print(f"rebuilt {', '.join(names)} from {read} events")


@app.command("verify")
def verify_command(expect: str = typer.Option(
        None, "--expect", help="a head hash recorded elsewhere: passes when it is a seal of "
        "the chain (saying how many saves came after it), fails when it is not (a deleted "
        "tail, or a rewritten log)"),
        as_json: bool = JSON_OPTION) -> None:
    """Recompute the ledger seals; exit 1 naming the first broken one."""
    from syncledger.commands import views
    from syncledger.commands.session import store_session

    with store_session(settings.store) as store:
        total = store.recorder.max_notification_id() or 0
        with progress_bar("verifying") as bar:
            task = bar.add_task("verify", total=total)
            result = views.verify(store, progress=lambda n: bar.advance(task, n),
                                  expect=expect)
    missing = expect is not None and result.expected_seal is None
    if as_json:
        print_json({"ok": not result.broken and not missing, "seals": result.seals,
                    "events": result.events, "head": result.head, "broken": result.broken,
                    "expect": expect, "expected_seal": result.expected_seal,
                    "saves_after": result.saves_after})
        if result.broken or missing:
            raise typer.Exit(FAILED)
        return
    if result.broken:
        err.print(f"broken: {result.broken}")
        raise typer.Exit(FAILED)
    if missing:
        err.print(f"the expected head {expect} is no seal of this log (head {result.head}, "
                  f"{result.seals} seals): its tail was deleted or the log was rewritten")
        raise typer.Exit(FAILED)
    out.print(f"{result.seals} seals over {result.events} events verified")
    out.print(f"head {result.head}")
    if expect is not None:
        after = result.saves_after
        out.print(f"expected head found: seal {result.expected_seal}, {after} "
                  f"{'save' if after == 1 else 'saves'} after it")


@app.command("forget")
def forget_command(key: str = typer.Argument(..., help="app id, email or CRM id"),
                   yes: bool = typer.Option(False, "--yes", help="do not ask"),
                   as_json: bool = JSON_OPTION) -> None:
    """Crypto-shred one person's personal data (their key is destroyed)."""
    from syncledger.commands.forget import find_person_id, forget
    from syncledger.commands.session import store_session

    with store_session(settings.store) as store:
        person_id = find_person_id(store, key)
        # Asked on stderr: stdout stays the answer (JSON under --json).
        if not yes and not typer.confirm(f"Forget {key} for good? Their personal data in "
                                         "this log can never be read again", default=False,
                                         err=True):
            raise typer.Abort()
        result = forget(store, person_id, settings.actor)
    if as_json:
        print_json({"person": result.person, "keys": result.keys,
                    "crm_copies": result.crm_copies})
        return
    out.print(f"forgot {result.person}: {result.keys} key(s) destroyed; the people view, "
              "history, replays and rebuilds now show [forgotten]")
    for copy in result.crm_copies:
        out.print(f"not reached: {copy['crm']} {copy['object']} {copy['id']} "
                  f"({copy['url'] or 'no link'}) keeps its own copy: erase it in the CRM")


@emulator.command("serve")
def emulator_serve(crm: str = typer.Option(..., "--crm", help="salesforce or pipedrive"),
                   port: int = typer.Option(0, "--port"),
                   data: Path = typer.Option(None, "--data", help="JSON to load")) -> None:
    """Serve a CRM emulator on loopback; the first stdout line says where."""
    from syncledger.emulator.server import serve_forever

    if crm not in ("salesforce", "pipedrive"):
        raise UserError(f"--crm {crm}: expected salesforce or pipedrive")
    loaded = None
    if data is not None:
        try:
            loaded = json.loads(data.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise UserError(f"{data}: {error}") from None
    serve_forever(crm, port, loaded)


@app.command("demo")
def demo_command(directory: Path = typer.Option(Path("demo"), "--dir",
                                                help="where the demo store goes"),
                 crm: str = typer.Option("salesforce", "--crm",
                                         help="salesforce or pipedrive")) -> None:
    """The tour: a Salesforce (or Pipedrive) emulator with generated data, an app import, a
    sync under each profile, then the Logs and a few linked people (the store stays in
    --dir)."""
    from syncledger.commands.cli.demo import run_demo

    if crm not in ("salesforce", "pipedrive"):
        raise UserError(f"--crm {crm}: expected salesforce or pipedrive")
    run_demo(directory, out, crm)


@app.command("web")
def web_command(port: int = typer.Option(8765, "--port"),
                bind: str = typer.Option("127.0.0.1", "--bind", help="the address to listen "
                                         "on; off loopback a token is required (printed "
                                         "once at start)")) -> None:
    """A read-only web view: the Runs, a run's records, a person's trail and explanations,
    the integration, and /metrics for Prometheus."""
    from syncledger.commands.session import store_session
    from syncledger.commands.web.security import BindRefused
    from syncledger.commands.web.server import serve

    with store_session(settings.store) as store:
        try:
            serve(store, bind, port, lambda line: out.print(line, highlight=False))
        except BindRefused as refused:
            raise UserError(str(refused)) from None


# Each area of the command line registers its own commands (one module each).
for area in (config, sync, replay, keys):
    area.register(app)


def user_errors() -> tuple[type[Exception], ...]:
    """Mistakes a user can fix, from any layer: one line on stderr, exit 2 (the replay
    tools' are replay.user_errors())."""
    from syncledger.adapters.credentials import CredentialsError
    from syncledger.adapters.crm_errors import CrmError
    from syncledger.adapters.store_url import StoreURLError
    from syncledger.commands.import_format import ImportLineError
    from syncledger.replay.history import UnknownRecord

    return (UserError, ImportLineError, StoreURLError, UnknownRecord, CredentialsError,
            CrmError)


def main() -> None:
    configure_logging()
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as error:
        report_error(str(error), error.exit_code)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        report_error("aborted: nothing done", FAILED)
        sys.exit(FAILED)
    except Exception as error:
        exit_code = _reported(error)
        if exit_code is None:
            raise
        sys.exit(exit_code)


def _reported(error: Exception) -> int | None:
    """Report a usage error, or an error the user can fix, and give its exit code; None for
    any other (a bug: its traceback is shown)."""
    # Typer vendors click (typer._click) since 0.20, so `import click` may fail: a
    # ClickException (a usage error) is known by its show() and exit_code.
    show = getattr(error, "show", None)
    if callable(show) and isinstance(getattr(error, "exit_code", None), int):
        if json_requested():
            formatted = getattr(error, "format_message", None)
            report_error(str(formatted() if callable(formatted) else error), INVALID)
        else:
            show()
        return INVALID
    # The kinds are imported only once an error has come, and the replay tools' last: theirs
    # bring in the whole of a run's replay, which another command's error need not wait for.
    from syncledger.adapters.credentials import CredentialsError, KeyEncryptionError
    from syncledger.adapters.crm_errors import CrmError

    if isinstance(error, KeyEncryptionError):  # the key outside the store: the user's to fix
        exit_code = INVALID
    # The CRM did not answer or refused, or its credentials are missing or unusable: exit 3.
    elif isinstance(error, (CrmError, CredentialsError)):
        exit_code = CRM
    elif any(isinstance(error, kinds()) for kinds in (user_errors, replay.user_errors)):
        exit_code = INVALID
    else:
        return None
    report_error(str(error), exit_code)
    return exit_code
