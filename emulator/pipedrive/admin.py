"""Admin routes under /__emulator__: load, dump, reset, faults, stats, clock. Never counted."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from syncledger.emulator.pipedrive.context import Context, Route
from syncledger.emulator.pipedrive.http import ApiError, json_body, json_response
from syncledger.emulator.pipedrive.limits import Faults
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


def routes() -> list[Route]:
    return [
        Route("/__emulator__/load", ("POST",), "admin", load),
        Route("/__emulator__/dump", ("GET",), "admin", dump),
        Route("/__emulator__/reset", ("POST",), "admin", reset),
        Route("/__emulator__/faults", ("GET", "POST"), "admin", faults),
        Route("/__emulator__/stats", ("GET", "DELETE"), "admin", stats),
        Route("/__emulator__/clock", ("GET", "POST"), "admin", clock),
    ]
