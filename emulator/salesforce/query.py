"""Run a parsed SOQL query against the org's tables: check names, filter, sort, project."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from syncledger.emulator.salesforce.clock import canonical_datetime, day_start, parse_date
from syncledger.emulator.salesforce.errors import ApiError, invalid_field, malformed_query
from syncledger.emulator.salesforce.ids import normalise_id, object_of
from syncledger.emulator.salesforce.schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, Field, SObject
from syncledger.emulator.salesforce.soql import BoolOp, Comparison, Literal, Query

Record = dict[str, Any]
Lookup = Callable[[str], Record | None]
Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]


@dataclass
class Resolved:
    """A field path checked against the schema: how to read it, and the field at its end."""
    getter: Getter
    field: Field
    canonical: tuple[str, ...]          # names as describe spells them
    objects: tuple[tuple[str, ...], ...]  # the object(s) each relationship step leads to


def resolve(schema: dict[str, SObject], sobject: SObject, path: tuple[str, ...],
            lookup: Lookup) -> Resolved:
    current: list[SObject] = [sobject]
    refs: list[str] = []
    canonical: list[str] = []
    objects: list[tuple[str, ...]] = []
    for step in path[:-1]:
        relation = next((o.relationships[step.lower()] for o in current
                         if step.lower() in o.relationships), None)
        if relation is None:
            raise invalid_field(
                f"Didn't understand relationship '{step}' in field path. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.")
        refs.append(relation.name)
        canonical.append(relation.relationship_name or step)
        objects.append(relation.reference_to)
        current = [schema[name] for name in relation.reference_to]
    last = path[-1]
    final = next((f for f in (o.field(last) for o in current) if f is not None), None)
    if final is None:
        raise invalid_field(
            f"No such column '{last}' on entity '{current[0].name}'. If you are attempting to "
            "use a custom field, be sure to append the '__c' after the custom field name. "
            "Please reference your WSDL or the describe call for the appropriate names.")
    name = final.name
    canonical.append(name)
    if not refs:
        def simple(record: Record) -> Any:
            return record.get(name)
        getter: Getter = simple
    else:
        chain = tuple(refs)

        def follow(record: Record) -> Any:
            current_record: Record | None = record
            for ref in chain:
                target = current_record.get(ref) if current_record else None
                current_record = lookup(target) if target else None
                if current_record is None:
                    return None
            return current_record.get(name) if current_record else None
        getter = follow
    return Resolved(getter, final, tuple(canonical), tuple(objects))


# ---- literals ----------------------------------------------------------------------------

def _date_range(name: str, n: int, today: date) -> tuple[date, date]:
    """[start, end) of a SOQL date literal; weeks start on Sunday, as in US-locale orgs."""
    week = today - timedelta(days=(today.weekday() + 1) % 7)
    month = today.replace(day=1)

    def add_months(day: date, months: int) -> date:
        index = day.year * 12 + day.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    one = timedelta(days=1)
    ranges: dict[str, tuple[date, date]] = {
        "TODAY": (today, today + one),
        "YESTERDAY": (today - one, today),
        "TOMORROW": (today + one, today + 2 * one),
        "LAST_N_DAYS": (today - n * one, today + one),
        "NEXT_N_DAYS": (today + one, today + (n + 1) * one),
        "N_DAYS_AGO": (today - n * one, today - (n - 1) * one),
        "THIS_WEEK": (week, week + 7 * one),
        "LAST_WEEK": (week - 7 * one, week),
        "NEXT_WEEK": (week + 7 * one, week + 14 * one),
        "LAST_N_WEEKS": (week - 7 * n * one, week),
        "NEXT_N_WEEKS": (week + 7 * one, week + 7 * (n + 1) * one),
        "THIS_MONTH": (month, add_months(month, 1)),
        "LAST_MONTH": (add_months(month, -1), month),
        "NEXT_MONTH": (add_months(month, 1), add_months(month, 2)),
        "LAST_N_MONTHS": (add_months(month, -n), month),
        "NEXT_N_MONTHS": (add_months(month, 1), add_months(month, n + 1)),
        "LAST_90_DAYS": (today - 90 * one, today + one),
        "NEXT_90_DAYS": (today + one, today + 91 * one),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
    }
    return ranges[name]


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "b": "\b",
                                        "f": "\f"}.get(m.group(1), m.group(1)), raw)


def _type_error(field: Field, literal: Literal) -> ApiError:
    wanted = {"datetime": "dateTime", "date": "date", "boolean": "boolean"}.get(
        field.type, "number" if field.type in NUMBER_TYPES else "string")
    quoted = " and should not be enclosed in quotes" if literal.kind == "string" else ""
    return invalid_field(
        f"value of filter criterion for field '{field.name}' must be of type {wanted}{quoted}")


def _convert(field: Field, literal: Literal, today: date) -> Any:
    """A literal as the stored form of this field's values, or a (lo, hi) range."""
    kind, ftype = literal.kind, field.type
    if kind == "null":
        return None
    if ftype in ID_TYPES:
        if kind != "string":
            raise _type_error(field, literal)
        text = _unescape(literal.value)
        normal = normalise_id(text)
        if normal is None:
            raise ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}")
        return normal
    if ftype in TEXT_TYPES:
        if kind != "string":
            raise _type_error(field, literal)
        return _unescape(literal.value).lower()
    if ftype == "boolean":
        if kind != "boolean":
            raise _type_error(field, literal)
        return literal.value
    if ftype in NUMBER_TYPES:
        if kind != "number":
            raise _type_error(field, literal)
        return literal.value
    if ftype == "datetime":
        if kind == "datetime":
            moment = canonical_datetime(literal.value)
            if moment is None:
                raise malformed_query(f"invalid datetime: {literal.value}")
            return moment
        if kind == "date_literal":
            lo, hi = _date_range(literal.value[0], literal.value[1], today)
            return (day_start(lo), day_start(hi))
        raise _type_error(field, literal)
    if ftype == "date":
        if kind == "date":
            if parse_date(literal.value) is None:
                raise malformed_query(f"invalid date: {literal.value}")
            return literal.value
        if kind == "date_literal":
            lo, hi = _date_range(literal.value[0], literal.value[1], today)
            return (lo.isoformat(), hi.isoformat())
        raise _type_error(field, literal)
    raise _type_error(field, literal)


