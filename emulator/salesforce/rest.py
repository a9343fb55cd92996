"""REST routes for query, queryAll, sObject rows, describe, getUpdated/getDeleted, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Response

from syncledger.emulator.salesforce.clock import format_datetime
from syncledger.emulator.salesforce.errors import ApiError, invalid_field, malformed_query
from syncledger.emulator.salesforce.http import Ctx, Route, json_response, no_content
from syncledger.emulator.salesforce.query import attributes, plan
from syncledger.emulator.salesforce.schema import SObject
from syncledger.emulator.salesforce.soql import parse
from syncledger.emulator.salesforce.store import parse_moment

PAGE_SIZE = 2000


# ---- query ------------------------------------------------------------------------------

def _page_size(ctx: Ctx) -> int:
    options = ctx.request.headers.get("Sforce-Query-Options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "batchsize" and value.isdigit():
            return max(200, min(PAGE_SIZE, int(value)))
    return PAGE_SIZE


def _page(ctx: Ctx, locator: str, rows_total: int, start: int, records: list[Any]) -> Any:
    end = start + len(records)
    body: dict[str, Any] = {"totalSize": rows_total, "done": end >= rows_total}
    if end < rows_total:
        body["nextRecordsUrl"] = f"/services/data/v{ctx.version}/query/{locator}-{end}"
    body["records"] = records
    return body


def _run_query(ctx: Ctx, include_deleted: bool) -> Response:
    text = ctx.request.args.get("q")
    if not text:
        raise malformed_query("A query string has to be specified")
    store = ctx.org.store
    query = parse(text)
    compiled = plan(query, store.schema, store.lookup, store.clock.now(), ctx.version)
    name = compiled.sobject.name
    indexed = compiled.index_range()  # a SystemModstamp range, or its order, from the index
    source = store.tables[name].values() if indexed is None else \
        store.stamped_between(name, *indexed)
    rows = compiled.run(source, include_deleted, in_stamp_order=indexed is not None)
    if query.count == "all":
        return json_response({"totalSize": len(rows), "done": True, "records": []})
    if query.count == "field":
        field_name = query.fields[0][-1]
        count = sum(1 for r in rows if compiled.project(r).get(field_name) is not None)
        return json_response({"totalSize": 1, "done": True, "records": [
            {"attributes": {"type": "AggregateResult"}, "expr0": count}]})
    size = _page_size(ctx)
    first = [compiled.project(r) for r in rows[:size]]
    locator = ctx.org.open_cursor(compiled, rows) if len(rows) > size else ""
    return json_response(_page(ctx, locator, len(rows), 0, first))


def query(ctx: Ctx) -> Response:
    return _run_query(ctx, include_deleted=False)


def query_all(ctx: Ctx) -> Response:
    return _run_query(ctx, include_deleted=True)


def query_more(ctx: Ctx, locator: str) -> Response:
    base, _, offset = locator.rpartition("-")
    if not base or not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor = ctx.org.cursor(base)
    start = int(offset)
    rows = cursor.rows[start:start + _page_size(ctx)]
    records = [cursor.plan.project(r) for r in rows]
    return json_response(_page(ctx, base, len(cursor.rows), start, records))


# ---- describe ---------------------------------------------------------------------------

def _object_summary(ctx: Ctx, sobject: SObject) -> dict[str, Any]:
    base = f"/services/data/v{ctx.version}/sobjects/{sobject.name}"
    return {"name": sobject.name, "label": sobject.label, "labelPlural": sobject.label_plural,
            "keyPrefix": sobject.key_prefix, "custom": False, "queryable": True,
            "retrieveable": True, "searchable": True, "createable": sobject.createable,
            "updateable": sobject.updateable, "deletable": sobject.deletable,
            "undeletable": sobject.deletable, "mergeable": sobject.name in
            ("Lead", "Contact", "Account"), "replicateable": True, "layoutable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"}}


def global_describe(ctx: Ctx) -> Response:
    return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
        _object_summary(ctx, o) for o in ctx.org.store.schema.values()]})


def describe(ctx: Ctx, sobject: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    fields = []
    for field in obj.fields.values():
        values = store.picklist(obj, field)
        default = None
        if obj.name == "Lead" and field.name == "Status":
            default = next((s["ApiName"] for s in store.statuses() if s.get("IsDefault")), None)
        elif field.type == "picklist" and isinstance(field.default, str):
            default = field.default
        fields.append(field.describe(values, default))
    return json_response({**_object_summary(ctx, obj), "fields": fields,
                          "childRelationships": [], "recordTypeInfos": []})


def object_info(ctx: Ctx, sobject: str) -> Response:
    obj = ctx.org.store.sobject(sobject)
    return json_response({"objectDescribe": _object_summary(ctx, obj), "recentItems": []})


# ---- rows -------------------------------------------------------------------------------

def _render(ctx: Ctx, obj: SObject, record: dict[str, Any]) -> dict[str, Any]:
    wanted = ctx.request.args.get("fields")
    names = list(obj.fields)
    if wanted:
        names = []
        for name in wanted.split(","):
            field = obj.field(name.strip())
            if field is None:
                raise invalid_field(f"No such column '{name.strip()}' on entity '{obj.name}'.")
            names.append(field.name)
    out: dict[str, Any] = {"attributes": attributes(obj.name, record["Id"], ctx.version)}
    out.update((name, record.get(name)) for name in names)
    return out


def create(ctx: Ctx, sobject: str) -> Response:
    record_id = ctx.org.store.create(sobject, ctx.object_body(), ctx.write_options())
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


def record(ctx: Ctx, sobject: str, record_id: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    method = ctx.request.method
    if method == "GET":
        return json_response(_render(ctx, obj, store.get(obj.name, record_id)))
    if method == "PATCH":
        store.update(obj.name, record_id, ctx.object_body(), ctx.write_options())
        return no_content()
    store.delete(obj.name, record_id)
    return no_content()


def by_external_id(ctx: Ctx, sobject: str, field: str, value: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    method = ctx.request.method
    if method == "PATCH":
        record_id, created = store.upsert(obj.name, field, value, ctx.object_body(),
                                          ctx.write_options())
        return json_response({"id": record_id, "success": True, "errors": [],
                              "created": created}, 201 if created else 200)
    found = store.find_by_external(obj, field, value)
    if found is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if method == "GET":
        return json_response(_render(ctx, obj, found))
    store.delete(obj.name, found["Id"])
    return no_content()


def _window(ctx: Ctx) -> tuple[str, str]:
    start, end = ctx.request.args.get("start"), ctx.request.args.get("end")
    if not start or not end:
        raise ApiError(400, "MISSING_ARGUMENT", "start and end are required")
    low, high = parse_moment(start), parse_moment(end)
    if high < low:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "end date must be after start date")
    # like Salesforce, the window is whole minutes
    low = low.replace(second=0, microsecond=0)
    high = high.replace(second=0, microsecond=0)
    return format_datetime(low), format_datetime(high)


def updated(ctx: Ctx, sobject: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    low, high = _window(ctx)
    ids = sorted(r["Id"] for r in store.stamped_between(obj.name, low, high)
                 if not r.get("IsDeleted") and r["SystemModstamp"] < high)
    return json_response({"ids": ids, "latestDateCovered": high})


def deleted(ctx: Ctx, sobject: str) -> Response:
    store = ctx.org.store
    obj = store.sobject(sobject)
    low, high = _window(ctx)
    found = sorted(({"id": r["Id"], "deletedDate": r["SystemModstamp"]}
                    for r in store.stamped_between(obj.name, low, high)
                    if r.get("IsDeleted") and r["SystemModstamp"] < high),
                   key=lambda d: d["id"])
    recycle_start = format_datetime(store.clock.now() - timedelta(days=15))
    return json_response({"deletedRecords": found, "earliestDateAvailable": recycle_start,
                          "latestDateCovered": high})


# ---- org-level --------------------------------------------------------------------------

def versions(ctx: Ctx) -> Response:
    return json_response([{"label": "Winter '24", "url": "/services/data/v59.0",
                           "version": "59.0"}])


def resources(ctx: Ctx) -> Response:
    base = f"/services/data/v{ctx.version}"
    return json_response({name: f"{base}/{name}" for name in
                          ("sobjects", "query", "queryAll", "limits", "composite")})


def limits(ctx: Ctx) -> Response:
    governor = ctx.org.governor
    return json_response({"DailyApiRequests": {"Max": governor.daily_limit,
                                               "Remaining": governor.daily_limit
                                               - governor.used}})


V = "/services/data/v<version>"
R = "describe"
ROUTES = [
    Route("/services/data", versions, {"GET": "public"}),
    Route(V, resources, {"GET": R}),
    Route(f"{V}/limits", limits, {"GET": R}),
    Route(f"{V}/query", query, {"GET": "query"}),
    Route(f"{V}/queryAll", query_all, {"GET": "query"}),
    Route(f"{V}/query/<locator>", query_more, {"GET": "query_more"}),
    Route(f"{V}/queryAll/<locator>", query_more, {"GET": "query_more"}),
    Route(f"{V}/sobjects", global_describe, {"GET": R}),
    Route(f"{V}/sobjects/<sobject>", object_info, {"GET": R}),
    Route(f"{V}/sobjects/<sobject>/describe", describe, {"GET": R}),
    Route(f"{V}/sobjects/<sobject>/updated", updated, {"GET": "sobject_read"}),
    Route(f"{V}/sobjects/<sobject>/deleted", deleted, {"GET": "sobject_read"}),
    Route(f"{V}/sobjects/<sobject>/<record_id>", record,
          {"GET": "sobject_read", "PATCH": "sobject_write", "DELETE": "sobject_write"}),
    Route(f"{V}/sobjects/<sobject>/<field>/<path:value>", by_external_id,
          {"GET": "sobject_read", "PATCH": "sobject_write", "DELETE": "sobject_write"}),
]
# POST to /sobjects/<sobject> creates: same path as object_info, another method
CREATE_ROUTE = Route(f"{V}/sobjects/<sobject>", create, {"POST": "sobject_write"})
