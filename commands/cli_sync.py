"""The command line for sync, logs and status (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from syncledger.commands import views
from syncledger.commands.cli_common import (
    UserError,
    out,
    print_json,
    settings,
    steps_progress,
)
from syncledger.commands.session import caught_up, store_session
from syncledger.domain.sync_run import COUNT_KINDS
from syncledger.projections.logs import public_error


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("logs")(logs_command)
    app.command("status")(status_command)
    app.command("schedule")(schedule_command)


def status_command(as_json: bool = typer.Option(False, "--json"),
                   crm: str = typer.Option("salesforce", "--crm")) -> None:
    """Health: connection, last and next run, failing steps, API calls used today."""
    from syncledger.commands.status import status

    with store_session(settings.store) as store:
        health = status(caught_up(store), crm, datetime.now(UTC))
    if as_json:
        print_json(health)
        return
    connection = health["connection"]
    if connection is None or not connection["connected"]:
        out.print(f"{crm}: not connected (syncledger connect {crm})")
    else:
        out.print(f"{crm}: connected to org {connection['org_id']} "
                  f"({connection['environment']}) as {connection['connected_user']}")
    out.print(f"integration {'enabled' if health['enabled'] else 'disabled'}")
    last = health["last_run"]
    out.print("last run: " + (f"{last['run_id']} {last['started_at'][:19]} {last['outcome']}"
                              if last else "none"))
    out.print(f"next run: {health['next_run'] or 'not scheduled'}")
    out.print(f"failing steps: {', '.join(health['failing_steps']) or 'none'}")
    out.print(f"API calls today: {health['api_calls_today']} "
              f"(budget {health['api_budget']} of the org's daily limit)")


def schedule_command(every: str = typer.Option(None, "--every",
                                               help="e.g. 2h (default: the configuration's)"),
                     on_failure: str = typer.Option(
                         None, "--on-failure",
                         help="a shell command run when a run fails or cannot start; it gets "
                              "SYNCLEDGER_RUN_ID, SYNCLEDGER_OUTCOME (failed or refused) "
                              "and SYNCLEDGER_REASON"),
                     follow: int = typer.Option(30, "--follow-seconds", hidden=True),
                     max_runs: int = typer.Option(None, "--max-runs", hidden=True)) -> None:
    """The long-running worker: syncs at once if never synced, else when the last run's
    next is due (every 2 hours), and sends new app-side changes within a minute; SIGTERM
    finishes the current batch and exits."""
    from datetime import timedelta

    from syncledger.adapters.aggregate_cache import AggregateCache
    from syncledger.commands.schedule import Worker
    from syncledger.domain.ids import integration_id
    from syncledger.domain.schedule import parse_every

    with store_session(settings.store) as store:
        integration = AggregateCache(store).get(integration_id("salesforce"))
        text = every or (integration.settings.every if integration else "2h")
        try:
            interval = parse_every(text)
        except ValueError as error:
            raise UserError(f"--every: {error}") from None
        worker = Worker(store, settings.actor, interval, on_failure,
                        report=lambda line: out.print(line, highlight=False),
                        follow=timedelta(seconds=follow), max_runs=max_runs)
        worker.install_signal_handlers()
        out.print(f"worker started: every {text}, following app changes every {follow}s")
        worker.run_forever()
    out.print("worker stopped")


def sync_command(as_json: bool = typer.Option(False, "--json"),
                 full: bool = typer.Option(False, "--full",
                                           help="make every record due"),
                 record: str = typer.Option(None, "--record",
                                            help="sync one person now (app id, email or "
                                                 "CRM id)"),
                 crm: str = typer.Option("salesforce", "--crm"),
                 dry_run: bool = typer.Option(False, "--dry-run",
                                              help="decide, write nothing: print the plan"),
                 recreate: bool = typer.Option(False, "--recreate",
                                               help="with --record: create again the record "
                                                    "deleted in the CRM"),
                 allow_mass_changes: bool = typer.Option(
                     False, "--allow-mass-changes",
                     help="let the run change OwnerId or blank fields on more than "
                          "mass_change_limit (10%) of a step's linked records")
                 ) -> None:
    """Run every enabled step once ("Sync now")."""
    from syncledger.commands.forget import find_person_id
    from syncledger.commands.sync import SyncRefused, run_sync

    if recreate and not record:
        raise UserError("--recreate needs --record KEY: it creates one deleted record again")
    if dry_run:
        _dry_run(as_json, full, crm)
        return
    with store_session(settings.store) as store:
        only = {find_person_id(store, record)} if record else None
        try:
            with steps_progress() as progress:
                report = run_sync(store, settings.actor, datetime.now(UTC), full=full,
                                  only=only, crm=crm, progress=progress, recreate=recreate,
                                  allow_mass_changes=allow_mass_changes)
        except SyncRefused as refused:
            raise UserError(str(refused)) from None
    result = {"run_id": report.run_id, "outcome": report.outcome, "counts": report.counts,
              "skip_reasons": report.skip_reasons,
              "errors": [public_error(e) for e in report.errors],
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


def _dry_run(as_json: bool, full: bool, crm: str) -> None:
    from syncledger.commands.dry_run import dry_run
    from syncledger.commands.sync import SyncRefused

    with store_session(settings.store) as store:
        try:
            result = dry_run(store, settings.actor, datetime.now(UTC), full=full, crm=crm)
        except SyncRefused as refused:
            raise UserError(str(refused)) from None
    if as_json:
        print_json({"plan": result["plan"], "api_calls": result["api_calls"],
                    "mass_changes": result["mass_changes"], "errors": result["errors"]})
        if result["outcome"] == "failed":
            raise typer.Exit(1)
        return
    table = Table("step", "record", "action", "reason", "changes")
    for entry in result["plan"]:
        record = entry["record"]
        changes = ", ".join(f"{field}: {old!r} -> {new!r}"
                            for field, (old, new) in entry["changes"].items())
        table.add_row(entry["step"], f"{record['app'] or ''} {record['crm'] or ''}".strip(),
                      entry["action"], entry["reason"] or "", changes[:100])
    out.print(table)
    for change in result["mass_changes"]:
        if change["owner_changes"] or change["blanked"]:
            out.print(f"{change['step']}: OwnerId changed on {change['owner_changes']} and a "
                      f"filled field blanked on {change['blanked']} of {change['linked']} "
                      f"linked {change['object']}s"
                      + (" (over mass_change_limit: a real run stops; "
                         "--allow-mass-changes lets it go)" if change["over_limit"] else ""))
    calls = result["api_calls"]
    out.print(f"dry run: nothing written. The real run would spend {calls['total']} API calls "
              f"({calls['query'] + calls['query_more']} query pages, {calls['collections']} "
              "collection writes)")
    _print_errors(result["errors"])
    if result["outcome"] == "failed":
        out.print("the dry run failed: the real run would stop there too")
        raise typer.Exit(1)


def logs_command(run: str = typer.Option(None, "--run", help="one run"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """The Logs: every run, newest first, with counts, skip reasons and errors."""
    from syncledger.commands.status import died

    with store_session(settings.store) as store:
        runs = views.logs(caught_up(store), run)
        for entry in runs:
            if entry["outcome"] == "running" and died(store, entry["run_id"]):
                entry["outcome"] = "interrupted"  # as the next run will record it
    if run and not runs:
        raise UserError(f"no run {run!r}")
    if as_json:
        print_json(runs)
        return
    for entry in runs:
        out.print(Text.assemble((f"run {entry['run_id']}", "bold"),
                                f" {entry['started_at'][:19]} {entry['outcome']}"))
        _print_run(entry)


def _print_run(entry: dict[str, Any]) -> None:
    table = Table("kind", "created", "updated", "skipped", "failed")
    for kind in COUNT_KINDS:
        counts = entry["counts"][kind]
        if any(counts.values()):
            table.add_row(kind, *(str(counts[k]) for k in ("created", "updated", "skipped",
                                                          "failed")))
    if table.row_count:
        out.print(table)
    elif not entry["errors"]:
        out.print("  nothing to create, update or skip")
    for reason, count in sorted(entry["skip_reasons"].items(), key=lambda kv: -kv[1]):
        out.print(f"  skipped {count}: {reason}")
    _print_errors(entry["errors"])
    for note in entry.get("notes", [])[:10]:
        out.print(f"  note: {note}")


def _print_errors(errors: list[dict[str, Any]]) -> None:
    for error in errors[:20]:
        record = error["record"]
        out.print(f"  error {error['code']}: {error['message']} (step {error['step']}, "
                  f"app {record['app']}, crm {record['crm']})")
