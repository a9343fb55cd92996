"""The outbound people steps (People to Contacts, People to Leads), decided together because
one app person is at most one record per CRM: the due people are matched (link, else email
against the mirror, else batched queries), their intents recorded before the calls, written
in sObject Collections of 200, and each result recorded."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from syncledger.adapters.crm_errors import CrmRetryable
from syncledger.adapters.salesforce import soql
from syncledger.adapters.salesforce.client import COLLECTION_SIZE
from syncledger.commands.aggregate_cache import AggregateCache
from syncledger.commands.connect import KEY_FIELD
from syncledger.commands.sync_context import RunContext, changed_originators, step_cursor
from syncledger.domain.content import normalise
from syncledger.domain.crm_record import MIRRORS
from syncledger.domain.field_mapping import app_to_crm
from syncledger.domain.filters import SAVED_FLAG_FILTERS, all_match
from syncledger.domain.ids import crm_record_id, natural_id
from syncledger.domain.ownership import outbound_owner
from syncledger.domain.person import Person
from syncledger.domain.steps import FilterRule, Step, step_owner_mappings, step_owner_match
from syncledger.projections.crm_records import by_emails
from syncledger.projections.registry import CRM_RECORDS, PEOPLE

REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}
KINDS = {"Lead": "leads", "Contact": "contacts"}
PERSON_TOPICS = [get_topic(cls) for cls in vars(Person).values()
                 if isinstance(cls, type) and issubclass(cls, Person.Event)]
# Not every write is from the app: these are our own bookkeeping, never a reason to write.
SELF_CAUSED = ("Person.Linked", "Person.LinkDeleted", "Person.CrmCreateRequested",
               "Person.CrmCreateFailed")


@dataclass
class Write:
    step: Step
    person: Person
    sobject: str
    action: str  # create | update
    record: dict[str, Any]  # the fields sent
    crm_id: str | None = None
    key: str = ""
    headers_auto_assign: bool = True
    before: dict[str, Any] = field(default_factory=dict)  # what the CRM held, as we know it


def outbound_steps(steps: list[Step]) -> dict[str, Step]:
    return {s.crm_object: s for s in steps
            if s.enabled and not s.inbound and s.is_people and s.target.startswith("salesforce")}


def run_outbound(run: RunContext, steps: dict[str, Step], full: bool,
                 only: set[UUID] | None = None) -> None:
    if not steps:
        return
    position = run.app.recorder.max_notification_id() or 0
    cursors = {name: step_cursor(run, s, AggregateCache(run.app)) for name, s in steps.items()}
    start = min(c.position for c in cursors.values())
    due = set(only) if only is not None else (
        _all_people(run) if full or start == 0 else _changed_people(run, start, position))
    if only is None:
        for cursor in cursors.values():
            due |= {UUID(key) for key in cursor.due}
    describe = {obj: run.client.describe(obj) for obj in steps}
    people = sorted(due)
    for offset in range(0, len(people), COLLECTION_SIZE):
        chunk = people[offset:offset + COLLECTION_SIZE]
        run.app.decide(partial(_write_chunk, run, steps, describe, chunk))
        if run.should_stop():
            return  # the position stays: what is left is due next run
    if only is None:
        def advance() -> None:
            cache = AggregateCache(run.app)
            for step in steps.values():
                cursor = step_cursor(run, step, cache)
                cursor.advance_outbound(position, run.ctx)
            run.app.save(*cache.changed())

        run.app.decide(advance)


def _all_people(run: RunContext) -> set[UUID]:
    with run.app.database.reader.connect() as connection:
        table = PEOPLE.tables["people"]
        return {UUID(u) for u in connection.scalars(table.select().with_only_columns(
            table.c.uuid))}


def _changed_people(run: RunContext, start: int, stop: int) -> set[UUID]:
    """People whose app-side events came after the step's position."""
    return changed_originators(run, start, stop,
                               [t for t in PERSON_TOPICS if not t.endswith(SELF_CAUSED)])


