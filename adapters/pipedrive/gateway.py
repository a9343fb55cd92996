"""Pipedrive behind the engine's `CrmGateway` port: API v2 persons (cursor pulls ordered by
(update_time, id), exact searches, one POST or PATCH per person), v1 for users, personFields
and recents (deletions and merges). The only stream is `person`.

Pipedrive's own names stay here: a person's values are flattened by Pipedrive's field names
(`email` is the primary email's value, `emails` all of them, primary first; custom fields by
their 40-character hash keys), and a create carries its idempotency key in the "Syncledger
key" person field, found through personFields. Pipedrive has no upsert on an external id, so
a create that may have landed before (`RecordWrite.reconcile`) looks for its key first and
updates what it finds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.crm_errors import CrmFatal
from syncledger.adapters.match_readings import MatchReadings
from syncledger.adapters.pipedrive.client import (
    PipedriveClient,
    PipedriveRejected,
    PipedriveUnavailable,
    RateLimited,
    key_field,
)
from syncledger.domain.ports import CrmRow, PeopleSchema, RecordWrite, Removal, WriteOutcome

if TYPE_CHECKING:
    from syncledger.domain.ports import CrmGateway

PERSON = "person"
PEOPLE = PeopleSchema(streams=(PERSON,), owner_field="owner_id",
                      opt_out_field="marketing_status", email_field="email",
                      required={PERSON: ("name",)},
                      composed={"name": ("first_name", "last_name")}, app_key_prefix="pd",
                      # Pipedrive's persons are its contacts (Contacts > People).
                      kinds={PERSON: "persons"})
PAGE = 500  # v2's and v1's largest page
# Each person is a call of its own (v2 has no batch writes): a group of 50 is sent, then
# its outcomes are recorded, so a crash leaves few writes to reconcile.
GROUP_SIZE = 50
MAX_CUSTOM_KEYS = 15  # custom field keys one v2 read may name
UNSUBSCRIBED = "unsubscribed"
# A custom field's key: 40 hex characters. Other names are Pipedrive's own fields.
CUSTOM_KEY = re.compile(r"[0-9a-f]{40}")
# What a write builds itself (the rest of the standard fields go as they are given).
BUILT = frozenset({"name", "first_name", "last_name", "email", "emails", "phone", "phones",
                   "owner_id", "org_id", "marketing_status"})
READ_ONLY = frozenset({"id", "add_time", "update_time"})
LABEL = "work"  # the label a new email or phone gets


class PipedriveGateway:
    crm = "pipedrive"
    people = PEOPLE
    call_kinds: tuple[str, ...] = ("persons_list", "persons_read", "persons_write", "search",
                                   "users", "fields", "recents")
    group_size = GROUP_SIZE
    groups_at_once = 1  # nothing packs several groups in one call
    # Its client keeps one session and its burst window for one caller at a time.
    side_by_side = False

    def __init__(self, client: PipedriveClient, page_size: int = PAGE,
                 readings: MatchReadings | None = None, budget: CallBudget | None = None
                 ) -> None:
        self.client = client
        self._budget = budget or client.budget  # the one the factory gave them both
        self.page_size = page_size
        self._readings = readings
        self._key_field: tuple[str | None] | None = None  # looked up once, None if absent

    @property
    def calls(self) -> Mapping[str, int]:
        return self.client.calls

    @property
    def readings(self) -> MatchReadings | None:
        """The email look-ups the run made, kept for its replay."""
        return self._readings

    def spend_at_most(self, calls: int) -> None:
        self._budget.limit = calls

    def api_limit(self) -> tuple[int, int] | None:
        return self.client.api_limit()

    def parse_stamp(self, stamp: str) -> datetime:
        return parse_stamp(stamp)

    def record_url(self, stream: str, record_id: str) -> str:
        return f"{self.client.base}/person/{record_id}"

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return as_held(fields)

    def describe(self, stream: str) -> dict[str, Any]:
        _person(stream)
        return {str(f["key"]): {"length": 0, "type": str(f.get("field_type") or "varchar"),
                                "label": str(f.get("name") or f["key"])}
                for f in self.client.person_fields()}

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        """An enum or set person field's options as (option id, label): Pipedrive writes
        and reads the id."""
        _person(stream)
        for raw in self.client.person_fields():
            if raw.get("key") == name:
                return [(str(o["id"]), str(o.get("label") or o["id"]))
                        for o in raw.get("options") or () if isinstance(o, Mapping)]
        return []

    def users(self) -> dict[str, str]:
        return {str(u["id"]): str(u.get("email") or "") for u in self.client.users()}

    # -- reads ------------------------------------------------------------------------------
    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        """GET /api/v2/persons ordered by (update_time, id), from `since` (to the second,
        rounded down), following `next_cursor` to the end. The step's custom fields are named
        in `custom_fields` when they fit in one read (15); else every custom field comes and
        the step's are kept."""
        _person(stream)
        custom = [name for name in fields if _custom(name)]
        params: dict[str, Any] = {"sort_by": "update_time", "sort_direction": "asc",
                                  "limit": self.page_size, "include_fields": "marketing_status"}
        if since is not None:
            params["updated_since"] = _rfc3339(since)
        if 0 < len(custom) <= MAX_CUSTOM_KEYS:
            params["custom_fields"] = ",".join(custom)
        wanted = frozenset(custom) if fields else None
        cursor: str | None = None
        while True:
            body = self.client.call("persons_list", "GET", "/api/v2/persons",
                                    params={**params, **({"cursor": cursor} if cursor else {})})
            yield [_row(person, wanted, fields) for person in body.get("data") or []]
            following = (body.get("additional_data") or {}).get("next_cursor")
            if not following:
                return
            if following == cursor:
                raise CrmFatal("Pipedrive paged /api/v2/persons to the same cursor again: the "
                               "cursor does not move")
            cursor = str(following)

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        """Persons deleted (or merged away) since `since`, from v1 recents: a deleted person
        comes with `active_flag` false; the survivor of a merge comes too (its update_time
        moved) and names the person merged into it in `merge_what_id`. Recents reach back
        30 days, as long as Pipedrive keeps deleted persons."""
        _person(stream)
        deleted: dict[str, str | None] = {}
        survivors: dict[str, str] = {}
        for page in self.client.v1_pages("recents", "/api/v1/recents", {
                "since_timestamp": _v1_time(since), "items": PERSON}):
            for entry in page:
                if entry.get("item") != PERSON or not isinstance(entry.get("data"), dict):
                    continue
                data = entry["data"]
                if data.get("merge_what_id") is not None:
                    survivors[str(data["merge_what_id"])] = str(data["id"])
                if data.get("active_flag") is False:
                    when = data.get("delete_time") or data.get("update_time")
                    deleted[str(data["id"])] = _v1_to_rfc3339(when) if when else None
        removals = sorted((Removal(person_id, stamp, survivors.get(person_id))
                           for person_id, stamp in deleted.items()),
                          key=lambda r: (r.stamp or "", _id_order(r.id)))
        for start in range(0, len(removals), self.page_size):
            yield removals[start:start + self.page_size]

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        """One exact search per email (Pipedrive has no IN); the rows carry what a search
        item does (id, name, emails, owner), no stamp."""
        _person(stream)
        seen: set[str] = set()
        for raw in emails:
            email = (raw or "").strip()
            if not email or email.lower() in seen:
                continue
            seen.add(email.lower())
            rows = [_search_row(item) for item in self._search(email, "email")
                    if email.lower() in (str(v).lower() for v in item.get("emails") or ())]
            if self._readings is not None:
                self._readings.asked(stream, email, [row.id for row in rows])
            if rows:
                yield rows

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        """One exact search per condition, on the first of its fields v2 searches (email,
        phone, name, a custom field); the persons found that meet every field of it."""
        _person(stream)
        for condition in conditions:
            searched = next((name for name in condition if name in SEARCHED or _custom(name)),
                            None)
            if searched is None:
                raise ValueError(f"Pipedrive searches persons by {', '.join(sorted(SEARCHED))}"
                                 f" or a custom field, not by {', '.join(condition)}")
            term = str(condition[searched])
            rows = [_search_row(item) for item in self._search(
                term, searched if searched in SEARCHED else "custom_fields")]
            met = [row for row in rows if all(
                str(value).lower() in (str(v).lower() for v in _every(row, name))
                for name, value in condition.items())]
            if met:
                yield met

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        """Persons carrying these keys in the key field: an exact search a key (none
        without the field: then a create is found again by its email)."""
        _person(stream)
        key = self.key_field()
        found: dict[str, str] = {}
        if key is None:
            return found
        for wanted in keys:
            ids = sorted(int(item["id"]) for item in self._search(wanted, "custom_fields")
                         if wanted in (item.get("custom_fields") or ()))
            if ids:
                found[wanted] = str(ids[0])
        return found

    # -- writes -----------------------------------------------------------------------------
    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        """One call per person (two when a create looks for its key first), each sent once:
        5xx and timeouts become retryable failures, never a second attempt. A spent budget
        (CrmLimitReached) or a refused token stops the write there."""
        return [[self._write(write) for write in group] for group in groups]

    def _write(self, write: RecordWrite) -> WriteOutcome:
        _person(write.stream)
        try:
            if write.action == "update":
                crm_id = write.crm_id or ""
                if not crm_id.isdigit():
                    return WriteOutcome.failed("INVALID_ID", f"{write.crm_id!r} is no Pipedrive "
                                               "person id", False, write.crm_id)
                return self._patch(crm_id, write.fields, created=False)
            key = self.key_field()
            landed = self._landed(write, key) if write.reconcile else None
            if landed is not None:
                return self._patch(landed, write.fields, created=True)
            body = _body(write.fields)
            if key is not None:
                body.setdefault("custom_fields", {})[key] = write.key
            data = self.client.call("persons_write", "POST", "/api/v2/persons", json=body,
                                    retry_failures=False).get("data") or {}
            return WriteOutcome(crm_id=str(data["id"]), created=True)
        except PipedriveRejected as error:
            code = "ENTITY_IS_DELETED" if error.status == 404 else \
                error.code or f"HTTP_{error.status}"
            return WriteOutcome.failed(code, str(error), False, write.crm_id)
        except RateLimited as error:
            return WriteOutcome.failed("RATE_LIMITED", str(error), True, write.crm_id)
        except PipedriveUnavailable as error:
            code = "TIMEOUT" if error.status is None else "SERVER_ERROR"
            return WriteOutcome.failed(code, str(error), True, write.crm_id)
        except (TypeError, ValueError) as error:  # an owner or org id that is no number
            return WriteOutcome.failed("INVALID_FIELD", f"not written: {error}", False,
                                       write.crm_id)

    def _patch(self, person_id: str, fields: Mapping[str, Any], created: bool) -> WriteOutcome:
        fields = self._completed(person_id, fields)
        data = self.client.call("persons_write", "PATCH", f"/api/v2/persons/{int(person_id)}",
                                json=_body(fields),
                                retry_failures=False).get("data") or {}
        return WriteOutcome(crm_id=str(data.get("id") or person_id), created=created)

    def _completed(self, person_id: str, fields: Mapping[str, Any]) -> Mapping[str, Any]:
        """What an update needs of the person as Pipedrive holds it, read first (one call,
        only when needed): v2 replaces the emails (or phones) with the array a PATCH carries,
        so a new primary goes with the others the person has, none lost; and `name` is
        composed of both names, so one name changed goes with the other one it has."""
        contacts = [many for single, many in (("email", "emails"), ("phone", "phones"))
                    if fields.get(single) not in (None, "") and many not in fields]
        parts = ("first_name", "last_name")
        one_name = not fields.get("name") and sum(part in fields for part in parts) == 1
        if not contacts and not one_name:
            return fields
        person = self.client.call("persons_read", "GET",
                                  f"/api/v2/persons/{int(person_id)}").get("data") or {}
        completed = {**fields, **{many: list(person.get(many) or ()) for many in contacts}}
        if one_name:
            completed.update({part: person.get(part) for part in parts if part not in fields})
        return completed

    def _landed(self, write: RecordWrite, key: str | None) -> str | None:
        """The person an earlier attempt of this create made: found by its key, or, without
        the key field, by its email (the oldest holder)."""
        if key is not None:
            found = [item for item in self._search(write.key, "custom_fields")
                     if write.key in (item.get("custom_fields") or ())]
        else:
            email = str(write.fields.get("email") or "").strip()
            found = [item for item in self._search(email, "email")
                     if email.lower() in (str(v).lower() for v in item.get("emails") or ())
                     ] if email else []
        ids = sorted(int(item["id"]) for item in found)
        return str(ids[0]) if ids else None

    def _search(self, term: str, field: str) -> list[dict[str, Any]]:
        body = self.client.call("search", "GET", "/api/v2/persons/search", params={
            "term": term, "fields": field, "exact_match": "true", "limit": 100})
        return [entry["item"] for entry in (body.get("data") or {}).get("items") or []
                if isinstance(entry.get("item"), dict)]

    def key_field(self) -> str | None:
        """The hash key of the "Syncledger key" person field (looked up once)."""
        if self._key_field is None:
            self._key_field = (key_field(self.client.person_fields()),)
        return self._key_field[0]


