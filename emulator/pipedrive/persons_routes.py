"""API v2 persons: cursor-paged list, get, create, patch, soft delete, search."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from syncledger.emulator.pipedrive.context import Context, Route
from syncledger.emulator.pipedrive.http import ApiError, bool_arg, int_arg, json_body, ok
from syncledger.emulator.pipedrive.model import to_v2
from syncledger.emulator.pipedrive.store import SORT_KEYS, IndexKey, ListQuery
from syncledger.emulator.pipedrive.timefmt import ceil_epoch, parse_time

MAX_LIMIT = 500
MAX_SEARCH_LIMIT = 100
MAX_CUSTOM_KEYS = 15
SEARCH_FIELDS = frozenset({"custom_fields", "email", "notes", "phone", "name"})
# What POST and PATCH answer with besides the default fields.
WRITE_ANSWER = ("marketing_status",)


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ApiError(400, "Invalid cursor", "ERR_INVALID_CURSOR") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "Invalid cursor", "ERR_INVALID_CURSOR")
    return payload


def _time_arg(args: Any, name: str) -> float | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise ApiError(400, f"Parameter '{name}' must be an RFC 3339 date-time, "
                            "e.g. 2025-01-01T10:20:00Z") from exc


def _custom_keys(args: Any, all_keys: tuple[str, ...]) -> tuple[str, ...]:
    """The `custom_fields` parameter narrows the custom fields returned (at most 15 keys)."""
    raw = args.get("custom_fields")
    if not raw:
        return all_keys
    wanted = [k.strip() for k in raw.split(",") if k.strip()]
    if len(wanted) > MAX_CUSTOM_KEYS:
        raise ApiError(400, f"At most {MAX_CUSTOM_KEYS} custom_fields keys are allowed")
    return tuple(k for k in wanted if k in all_keys)


def _included(args: Any) -> tuple[str, ...]:
    """`include_fields`: optional fields a read adds; here only `marketing_status` (the
    Campaigns product is on in the emulated company). Others are accepted and left out."""
    raw = args.get("include_fields") or ""
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def list_persons(ctx: Context, request: Request) -> Response:
    args = request.args
    sort_by = args.get("sort_by", "id")
    if sort_by not in SORT_KEYS:
        raise ApiError(400, f"Parameter 'sort_by' must be one of {list(SORT_KEYS)}")
    direction = args.get("sort_direction", "asc")
    if direction not in ("asc", "desc"):
        raise ApiError(400, "Parameter 'sort_direction' must be asc or desc")
    limit = int_arg(args, "limit", 100, low=1, high=MAX_LIMIT) or 100
    after: IndexKey | None = None
    if args.get("cursor"):
        payload = decode_cursor(args["cursor"])
        key = payload.get("k")
        if payload.get("s") != sort_by or payload.get("d") != direction \
                or not isinstance(key, list) or len(key) != 2 \
                or not all(isinstance(x, int) for x in key):
            raise ApiError(400, "Invalid cursor for this sort", "ERR_INVALID_CURSOR")
        after = (key[0], key[1])
    ids = None
    if args.get("ids"):
        try:
            ids = frozenset(int(x) for x in args["ids"].split(",") if x.strip())
        except ValueError as exc:
            raise ApiError(400, "Parameter 'ids' must be comma-separated integers") from exc
        if len(ids) > 100:
            raise ApiError(400, "Parameter 'ids' takes at most 100 ids")
    since = _time_arg(args, "updated_since")
    query = ListQuery(
        sort_by=sort_by, ascending=direction == "asc", limit=limit, after=after,
        owner_id=int_arg(args, "owner_id"), org_id=int_arg(args, "org_id"), ids=ids,
        updated_since=ceil_epoch(since) if since is not None else None,
        updated_until=_time_arg(args, "updated_until"))
    page = ctx.store.list_persons(query)
    keys = _custom_keys(args, page.field_keys)
    next_cursor = None
    if page.next_key is not None:
        next_cursor = encode_cursor({"s": sort_by, "d": direction, "k": list(page.next_key)})
    included = _included(args)
    return ok([to_v2(p, keys, included) for p in page.persons], {"next_cursor": next_cursor})


def get_person(ctx: Context, request: Request, person_id: int) -> Response:
    person, keys = ctx.store.get_person(person_id)
    return ok(to_v2(person, _custom_keys(request.args, keys), _included(request.args)))


def add_person(ctx: Context, request: Request) -> Response:
    person, keys = ctx.store.create_person(json_body(request))
    return ok(to_v2(person, keys, WRITE_ANSWER))


def update_person(ctx: Context, request: Request, person_id: int) -> Response:
    person, keys = ctx.store.update_person(person_id, json_body(request))
    return ok(to_v2(person, keys, WRITE_ANSWER))


def delete_person(ctx: Context, request: Request, person_id: int) -> Response:
    return ok({"id": ctx.store.delete_person(person_id)})


def search_persons(ctx: Context, request: Request) -> Response:
    args = request.args
    term = args.get("term", "")
    exact = bool_arg(args, "exact_match")
    if len(term.strip()) < (1 if exact else 2):
        raise ApiError(400, "Parameter 'term' must be at least 2 characters "
                            "(1 with exact_match)")
    fields = SEARCH_FIELDS
    if args.get("fields"):
        fields = frozenset(f.strip() for f in args["fields"].split(",") if f.strip())
        if not fields <= SEARCH_FIELDS:
            raise ApiError(400, f"Parameter 'fields' takes only {sorted(SEARCH_FIELDS)}")
    limit = int_arg(args, "limit", 100, low=1, high=MAX_SEARCH_LIMIT) or 100
    start = 0
    if args.get("cursor"):
        payload = decode_cursor(args["cursor"])
        if not isinstance(payload.get("o"), int) or payload["o"] < 0:
            raise ApiError(400, "Invalid cursor", "ERR_INVALID_CURSOR")
        start = payload["o"]
    hits, keys = ctx.store.search(term, fields, exact, int_arg(args, "organization_id"))
    page = hits[start:start + limit]
    items = [{"result_score": round(score, 4), "item": _search_item(person, keys)}
             for score, person in page]
    more = start + limit < len(hits)
    next_cursor = encode_cursor({"o": start + limit}) if more else None
    return ok({"items": items}, {"next_cursor": next_cursor})


def _search_item(person: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": person.id, "type": "person", "name": person.name,
        "phones": [p["value"] for p in person.phones],
        "emails": person.email_values(),
        "visible_to": person.visible_to,
        "owner": {"id": person.owner_id},
        "organization": {"id": person.org_id, "name": None} if person.org_id else None,
        "custom_fields": [str(person.custom_fields[k]) for k in keys
                          if isinstance(person.custom_fields.get(k), str)],
        "notes": [],
    }


def routes() -> list[Route]:
    return [
        Route("/api/v2/persons", ("GET", "POST"), "persons_list", _collection,
              {"POST": "persons_write"}),
        Route("/api/v2/persons/search", ("GET",), "search", search_persons),
        Route("/api/v2/persons/<int:person_id>", ("GET", "PATCH", "DELETE"), "persons_read",
              _item, {"PATCH": "persons_write", "DELETE": "persons_write"}),
    ]


def _collection(ctx: Context, request: Request) -> Response:
    if request.method == "POST":
        return add_person(ctx, request)
    return list_persons(ctx, request)


def _item(ctx: Context, request: Request, person_id: int) -> Response:
    if request.method == "PATCH":
        return update_person(ctx, request, person_id)
    if request.method == "DELETE":
        return delete_person(ctx, request, person_id)
    return get_person(ctx, request, person_id)