# ---- predicates --------------------------------------------------------------------------

def _normaliser(field: Field) -> Callable[[Any], Any]:
    if field.type in TEXT_TYPES:
        return lambda v: v.lower() if isinstance(v, str) else v
    return lambda v: v


def _like_regex(raw: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            out.append(re.escape(_unescape(raw[index:index + 2])))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _comparison(get: Getter, field: Field, op: str, value: Any) -> Predicate:
    norm = _normaliser(field)
    if isinstance(value, tuple):  # a date literal's [lo, hi)
        lo, hi = value
        range_tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: lo <= v < hi, "!=": lambda v: not lo <= v < hi,
            "<": lambda v: v < lo, "<=": lambda v: v < hi,
            ">": lambda v: v >= hi, ">=": lambda v: v >= lo,
        }
        test = range_tests[op]
        if op == "!=":
            return lambda r: (v := get(r)) is None or test(v)
        return lambda r: (v := get(r)) is not None and test(v)
    if value is None:
        if op == "=":
            return lambda r: get(r) is None
        if op == "!=":
            return lambda r: get(r) is not None
        return lambda r: False
    point_tests: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v == value, "!=": lambda v: v != value,
        "<": lambda v: v < value, "<=": lambda v: v <= value,
        ">": lambda v: v > value, ">=": lambda v: v >= value,
    }
    test = point_tests[op]
    if op == "!=":
        return lambda r: (v := get(r)) is None or test(norm(v))
    return lambda r: (v := get(r)) is not None and test(norm(v))


def _picklist_sets(values: Iterable[Any]) -> list[frozenset[str]]:
    return [frozenset(part.strip() for part in v.split(";") if part.strip())
            for v in values if isinstance(v, str)]


def compile_where(node: Comparison | BoolOp, resolver: Callable[[tuple[str, ...]], Resolved],
                  today: date) -> Predicate:
    if isinstance(node, BoolOp):
        parts = [compile_where(item, resolver, today) for item in node.items]
        if node.op == "not":
            inner = parts[0]
            return lambda r: not inner(r)
        if node.op == "and":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    resolved = resolver(node.path)
    field, get = resolved.field, resolved.getter
    if node.op == "like":
        if field.type not in TEXT_TYPES or node.values[0].kind != "string":
            raise invalid_field(f"invalid operator on field '{field.name}': LIKE")
        pattern = _like_regex(node.values[0].value)
        return lambda r: isinstance(v := get(r), str) and pattern.fullmatch(v) is not None
    if node.op in ("in", "not_in"):
        values = [_convert(field, literal, today) for literal in node.values]
        if any(isinstance(v, tuple) for v in values):
            raise malformed_query("date literals with a range are not allowed in IN")
        members = frozenset(v for v in values if v is not None)
        has_null = any(v is None for v in values)
        norm = _normaliser(field)

        def inside(r: Record) -> bool:
            v = get(r)
            return has_null if v is None else norm(v) in members
        if node.op == "in":
            return inside
        return lambda r: not inside(r)
    if node.op in ("includes", "excludes"):
        if field.type != "multipicklist":
            raise invalid_field(
                f"INCLUDES/EXCLUDES operator only valid on multipicklist field: {field.name}")
        wanted = [frozenset(x.lower() for x in s) for s in
                  _picklist_sets(_unescape(lit.value) for lit in node.values)]

        def includes(r: Record) -> bool:
            v = get(r)
            have = frozenset(x.lower() for x in v.split(";")) if isinstance(v, str) else set()
            return any(w <= have for w in wanted)
        if node.op == "includes":
            return includes
        return lambda r: not includes(r)
    return _comparison(get, field, node.op, _convert(field, node.values[0], today))


