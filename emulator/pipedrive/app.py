"""The Pipedrive emulator's WSGI application: auth, limits and faults around the routes."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from syncledger.emulator.pipedrive import admin, persons_routes, v1_routes
from syncledger.emulator.pipedrive.context import Context, Route
from syncledger.emulator.pipedrive.http import ApiError, error_response
from syncledger.emulator.pipedrive.store import Store
from syncledger.emulator.pipedrive.timefmt import Clock

ADMIN_PREFIX = "/__emulator__/"


class PipedriveApp:
    def __init__(self, ctx: Context, routes: list[Route]) -> None:
        self.ctx = ctx
        self._routes = {str(index): route for index, route in enumerate(routes)}
        self._map = Map([Rule(route.path, endpoint=name, methods=list(route.methods))
                         for name, route in self._routes.items()], strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("x-api-token") or request.args.get("api_token") or ""
        bearer = request.headers.get("Authorization", "")
        if not given and bearer.lower().startswith("bearer "):
            given = bearer[7:].strip()
        return hmac.compare_digest(given.encode(), self.ctx.token.encode())

    def _dispatch(self, request: Request) -> Response:
        ctx = self.ctx
        admin_call = request.path.startswith(ADMIN_PREFIX)
        if not self._authorised(request):
            response = error_response(401, "unauthorized access")
            if not admin_call:
                response.headers.update(ctx.gate.headers(ctx.clock.now()))
            return response
        adapter = self._map.bind_to_environ(request.environ)
        route: Route | None = None
        values: dict[str, Any] = {}
        miss: Response | None = None
        try:
            endpoint, matched = adapter.match()
            values = dict(matched)
            route = self._routes[str(endpoint)]
        except NotFound:
            miss = error_response(404, f"Unknown method {request.path}")
        except MethodNotAllowed:
            miss = error_response(405, f"Method {request.method} not allowed on {request.path}")
        if admin_call:
            return miss or self._run(route, request, values)
        kind = route.kind_for(request.method) if route else "other"
        verdict = ctx.gate.admit(ctx.clock.now())
        injected = verdict.status is not None and verdict.status != 429
        if verdict.latency_s:
            time.sleep(verdict.latency_s)
        if verdict.status is not None:
            response = error_response(verdict.status, verdict.message)
        elif miss is not None:
            response = miss
        else:
            response = self._run(route, request, values)
        ctx.stats.count(kind, verdict.status, injected)
        response.headers.update(verdict.headers)
        return response

    def _run(self, route: Route | None, request: Request, values: dict[str, Any]) -> Response:
        assert route is not None
        try:
            return route.handler(self.ctx, request, **values)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.code)


def build_app(token: str, data: dict[str, Any] | None = None) -> PipedriveApp:
    """The WSGI app for one emulated Pipedrive company, optionally preloaded with `data`."""
    clock = Clock()
    store = Store(clock)
    if data:
        store.load(data)
    ctx = Context(token=token, clock=clock, store=store)
    ctx.gate.configure(ctx.gate.faults, clock.now())
    routes = persons_routes.routes() + v1_routes.routes() + admin.routes()
    return PipedriveApp(ctx, routes)