def _write_chunk(run: RunContext, steps: dict[str, Step], describe: dict[str, Any],
                 chunk: list[UUID]) -> None:
    cache = AggregateCache(run.app)
    cache.prefetch(chunk)
    cache.prefetch(crm_record_id("salesforce", run.org, link["object"], link["id"])
                   for person in (cache.get(p) for p in chunk) if isinstance(person, Person)
                   for link in person.links.values() if link["crm"] == "salesforce")
    planner = Planner(run, steps, describe, cache)
    planner.prefetch(chunk)
    writes = [w for w in (planner.plan(pid) for pid in chunk) if w is not None]
    for write in writes:
        run.planned(write.step, write.person.app_id, write.crm_id, write.action, None,
                    {k: [write.before.get(k), v] for k, v in write.record.items()})
    run.app.save(*cache.changed())  # the intents, before any call
    results = _send(run, writes)
    cache = AggregateCache(run.app)
    for write, result in zip(writes, results, strict=True):
        if _record_result(run, cache, write, result):
            planner.stay_due.append(write.person.id.hex)
    for step in steps.values():
        cursor = step_cursor(run, step, cache)
        cursor.mark_due(planner.stay_due, run.ctx)
        cursor.clear_due([p.hex for p in chunk if p.hex not in planner.stay_due], run.ctx)
    run.app.save(*cache.changed())
    planner.tally()