Bounds = tuple[str | None, str | None]
_STAMP_PATH = ("SystemModstamp",)


def stamp_bounds(node: Comparison | BoolOp, resolver: Callable[[tuple[str, ...]], Resolved],
                 today: date) -> Bounds | None:
    """[low, high] (None: open) holding the SystemModstamp of every row the WHERE accepts,
    when it bounds SystemModstamp (a comparison, alone or within an AND); else None. A
    superset is enough: the rows in range still go through the whole WHERE."""
    if isinstance(node, BoolOp):
        if node.op != "and":
            return None
        found = [b for b in (stamp_bounds(item, resolver, today) for item in node.items)
                 if b is not None]
        if not found:
            return None
        lows = [low for low, _ in found if low is not None]
        highs = [high for _, high in found if high is not None]
        return (max(lows) if lows else None, min(highs) if highs else None)
    if node.op not in ("=", "<", "<=", ">", ">="):
        return None
    resolved = resolver(node.path)
    if resolved.canonical != _STAMP_PATH:
        return None
    value = _convert(resolved.field, node.values[0], today)
    if value is None:
        return None
    low, high = value if isinstance(value, tuple) else (value, value)  # a date literal: [lo, hi)
    if node.op == "=":
        return (low, high)
    return (low, None) if node.op in (">", ">=") else (None, high)


# ---- execution ---------------------------------------------------------------------------

@dataclass
class Plan:
    """A checked query, ready to run and to project pages of its rows."""
    sobject: SObject
    query: Query
    predicate: Predicate | None
    order: list[tuple[Getter, Field, bool, bool]]
    projection: list[tuple[str, Any]]     # (name, None | (objects, sub-projection))
    lookup: Lookup
    version: str
    stamps: Bounds | None = None  # the WHERE's SystemModstamp range
    stamp_order: bool = False  # ORDER BY SystemModstamp, Id: the (SystemModstamp, Id) index's

    def index_range(self) -> Bounds | None:
        """The range of the (SystemModstamp, Id) index to read the rows from, when the query
        bounds SystemModstamp or is ordered as the index is; None: scan the table."""
        if "SystemModstamp" not in self.sobject.fields:
            return None
        if self.stamps is not None:
            return self.stamps
        return (None, None) if self.stamp_order else None

    def run(self, rows: Iterable[Record], include_deleted: bool,
            in_stamp_order: bool = False) -> list[Record]:
        """`in_stamp_order`: the rows come in (SystemModstamp, Id) order, from the index."""
        predicate = self.predicate
        selected = [r for r in rows if (include_deleted or not r.get("IsDeleted"))
                    and (predicate is None or predicate(r))]
        if not (in_stamp_order and self.stamp_order):
            _sort(selected, self.order)
        start = self.query.offset or 0
        end = start + self.query.limit if self.query.limit is not None else None
        return selected[start:end] if start or end is not None else selected

    def project(self, record: Record) -> Record:
        return _project(record, record_type(record, self.sobject.name), self.projection,
                        self.lookup, self.version)


def _sort_key(get: Getter, field: Field, descending: bool, nulls_last: bool,
              rows: list[Record]) -> Callable[[Record], Any]:
    text = field.type in TEXT_TYPES
    if all(get(r) is not None for r in rows):
        # the common case (SystemModstamp, Id): plain values sort several times faster
        if text:
            return lambda r: get(r).lower()
        return get
    # a null's rank makes it sort first or last whatever the direction
    null_rank = 1 if nulls_last != descending else -1

    def key(r: Record) -> tuple[int, Any]:
        v = get(r)
        if v is None:
            return (null_rank, 0)
        return (0, v.lower() if text and isinstance(v, str) else v)
    return key


