"""The WSGI application: routing, authentication, limits and faults around the routes."""

from __future__ import annotations

import re
import secrets
import sys
import time
import traceback
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from syncledger.emulator.salesforce import admin, collections, oauth, rest
from syncledger.emulator.salesforce.composite import composite_route
from syncledger.emulator.salesforce.errors import ApiError, OAuthError
from syncledger.emulator.salesforce.http import Ctx, Route, error_response, json_response
from syncledger.emulator.salesforce.state import Org

MAX_REQUEST_LINE = 16_384   # Salesforce's limit; longer lines get 414
_VERSION = re.compile(r"^\d{2}\.\d$")


class SalesforceApp:
    def __init__(self, token: str, data: dict[str, Any] | None) -> None:
        self.org = Org(token)
        if data:
            with self.org.lock:
                self.org.store.load(data)
        self.routes: list[Route] = [*rest.ROUTES, rest.CREATE_ROUTE, *collections.ROUTES,
                                    *oauth.ROUTES, *admin.ROUTES,
                                    composite_route(lambda: self.url_map, lambda: self.routes)]
        self.url_map = Map([Rule(route.path, endpoint=index, methods=list(route.kinds))
                            for index, route in enumerate(self.routes)])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if _request_line_length(request.environ) > MAX_REQUEST_LINE:
            return json_response([{"message": "Request-URI Too Large",
                                   "errorCode": "URI_TOO_LONG"}], 414)
        path = request.path.rstrip("/") or "/"
        adapter = self.url_map.bind("emulator")
        try:
            index, matched = adapter.match(path_info=path, method=request.method)
        except MethodNotAllowed as exc:
            allowed = ",".join(exc.valid_methods or [])
            return json_response([{"message": f"HTTP Method '{request.method}' not allowed. "
                                   f"Allowed are {allowed}", "errorCode": "METHOD_NOT_ALLOWED"}],
                                 405)
        except (NotFound, RequestRedirect):
            return error_response(ApiError(404, "NOT_FOUND",
                                           "The requested resource does not exist"))
        route = self.routes[index]
        args = dict(matched)
        kind = route.kinds[request.method]
        version = args.pop("version", "59.0")
        if not _VERSION.match(version):
            return error_response(ApiError(404, "NOT_FOUND",
                                           "The requested resource does not exist"))
        ctx = Ctx(self.org, request, version)
        try:
            response = self._serve(ctx, route, kind, path, args)
        except ApiError as error:
            response = error_response(error)
        except OAuthError as error:
            response = json_response(error.body(), error.status)
        except Exception:  # a bug here must not kill the server thread's client silently
            traceback.print_exc(file=sys.stderr)
            response = error_response(ApiError(500, "UNKNOWN_EXCEPTION",
                                               "An unexpected error occurred."))
        if kind not in ("admin", "public"):
            response.headers["Sforce-Limit-Info"] = self.org.governor.limit_info()
        return response

    def _serve(self, ctx: Ctx, route: Route, kind: str, path: str,
               args: dict[str, Any]) -> Response:
        org = self.org
        if kind == "admin":
            if not secrets.compare_digest(_bearer(ctx.request) or "",
                                          org.sessions.admin_token):
                raise _invalid_session()
            with org.lock:
                return route.handler(ctx, **args)
        if kind == "public":
            return route.handler(ctx, **args)
        needs_token = not (kind == "auth" and path in oauth.UNAUTHENTICATED)
        with org.lock:
            if needs_token and not org.sessions.valid(_bearer(ctx.request)):
                raise _invalid_session()
            governor = org.governor
            aimed = governor.aimed_at(path, ctx.request.get_data(cache=True))
            refusal = governor.admit(kind, aimed)
            latency = governor.latency_ms
            governor.started()
        try:
            if latency:
                time.sleep(latency / 1000)   # outside the lock: slow calls must not queue others
            if refusal is not None:
                raise refusal
            with org.lock:
                response = route.handler(ctx, **args)
                lost = org.governor.applied(kind, aimed)
                spoiled = None if lost is not None else \
                    org.governor.spoil(kind, response.get_data(), aimed)
        finally:
            with org.lock:
                governor.finished()  # the one that started it, though a reset came since
        if lost is not None:  # the write stays applied; only its answer is an error
            raise lost
        if spoiled is not None:  # served as usual; its answer malformed
            response.set_data(spoiled)
        return response


def _invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def _request_line_length(environ: dict[str, Any]) -> int:
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not uri:
        query = environ.get("QUERY_STRING", "")
        uri = environ.get("PATH_INFO", "") + ("?" + query if query else "")
    return len(environ.get("REQUEST_METHOD", "")) + 1 + len(uri) + 1 + len(
        environ.get("SERVER_PROTOCOL", "HTTP/1.1"))


def build_app(token: str, data: dict[str, Any] | None) -> SalesforceApp:
    """The WSGI app of one emulated org; `data` has the admin load shape."""
    return SalesforceApp(token, data)
