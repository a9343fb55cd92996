"""In-memory Pipedrive company: users, person fields, persons (with sorted indexes) and notes.

Every public method takes the store's lock. Persons are immutable and replaced on write, so
what a method hands out can be rendered after the lock is released.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from syncledger.emulator.pipedrive.fields import CustomField, check_value, parse_custom_field
from syncledger.emulator.pipedrive.http import ApiError
from syncledger.emulator.pipedrive.model import NO_CONSENT, Person, person_changes, to_v2
from syncledger.emulator.pipedrive.timefmt import Clock, ceil_epoch, parse_time, v1_time

IndexKey = tuple[int, int]
SORT_KEYS = ("id", "update_time", "add_time")
DEFAULT_USER_ID = 1


@dataclass(frozen=True)
class ListQuery:
    sort_by: str = "id"
    ascending: bool = True
    limit: int = 100
    after: IndexKey | None = None
    owner_id: int | None = None
    org_id: int | None = None
    ids: frozenset[int] | None = None
    updated_since: int | None = None
    updated_until: float | None = None


@dataclass(frozen=True)
class Page:
    persons: list[Person]
    next_key: IndexKey | None
    field_keys: tuple[str, ...]


class Store:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._clear()

    # ---- whole-state operations (admin) ----

    def _clear(self) -> None:
        now = int(self.clock.now())
        self.company: dict[str, Any] = {"id": 1, "name": "Emulated Company",
                                        "domain": "emulated", "country": "EE"}
        self._users: dict[int, dict[str, Any]] = {
            DEFAULT_USER_ID: _user({"id": DEFAULT_USER_ID, "name": "Emulator Admin",
                                    "email": "admin@emulated.example", "is_admin": 1}, now)}
        self._only_default_user = True
        self.me_id = DEFAULT_USER_ID
        self._fields: dict[str, CustomField] = {}
        self._fields_time = now
        self._persons: dict[int, Person] = {}
        self._indexes: dict[str, list[IndexKey]] = {key: [] for key in SORT_KEYS}
        self._emails: dict[str, set[int]] = {}
        self._next_person_id = 1
        self._notes: dict[int, dict[str, Any]] = {}
        self._next_note_id = 1

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def load(self, data: dict[str, Any]) -> dict[str, int]:
        """Upsert users, fields, persons and notes; records keep given ids."""
        with self._lock:
            now = int(self.clock.now())
            if isinstance(data.get("company"), dict):
                self.company.update(data["company"])
            users = data.get("users") or []
            if users and self._only_default_user:
                self._users.clear()
                self.me_id = 0
            for raw in users:
                user = _user(raw, now)
                self._users[user["id"]] = user
                self._only_default_user = False
                if raw.get("is_you") or not self.me_id:
                    self.me_id = user["id"]
            for raw in data.get("personFields") or []:
                self._add_field(raw, now)
            raw_persons = data.get("persons") or []
            given = [_opt_int(r.get("id"), "id") for r in raw_persons]
            # Generated ids start past every given one, so a load never collides with itself.
            self._next_person_id = max([self._next_person_id] + [i + 1 for i in given if i])
            persons = [self._load_person(raw, now) for raw in raw_persons]
            self._bulk_insert(persons)
            notes = data.get("notes") or []
            for raw in notes:
                self._load_note(raw, now)
            return {"users": len(users), "personFields": len(data.get("personFields") or []),
                    "persons": len(persons), "notes": len(notes)}

    def dump(self) -> dict[str, Any]:
        with self._lock:
            keys = tuple(self._fields)
            return {
                "company": dict(self.company),
                "users": [_public(u) for u in self._users.values()],
                "personFields": [f.to_load() for f in self._fields.values()],
                "persons": [to_v2(self._persons[pid], keys, ("marketing_status",))
                            for _, pid in self._indexes["id"]],
                "notes": [_note_dump(n) for n in self._notes.values()],
            }

    # ---- users and fields ----

    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(_public(u), is_you=u["id"] == self.me_id) for u in self._users.values()]

    def user(self, user_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._users.get(user_id)
            return dict(_public(found), is_you=user_id == self.me_id) if found else None

    def custom_fields(self) -> list[CustomField]:
        with self._lock:
            return list(self._fields.values())

    @property
    def fields_time(self) -> int:
        return self._fields_time

    def field_keys(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._fields)

    def _add_field(self, raw: dict[str, Any], now: int) -> CustomField:
        spec = parse_custom_field(raw, 9000 + len(self._fields) + 1, str(len(self._fields)), now)
        self._fields[spec.key] = spec
        return spec

    # ---- persons ----

    def get_person(self, person_id: int) -> tuple[Person, tuple[str, ...]]:
        with self._lock:
            person = self._persons.get(person_id)
            if person is None:
                raise ApiError(404, "Person not found", "ERR_NOT_FOUND")
            return person, tuple(self._fields)

    def create_person(self, body: dict[str, Any]) -> tuple[Person, tuple[str, ...]]:
        changes = person_changes(body, creating=True)
        with self._lock:
            now = int(self.clock.now())
            owner_id = changes.get("owner_id") or self.me_id
            self._check_owner(owner_id)
            custom = {k: v for k, v in self._check_custom(changes.get("custom_fields")).items()
                      if v is not None}
            person = Person(
                id=self._next_person_id, name=changes["name"],
                first_name=changes.get("first_name"), last_name=changes.get("last_name"),
                owner_id=owner_id, org_id=changes.get("org_id"),
                emails=changes.get("emails", ()), phones=changes.get("phones", ()),
                add_time=now, update_time=now, visible_to=changes.get("visible_to", 3),
                label_ids=changes.get("label_ids", ()), custom_fields=custom,
                marketing_status=changes.get("marketing_status", NO_CONSENT))
            self._next_person_id += 1
            self._insert(person)
            return person, tuple(self._fields)

    def update_person(self, person_id: int, body: dict[str, Any]) -> tuple[Person, tuple[str, ...]]:
        changes = person_changes(body, creating=False)
        with self._lock:
            old = self._live(person_id)
            if "owner_id" in changes:
                if changes["owner_id"] is None:
                    raise ApiError(400, "'owner_id' cannot be null")
                self._check_owner(changes["owner_id"])
            custom = dict(old.custom_fields)
            for key, value in self._check_custom(changes.pop("custom_fields", None)).items():
                if value is None:
                    custom.pop(key, None)
                else:
                    custom[key] = value
            new = replace(old, **changes, custom_fields=custom,
                          update_time=int(self.clock.now()))
            self._swap(old, new)
            return new, tuple(self._fields)

    def delete_person(self, person_id: int) -> int:
        with self._lock:
            old = self._live(person_id)
            self._swap(old, replace(old, is_deleted=True, update_time=int(self.clock.now())))
            return person_id

    def merge_persons(self, merged_id: int, survivor_id: int) -> tuple[Person, tuple[str, ...]]:
        """Merge `merged_id` into `survivor_id` as Pipedrive does: the survivor's values win,
        its empty ones (and a `no_consent` marketing status) are filled from the other, emails
        and phones are combined, notes move over; the merged person is deleted, and the
        survivor (its update_time now) carries `merge_what_id`."""
        if merged_id == survivor_id:
            raise ApiError(400, "A person cannot be merged with itself")
        with self._lock:
            gone, kept = self._live(merged_id), self._live(survivor_id)
            now = int(self.clock.now())
            custom = {**gone.custom_fields, **kept.custom_fields}
            merged = replace(
                kept, first_name=kept.first_name or gone.first_name,
                last_name=kept.last_name or gone.last_name,
                org_id=kept.org_id if kept.org_id is not None else gone.org_id,
                emails=_combined(kept.emails, gone.emails),
                phones=_combined(kept.phones, gone.phones),
                label_ids=kept.label_ids or gone.label_ids, custom_fields=custom,
                marketing_status=kept.marketing_status if kept.marketing_status != NO_CONSENT
                else gone.marketing_status,
                update_time=now, merge_what_id=merged_id)
            self._swap(gone, replace(gone, is_deleted=True, update_time=now))
            self._swap(kept, merged)
            for note in self._notes.values():
                if note["person_id"] == merged_id:
                    note["person_id"] = survivor_id
            return merged, tuple(self._fields)

    def list_persons(self, query: ListQuery) -> Page:
        with self._lock:
            index = self._indexes[query.sort_by]
            by_update = query.sort_by == "update_time"
            found: list[tuple[IndexKey, Person]] = []
            for key in self._scan(index, query):
                if by_update and query.ascending and query.updated_until is not None \
                        and key[0] >= query.updated_until:
                    break
                if by_update and not query.ascending and query.updated_since is not None \
                        and key[0] < query.updated_since:
                    break
                person = self._persons[key[1]]
                if _matches(person, query):
                    found.append((key, person))
                    if len(found) > query.limit:
                        break
            page = found[:query.limit]
            next_key = page[-1][0] if len(found) > query.limit else None
            return Page([p for _, p in page], next_key, tuple(self._fields))

    def _scan(self, index: list[IndexKey], query: ListQuery) -> Iterator[IndexKey]:
        since = query.updated_since if query.sort_by == "update_time" else None
        if query.ascending:
            start = bisect_right(index, query.after) if query.after else 0
            if since is not None:
                start = max(start, bisect_left(index, (since, -1)))
            return (index[i] for i in range(start, len(index)))
        end = bisect_left(index, query.after) if query.after else len(index)
        if query.sort_by == "update_time" and query.updated_until is not None:
            end = min(end, bisect_left(index, (ceil_epoch(query.updated_until), -1)))
        return (index[i] for i in range(end - 1, -1, -1))

    def search(self, term: str, fields: frozenset[str], exact: bool,
               org_id: int | None) -> tuple[list[tuple[float, Person]], tuple[str, ...]]:
        needle = term.strip().lower()
        with self._lock:
            text_keys = [k for k, f in self._fields.items()
                         if f.field_type in ("varchar", "text", "varchar_auto", "address",
                                             "phone", "double", "monetary")]
            if fields == frozenset({"email"}) and exact:
                candidates: Any = (self._persons[i] for i in sorted(self._emails.get(needle, ())))
            else:
                candidates = self._persons.values()
            hits: list[tuple[float, Person]] = []
            for person in candidates:
                if person.is_deleted or (org_id is not None and person.org_id != org_id):
                    continue
                values: list[str] = []
                if "name" in fields:
                    values.append(person.name)
                if "email" in fields:
                    values.extend(person.email_values())
                if "phone" in fields:
                    values.extend(str(p["value"]) for p in person.phones)
                if "custom_fields" in fields:
                    values.extend(str(person.custom_fields[k]) for k in text_keys
                                  if person.custom_fields.get(k) is not None)
                score = _score(needle, values, exact)
                if score:
                    hits.append((score, person))
            hits.sort(key=lambda hit: (-hit[0], hit[1].id))
            return hits, tuple(self._fields)

    # ---- recents and notes ----

    def recents(self, since: int, kinds: frozenset[str], start: int,
                limit: int) -> tuple[list[tuple[str, int, int, Any]], bool, tuple[str, ...]]:
        """Changes at or after `since`, oldest first: (item, id, time, record) tuples."""
        with self._lock:
            streams: list[Iterator[tuple[int, str, int]]] = []
            if "person" in kinds:
                index = self._indexes["update_time"]
                first = bisect_left(index, (since, -1))
                streams.append((index[i][0], "person", index[i][1])
                               for i in range(first, len(index)))
            if "note" in kinds:
                streams.append(iter(sorted((n["update_time"], "note", n["id"])
                                           for n in self._notes.values()
                                           if n["update_time"] >= since)))
            if "user" in kinds:
                streams.append(iter(sorted((u["_modified"], "user", u["id"])
                                           for u in self._users.values()
                                           if u["_modified"] >= since)))
            merged = itertools.islice(heapq.merge(*streams), start, start + limit + 1)
            rows: list[tuple[str, int, int, Any]] = []
            for when, item, item_id in merged:
                record: Any
                if item == "person":
                    record = self._persons[item_id]
                elif item == "note":
                    record = dict(self._notes[item_id])
                else:
                    record = dict(_public(self._users[item_id]), is_you=item_id == self.me_id)
                rows.append((item, item_id, when, record))
            return rows[:limit], len(rows) > limit, tuple(self._fields)

    def notes(self, person_id: int | None, start: int, limit: int) -> tuple[list[dict[str, Any]],
                                                                            bool]:
        with self._lock:
            chosen = [n for n in self._notes.values()
                      if person_id is None or n["person_id"] == person_id]
            chosen.sort(key=lambda n: n["id"])
            page = chosen[start:start + limit + 1]
            return [self._render_note(n) for n in page[:limit]], len(page) > limit

    def add_note(self, body: dict[str, Any]) -> dict[str, Any]:
        content = str(body.get("content") or "").strip()
        if not content:
            raise ApiError(400, "Note content is required")
        links = {key: _opt_int(body.get(key), key)
                 for key in ("person_id", "deal_id", "org_id", "project_id")}
        lead_id = body.get("lead_id")
        if not any(links.values()) and not lead_id:
            raise ApiError(400, "Note must be attached to a person, deal, organization, lead "
                                "or project")
        with self._lock:
            if links["person_id"] is not None:
                self._live(links["person_id"])
            now = int(self.clock.now())
            note_id = self._next_note_id
            note: dict[str, Any] = {
                "id": note_id, "user_id": _opt_int(body.get("user_id"), "user_id") or self.me_id,
                "content": content, "lead_id": lead_id, "add_time": now, "update_time": now,
                "active_flag": True, **links}
            self._next_note_id += 1
            self._notes[note_id] = note
            return self._render_note(note)

    def render_note(self, note: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._render_note(note)

    def _render_note(self, note: dict[str, Any]) -> dict[str, Any]:
        person = self._persons.get(note["person_id"]) if note["person_id"] else None
        user = self._users.get(note["user_id"])
        return {
            "id": note["id"], "user_id": note["user_id"], "deal_id": note["deal_id"],
            "person_id": note["person_id"], "org_id": note["org_id"],
            "lead_id": note["lead_id"], "project_id": note["project_id"],
            "content": note["content"], "add_time": v1_time(note["add_time"]),
            "update_time": v1_time(note["update_time"]), "active_flag": note["active_flag"],
            "pinned_to_deal_flag": False, "pinned_to_person_flag": False,
            "pinned_to_organization_flag": False, "pinned_to_project_flag": False,
            "last_update_user_id": note["user_id"],
            "person": {"name": person.name} if person else None,
            "organization": None, "deal": None,
            "user": {"email": user["email"], "name": user["name"], "icon_url": None,
                     "is_you": user["id"] == self.me_id} if user else None,
        }

    # ---- internals ----

    def _live(self, person_id: int) -> Person:
        person = self._persons.get(person_id)
        if person is None or person.is_deleted:
            raise ApiError(404, "Person not found", "ERR_NOT_FOUND")
        return person

    def _check_owner(self, owner_id: int) -> None:
        if owner_id not in self._users:
            raise ApiError(400, f"User {owner_id} not found", "ERR_USER_NOT_FOUND")

    def _check_custom(self, custom: dict[str, Any] | None) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for key, value in (custom or {}).items():
            spec = self._fields.get(key)
            if spec is None:
                raise ApiError(400, f"Custom field '{key}' does not exist")
            checked[key] = check_value(spec, value)
        return checked

    def _insert(self, person: Person) -> None:
        self._persons[person.id] = person
        for name, key in _keys(person).items():
            insort(self._indexes[name], key)
        self._index_emails(person, add=True)

    def _swap(self, old: Person, new: Person) -> None:
        for name, key in _keys(old).items():
            index = self._indexes[name]
            del index[bisect_left(index, key)]
        self._index_emails(old, add=False)
        self._insert(new)

    def _bulk_insert(self, persons: list[Person]) -> None:
        # Appending then sorting once keeps a 100k load linear-ish instead of quadratic.
        for person in persons:
            old = self._persons.get(person.id)
            if old is not None:
                self._swap(old, person)
                continue
            self._persons[person.id] = person
            for name, key in _keys(person).items():
                self._indexes[name].append(key)
            self._index_emails(person, add=True)
            self._next_person_id = max(self._next_person_id, person.id + 1)
        for index in self._indexes.values():
            index.sort()

    def _index_emails(self, person: Person, *, add: bool) -> None:
        for value in person.email_values():
            key = value.lower()
            if add:
                self._emails.setdefault(key, set()).add(person.id)
            else:
                holders = self._emails.get(key)
                if holders:
                    holders.discard(person.id)
                    if not holders:
                        del self._emails[key]

    def _load_person(self, raw: dict[str, Any], now: int) -> Person:
        changes = person_changes({k: v for k, v in raw.items() if k in _LOADABLE},
                                 creating=True)
        for key, value in (changes.get("custom_fields") or {}).items():
            if key not in self._fields:
                # Loaded data may carry fields never declared: declare them, as text.
                self._add_field({"key": key, "name": f"Custom {key[:8]}"}, now)
            check_value(self._fields[key], value)
        add_time = _epoch(raw.get("add_time"), now)
        person_id = _opt_int(raw.get("id"), "id")
        if person_id is None:
            person_id = self._next_person_id
            self._next_person_id += 1
        first, last = changes.get("first_name"), changes.get("last_name")
        return Person(
            id=person_id, name=changes["name"], first_name=first, last_name=last,
            owner_id=changes.get("owner_id") or self.me_id, org_id=changes.get("org_id"),
            emails=changes.get("emails", ()), phones=changes.get("phones", ()),
            add_time=add_time, update_time=_epoch(raw.get("update_time"), add_time),
            visible_to=changes.get("visible_to", 3), label_ids=changes.get("label_ids", ()),
            is_deleted=bool(raw.get("is_deleted")),
            custom_fields={k: v for k, v in (changes.get("custom_fields") or {}).items()
                           if v is not None},
            marketing_status=changes.get("marketing_status", NO_CONSENT))

    def _load_note(self, raw: dict[str, Any], now: int) -> None:
        note_id = _opt_int(raw.get("id"), "id") or self._next_note_id
        self._next_note_id = max(self._next_note_id, note_id + 1)
        add_time = _epoch(raw.get("add_time"), now)
        self._notes[note_id] = {
            "id": note_id, "user_id": _opt_int(raw.get("user_id"), "user_id") or self.me_id,
            "content": str(raw.get("content") or ""), "lead_id": raw.get("lead_id"),
            "person_id": _opt_int(raw.get("person_id"), "person_id"),
            "deal_id": _opt_int(raw.get("deal_id"), "deal_id"),
            "org_id": _opt_int(raw.get("org_id"), "org_id"),
            "project_id": _opt_int(raw.get("project_id"), "project_id"),
            "add_time": add_time, "update_time": _epoch(raw.get("update_time"), add_time),
            "active_flag": bool(raw.get("active_flag", True)),
        }


_LOADABLE = frozenset({"name", "first_name", "last_name", "owner_id", "org_id", "emails",
                       "phones", "visible_to", "label_ids", "custom_fields",
                       "marketing_status"})


def _combined(kept: tuple[dict[str, Any], ...],
              gone: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """The survivor's emails (or phones), its primary first, then the merged person's that
    it lacks, none of them primary."""
    known = {str(item["value"]).lower() for item in kept}
    extra = tuple(dict(item, primary=False) for item in gone
                  if str(item["value"]).lower() not in known)
    combined = kept + extra
    if combined and not any(item["primary"] for item in combined):
        combined = (dict(combined[0], primary=True),) + combined[1:]
    return combined


def _keys(person: Person) -> dict[str, IndexKey]:
    return {"id": (person.id, person.id), "update_time": (person.update_time, person.id),
            "add_time": (person.add_time, person.id)}


def _matches(person: Person, query: ListQuery) -> bool:
    if person.is_deleted:
        return False
    if query.owner_id is not None and person.owner_id != query.owner_id:
        return False
    if query.org_id is not None and person.org_id != query.org_id:
        return False
    if query.ids is not None and person.id not in query.ids:
        return False
    if query.updated_since is not None and person.update_time < query.updated_since:
        return False
    return not (query.updated_until is not None and person.update_time >= query.updated_until)


def _score(needle: str, values: list[str], exact: bool) -> float:
    best = 0.0
    for value in values:
        low = value.lower()
        if low == needle:
            return 1.0
        if exact:
            continue
        if low.startswith(needle):
            best = max(best, 0.75)
        elif needle in low:
            best = max(best, 0.5)
    return best


def _epoch(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    try:
        return int(parse_time(str(value)))
    except ValueError as exc:
        raise ApiError(400, f"Bad timestamp {value!r}") from exc


def _opt_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"'{name}' must be an integer") from exc


def _user(raw: dict[str, Any], now: int) -> dict[str, Any]:
    """A v1 user with the real API's fields filled in around what was given."""
    user_id = _opt_int(raw.get("id"), "id")
    if user_id is None:
        raise ApiError(400, "Every loaded user needs an id")
    created = _epoch(raw.get("created"), now)
    modified = _epoch(raw.get("modified"), created)
    is_admin = bool(raw.get("is_admin", False))
    user = {
        "id": user_id, "name": str(raw.get("name") or f"User {user_id}"),
        "default_currency": "EUR", "locale": "en_US", "lang": 1,
        "email": str(raw.get("email") or f"user{user_id}@emulated.example"),
        "phone": None, "activated": True, "last_login": v1_time(modified),
        "created": v1_time(created), "modified": v1_time(modified),
        "has_created_company": is_admin,
        "access": [{"app": "sales", "admin": is_admin, "permission_set_id": "emulated"}],
        "active_flag": True, "timezone_name": "UTC", "timezone_offset": "+00:00",
        "role_id": 1, "icon_url": None, "is_deleted": False, "is_admin": int(is_admin),
    }
    for key, value in raw.items():
        if key in user and key not in ("id", "created", "modified", "is_you"):
            user[key] = value
    user["_modified"] = modified
    return user


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in user.items() if not key.startswith("_")}


def _note_dump(note: dict[str, Any]) -> dict[str, Any]:
    return dict(note, add_time=v1_time(note["add_time"]),
                update_time=v1_time(note["update_time"]))


