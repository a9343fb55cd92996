"""The command line for sync, logs and status (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from syncledger.commands import views
from syncledger.commands.cli_common import UserError, out, print_json, settings
from syncledger.commands.session import caught_up, store_session
from syncledger.domain.sync_run import COUNT_KINDS


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("logs")(logs_command)


def sync_command(as_json: bool = typer.Option(False, "--json"),
                 full: bool = typer.Option(False, "--full",
                                           help="make every record due"),
                 record: str = typer.Option(None, "--record",
                                            help="sync one person now (app id, email or "
                                                 "CRM id)"),
                 crm: str = typer.Option("salesforce", "--crm")) -> None:
    """Run every enabled step once ("Sync now")."""
    from syncledger.commands.forget import find_person_id
    from syncledger.commands.sync import SyncRefused, run_sync

    with store_session(settings.store) as store:
        only = {find_person_id(store, record)} if record else None
        try:
            report = run_sync(store, settings.actor, datetime.now(UTC), full=full, only=only,
                              crm=crm)
        except SyncRefused as refused:
            raise UserError(str(refused)) from None
    result = {"run_id": report.run_id, "outcome": report.outcome, "counts": report.counts,
              "skip_reasons": report.skip_reasons, "errors": report.errors,
              "notes": report.notes, "interrupted": report.interrupted}
    if as_json:
        print_json(result)
    else:
        if report.interrupted:
            out.print(f"run {report.interrupted} had died; closed as interrupted")
        out.print(f"run {report.run_id}: {report.outcome}")
        _print_run(result)
    if report.outcome == "failed":
        raise typer.Exit(1)


def logs_command(run: str = typer.Option(None, "--run", help="one run"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """The Logs: every run, newest first, with counts, skip reasons and errors."""
    with store_session(settings.store) as store:
        runs = views.logs(caught_up(store), run)
    if run and not runs:
        raise UserError(f"no run {run!r}")
    if as_json:
        print_json(runs)
        return
    for entry in runs:
        out.print(f"[bold]run {entry['run_id']}[/bold] {entry['started_at'][:19]} "
                  f"{entry['outcome']}")
        _print_run(entry)


def _print_run(entry: dict[str, Any]) -> None:
    table = Table("kind", "created", "updated", "skipped", "failed")
    for kind in COUNT_KINDS:
        counts = entry["counts"][kind]
        if any(counts.values()):
            table.add_row(kind, *(str(counts[k]) for k in ("created", "updated", "skipped",
                                                          "failed")))
    out.print(table)
    for reason, count in sorted(entry["skip_reasons"].items(), key=lambda kv: -kv[1]):
        out.print(f"  skipped {count}: {reason}")
    for error in entry["errors"][:20]:
        record = error["record"]
        out.print(f"  error {error['code']}: {error['message']} (step {error['step']}, "
                  f"app {record['app']}, crm {record['crm']})")
    for note in entry.get("notes", [])[:10]:
        out.print(f"  note: {note}")
