"""The command line for sync, logs and status (issue 6)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from syncledger.commands.cli.common import (
    FAILED,
    JSON_OPTION,
    LAST_HELP,
    SINCE_HELP,
    Busy,
    CrmProblem,
    UserError,
    err,
    out,
    print_json,
    print_json_line,
    settings,
    since_time,
    steps_progress,
)

if TYPE_CHECKING:
    from syncledger.commands.sync import SyncRefused


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("logs")(logs_command)
    app.command("status")(status_command)
    app.command("schedule")(schedule_command)


CRM_SCOPE = typer.Option(None, "--crm", help="salesforce or pipedrive (default: the one "
                         "connected; none or both connected: all of them)")


def status_command(as_json: bool = JSON_OPTION, crm: str = CRM_SCOPE,
                   check: bool = typer.Option(False, "--check", help="exit 1 when the last "
                                              "run failed (or died) or the worker is late, "
                                              "for monitoring")) -> None:
    """Health: connection, last and next run, what is failing (steps in the last run,
    records across runs), API calls used today."""
    from syncledger.commands.configure import crms_in_scope
    from syncledger.commands.session import caught_up, store_session
    from syncledger.commands.status import failing_records, problems, status

    now = datetime.now(UTC)
    with configure_errors(), store_session(settings.store) as store:
        caught_up(store)
        healths = [{**status(store, name, now), "failing_records": failing_records(store, name)}
                   for name in crms_in_scope(store, crm)]
    found = [problem for health in healths for problem in problems(health)]
    if as_json:
        print_json(healths)
    else:
        for number, health in enumerate(healths):
            if number:
                out.print()
            _print_status(health)
        for problem in found:
            err.print(f"check: {problem}", highlight=False)
    if check and found:
        raise typer.Exit(FAILED)


def _print_status(health: dict[str, Any]) -> None:
    crm = health["crm"]
    connection = health["connection"]
    if connection is None or not connection["connected"]:
        out.print(f"{crm}: not connected (syncledger connect {crm})")
        if health["profile"] is None:
            return  # never configured: nothing more to say
    else:
        out.print(f"{crm}: connected to org {connection['org_id']} "
                  f"({connection['environment']}) as {connection['connected_user']}")
    out.print(f"integration {'enabled' if health['enabled'] else 'disabled'}")
    last = health["last_run"]
    out.print("last run: " + (f"{last['run_id']} {last['started_at'][:19]} {last['outcome']}"
                              if last else "none"))
    out.print(f"next run: {health['next_run'] or 'not scheduled'}"
              + (" (late: the worker has not run it)" if health["late"] else ""))
    out.print(f"failing steps in the last run: {', '.join(health['failing_steps']) or 'none'}")
    for error in health["run_errors"]:
        out.print(f"  the run itself: {error['code']}: {error['message']}", highlight=False)
    records = health["failing_records"]
    out.print(f"failing records: {len(records) or 'none'}")
    for entry in records[:20]:
        record = entry["record"]
        which = " ".join(v for v in (record["app"], record["crm"]) if v)
        runs = f"{entry['runs']} run{'s' if entry['runs'] != 1 else ''}"
        out.print(f"  {which} ({entry['step']}): {entry['code']}, failing since "
                  f"{entry['since'][:19]} in {runs}", highlight=False)
    if len(records) > 20:
        out.print(f"  ... and {len(records) - 20} more (status --json lists them all)")
    out.print(f"API calls today: {health['api_calls_today']}"
              + (f" (budget {health['api_budget']} of the org's daily limit)"
                 if health["api_budget"] is not None else ""))


def schedule_command(every: str = typer.Option(None, "--every",
                                               help="e.g. 2h (default: the configuration's)"),
                     on_failure: str = typer.Option(
                         None, "--on-failure",
                         help="a shell command run when a run fails or cannot start; it gets "
                              "SYNCLEDGER_RUN_ID, SYNCLEDGER_OUTCOME (failed or refused) "
                              "and SYNCLEDGER_REASON"),
                     crm: str = CRM_SCOPE,
                     as_json: bool = typer.Option(False, "--json", help="one JSON event a "
                                                  "line on stdout, as the worker goes"),
                     follow: int = typer.Option(30, "--follow-seconds", hidden=True),
                     max_runs: int = typer.Option(None, "--max-runs", hidden=True)) -> None:
    """The long-running worker: syncs at once if never synced, else when the last run's
    next is due (every 2 hours), and sends new app-side changes within a minute; SIGTERM
    finishes the current batch and exits."""
    from datetime import timedelta

    from syncledger.adapters.aggregate_cache import AggregateCache
    from syncledger.commands.schedule import Worker
    from syncledger.commands.session import store_session
    from syncledger.domain.ids import integration_id
    from syncledger.domain.integration import Integration
    from syncledger.domain.schedule import parse_every
    from syncledger.domain.steps import IntegrationSettings

    def report(line: str, event: dict[str, Any]) -> None:
        if as_json:
            print_json_line({**event, "time": datetime.now(UTC).isoformat()})
        else:
            out.print(line, highlight=False)

    with store_session(settings.store) as store:
        chosen = synced_crms(store, crm, waiting=True)
        integration = AggregateCache(store).get(integration_id(chosen[0]), Integration)
        text = every or (integration.settings if integration else IntegrationSettings()).every
        try:
            interval = parse_every(text)
        except ValueError as error:
            raise UserError(f"--every: {error}") from None
        worker = Worker(store, settings.actor, interval, on_failure, report=report,
                        follow=timedelta(seconds=follow), max_runs=max_runs, crms=chosen)
        worker.install_signal_handlers()
        report(f"worker started: every {text}, following app changes every {follow}s",
               {"event": "started", "crm": chosen[0] if len(chosen) == 1 else chosen,
                "every": text, "follow_seconds": follow})
        worker.run_forever()
    report("worker stopped", {"event": "stopped"})


def synced_crms(store: Any, crm: str | None, waiting: bool = False) -> list[str]:
    """The CRMs a sync runs, each a run of its own: the one named, else every connected and
    enabled one (a single connected one even when disabled, so that the run says so). A
    worker (`waiting`) started before anything is connected waits for Salesforce to be."""
    from syncledger.commands.configure import connected_crms, crms_in_scope, enabled_crms

    with configure_errors():
        crms_in_scope(store, crm)
    if crm is not None:
        return [crm]  # refused with its reason by the handler, naming --crm
    connected = connected_crms(store)
    if not connected and waiting:
        return ["salesforce"]
    if not connected:
        raise CrmProblem("no CRM is connected: run `syncledger connect salesforce` "
                         "(or pipedrive) first")
    return enabled_crms(store) or connected


@contextmanager
def configure_errors() -> Iterator[None]:
    """A --crm that names no CRM, or none where two are connected: exit 2."""
    from syncledger.commands.configure import CrmNotChosen

    try:
        yield
    except CrmNotChosen as error:
        raise UserError(str(error)) from None


def sync_command(as_json: bool = JSON_OPTION,
                 full: bool = typer.Option(False, "--full",
                                           help="make every record due"),
                 record: str = typer.Option(None, "--record",
                                            help="sync one person now (app id, email or "
                                                 "CRM id)"),
                 crm: str = CRM_SCOPE,
                 dry_run: bool = typer.Option(False, "--dry-run",
                                              help="decide, write nothing: print the plan"),
                 recreate: bool = typer.Option(False, "--recreate",
                                               help="with --record: create again the record "
                                                    "deleted in the CRM"),
                 allow_mass_changes: bool = typer.Option(
                     False, "--allow-mass-changes",
                     help="let the run change OwnerId or blank fields on more than "
                          "mass_change_limit (10%) of a step's linked records"),
                 fail_on: list[str] = typer.Option(
                     None, "--fail-on", metavar="OUTCOME",
                     help="partial or limited: exit 1 on that outcome too, not only on "
                          "failed (repeatable, or comma-separated)")
                 ) -> None:
    """Run every enabled step once ("Sync now"). Exit 1 when the run failed (and, with
    --fail-on partial, when some records failed)."""
    from syncledger.commands.forget import find_person_id
    from syncledger.commands.session import store_session
    from syncledger.commands.sync import SyncRefused, run_sync
    from syncledger.projections.logs import public_error

    if recreate and not record:
        raise UserError("--recreate needs --record KEY: it creates one deleted record again")
    failing = _failing_outcomes(fail_on or [])
    if dry_run:
        _dry_run(as_json, full, crm)
        return
    results = []
    with store_session(settings.store) as store:
        chosen = synced_crms(store, crm)
        only = {find_person_id(store, record)} if record else None
        for name in chosen:
            try:
                with steps_progress() as progress:
                    report = run_sync(store, settings.actor, datetime.now(UTC), full=full,
                                      only=only, crm=name, progress=progress,
                                      recreate=recreate,
                                      allow_mass_changes=allow_mass_changes)
            except SyncRefused as refused:
                raise refusal(refused) from None
            results.append({"crm": name, "run_id": report.run_id, "outcome": report.outcome,
                            "counts": report.counts, "skip_reasons": report.skip_reasons,
                            "errors": [public_error(e) for e in report.errors],
                            "notes": report.notes, "interrupted": report.interrupted})
    if as_json:
        # One CRM, one run: its object; several, a list of them, a run each.
        print_json(results[0] if len(results) == 1 else results)
    else:
        for result in results:
            if result["interrupted"]:
                out.print(f"run {result['interrupted']} had died; closed as interrupted")
            crm_said = f" ({result['crm']})" if len(results) > 1 else ""
            out.print(f"run {result['run_id']}{crm_said}: {result['outcome']}")
            _print_run(result)
    if any(result["outcome"] in failing for result in results):
        raise typer.Exit(FAILED)


FAIL_ON = ("partial", "limited", "failed")


def _failing_outcomes(given: list[str]) -> set[str]:
    """The outcomes that exit 1: failed, and those --fail-on names."""
    named = {part.strip() for value in given for part in value.split(",") if part.strip()}
    unknown = sorted(named - set(FAIL_ON))
    if unknown:
        raise UserError(f"--fail-on {', '.join(unknown)}: expected {' or '.join(FAIL_ON)}")
    return {"failed", *named}


def _dry_run(as_json: bool, full: bool, crm: str | None) -> None:
    from syncledger.commands.dry_run import dry_run
    from syncledger.commands.session import store_session
    from syncledger.commands.sync import SyncRefused

    with store_session(settings.store) as store:
        chosen = synced_crms(store, crm)
        if len(chosen) > 1:
            raise UserError(f"{' and '.join(chosen)} are both connected: a dry run shows one "
                            "CRM's plan, pass --crm NAME")
        try:
            result = dry_run(store, settings.actor, datetime.now(UTC), full=full,
                             crm=chosen[0])
        except SyncRefused as refused:
            raise refusal(refused) from None
    if as_json:
        print_json({"plan": result["plan"], "api_calls": result["api_calls"],
                    "mass_changes": result["mass_changes"], "errors": result["errors"]})
        if result["outcome"] == "failed":
            raise typer.Exit(FAILED)
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
            out.print(f"{change['step']}: {change['owner_field']} changed on "
                      f"{change['owner_changes']} and a "
                      f"filled field blanked on {change['blanked']} of {change['linked']} "
                      f"linked {change['object']}s"
                      + (" (over mass_change_limit: a real run stops; "
                         "--allow-mass-changes lets it go)" if change["over_limit"] else ""))
    calls = result["api_calls"]
    spent = ", ".join(f"{n} {kind}" for kind, n in calls.items() if kind != "total" and n)
    out.print(f"dry run: nothing written. The real run would spend {calls['total']} API calls"
              + (f" ({spent})" if spent else ""))
    _print_errors(result["errors"])
    if result["outcome"] == "failed":
        out.print("the dry run failed: the real run would stop there too")
        raise typer.Exit(FAILED)


def logs_command(run: str = typer.Option(None, "--run", help="one run"),
                 last: int = typer.Option(None, "-n", "--last", metavar="N", min=1,
                                          help=LAST_HELP),
                 since: str = typer.Option(None, "--since", help=f"runs started since "
                                           f"then: {SINCE_HELP}"),
                 actor: str = typer.Option(None, "--actor", help="runs started by this team "
                                           "member (or system)"),
                 crm: str = typer.Option(None, "--crm", help="one CRM's runs"),
                 as_json: bool = JSON_OPTION) -> None:
    """The Logs: every run, newest first, with counts, skip reasons and errors."""
    from syncledger.commands import views
    from syncledger.commands.session import caught_up, store_session
    from syncledger.projections.logs import RunFilter

    where = RunFilter(crm=crm, actor=actor,
                      since=since_time(since, datetime.now(UTC)) if since else None)
    with store_session(settings.store) as store:
        caught_up(store)
        if run is not None:
            runs = [r for r in views.logs(store, run) if _matches(r, where)][:last]
        else:
            runs, _ = views.runs_page(store, where, None, last or ALL_RUNS)
        running = [entry for entry in runs if entry["outcome"] == "running"]
        if running:
            # Imported only then: status.py brings in the CRM clients, a tenth of a second.
            from syncledger.commands.status import died

            for entry in running:
                if died(store, entry["run_id"]):
                    entry["outcome"] = "interrupted"  # as the next run will record it
    if run and not runs:
        raise UserError(f"no run {run!r}" + (" matching the filters" if since or actor or crm
                                              else ""))
    if as_json:
        print_json(runs)
        return
    for entry in runs:
        out.print(Text.assemble((f"run {entry['run_id']}", "bold"),
                                f" {entry['started_at'][:19]} {entry['outcome']}",
                                f" by {entry['actor']}" if entry.get("actor") else "",
                                _took(entry)))
        _print_run(entry)


ALL_RUNS = 2**62  # no -n: every run (the views page by key, so this is just a bound)


def _matches(run: dict[str, Any], where: Any) -> bool:
    return ((where.crm is None or run["crm"] == where.crm)
            and (where.actor is None or run["actor"] == where.actor)
            and (where.since is None or run["started_at"] >= where.since))


def _took(run: dict[str, Any]) -> str:
    seconds, calls = run.get("duration_seconds"), run.get("api_calls_total")
    parts = ([f"{seconds:.1f}s"] if seconds is not None else []) + \
        ([f"{calls} API calls"] if calls else [])
    return f" ({', '.join(parts)})" if parts else ""


def refusal(refused: SyncRefused) -> UserError:
    """A run that could not start, as the exit code says why: 4 when another run holds the
    lock, 3 when the CRM or its credentials are the reason, else 2."""
    if refused.busy:
        return Busy(str(refused))
    if refused.crm:
        return CrmProblem(str(refused))
    return UserError(str(refused))


def _print_run(entry: dict[str, Any]) -> None:
    from syncledger.domain.sync_run import COUNT_KINDS

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