def parse_stamp(stamp: str) -> datetime:
    """v2's RFC 3339 (`2026-03-01T09:00:00Z`) or v1's `2026-03-01 09:00:00` (UTC)."""
    text = stamp.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def modstamp(moment: datetime) -> str:
    """A moment as v2 writes a person's update_time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_held(fields: Mapping[str, Any]) -> dict[str, Any]:
    """v2 keeps `name` and splits it at its first space: a first name of two words comes
    back as one, its second word starting the last name."""
    held = dict(fields)
    parts = ("first_name", "last_name")
    if fields.get("name") or not all(part in fields for part in parts):
        return held
    composed = " ".join(str(fields[p]).strip() for p in parts if fields.get(p))
    first, _, last = composed.partition(" ")
    held.update(first_name=first or None, last_name=last.strip() or None)
    return held


def _person(stream: str) -> None:
    if stream != PERSON:
        raise ValueError(f"Pipedrive has no stream {stream!r} here; its people are {PERSON}")


SEARCHED = frozenset({"email", "phone", "name"})  # the standard fields v2 searches exactly


def _every(row: CrmRow, name: str) -> list[Any]:
    """A row's values of a field, every one for the emails and phones."""
    many = {"email": "emails", "phone": "phones"}.get(name)
    values = row.values.get(many) if many else None
    return list(values) if values else [row.values.get(name)]


