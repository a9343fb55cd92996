"""The site's pages. Each route reads through the queries the command line answers with
(views, status, history, explain, verify, the configuration) and renders a template; with
htmx, the "more" links and the explanation fetch only a fragment of the page, and every
page works without script too. Nothing here writes to the log: only GET is served."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, render_template, request, url_for
from markupsafe import Markup

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.tracking import max_position
from syncledger.commands import views
from syncledger.commands.config_file import configuration_document, configuration_toml
from syncledger.commands.configure import (
    NotConnected,
    chosen_crm,
    current_configuration,
    existing_integration,
)
from syncledger.commands.session import caught_up
from syncledger.commands.status import status
from syncledger.commands.web import security
from syncledger.commands.web.chart import records_of, runs_chart
from syncledger.commands.web.metrics import exposition
from syncledger.domain.privacy import FORGOTTEN
from syncledger.domain.steps import CRMS
from syncledger.domain.sync_run import COUNT_KINDS, OUTCOMES
from syncledger.projections.logs import RunFilter
from syncledger.projections.registry import LOGS
from syncledger.replay.explain import FIELDS, UnknownField, explain, shown
from syncledger.replay.history import UnknownRecord
from syncledger.replay.run_decisions import with_before
from syncledger.replay.run_record import UnknownRun

PAGE = 50


class NotUnderstood(ValueError):
    """A query argument the page cannot read."""

ACTIONS = ("create", "update", "skip", "failed", "none")


def create_app(store: SyncLedger, token: str | None = None, page: int = PAGE) -> Flask:
    """The site over an open store. `token`: required from every client (None on a
    loopback bind, where the Host header is checked instead)."""
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    security.install(app, token)
    lock = threading.Lock()

    @contextmanager
    def reading() -> Iterator[SyncLedger]:
        """One request at a time reads the store, after catching the views up (as every
        CLI query does)."""
        with lock:
            yield caught_up(store)

    _filters(app)

    @app.context_processor
    def shared() -> dict[str, Any]:
        return {"store_name": store.store.redacted(), "fragment": _fragment()}

    @app.errorhandler(UnknownRecord)
    @app.errorhandler(UnknownRun)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("problem.html", title="Not found", message=str(error)), 404

    @app.errorhandler(UnknownField)
    @app.errorhandler(NotUnderstood)
    def bad_input(error: Exception) -> tuple[str, int]:
        return render_template("problem.html", title="Not understood", message=str(error)), 400

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("runs"))  # type: ignore[return-value]

    @app.get("/runs")
    def runs() -> str:
        where = RunFilter(crm=_arg("crm"), step=_arg("step"), outcome=_arg("outcome"),
                          since=_date_arg("since"), until=_date_arg("until"))
        after = _run_key(_arg("after"))
        with reading() as ledger:
            found, following = views.runs_page(ledger, where, after, page)
            steps = sorted({s.name for crm in CRMS
                            if (i := existing_integration(ledger, crm)) is not None
                            for s in i.steps()})
        more = _with_args(after=f"{following[0]}|{following[1]}") if following else None
        context = {"runs": found, "more": more, "records_of": records_of}
        if _fragment():
            return render_template("_runs_rows.html", **context)
        return render_template("runs.html", **context, where=where, steps=steps,
                               crms=CRMS, outcomes=("running", *OUTCOMES),
                               chart=runs_chart(found, url_for("runs") + "/"),
                               paged=after is not None)

    @app.get("/runs/<run_id>")
    def run(run_id: str) -> str:
        kind, reason, action = _arg("kind"), _arg("reason"), _arg("action")
        after = _int_arg("after")
        with reading() as ledger:
            decided = views.run_decisions(ledger, run_id)
            logged = views.logs(ledger, run_id)
            log = logged[0] if logged else None
            entries = [e for e in decided.entries
                       if (kind is None or e.kind == kind)
                       and (reason is None or e.reason == reason)
                       and (action is None or e.action == action)]
            shown_entries = with_before(ledger, [e for e in entries if e.position > after]
                                        [:page + 1])
        more = None
        if len(shown_entries) > page:
            shown_entries = shown_entries[:page]
            more = _with_args(after=shown_entries[-1].position)
        forgotten = {e.app for e in decided.entries if e.forgotten}
        context = {"run_id": run_id, "entries": shown_entries, "more": more}
        if _fragment():
            return render_template("_run_rows.html", **context)
        errors = [dict(e, message=FORGOTTEN) if e["record"].get("app") in forgotten else e
                  for e in (log or {}).get("errors", [])]
        return render_template("run.html", **context, log=log, record=decided.run,
                               errors=errors, kinds=decided.kinds(),
                               reasons=decided.reasons(), actions=ACTIONS, kind=kind,
                               reason=reason, action=action, total=len(entries),
                               count_kinds=COUNT_KINDS, paged=after > 0)

    @app.get("/people")
    def people() -> Any:
        key = _arg("q")
        if key is None:
            return render_template("search.html", q="", message=None)
        with reading() as ledger:
            try:
                row = views.person(ledger, key)
            except UnknownRecord as error:
                return render_template("search.html", q=key, message=str(error)), 404
        return redirect(url_for("person", key=row["id"]))

    @app.get("/people/<key>")
    def person(key: str) -> Any:
        after = _int_arg("after")
        with reading() as ledger:
            row = views.person(ledger, key)
            if _forgotten(row):
                return _forgotten_page()
            trail, following = views.history_page(ledger, row["id"], after, page)
        more = _with_args(after=following) if following else None
        context = {"person": row, "trail": trail, "more": more}
        if _fragment():
            return render_template("_history_rows.html", **context)
        fields = [*FIELDS, *(f"fields.{name}" for name in sorted(row["fields"]))]
        return render_template("person.html", **context, fields=fields, paged=after > 0,
                               name=" ".join(p for p in (row["first_name"], row["last_name"])
                                             if p))

    @app.get("/people/<key>/explain")
    def explanation(key: str) -> Any:
        field = _arg("field") or "owner"
        with reading() as ledger:
            row = views.person(ledger, key)
            if _forgotten(row):
                return _forgotten_page()
            story = explain(ledger, row["id"], field)
        template = "_explain.html" if _fragment() else "explain.html"
        return render_template(template, person=row, story=story, field=field,
                               value=shown(story.value))

    @app.get("/integration")
    def integration() -> str:
        after = _int_arg("after")
        with reading() as ledger:
            crm = _arg("crm")
            if crm not in CRMS:
                try:
                    crm = chosen_crm(ledger, None)
                except NotConnected:
                    crm = CRMS[0]
            trail, following = views.history_page(ledger, f"integration:{crm}", after, page)
            more = _with_args(after=following) if following else None
            if _fragment():
                return render_template("_history_rows.html", trail=trail, more=more)
            health = status(ledger, crm, datetime.now(UTC))
            config = current_configuration(ledger, crm)
        return render_template(
            "integration.html", crm=crm, crms=CRMS, health=health, trail=trail, more=more,
            document=configuration_document(config), paged=after > 0,
            toml=configuration_toml(config, header=f"the {config.profile} profile of "
                                    f"{config.crm}, as recorded"))

    @app.get("/integration/verify")
    def verify() -> str:
        with reading() as ledger:
            result = views.verify(ledger, progress=lambda _: None)
        template = "_verify.html" if _fragment() else "verify.html"
        return render_template(template, result=result)

    scraped: dict[int | None, bytes] = {}

    @app.get("/metrics")
    def metrics() -> Response:
        with reading() as ledger:
            # Summed again only when the Logs view has moved since the last scrape.
            with ledger.database.reader.connect() as connection:
                position = max_position(connection, LOGS.name)
            if position not in scraped:
                scraped.clear()
                scraped[position] = exposition(lambda: views.totals(ledger))
            body = scraped[position]
        return Response(body, 200, {"Content-Type": "text/plain; version=0.0.4; "
                                    "charset=utf-8"})

    return app


def _filters(app: Flask) -> None:
    app.jinja_env.filters["when"] = lambda text: (text or "")[:19].replace("T", " ")
    app.jinja_env.filters["shown"] = shown
    app.jinja_env.filters["seconds"] = _seconds
    app.jinja_env.filters["cause_link"] = _cause_link
    app.jinja_env.globals["count_total"] = lambda counts, key: sum(
        kinds.get(key, 0) for kinds in counts.values())


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else \
        f"{minutes // 60} h {minutes % 60} min"


def _cause_link(cause: str | None) -> Markup:
    """A run's id links to its page; other causes (import:, config:) are shown as given."""
    if not cause:
        return Markup("")
    if cause.startswith("run:"):
        run_id = cause.removeprefix("run:")
        return Markup('<a href="{}">{}</a>').format(url_for("run", run_id=run_id), cause)
    return Markup("{}").format(cause)