class Planner:
    def __init__(self, run: RunContext, steps: dict[str, Step], describe: dict[str, Any],
                 cache: AggregateCache) -> None:
        self.run = run
        self.steps = steps
        self.cache = cache
        self.fields = {obj: {f["name"]: f for f in d["fields"]} for obj, d in describe.items()}
        self.stay_due: list[str] = []
        self.skips: list[tuple[str, str, Step, str, str | None]] = []
        self.queried: dict[tuple[str, str], str] = {}  # (object, email) -> record id

    def prefetch(self, chunk: list[UUID]) -> None:
        """Match by email in batched queries where no inbound step keeps the mirror current
        for an object (or a create may have landed before a crash without a key field)."""
        pulled = {s.crm_object for s in self.run.integration.steps()
                  if s.enabled and s.inbound and s.is_people}
        people = [p for p in (self.cache.get(pid) for pid in chunk)
                  if isinstance(p, Person) and not p.forgotten and not p.deleted]
        for sobject in self.steps:
            unsure = [p.email for p in people
                      if not any(not link["deleted"] for link in p.links.values())
                      and (sobject not in pulled or (p.pending_create is not None and
                                                     sobject in self.run.integration.missing_keys))]
            fields = ["Id", "Email"] + (["IsConverted"] if sobject == "Lead" else [])
            for query in soql.by_emails(sobject, fields, sorted(set(unsure))):
                for page in self.run.client.query(query):
                    for row in page:
                        if row.get("Email") and not row.get("IsConverted"):
                            self.queried.setdefault((sobject, row["Email"].lower()), row["Id"])

    def tally(self) -> None:
        for kind, reason, step, app, crm in self.skips:
            self.run.skip(kind, reason)
            self.run.planned(step, app, crm, "skip", reason)

    def plan(self, person_id: UUID) -> Write | None:
        person = self.cache.get(person_id)
        if not isinstance(person, Person) or person.deleted or person.forgotten:
            return None
        sobject, crm_id = self._target(person)
        if sobject is None:
            return None
        step = self.steps[sobject]
        kind = KINDS[sobject]
        if not passes_filter(self.run, step, person):
            return None
        if crm_id is not None:
            mirror = self.cache.get(crm_record_id("salesforce", self.run.org, sobject, crm_id))
            if mirror is not None and mirror.converted:
                self.skips.append((kind, "converted lead", step, person.app_id, crm_id))
                return None
        settings = self.run.integration.settings
        owner = outbound_owner(person.owner, step_owner_mappings(step, settings),
                               step_owner_match(step, settings), self.run.member_emails,
                               self.run.crm_user_by_email)
        if owner.skip:
            self.skips.append((kind, owner.skip, step, person.app_id, crm_id))
            return None
        record = self._content(step, person, sobject)
        if owner.owner:
            record["OwnerId"] = owner.owner
        missing = [f for f in REQUIRED[sobject] if not record.get(f)]
        if missing and crm_id is None:
            self.skips.append((kind, f"missing required field {missing[0]}", step,
                               person.app_id, crm_id))
            self.stay_due.append(person.id.hex)
            return None
        if crm_id is None:
            return self._create(step, person, sobject, record)
        return self._update(step, person, sobject, crm_id, record)

    def _target(self, person: Person) -> tuple[str | None, str | None]:
        for sobject in ("Contact", "Lead"):
            link = person.links.get(f"salesforce:{sobject}")
            if link and not link["deleted"]:
                return (sobject, link["id"]) if sobject in self.steps else (None, None)
        matched = self._match_by_email(person)
        if matched is not None:
            return matched
        for sobject in ("Contact", "Lead"):
            found = self.queried.get((sobject, person.email))
            if found is not None and sobject in self.steps:
                return sobject, found
        if "Lead" in self.steps:  # a new person is a prospect: a Lead, never both
            return "Lead", None
        return "Contact", None

    def _match_by_email(self, person: Person) -> tuple[str, str] | None:
        with self.run.app.database.reader.connect() as connection:
            rows = by_emails(connection, CRM_RECORDS.tables["crm_records"], "salesforce",
                             self.run.org, [person.email])
        for sobject in ("Contact", "Lead"):
            for row in rows:
                if row["object"] == sobject and sobject in self.steps and not row["converted"]:
                    return sobject, row["record_id"]
        return None

    def _content(self, step: Step, person: Person, sobject: str) -> dict[str, Any]:
        fields = self.fields[sobject]
        values = {"email": person.email, "first_name": person.first_name,
                  "last_name": person.last_name, "account": person.account,
                  "status": person.status, "inbox_category": person.inbox_category,
                  "fields": person.fields}
        record = app_to_crm(values, step.field_mappings)
        for name, value in list(record.items()):
            length = fields.get(name, {}).get("length")
            if isinstance(value, str) and length and len(value) > length:
                record[name] = value[:length]  # noted in the Logs below
                self.run.notes.append(f"{person.app_id}: {sobject}.{name} truncated to "
                                      f"{length} characters")
        # Always sent, so the record we create reads back exactly as we wrote it; an update
        # never clears a CRM opt-out (see _update).
        record["HasOptedOutOfEmail"] = "opted_out" in person.flags
        return record

    def _create(self, step: Step, person: Person, sobject: str,
                record: dict[str, Any]) -> Write:
        key = natural_id(f"key:{self.run.org}:{sobject}:{person.id.hex}").hex
        if person.pending_create is None or person.pending_create.get("key") != key:
            person.request_create("salesforce", sobject, key, record, self.run.ctx)
        return Write(step, person, sobject, "create", record, key=key,
                     headers_auto_assign="OwnerId" not in record)

    def _update(self, step: Step, person: Person, sobject: str, crm_id: str,
                record: dict[str, Any]) -> Write | None:
        mirror_id = crm_record_id("salesforce", self.run.org, sobject, crm_id)
        mirror = self.cache.get(mirror_id)
        known = normalise(mirror.content) if mirror is not None else {}
        changes = {k: v for k, v in normalise(record).items()
                   if k != "OwnerId" and known.get(k) != v}
        if known.get("HasOptedOutOfEmail") and "HasOptedOutOfEmail" in changes:
            changes.pop("HasOptedOutOfEmail")  # an opt-out is never undone from here
        if "OwnerId" in record and (mirror is None or mirror.owner != record["OwnerId"]):
            changes["OwnerId"] = record["OwnerId"]
        if not changes:
            return None
        if mirror is None:
            cls = MIRRORS[sobject]
            mirror = cls.discover("salesforce", self.run.org, crm_id, self.run.ctx)
            self.cache.add(mirror)
            mirror.link_person(person.id, self.run.ctx)
        key = natural_id(f"key:{self.run.org}:{sobject}:{person.id.hex}").hex
        mirror.request_write(key, "update", changes, self.run.ctx)
        if f"salesforce:{sobject}" not in person.links:
            person.link("salesforce", sobject, crm_id, self.run.record_url(sobject, crm_id),
                        self.run.ctx)
        before = {**known, "OwnerId": mirror.owner}
        return Write(step, person, sobject, "update", changes, crm_id=crm_id, key=key,
                     headers_auto_assign="OwnerId" not in changes, before=before)


