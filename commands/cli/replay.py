"""The command line for explain and replay (issue 7): a field's story, the log as it stood
at a point copied into another store, a past run decided again, and what differs between
two stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from syncledger.commands.cli.common import (
    FAILED,
    JSON_OPTION,
    UserError,
    out,
    print_json,
    progress_bar,
    settings,
)

if TYPE_CHECKING:
    from syncledger.adapters.event_store import SyncLedger
    from syncledger.commands.replay_run import RunReplay
    from syncledger.replay.diff import StoreDiff
    from syncledger.replay.point_in_time import ReplayPoint


def user_errors() -> tuple[type[Exception], ...]:
    """Mistakes a user can fix (app.py turns them into one line on stderr and exit 2)."""
    from syncledger.commands.replay_run import ReplayRefused
    from syncledger.replay.copy_log import TargetNotEmpty
    from syncledger.replay.explain import UnknownField
    from syncledger.replay.point_in_time import ReplayPointError
    from syncledger.replay.run_record import UnknownRun

    return (TargetNotEmpty, ReplayPointError, UnknownField, UnknownRun, ReplayRefused)


replay = typer.Typer(help="History tools: the log as it stood at a point, in another store; "
                     "a past run decided again; what differs between two stores.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(replay, name="replay")
    app.command("explain")(explain_command)


def explain_command(key: str = typer.Argument(..., help="app id, email or CRM id"),
                    field: str = typer.Argument(..., help="email, first_name, last_name, "
                                                "account, owner, status, inbox_category, "
                                                "flags, lists, sequence, or an app field "
                                                "(title or fields.title)"),
                    as_json: bool = JSON_OPTION) -> None:
    """The chain of events that produced a person's field value, oldest first."""
    from syncledger.commands.session import caught_up, store_session
    from syncledger.replay.explain import explain, shown

    with store_session(settings.store) as store:
        story = explain(caught_up(store), key, field)
    if as_json:
        print_json([step.to_json() for step in story.steps])
        return
    out.print(f"{story.person} {story.field} = {shown(story.value)}", highlight=False)
    if not story.steps:
        out.print("no event set it")
    for number, step in enumerate(story.steps, start=1):
        who = f"{step.cause or 'no cause'} by {step.actor or 'unknown'}"
        out.print(f"{number:>3}. position {step.position} at {step.time[:19]}: {step.text}\n"
                  f"     {step.type}, {who}", highlight=False)


@replay.callback(invoke_without_command=True)
def replay_command(ctx: typer.Context,
                   until: str = typer.Option(None, "--until", help="ISO 8601 time (UTC when "
                                             "no offset): the log as it stood then"),
                   position: int = typer.Option(None, "--position",
                                                help="the log up to this position"),
                   into: str = typer.Option(None, "--into", help="an empty store's URL"),
                   run: str = typer.Option(None, "--run", help="a run id: decide that run "
                                           "again from what it recorded, without calling "
                                           "the CRM; exit 1 when today's code differs"),
                   as_json: bool = JSON_OPTION) -> None:
    """Copy the log up to a point into another (empty) store and build its projections
    there; or decide a past run again (`--run`); or `replay diff URL_A URL_B`."""
    from syncledger.commands.session import store_session
    from syncledger.replay.point_in_time import (
        parse_time,
        point_at_position,
        point_at_time,
        refuse_non_empty,
        replay_into,
        same_store,
    )

    if ctx.invoked_subcommand is not None:
        if until or position is not None or into or run or as_json:
            raise UserError(f"--until, --position, --into, --run and --json do not go "
                            f"before `replay {ctx.invoked_subcommand}`")
        return
    if run is not None:
        if until or position is not None or into:
            raise UserError("replay --run RUN_ID takes no --until, --position or --into")
        _replay_run(run, as_json)
        return
    if (until is None) == (position is None):
        raise UserError("replay: give either --until TIME or --position N, with --into URL")
    if not into:
        raise UserError("replay: --into URL is required (an empty store to replay into)")
    with store_session(settings.store) as source, _opened(into) as target:
        if same_store(source, target):
            raise UserError(f"--into {target.store.redacted()} is the store being replayed: "
                            "give an empty one")
        refuse_non_empty(target)
        point = (point_at_time(source, parse_time(until)) if until is not None
                 else point_at_position(source, position))
        with progress_bar("copying") as bar:
            task = bar.add_task("copy", total=point.position)
            done = replay_into(source, target, point, progress=lambda n: bar.advance(task, n))
    where = target.store.redacted()
    if as_json:
        print_json({"position": point.position, "asked": position, "head": point.head,
                    "seal": point.seal,
                    "time": point.time.isoformat() if point.time else None,
                    "into": where, "events": done.events, "keys": done.keys,
                    "people": done.people, "projections": done.projections})
        return
    out.print(_point_words(point, position), highlight=False)
    out.print(f"copied {done.events} events and {done.keys} person keys into {where}; built "
              f"{', '.join(done.projections)} there: {done.people} people",
              highlight=False)
    out.print(f"look: syncledger --store {where} people list", highlight=False)


def _replay_run(run_id: str, as_json: bool) -> None:
    """Exit 0 when today's code decides as the run did, 1 when it differs."""
    from syncledger.commands.replay_run import replay_run
    from syncledger.commands.session import store_session

    with store_session(settings.store) as store:
        result = replay_run(store, run_id)
    if as_json:
        print_json(result.to_json())
    else:
        _print_run_replay(result)
    if not result.same:
        raise typer.Exit(1)