def _sort(rows: list[Record], order: list[tuple[Getter, Field, bool, bool]]) -> None:
    if not order or not rows:
        return
    keys = [_sort_key(get, field, descending, nulls_last, rows)
            for get, field, descending, nulls_last in order]
    directions = {descending for _, _, descending, _ in order}
    if len(directions) == 1:
        if len(keys) == 1:
            key = keys[0]
        elif len(keys) == 2:
            first, second = keys
            if all(isinstance(first(r), str) and isinstance(second(r), str) for r in rows):
                # one string compares much faster than a tuple; NUL sorts before any char
                key = lambda r: first(r) + "\0" + second(r)  # noqa: E731
            else:
                key = lambda r: (first(r), second(r))  # noqa: E731
        else:
            key = lambda r: tuple(k(r) for k in keys)  # noqa: E731
        rows.sort(key=key, reverse=directions.pop())
        return
    # mixed directions: stable sorts from the last key to the first
    for key, (_, _, descending, _) in zip(reversed(keys), reversed(order), strict=True):
        rows.sort(key=key, reverse=descending)


def record_type(record: Record, default: str) -> str:
    record_id = record.get("Id")
    return (object_of(record_id) if isinstance(record_id, str) else None) or default


def attributes(sobject: str, record_id: Any, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _project(record: Record, sobject: str, projection: list[tuple[str, Any]], lookup: Lookup,
             version: str) -> Record:
    out: Record = {"attributes": attributes(sobject, record.get("Id"), version)}
    for name, sub in projection:
        if sub is None:
            out[name] = record.get(name)
            continue
        ref_field, nested = sub
        target_id = record.get(ref_field)
        target = lookup(target_id) if target_id else None
        out[name] = (None if target is None else
                     _project(target, record_type(target, ""), nested, lookup, version))
    return out


def plan(query: Query, schema: dict[str, SObject], lookup: Lookup, now: datetime,
         version: str) -> Plan:
    sobject = next((o for o in schema.values() if o.name.lower() == query.sobject.lower()), None)
    if sobject is None:
        raise ApiError(400, "INVALID_TYPE", f"\nFROM {query.sobject}\n     ^\nERROR at Row:1:"
                       f"Column:1\nsObject type '{query.sobject}' is not supported. If you are "
                       "attempting to use a custom object, be sure to append the '__c' after "
                       "the entity name. Please reference your WSDL or the describe call for "
                       "the appropriate names.")
    cache: dict[tuple[str, ...], Resolved] = {}

    def resolver(path: tuple[str, ...]) -> Resolved:
        key = tuple(p.lower() for p in path)
        if key not in cache:
            cache[key] = resolve(schema, sobject, path, lookup)
        return cache[key]

    today = now.date()
    predicate = compile_where(query.where, resolver, today) if query.where else None
    stamps = stamp_bounds(query.where, resolver, today) if query.where else None
    order = []
    for item in query.order_by:
        resolved = resolver(item.path)
        if resolved.field.type in ("textarea", "multipicklist"):
            raise invalid_field(f"field '{resolved.field.name}' can not be sorted in a query call")
        order.append((resolved.getter, resolved.field, item.descending, item.nulls_last))
    stamp_order = [(resolver(item.path).canonical, item.descending)
                   for item in query.order_by] == [(_STAMP_PATH, False), (("Id",), False)]
    projection: list[tuple[str, Any]] = []
    for path in query.fields:
        resolved = resolver(path)
        _insert(projection, resolved.canonical, sobject, schema)
    return Plan(sobject, query, predicate, order, projection, lookup, version, stamps,
                stamp_order)


def _insert(projection: list[tuple[str, Any]], names: tuple[str, ...], sobject: SObject,
            schema: dict[str, SObject]) -> None:
    head = names[0]
    if len(names) == 1:
        if all(existing != head for existing, _ in projection):
            projection.append((head, None))
        return
    relation = sobject.relationships[head.lower()]
    for existing, sub in projection:
        if existing == head and sub is not None:
            _insert(sub[1], names[1:], schema[relation.reference_to[0]], schema)
            return
    nested: list[tuple[str, Any]] = []
    projection.append((head, (relation.name, nested)))
    target = schema[relation.reference_to[0]]
    # a polymorphic step (Who) resolves later fields on whichever object the id points to
    if len(names) > 2 and target.relationships.get(names[1].lower()) is None:
        target = next(schema[n] for n in relation.reference_to
                      if names[1].lower() in schema[n].relationships)
    _insert(nested, names[1:], target, schema)

