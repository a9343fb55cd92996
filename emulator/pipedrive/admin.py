"""Admin routes under /__emulator__: load, dump, reset, faults, stats, clock, merge. Never
counted."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from syncledger.emulator.pipedrive.context import Context, Route
from syncledger.emulator.pipedrive.http import ApiError, json_body, json_response
from syncledger.emulator.pipedrive.limits import Faults
from syncledger.emulator.pipedrive.model import to_v1
from syncledger.emulator.pipedrive.timefmt import parse_time


def load(ctx: Context, request: Request) -> Response:
    return json_response({"success": True, "loaded": ctx.store.load(json_body(request))})


def dump(ctx: Context, request: Request) -> Response:
    return json_response(ctx.store.dump())


def reset(ctx: Context, request: Request) -> Response:
    ctx.clock.freeze(None)
    ctx.store.reset()
    ctx.gate.configure(Faults(), ctx.clock.now())
    ctx.stats.reset()
    return json_response({"success": True})


def faults(ctx: Context, request: Request) -> Response:
    if request.method == "POST":
        # Setting faults replaces them all and restarts the windows and the seeded draws.
        ctx.gate.configure(Faults.parse(json_body(request)), ctx.clock.now())
    return json_response(ctx.gate.snapshot())


def stats(ctx: Context, request: Request) -> Response:
    if request.method == "DELETE":
        ctx.stats.reset()
    return json_response(ctx.stats.snapshot())


def clock(ctx: Context, request: Request) -> Response:
    """POST {"now": RFC3339|null} freezes (or unfreezes) the clock; {"advance_seconds": n}."""
    if request.method == "POST":
        body = json_body(request)
        if "now" in body:
            if body["now"] is None:
                ctx.clock.freeze(None)
            else:
                try:
                    ctx.clock.freeze(parse_time(str(body["now"])))
                except ValueError as exc:
                    raise ApiError(400, f"Bad 'now': {exc}") from exc
        if "advance_seconds" in body:
            try:
                ctx.clock.advance(float(body["advance_seconds"]))
            except (TypeError, ValueError) as exc:
                raise ApiError(400, "'advance_seconds' must be a number") from exc
    return json_response(ctx.clock.state())


def merge(ctx: Context, request: Request) -> Response:
    """POST {"id": A, "merge_with_id": B}: what a user's merge in the app does (the API's own
    merge lives among the v1 person endpoints, out of support here). A is deleted, B keeps its
    values and takes A's emails, phones, empty fields and notes; the answer is B as Pipedrive's
    merge answers it (v1 shape, `merge_what_id`: A)."""
    body = json_body(request)
    try:
        merged_id, survivor_id = int(body["id"]), int(body["merge_with_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(400, "'id' and 'merge_with_id' must be person ids") from exc
    survivor, keys = ctx.store.merge_persons(merged_id, survivor_id)
    return json_response({"success": True,
                          "data": to_v1(survivor, keys, int(ctx.store.company["id"]))})


def routes() -> list[Route]:
    return [
        Route("/__emulator__/load", ("POST",), "admin", load),
        Route("/__emulator__/dump", ("GET",), "admin", dump),
        Route("/__emulator__/reset", ("POST",), "admin", reset),
        Route("/__emulator__/faults", ("GET", "POST"), "admin", faults),
        Route("/__emulator__/stats", ("GET", "DELETE"), "admin", stats),
        Route("/__emulator__/clock", ("GET", "POST"), "admin", clock),
        Route("/__emulator__/merge", ("POST",), "admin", merge),
    ]
