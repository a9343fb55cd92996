"""API v1 for what v2 lacks here: users, personFields, recents, notes; 410 for v1 persons."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from syncledger.emulator.pipedrive.context import Context, Route
from syncledger.emulator.pipedrive.fields import standard_fields_v1
from syncledger.emulator.pipedrive.http import ApiError, error_response, int_arg, json_body, ok
from syncledger.emulator.pipedrive.model import to_v1
from syncledger.emulator.pipedrive.timefmt import ceil_epoch, parse_time, v1_time

MAX_V1_LIMIT = 500
RECENT_ITEMS = frozenset({"activity", "activityType", "deal", "file", "filter", "note",
                          "person", "organization", "pipeline", "product", "stage", "user"})
V1_PERSONS_GONE = ("The v1 Persons endpoints are out of support since 2026-08-01. "
                   "Use /api/v2/persons instead.")


def _pagination(start: int, limit: int, more: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        body["next_start"] = start + limit
    return body


def _paging(request: Request, default: int = 100) -> tuple[int, int]:
    start = int_arg(request.args, "start", 0, low=0) or 0
    limit = int_arg(request.args, "limit", default, low=1, high=MAX_V1_LIMIT) or default
    return start, limit


def users(ctx: Context, request: Request) -> Response:
    return ok(ctx.store.users())


def user(ctx: Context, request: Request, user_id: int) -> Response:
    found = ctx.store.user(user_id)
    if found is None:
        raise ApiError(404, "User not found")
    return ok(found)


def me(ctx: Context, request: Request) -> Response:
    found = ctx.store.user(ctx.store.me_id)
    if found is None:
        raise ApiError(404, "User not found")
    company = ctx.store.company
    found.update({
        "company_id": company["id"], "company_name": company["name"],
        "company_domain": company["domain"], "company_country": company.get("country", ""),
        "company_industry": company.get("industry", ""),
        "language": {"language_code": "en", "country_code": "US"},
    })
    return ok(found)


def person_fields(ctx: Context, request: Request) -> Response:
    start, limit = _paging(request)
    standard = standard_fields_v1(ctx.store.fields_time)
    custom = [spec.to_v1(len(standard) + n) for n, spec in enumerate(ctx.store.custom_fields())]
    every = standard + custom
    page = every[start:start + limit]
    return ok(page, _pagination(start, limit, start + limit < len(every)))


def recents(ctx: Context, request: Request) -> Response:
    raw = request.args.get("since_timestamp")
    if not raw:
        raise ApiError(400, "Parameter 'since_timestamp' is required "
                            "(format YYYY-MM-DD HH:MM:SS, UTC)")
    try:
        since = ceil_epoch(parse_time(raw))
    except ValueError as exc:
        raise ApiError(400, "Parameter 'since_timestamp' must be YYYY-MM-DD HH:MM:SS") from exc
    kinds = RECENT_ITEMS
    if request.args.get("items"):
        kinds = frozenset(k.strip() for k in request.args["items"].split(",") if k.strip())
        if not kinds <= RECENT_ITEMS:
            raise ApiError(400, f"Parameter 'items' takes only {sorted(RECENT_ITEMS)}")
    start, limit = _paging(request)
    rows, more, keys = ctx.store.recents(since, kinds, start, limit)
    company_id = int(ctx.store.company["id"])
    data: list[dict[str, Any]] = []
    for item, item_id, _, record in rows:
        if item == "person":
            body = to_v1(record, keys, company_id)
        elif item == "note":
            body = ctx.store.render_note(record)
        else:
            body = record
        data.append({"item": item, "id": item_id, "data": body})
    last = v1_time(rows[-1][2]) if rows else None
    return ok(data, {"since_timestamp": v1_time(since), "last_timestamp_on_page": last,
                     "pagination": _pagination(start, limit, more)})


def notes(ctx: Context, request: Request) -> Response:
    if request.method == "POST":
        return ok(ctx.store.add_note(json_body(request)), status=201)
    start, limit = _paging(request)
    page, more = ctx.store.notes(int_arg(request.args, "person_id"), start, limit)
    return ok(page, {"pagination": _pagination(start, limit, more)})


def v1_persons_gone(ctx: Context, request: Request, rest: str = "") -> Response:
    return error_response(410, V1_PERSONS_GONE, "ERR_ENDPOINT_GONE")


def routes() -> list[Route]:
    every_method = ("GET", "POST", "PUT", "PATCH", "DELETE")
    return [
        Route("/api/v1/users", ("GET",), "users", users),
        Route("/api/v1/users/me", ("GET",), "users", me),
        Route("/api/v1/users/<int:user_id>", ("GET",), "users", user),
        Route("/api/v1/personFields", ("GET",), "fields", person_fields),
        Route("/api/v1/recents", ("GET",), "recents", recents),
        Route("/api/v1/notes", ("GET", "POST"), "notes", notes),
        Route("/api/v1/persons", every_method, "gone", v1_persons_gone),
        Route("/api/v1/persons/<path:rest>", every_method, "gone", v1_persons_gone),
    ]