def passes_filter(run: RunContext, step: Step, person: Person) -> bool:
    """The step's outbound filter: a saved filter, an app list, or rules on the person."""
    chosen = step.filter
    if chosen is None or (chosen.saved is None and chosen.list is None and
                          not chosen.rules):
        return True
    values = {"email": person.email, "first_name": person.first_name,
              "last_name": person.last_name, "account": person.account,
              "owner": person.owner, "status": person.status,
              "inbox_category": person.inbox_category, "flags": person.flags,
              "lists": person.lists, **person.fields}
    if chosen.list is not None:
        wanted = {chosen.list} | {key for key, attrs in run.lists.items()
                                  if attrs.get("name") == chosen.list}
        if not wanted & set(person.lists):
            return False
    if chosen.saved is not None:
        if chosen.saved in SAVED_FLAG_FILTERS:
            if SAVED_FLAG_FILTERS[chosen.saved] not in person.flags:
                return False
        else:
            saved = run.saved_filters.get(chosen.saved, {})
            rules = [FilterRule(**rule) for rule in saved.get("rules", [])]
            if not all_match(rules, values):
                return False
    return all_match(chosen.rules, values)


def _send(run: RunContext, writes: list[Write]) -> list[dict[str, Any]]:
    """Batches never mix records that need different request headers."""
    results: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
    for index, write in enumerate(writes):
        groups[(write.sobject, write.action, write.headers_auto_assign)].append(index)
    keyed = set(run.integration.missing_keys)
    for (sobject, action, auto_assign), indexes in groups.items():
        has_key = sobject not in keyed
        records = []
        for index in indexes:
            write = writes[index]
            body = dict(write.record)
            if has_key:
                body[KEY_FIELD] = write.key
            if action == "update":
                body["Id"] = write.crm_id
            records.append(body)
        try:
            if action == "create" and has_key:
                answers = run.client.upsert(sobject, KEY_FIELD, records, auto_assign)
            elif action == "create":
                answers = run.client.create(sobject, records, auto_assign)
            else:
                answers = run.client.update(sobject, records, auto_assign)
        except CrmRetryable as error:
            answers = [{"success": False, "errors": [{"statusCode": "RETRYABLE",
                                                      "message": str(error)}]}
                       for _ in records]
        for index, answer in zip(indexes, answers, strict=True):
            results[index] = answer
    return [results[i] for i in range(len(writes))]


RETRYABLE_CODES = ("RETRYABLE", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE")


def _record_result(run: RunContext, cache: AggregateCache, write: Write,
                   result: dict[str, Any]) -> bool:
    """Returns whether the person stays due (a failure a retry may mend)."""
    kind = KINDS[write.sobject]
    person = cache.get(write.person.id)
    if result.get("success"):
        crm_id = str(result.get("id") or write.crm_id)
        mirror_id = crm_record_id("salesforce", run.org, write.sobject, crm_id)
        mirror = cache.get(mirror_id)
        if write.action == "create":
            if mirror is None:
                mirror = MIRRORS[write.sobject].discover("salesforce", run.org, crm_id,
                                                          run.ctx)
                cache.add(mirror)
            mirror.record_written(crm_id, run.ctx, content=write.record)
            mirror.link_person(person.id, run.ctx)
            person.link("salesforce", write.sobject, crm_id,
                        run.record_url(write.sobject, crm_id), run.ctx)
        else:
            mirror.record_written(crm_id, run.ctx)
        run.count(kind, "created" if write.action == "create" else "updated")
        return False
    error = (result.get("errors") or [{}])[0]
    code = str(error.get("statusCode", "UNKNOWN"))
    message = str(error.get("message", ""))
    retryable = code in RETRYABLE_CODES
    if write.action == "create":
        person.record_create_failed(code, message, retryable, run.ctx)
    else:
        mirror = cache.get(crm_record_id("salesforce", run.org, write.sobject,
                                         str(write.crm_id)))
        mirror.record_write_failed(code, message, retryable, run.ctx)
    run.error(write.step, kind, write.person.app_id, write.crm_id, code, message)
    return retryable