def _print_run_replay(result: RunReplay) -> None:
    from syncledger.replay.explain import shown

    out.print(f"run {result.run_id}, started {result.started_at[:19]}, recorded "
              f"{result.outcome['recorded']}: decided again with today's code, from what it "
              f"recorded (the CRM was not called); now {result.outcome['now']}",
              highlight=False)
    if result.differences:
        table = Table("step", "record", "recorded", "now", "changes (recorded -> now)")
        for entry in result.differences:
            record = entry["record"]
            changes = "; ".join(f"{name}: {shown(old)} -> {shown(new)}"
                                for name, (old, new) in entry["changes"].items())
            table.add_row(entry["step"] or "", " ".join(v for v in (record["app"],
                                                                     record["crm"]) if v),
                          _action(entry["recorded"]), _action(entry["now"]), changes)
        out.print(table)
    for line in _total_differences(result):
        out.print(line, highlight=False)
    for limit in result.not_replayed:
        out.print(f"not replayed: {limit}", highlight=False)
    if result.same:
        out.print("no difference: today's code decides as the run did")
    else:
        out.print(f"{len(result.differences)} records decided differently")


def _action(side: dict[str, Any]) -> str:
    return f"{side['action']} ({side['reason']})" if side["reason"] else side["action"]


def _total_differences(result: RunReplay) -> list[str]:
    recorded = result.counts["recorded"]
    if recorded is None:
        return []
    lines = [f"{kind} {outcome}: {count} recorded, {result.counts['now'][kind][outcome]} now"
             for kind, outcomes in recorded.items() for outcome, count in outcomes.items()
             if result.counts["now"].get(kind, {}).get(outcome) != count]
    reasons = sorted(set(result.skip_reasons["recorded"] or {}) |
                     set(result.skip_reasons["now"] or {}))
    for reason in reasons:
        was = (result.skip_reasons["recorded"] or {}).get(reason, 0)
        now = (result.skip_reasons["now"] or {}).get(reason, 0)
        if was != now:
            lines.append(f"skipped {reason!r}: {was} recorded, {now} now")
    return lines


def _point_words(point: ReplayPoint, asked: int | None) -> str:
    text = f"replayed the log up to position {point.position} of {point.head}"
    if point.seal is not None and point.time is not None:
        text += f" (seal {point.seal}, recorded {point.time.isoformat()})"
    else:
        text += " (no seal ends it: run verify on the source)"
    if asked is not None and asked != point.position:
        text += (f"; position {asked} is inside a save that ends at {point.position}, and a "
                 "save is recorded whole")
    return text


@replay.command("diff")
def diff_command(url_a: str = typer.Argument(..., metavar="URL_A"),
                 url_b: str = typer.Argument(..., metavar="URL_B"),
                 as_json: bool = JSON_OPTION,
                 exit_code: bool = typer.Option(False, "--exit-code", help="exit 1 when the "
                                                "stores differ (as `git diff --exit-code`)")
                 ) -> None:
    """What differs between two stores' projections (a report: exit 0 either way, unless
    --exit-code: then 1 when they differ)."""
    from syncledger.commands.session import caught_up
    from syncledger.replay.diff import diff_stores

    with _opened(url_a, must_exist=True) as a, _opened(url_b, must_exist=True) as b:
        result = diff_stores(caught_up(a), caught_up(b))
    if as_json:
        print_json(result.to_json())
    else:
        _print_diff(result)
    if exit_code and not result.empty:
        raise typer.Exit(FAILED)


def _print_diff(result: StoreDiff) -> None:
    from syncledger.replay.explain import shown

    out.print(f"A: {result.a}\nB: {result.b}", highlight=False)
    if result.empty:
        out.print("no differences")
        return
    table = Table("rows", "A", "B")
    for name, count in result.counts.items():
        marker = "" if count["a"] == count["b"] else " *"
        table.add_row(name + marker, str(count["a"]), str(count["b"]))
    out.print(table)
    for label, rows in (("only in B (added)", result.added),
                        ("only in A (removed)", result.removed)):
        if rows:
            out.print(f"{len(rows)} {'person' if len(rows) == 1 else 'people'} {label}:")
            for row in rows:
                out.print(f"  {row['id']} {row['email']}", highlight=False)
    if result.changed:
        out.print(f"{len(result.changed)} changed (A -> B):")
        for change in result.changed:
            parts = "; ".join(f"{name} {shown(a)} -> {shown(b)}"
                              for name, (a, b) in change["changes"].items())
            out.print(f"  {change['id']}: {parts}", highlight=False)
    if not (result.added or result.removed or result.changed):
        out.print("the people views are the same; only row counts differ (*)")


@contextmanager
def _opened(url: str, must_exist: bool = False) -> Iterator[SyncLedger]:
    """Another store than --store: a mistyped SQLite path must not become a new, empty
    store to compare with, and a database that cannot be reached is the user's to fix."""
    from sqlalchemy.exc import OperationalError

    from syncledger.adapters.store_url import StoreURL
    from syncledger.commands.session import open_store

    store = StoreURL.parse(url)
    if must_exist and store.sqlite_path is not None and not store.sqlite_path.exists():
        raise UserError(f"{url}: no such store (the file does not exist)")
    try:
        app = open_store(url)
    except OperationalError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise UserError(f"{store.redacted()}: cannot open the store ({reason})") from None
    try:
        yield app
    finally:
        app.close()
        app.database.dispose()
