"""Admin routes for tests and the demo; never counted as API calls."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from werkzeug.wrappers import Response

from syncledger.emulator.salesforce.clock import format_datetime
from syncledger.emulator.salesforce.errors import ApiError
from syncledger.emulator.salesforce.http import Ctx, Route, json_response
from syncledger.emulator.salesforce.rules import parse_rules
from syncledger.emulator.salesforce.store import parse_moment


def load(ctx: Ctx) -> Response:
    counts = ctx.org.store.load(ctx.object_body())
    return json_response({"loaded": counts})


def dump(ctx: Ctx) -> Response:
    return json_response(ctx.org.store.dump())


def reset(ctx: Ctx) -> Response:
    ctx.org.reset()
    return json_response({"reset": True})


def faults(ctx: Ctx) -> Response:
    org = ctx.org
    if ctx.request.method == "POST":
        body = ctx.object_body()
        org.governor.configure(body)
        if body.get("expire_session"):
            org.sessions.expire_all()
    governor = org.governor
    return json_response({"error_rate": governor.error_rate,
                          "applied_error_rate": governor.applied_error_rate,
                          "status": governor.status,
                          "seed": governor.seed, "latency_ms": governor.latency_ms,
                          "daily_limit": governor.daily_limit,
                          "rate_limit": governor.rate_limit,
                          "match": governor.match,
                          "malformed": asdict(governor.malformed) if governor.malformed
                          else None})


def stats(ctx: Ctx) -> Response:
    return json_response(ctx.org.governor.stats())


def clock(ctx: Ctx) -> Response:
    """{"now": ISO or null} pins or unpins the clock; {"advance": seconds} moves it."""
    store = ctx.org.store
    if ctx.request.method == "POST":
        body = ctx.object_body()
        if "now" in body:
            store.clock.pin(parse_moment(str(body["now"])) if body["now"] else None)
        if "advance" in body:
            store.clock.advance(float(body["advance"]))
    return json_response({"now": format_datetime(store.clock.now()),
                          "pinned": store.clock.pinned})


def settings(ctx: Ctx) -> Response:
    """The org's switches: the same as the load options, plus the assignment rules."""
    store = ctx.org.store
    if ctx.request.method == "POST":
        body = ctx.object_body()
        options = {k: v for k, v in body.items() if k != "LeadAssignmentRules"}
        load_body: dict[str, Any] = {"options": options}
        if "LeadAssignmentRules" in body:
            load_body["LeadAssignmentRules"] = body["LeadAssignmentRules"]
        store.load(load_body)
    return json_response({"external_id_fields": store.external_id_fields,
                          "duplicate_rule": store.duplicate_rule,
                          "current_user": store.current_user_id,
                          "LeadAssignmentRules": [r.as_dict() for r in store.assignment_rules]})


def assignment_rules(ctx: Ctx) -> Response:
    store = ctx.org.store
    if ctx.request.method == "POST":
        store.assignment_rules = parse_rules(ctx.json_body())
    return json_response([r.as_dict() for r in store.assignment_rules])


def merge(ctx: Ctx) -> Response:
    body = ctx.object_body()
    try:
        name, master, merged = body["object"], body["master_id"], body["merged_ids"]
    except KeyError as exc:
        raise ApiError(400, "INVALID_INPUT", f"merge needs {exc.args[0]}") from None
    ctx.org.store.merge(str(name), str(master), [str(m) for m in merged])
    return json_response({"master_id": master, "merged_ids": merged})


def convert(ctx: Ctx) -> Response:
    body = ctx.object_body()
    if not body.get("lead_id"):
        raise ApiError(400, "INVALID_INPUT", "convert needs lead_id")
    lead = ctx.org.store.convert(str(body["lead_id"]), body.get("contact_id"),
                                 body.get("account_id"))
    return json_response({"lead_id": lead["Id"], "contact_id": lead["ConvertedContactId"],
                          "account_id": lead["ConvertedAccountId"]})


A = "/__emulator__"
ADMIN = {"GET": "admin", "POST": "admin"}
ROUTES = [
    Route(f"{A}/load", load, {"POST": "admin"}),
    Route(f"{A}/dump", dump, {"GET": "admin"}),
    Route(f"{A}/reset", reset, {"POST": "admin"}),
    Route(f"{A}/faults", faults, ADMIN),
    Route(f"{A}/stats", stats, {"GET": "admin"}),
    Route(f"{A}/clock", clock, ADMIN),
    Route(f"{A}/settings", settings, ADMIN),
    Route(f"{A}/assignment-rules", assignment_rules, ADMIN),
    Route(f"{A}/merge", merge, {"POST": "admin"}),
    Route(f"{A}/convert", convert, {"POST": "admin"}),
]