def _custom(name: str) -> bool:
    return CUSTOM_KEY.fullmatch(name) is not None


def _row(person: Mapping[str, Any], wanted: frozenset[str] | None,
         fields: Sequence[str] = ()) -> CrmRow:
    emails = _ordered(person.get("emails"))
    phones = _ordered(person.get("phones"))
    owner = person.get("owner_id")
    values: dict[str, Any] = {
        "name": person.get("name"), "first_name": person.get("first_name"),
        "last_name": person.get("last_name"),
        "email": emails[0] if emails else None, "emails": emails,
        "phone": phones[0] if phones else None, "phones": phones,
        "owner_id": str(owner) if owner is not None else None,
        "marketing_status": person.get("marketing_status"), "org_id": person.get("org_id"),
    }
    for key, value in (person.get("custom_fields") or {}).items():
        if wanted is None or key in wanted:
            values[key] = value
    for name in fields:  # other standard fields a step reads (job_title, label_ids, ...)
        if not _custom(name) and name not in values:
            values[name] = person.get(name)
    return CrmRow(id=str(person["id"]), stamp=str(person.get("update_time") or ""),
                  values=values, owner=values["owner_id"], created=person.get("add_time"),
                  opted_out=person.get("marketing_status") == UNSUBSCRIBED)


