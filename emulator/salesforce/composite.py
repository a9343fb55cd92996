"""The Composite resource for sObject Collections: up to 25 subrequests in one call, at most
5 of them sObject Collections, each with its own headers, answered in `compositeResponse`
with each subrequest's status and body. The whole call counts once against the API limits,
as in Salesforce."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, RequestRedirect
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from syncledger.emulator.salesforce.errors import ApiError
from syncledger.emulator.salesforce.http import (
    Ctx,
    Route,
    error_response,
    json_response,
    json_text,
    parse_json,
)

MAX_SUBREQUESTS = 25
MAX_COLLECTIONS = 5
# What a subrequest may reach: the record resources, never the admin or auth routes.
ALLOWED_KINDS = {"collections", "collections_read", "sobject_read", "sobject_write", "query"}


def composite_route(url_map: Callable[[], Map], routes: Callable[[], list[Route]]) -> Route:
    def composite(ctx: Ctx) -> Response:
        body = ctx.object_body()
        subrequests = body.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
        if len(subrequests) > MAX_SUBREQUESTS:
            raise ApiError(400, "LIMIT_EXCEEDED", f"Composite requests cannot have more than "
                           f"{MAX_SUBREQUESTS} subrequests")
        if sum("/composite/sobjects" in str(s.get("url", "")) for s in subrequests
               if isinstance(s, dict)) > MAX_COLLECTIONS:
            raise ApiError(400, "LIMIT_EXCEEDED", "Composite requests cannot have more than "
                           f"{MAX_COLLECTIONS} sObject Collections subrequests")
        if body.get("allOrNone"):
            raise ApiError(400, "INVALID_INPUT", "the emulator answers allOrNone = false "
                           "composite requests only")
        adapter = url_map().bind("emulator")
        answers = [_answer(ctx, adapter, routes(), sub) for sub in subrequests]
        return json_response({"compositeResponse": answers})

    return Route("/services/data/v<version>/composite", composite, {"POST": "collections"})


def _answer(ctx: Ctx, adapter: Any, routes: list[Route], sub: Any) -> dict[str, Any]:
    reference = sub.get("referenceId") if isinstance(sub, dict) else None
    try:
        if not isinstance(sub, dict) or not sub.get("url") or not sub.get("method"):
            raise ApiError(400, "INVALID_INPUT", "each subrequest needs method and url")
        url, method = str(sub["url"]), str(sub["method"]).upper()
        headers = [(str(k), str(v)) for k, v in (sub.get("httpHeaders") or {}).items()]
        environ = EnvironBuilder(path=url.partition("?")[0], query_string=url.partition("?")[2],
                                 method=method, headers=headers,
                                 data=json_text(sub.get("body")) if "body" in sub else None,
                                 content_type="application/json").get_environ()
        try:
            index, args = adapter.match(path_info=environ["PATH_INFO"].rstrip("/"),
                                        method=method)
        except (RequestRedirect, Exception):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist") from None
        route = routes[index]
        if route.kinds.get(method) not in ALLOWED_KINDS:
            raise ApiError(400, "INVALID_INPUT", f"{url} is not allowed in a composite request")
        version = args.pop("version", ctx.version)
        response = route.handler(Ctx(ctx.org, Request(environ), version), **args)
    except ApiError as error:
        response = error_response(error)
    raw = response.get_data()
    return {"body": parse_json(raw) if raw else None, "httpHeaders": {},
            "httpStatusCode": response.status_code, "referenceId": reference}