def _fragment() -> bool:
    """A fragment is asked for by htmx (its "more" links and the explanation)."""
    return request.args.get("fragment") == "1" and request.headers.get("HX-Request") == "true"


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def _int_arg(name: str) -> int:
    value = _arg(name)
    if value is None:
        return 0
    if not value.isdigit():
        raise NotUnderstood(f"{name}: {value!r} is not a position")
    return int(value)


def _date_arg(name: str) -> str | None:
    value = _arg(name)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise NotUnderstood(f"{name}: {value!r} is not a date (YYYY-MM-DD) or an ISO time"
                         ) from None
    return value


def _run_key(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    started, _, uuid = value.rpartition("|")
    if not started or len(uuid) != 32:
        raise NotUnderstood(f"after: {value!r} is not a page's key")
    return started, uuid


def _with_args(**changed: Any) -> str:
    """This page's address with some arguments changed (the next page's)."""
    args = {k: v for k, v in request.args.items() if k not in ("fragment", *changed)}
    args.update({k: str(v) for k, v in changed.items()})
    return f"{request.path}?{urlencode(args)}"


def _forgotten(row: dict[str, Any]) -> bool:
    return FORGOTTEN in (row["email"], row["first_name"])


def _forgotten_page() -> str:
    """All a forgotten person's pages say: nothing of theirs is shown, not even the key
    they were looked up by."""
    return render_template("forgotten.html")