def _search_row(item: Mapping[str, Any]) -> CrmRow:
    emails = [str(v) for v in item.get("emails") or ()]
    owner_id = (item.get("owner") or {}).get("id")
    owner = str(owner_id) if owner_id is not None else None
    values = {"name": item.get("name"), "email": emails[0] if emails else None,
              "emails": emails, "owner_id": owner}
    return CrmRow(id=str(item["id"]), stamp="", values=values, owner=owner)


def _ordered(entries: Any) -> list[str]:
    """The values of v2 emails or phones, the primary first (the first when none is)."""
    items = [e for e in entries or () if isinstance(e, Mapping) and e.get("value")]
    primary = next((e for e in items if e.get("primary")), items[0] if items else None)
    return [str(e["value"]) for e in sorted(items, key=lambda e: e is not primary)]


def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 POST or PATCH body from flattened names. `name` (Pipedrive splits it into first
    and last name itself) is made of first_name and last_name when not given."""
    body: dict[str, Any] = {}
    name = fields.get("name")
    if not name and ("first_name" in fields or "last_name" in fields):
        name = " ".join(str(fields[p]).strip() for p in ("first_name", "last_name")
                        if fields.get(p))
    if name:
        body["name"] = str(name)
    for single, many in (("email", "emails"), ("phone", "phones")):
        # Never an empty list: that would wipe what the person has and we do not know.
        contacts = _contacts(fields.get(single), fields.get(many))
        if contacts:
            body[many] = contacts
    for reference in ("owner_id", "org_id"):
        if fields.get(reference) not in (None, ""):
            body[reference] = int(fields[reference])
    if fields.get("marketing_status") is True:
        body["marketing_status"] = UNSUBSCRIBED
    for key, value in fields.items():
        if _custom(key):
            body.setdefault("custom_fields", {})[key] = value
        elif key not in BUILT and key not in READ_ONLY:
            body[key] = value
    return body


def _contacts(primary: Any, known: Any) -> list[dict[str, Any]]:
    """Emails (or phones) for a write: the given one primary, then the others known, once,
    each keeping the label it had (a new one is labelled work)."""
    entries = list(_entries(known))
    labels = {value.lower(): label for value, label in entries}
    chosen: list[tuple[str, str]] = []
    if primary not in (None, ""):
        value = str(primary).strip()
        chosen.append((value, labels.get(value.lower(), LABEL)))
    for value, label in entries:
        if value.lower() not in (v.lower() for v, _ in chosen):
            chosen.append((value, label))
    return [{"value": value, "primary": index == 0, "label": label}
            for index, (value, label) in enumerate(chosen)]


def _entries(known: Any) -> Iterable[tuple[str, str]]:
    """(value, label) of the emails or phones known: plain values, or v2's objects."""
    if isinstance(known, str):
        known = [known]
    for entry in known or ():
        value = entry.get("value") if isinstance(entry, Mapping) else entry
        label = (entry.get("label") if isinstance(entry, Mapping) else None) or LABEL
        if value not in (None, ""):
            yield str(value).strip(), str(label)


def _rfc3339(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _v1_time(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def _v1_to_rfc3339(text: str) -> str:
    """v1's `2026-03-01 09:00:00` (UTC) as v2 writes it, so every stamp here has one form."""
    return _rfc3339(datetime.fromisoformat(str(text).strip().replace(" ", "T")))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _id_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


if TYPE_CHECKING:
    def _conforms(gateway: PipedriveGateway) -> CrmGateway:
        return gateway
