"""sObject Collections: up to 200 records a call, per-record results, allOrNone rollback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from syncledger.emulator.salesforce.errors import ApiError, invalid_field
from syncledger.emulator.salesforce.http import Ctx, Route, json_response
from syncledger.emulator.salesforce.ids import normalise_id, object_of
from syncledger.emulator.salesforce.query import attributes
from syncledger.emulator.salesforce.store import Store

MAX_RECORDS = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header", "fields": []}

# one record's write: returns its success result, or raises ApiError
Write = Callable[[dict[str, Any]], dict[str, Any]]


def _records(ctx: Ctx) -> tuple[list[Any], bool]:
    body = ctx.object_body()
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "records is required and must be a list")
    _check_size(len(records))
    return records, bool(body.get("allOrNone", False))


def _check_size(count: int) -> None:
    if count > MAX_RECORDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                       f"{MAX_RECORDS} records into this call")


def _type_of(item: Any) -> str:
    if not isinstance(item, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "each record must be an object")
    kind = (item.get("attributes") or {}).get("type")
    if not kind:
        raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return str(kind)


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "attributes"}


def _run(store: Store, items: list[Any], all_or_none: bool, write: Write,
         failure_id: Callable[[Any], str | None]) -> list[dict[str, Any]]:
    """Apply `write` to each item; with allOrNone, any failure undoes them all."""
    results: list[dict[str, Any]] = []
    failed = False
    journal_outer = store.journal
    store.journal = [] if all_or_none else None
    try:
        for item in items:
            try:
                results.append(write(item))
            except ApiError as error:
                failed = True
                result: dict[str, Any] = {"success": False,
                                          "errors": [error.collection_error()]}
                record_id = failure_id(item)
                if record_id is not None:
                    result = {"id": record_id, **result}
                results.append(result)
        if all_or_none and failed:
            store.rollback()
            rolled = []
            for item, result in zip(items, results, strict=True):
                if result["success"]:
                    entry = {"success": False, "errors": [ROLLED_BACK]}
                    record_id = failure_id(item)
                    rolled.append({"id": record_id, **entry} if record_id else entry)
                else:
                    rolled.append(result)
            results = rolled
    finally:
        store.journal = journal_outer
    return results


def write(ctx: Ctx) -> Response:
    method = ctx.request.method
    store = ctx.org.store
    opts = ctx.write_options()
    if method == "DELETE":
        ids = [i for i in ctx.request.args.get("ids", "").split(",") if i]
        _check_size(len(ids))
        all_or_none = ctx.request.args.get("allOrNone", "false").lower() == "true"

        def delete_one(record_id: Any) -> dict[str, Any]:
            normal = normalise_id(str(record_id))
            name = object_of(normal) if normal else None
            if normal is None or name is None:
                raise ApiError(400, "MALFORMED_ID", f"malformed id {record_id}")
            store.delete(name, normal)
            return {"id": normal, "success": True, "errors": []}
        return json_response(_run(store, ids, all_or_none, delete_one, lambda i: str(i)))

    records, all_or_none = _records(ctx)
    if method == "POST":
        def create_one(item: Any) -> dict[str, Any]:
            kind = _type_of(item)
            return {"id": store.create(kind, _fields(item), opts), "success": True, "errors": []}
        return json_response(_run(store, records, all_or_none, create_one, lambda i: None))

    def update_one(item: Any) -> dict[str, Any]:
        kind = _type_of(item)
        fields = _fields(item)
        record_id = fields.pop("id", None) or fields.pop("Id", None)
        if not record_id:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call",
                           ["Id"])
        normal = normalise_id(str(record_id)) or str(record_id)
        store.update(kind, normal, fields, opts)
        return {"id": normal, "success": True, "errors": []}

    def given_id(item: Any) -> str | None:
        if not isinstance(item, dict):
            return None
        value = item.get("id") or item.get("Id")
        return (normalise_id(str(value)) or str(value)) if value else None
    return json_response(_run(store, records, all_or_none, update_one, given_id))


def upsert(ctx: Ctx, sobject: str, field: str) -> Response:
    store = ctx.org.store
    opts = ctx.write_options()
    obj = store.sobject(sobject)
    key_field = obj.field(field)
    if key_field is None or not (key_field.external_id or key_field.name == "Id"):
        raise invalid_field(f"Field name provided, {field} is not an External ID or indexed "
                            f"field for {obj.name}")
    records, all_or_none = _records(ctx)
    key = key_field.name

    def key_of(item: Any) -> Any:
        if not isinstance(item, dict):
            return None
        return next((v for k, v in item.items() if k.lower() == key.lower()), None)
    repeated = {k for k, n in Counter(key_of(i) for i in records).items() if k and n > 1}

    def upsert_one(item: Any) -> dict[str, Any]:
        kind = _type_of(item)
        if kind.lower() != obj.name.lower():
            raise ApiError(400, "INVALID_TYPE", f"record type {kind} does not match {obj.name}")
        value = key_of(item)
        if value in (None, ""):
            raise ApiError(400, "MISSING_ARGUMENT", f"{key} not specified", [key])
        if value in repeated:
            raise ApiError(400, "DUPLICATE_EXTERNAL_ID",
                           f"Duplicate external id specified: {value}", [key])
        record_id, created = store.upsert(obj.name, key, str(value), _fields(item), opts)
        return {"id": record_id, "success": True, "errors": [], "created": created}
    return json_response(_run(store, records, all_or_none, upsert_one, lambda i: None))


def read(ctx: Ctx, sobject: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    if ctx.request.method == "POST":
        body = ctx.object_body()
        ids, names = body.get("ids") or [], body.get("fields") or []
    else:
        ids = [i for i in ctx.request.args.get("ids", "").split(",") if i]
        names = [f for f in ctx.request.args.get("fields", "").split(",") if f]
    _check_size(len(ids))
    fields = []
    for name in names or list(obj.fields):
        field = obj.field(str(name).strip())
        if field is None:
            raise invalid_field(f"No such column '{name}' on entity '{obj.name}'.")
        fields.append(field.name)
    out: list[Any] = []
    for record_id in ids:
        normal = normalise_id(str(record_id))
        found = store.tables[obj.name].get(normal) if normal else None
        if found is None or found.get("IsDeleted"):
            out.append(None)
            continue
        row: dict[str, Any] = {"attributes": attributes(obj.name, found["Id"], ctx.version)}
        row.update((name, found.get(name)) for name in fields)
        out.append(row)
    return json_response(out)


V = "/services/data/v<version>/composite/sobjects"
ROUTES = [
    Route(V, write, {"POST": "collections", "PATCH": "collections", "DELETE": "collections"}),
    Route(f"{V}/<sobject>", read, {"GET": "collections_read", "POST": "collections_read"}),
    Route(f"{V}/<sobject>/<field>", upsert, {"PATCH": "collections"}),
]
