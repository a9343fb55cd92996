"""The org's records in memory: one dict per object, unique and email indexes, and writes.

Every public method expects the caller to hold `lock` (the app takes it once per request);
collections take it once for the whole batch, so allOrNone can roll back through `journal`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncledger.emulator.salesforce.clock import (
    Clock,
    canonical_datetime,
    format_datetime,
    parse_datetime,
)
from syncledger.emulator.salesforce.errors import ApiError, not_found
from syncledger.emulator.salesforce.ids import KEY_PREFIXES, make_id, normalise_id, object_of
from syncledger.emulator.salesforce.rules import AssignmentRule, assigned_owner, parse_rules
from syncledger.emulator.salesforce.schema import EXTERNAL_KEY, Field, SObject, build_schema
from syncledger.emulator.salesforce.stamps import STAMP, StampIndex
from syncledger.emulator.salesforce.values import coerce

Record = dict[str, Any]

LOAD_ORDER = ("Organization", "LeadStatus", "User", "Account", "Contact", "Lead", "Task", "Note")
EMAIL_INDEXED = ("Lead", "Contact")
MERGEABLE = ("Lead", "Contact", "Account")
DEFAULT_STATUSES = (
    ("Open - Not Contacted", True, False),
    ("Working - Contacted", False, False),
    ("Closed - Converted", False, True),
    ("Closed - Not Converted", False, False),
)


@dataclass(frozen=True)
class WriteOptions:
    """What a request's headers ask of a write."""
    auto_assign: bool = True          # Sforce-Auto-Assign
    allow_duplicates: bool = False    # Sforce-Duplicate-Rule-Header: allowSave=true


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.reset()

    # ---- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        self.external_id_fields = True
        self.duplicate_rule = False
        self.schema: dict[str, SObject] = build_schema(True)
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in self.schema}
        self.counters: dict[str, int] = {name: 0 for name in self.schema}
        self.ext_index: dict[str, dict[str, str]] = {name: {} for name in self.schema}
        self.email_index: dict[str, dict[str, set[str]]] = {name: {} for name in EMAIL_INDEXED}
        self.stamp_index: dict[str, StampIndex] = {name: StampIndex() for name in self.schema}
        self.assignment_rules: list[AssignmentRule] = []
        self.journal: list[tuple[str, str, Record | None]] | None = None
        self.clock.pin(None)
        self.org_id = self._next_id("Organization")
        self.tables["Organization"][self.org_id] = {
            "Id": self.org_id, "Name": "Syncledger Emulator Org", "IsSandbox": False,
            "OrganizationType": "Enterprise Edition", "InstanceName": "EMU1",
            "TimeZoneSidKey": "UTC"}
        self.current_user_id = self._next_id("User")
        self._load_record("User", {
            "Id": self.current_user_id, "FirstName": "Integration", "LastName": "User",
            "Email": "integration@emulator.example", "Alias": "integ",
            "Username": "integration@emulator.example.org", "IsActive": True,
            "TimeZoneSidKey": "UTC"})
        self._replace_statuses([{"MasterLabel": label, "IsDefault": default,
                                 "IsConverted": converted, "SortOrder": index + 1}
                                for index, (label, default, converted)
                                in enumerate(DEFAULT_STATUSES)])

    def now(self) -> str:
        return format_datetime(self.clock.now())

    def set_external_id_fields(self, enabled: bool) -> None:
        if enabled == self.external_id_fields:
            return
        self.external_id_fields = enabled
        self.schema = build_schema(enabled)
        for name, table in self.tables.items():
            self.ext_index[name] = {}
            for record in table.values():
                if enabled:
                    if EXTERNAL_KEY in self.schema[name].fields:
                        record.setdefault(EXTERNAL_KEY, None)
                else:
                    record.pop(EXTERNAL_KEY, None)

    # ---- admin load and dump -----------------------------------------------------------

    def load(self, data: dict[str, Any]) -> dict[str, int]:
        """Add or overwrite records by Id; the picklist and the org are replaced whole."""
        options = data.get("options") or {}
        if "external_id_fields" in options:
            self.set_external_id_fields(bool(options["external_id_fields"]))
        if "duplicate_rule" in options:
            self.duplicate_rule = bool(options["duplicate_rule"])
        if options.get("now"):
            moment = parse_datetime(str(options["now"]))
            if moment is None:
                raise ApiError(400, "INVALID_INPUT", f"options.now: not a datetime: "
                               f"{options['now']}")
            self.clock.pin(moment)
        unknown = set(data) - set(LOAD_ORDER) - {"options", "LeadAssignmentRules"}
        if unknown:
            raise ApiError(400, "INVALID_INPUT", f"unknown keys in load: {sorted(unknown)}")
        counts: dict[str, int] = {}
        for name in LOAD_ORDER:
            if name == "Account" and options.get("current_user"):
                # after the Users, before the records it will own by default
                self._set_current_user(str(options["current_user"]))
            items = data.get(name)
            if items is None:
                continue
            if not isinstance(items, list):
                raise ApiError(400, "INVALID_INPUT", f"{name} must be a list of records")
            if name == "LeadStatus":
                self._replace_statuses(items)
            elif name == "Organization":
                self._clear("Organization")
                for item in items[:1]:
                    self.org_id = self._load_record(name, item)
            else:
                for item in items:
                    self._load_record(name, item)
            counts[name] = len(items)
        if "LeadAssignmentRules" in data:
            self.assignment_rules = parse_rules(data["LeadAssignmentRules"])
        return counts

    def _set_current_user(self, user_id: str) -> None:
        user = normalise_id(user_id) or ""
        if user not in self.tables["User"]:
            raise ApiError(400, "INVALID_INPUT", "options.current_user: no such User")
        self.current_user_id = user

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: [dict(r) for r in self.tables[name].values()]
                               for name in LOAD_ORDER}
        out["LeadAssignmentRules"] = [rule.as_dict() for rule in self.assignment_rules]
        out["options"] = {"external_id_fields": self.external_id_fields,
                          "duplicate_rule": self.duplicate_rule,
                          "current_user": self.current_user_id,
                          "now": self.now() if self.clock.pinned else None}
        return out

    def _replace_statuses(self, items: list[Any]) -> None:
        self._clear("LeadStatus")
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("MasterLabel"):
                raise ApiError(400, "INVALID_INPUT", "each LeadStatus needs a MasterLabel")
            record = {"ApiName": item["MasterLabel"], "SortOrder": index + 1,
                      "IsDefault": False, "IsConverted": False, **item}
            self._load_record("LeadStatus", record)

    def _load_record(self, name: str, item: Any) -> str:
        if not isinstance(item, dict):
            raise ApiError(400, "INVALID_INPUT", f"{name} records must be objects")
        sobject = self.schema[name]
        fields: Record = {}
        for key, value in item.items():
            if key == "attributes":
                continue
            field = sobject.field(key)
            if field is None:
                if key.lower() == EXTERNAL_KEY.lower():
                    continue  # the org was loaded without external id fields
                raise ApiError(400, "INVALID_FIELD",
                               f"No such column '{key}' on sobject of type {name}", [key])
            if field.type == "datetime" and isinstance(value, str) and not (
                    len(value) == 28 and value.endswith("+0000")):
                value = canonical_datetime(value)
            fields[field.name] = value
        given = fields.get("Id")
        record_id = normalise_id(str(given)) if given else self._next_id(name)
        if record_id is None or object_of(record_id) != name:
            raise ApiError(400, "MALFORMED_ID", f"{name} Id is not a {name} id: {given}")
        fields["Id"] = record_id
        existing = self.tables[name].get(record_id)
        stamped = "SystemModstamp" in sobject.fields
        if existing is not None:
            record = {**existing, **fields}
            if stamped and "SystemModstamp" not in fields:
                # a load over an existing record is somebody's edit in the CRM
                modified = fields.get("LastModifiedDate") or self.now()
                record["LastModifiedDate"] = record["SystemModstamp"] = modified
        else:
            record = self._defaults(sobject, fields)
            if stamped:
                created = fields.get("CreatedDate") or self.now()
                modified = fields.get("LastModifiedDate") or created
                record["CreatedDate"] = created
                record["LastModifiedDate"] = modified
                record["SystemModstamp"] = fields.get("SystemModstamp") or modified
        self._derive(name, record)
        self._put(name, record)
        return record_id

    # ---- reads -------------------------------------------------------------------------

    def sobject(self, name: str) -> SObject:
        found = self.schema.get(name) or next(
            (o for o in self.schema.values() if o.name.lower() == name.lower()), None)
        if found is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    def lookup(self, record_id: str) -> Record | None:
        name = object_of(record_id)
        return self.tables[name].get(record_id) if name else None

    def get(self, name: str, record_id: str, allow_deleted: bool = False) -> Record:
        normal = normalise_id(record_id)
        record = self.tables[name].get(normal) if normal else None
        if record is None:
            raise not_found()
        if record.get("IsDeleted") and not allow_deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def find_by_external(self, sobject: SObject, field_name: str, value: str) -> Record | None:
        field = sobject.field(field_name)
        if field is None or not (field.external_id or field.name == "Id"):
            raise ApiError(404, "NOT_FOUND", "Provided external ID field does not exist or is "
                           f"not accessible: {field_name}")
        if field.name == "Id":
            normal = normalise_id(value)
            record = self.tables[sobject.name].get(normal) if normal else None
            return None if record is None or record.get("IsDeleted") else record
        record_id = self.ext_index[sobject.name].get(value)
        return self.tables[sobject.name][record_id] if record_id else None

    def picklist(self, sobject: SObject, field: Field) -> tuple[str, ...] | None:
        if sobject.name == "Lead" and field.name == "Status":
            return tuple(s["ApiName"] for s in self.statuses())
        return field.picklist

    def stamped_between(self, name: str, low: str | None, high: str | None) -> Iterator[Record]:
        """The object's rows with SystemModstamp in [low, high], deleted ones included, in
        (SystemModstamp, Id) order, from the index: a range touches only its own rows."""
        return self.stamp_index[name].between(self.tables[name], low, high)

    def statuses(self) -> list[Record]:
        return sorted(self.tables["LeadStatus"].values(), key=lambda s: s.get("SortOrder") or 0)

    # ---- writes ------------------------------------------------------------------------

    def create(self, name: str, body: dict[str, Any], opts: WriteOptions) -> str:
        sobject = self._writable(name, "insert")
        if any(key.lower() == "id" for key in body):
            raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                           "cannot specify Id in an insert call", ["Id"])
        fields = self._clean(sobject, body, creating=True)
        record = self._defaults(sobject, fields)
        record["Id"] = self._next_id(name)
        now = self.now()
        record.update(CreatedDate=now, LastModifiedDate=now, SystemModstamp=now,
                      CreatedById=self.current_user_id, LastModifiedById=self.current_user_id)
        self._save(sobject, record, opts)
        return str(record["Id"])

    def update(self, name: str, record_id: str, body: dict[str, Any], opts: WriteOptions) -> None:
        sobject = self._writable(name, "update")
        current = self.get(sobject.name, record_id)
        if sobject.name == "Lead" and current.get("IsConverted"):
            raise ApiError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        body = {k: v for k, v in body.items() if k.lower() != "id"}
        fields = self._clean(sobject, body, creating=False)
        record = {**current, **fields}
        now = self.now()
        record.update(LastModifiedDate=now, SystemModstamp=now,
                      LastModifiedById=self.current_user_id)
        self._save(sobject, record, opts)

    def upsert(self, name: str, field_name: str, value: str, body: dict[str, Any],
               opts: WriteOptions) -> tuple[str, bool]:
        sobject = self.sobject(name)
        existing = self.find_by_external(sobject, field_name, value)
        key_field = sobject.field(field_name)
        assert key_field is not None
        body = {k: v for k, v in body.items() if k.lower() != key_field.name.lower()}
        if existing is not None:
            self.update(sobject.name, existing["Id"], body, opts)
            return str(existing["Id"]), False
        if key_field.name == "Id":
            raise not_found()
        return self.create(sobject.name, {**body, key_field.name: value}, opts), True

    def delete(self, name: str, record_id: str) -> None:
        sobject = self._writable(name, "delete")
        current = self.get(sobject.name, record_id)
        now = self.now()
        self._put(sobject.name, {**current, "IsDeleted": True, "LastModifiedDate": now,
                                 "SystemModstamp": now, "LastModifiedById": self.current_user_id})

    def merge(self, name: str, master_id: str, merged_ids: list[str]) -> None:
        """Salesforce's merge: losers are deleted with MasterRecordId, their children move."""
        if name not in MERGEABLE:
            raise ApiError(400, "INVALID_TYPE", f"cannot merge {name} records")
        master = self.get(name, master_id)
        losers = [self.get(name, loser) for loser in merged_ids]
        if any(loser["Id"] == master["Id"] for loser in losers) or not losers:
            raise ApiError(400, "INVALID_INPUT", "merge needs a master and other records")
        now = self.now()
        moved = {loser["Id"] for loser in losers}
        for loser in losers:
            self._put(name, {**loser, "IsDeleted": True, "MasterRecordId": master["Id"],
                             "LastModifiedDate": now, "SystemModstamp": now})
        for child, ref in (("Contact", "AccountId"), ("Task", "WhoId"), ("Task", "WhatId"),
                           ("Note", "ParentId")):
            for record in list(self.tables[child].values()):
                if record.get(ref) in moved:
                    self._put(child, {**record, ref: master["Id"], "SystemModstamp": now})
        self._put(name, {**master, "LastModifiedDate": now, "SystemModstamp": now})

    def convert(self, lead_id: str, contact_id: str | None, account_id: str | None) -> Record:
        """Convert a Lead as the Lead Convert page does, creating what is not named."""
        lead = self.get("Lead", lead_id)
        if lead.get("IsConverted"):
            raise ApiError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        opts = WriteOptions(auto_assign=False, allow_duplicates=True)
        if account_id is None:
            account = self.get("Contact", contact_id).get("AccountId") if contact_id else None
            account_id = account or self.create(
                "Account", {"Name": lead["Company"], "OwnerId": lead["OwnerId"]}, opts)
        if contact_id is None:
            copied = {k: lead[k] for k in ("FirstName", "LastName", "Email", "Title", "Phone",
                                           "MobilePhone", "HasOptedOutOfEmail", "LeadSource",
                                           "OwnerId") if lead.get(k) is not None}
            contact_id = self.create("Contact", {**copied, "AccountId": account_id}, opts)
        converted = next((s["ApiName"] for s in self.statuses() if s.get("IsConverted")),
                         lead.get("Status"))
        now = self.now()
        record = {**lead, "IsConverted": True, "ConvertedContactId": normalise_id(contact_id),
                  "ConvertedAccountId": normalise_id(account_id), "Status": converted,
                  "ConvertedDate": now[:10], "LastModifiedDate": now, "SystemModstamp": now}
        self._put("Lead", record)
        return record

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo every write of the block if it raises (allOrNone)."""
        outer = self.journal
        self.journal = []
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        finally:
            self.journal = outer

    def rollback(self) -> None:
        journal, self.journal = self.journal or [], None
        for name, record_id, previous in reversed(journal):
            if previous is None:
                removed = self.tables[name].pop(record_id)
                self._unindex(name, removed)
                self.stamp_index[name].moved(record_id, removed.get(STAMP), None)
            else:
                self._put(name, previous)
        self.journal = []

    # ---- internals ---------------------------------------------------------------------

    def _writable(self, name: str, action: str) -> SObject:
        sobject = self.sobject(name)
        allowed = {"insert": sobject.createable, "update": sobject.updateable,
                   "delete": sobject.deletable}[action]
        if not allowed:
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION",
                           f"entity type {sobject.name} does not support {action}")
        return sobject

    def _clean(self, sobject: SObject, body: dict[str, Any], creating: bool) -> Record:
        out: Record = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            field = sobject.field(key)
            if field is None:
                raise ApiError(400, "INVALID_FIELD",
                               f"No such column '{key}' on sobject of type {sobject.name}",
                               [key])
            if not (field.createable if creating else field.updateable):
                raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                               f"Unable to create/update fields: {field.name}. Please check the "
                               "security settings of this field and verify that it is read/write"
                               " for your profile or permission set.", [field.name])
            out[field.name] = coerce(field, value, self.picklist(sobject, field),
                                     self._check_reference)
        return out

    def _check_reference(self, field: Field, target_id: str) -> None:
        target = self.lookup(target_id)
        if target is None:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY",
                           f"invalid cross reference id: {target_id}", [field.name])
        if target.get("IsDeleted"):
            raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [field.name])
        if field.name == "OwnerId" and not target.get("IsActive"):
            raise ApiError(400, "INACTIVE_OWNER_OR_USER",
                           f"operation performed with inactive user [{target_id}] as owner",
                           [field.name])

    def _defaults(self, sobject: SObject, fields: Record) -> Record:
        record: Record = {}
        for field in sobject.fields.values():
            record[field.name] = False if field.type == "boolean" else field.default
        if "OwnerId" in sobject.fields:
            record["OwnerId"] = self.current_user_id
        for stamp in ("CreatedById", "LastModifiedById"):
            if stamp in sobject.fields:
                record[stamp] = self.current_user_id
        if sobject.name == "Lead":
            record["Status"] = next((s["ApiName"] for s in self.statuses() if s.get("IsDefault")),
                                    None)
        record.update(fields)
        return record

    def _derive(self, name: str, record: Record) -> None:
        if name in ("Lead", "Contact", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"),
                                                   record.get("LastName")) if p) or None

    def _save(self, sobject: SObject, record: Record, opts: WriteOptions) -> None:
        name = sobject.name
        self._derive(name, record)
        missing = [f.name for f in sobject.fields.values() if f.required
                   and record.get(f.name) in (None, "")]
        if missing:
            raise ApiError(400, "REQUIRED_FIELD_MISSING",
                           f"Required fields are missing: [{', '.join(missing)}]", missing)
        if name == "Lead" and opts.auto_assign and self.assignment_rules:
            owner = assigned_owner(self.assignment_rules, record)
            if owner:
                record["OwnerId"] = normalise_id(owner) or owner
        key = record.get(EXTERNAL_KEY)
        if key is not None:
            holder = self.ext_index[name].get(key)
            if holder is not None and holder != record["Id"]:
                raise ApiError(400, "DUPLICATE_VALUE",
                               f"duplicate value found: {EXTERNAL_KEY} duplicates value on "
                               f"record with id: {holder}", [EXTERNAL_KEY])
        if self.duplicate_rule and name in EMAIL_INDEXED and not opts.allow_duplicates:
            email = record.get("Email")
            others = sorted(self.email_index[name].get(email.lower(), set()) - {record["Id"]}) \
                if email else []
            if others:
                raise ApiError(400, "DUPLICATES_DETECTED", "Use one of these records?", [], {
                    "duplicateResult": {
                        "allowSave": False, "duplicateRule": f"Standard_{name}_Duplicate_Rule",
                        "duplicateRuleEntityType": name,
                        "errorMessage": "You're creating a duplicate record. We recommend you "
                                        "use an existing record instead.",
                        "matchResults": [{"entityType": name, "matchEngine": "ExactMatchEngine",
                                          "matchRecords": [{"record": {"Id": other}}
                                                           for other in others],
                                          "rule": f"Standard_{name}_Match_Rule_v1_0",
                                          "size": len(others), "success": True}]}})
        self._put(name, record)

    def _put(self, name: str, record: Record) -> None:
        record_id = record["Id"]
        previous = self.tables[name].get(record_id)
        if self.journal is not None:
            self.journal.append((name, record_id, previous))
        if previous is not None:
            self._unindex(name, previous)
        self.tables[name][record_id] = record
        self.stamp_index[name].moved(record_id, previous.get(STAMP) if previous else None,
                                     record.get(STAMP))
        if record.get("IsDeleted"):
            return
        key = record.get(EXTERNAL_KEY)
        if key is not None:
            self.ext_index[name][key] = record_id
        if name in EMAIL_INDEXED and record.get("Email"):
            self.email_index[name].setdefault(record["Email"].lower(), set()).add(record_id)

    def _unindex(self, name: str, record: Record) -> None:
        key = record.get(EXTERNAL_KEY)
        if key is not None and self.ext_index[name].get(key) == record["Id"]:
            del self.ext_index[name][key]
        if name in EMAIL_INDEXED and record.get("Email"):
            holders = self.email_index[name].get(record["Email"].lower())
            if holders is not None:
                holders.discard(record["Id"])
                if not holders:
                    del self.email_index[name][record["Email"].lower()]

    def _clear(self, name: str) -> None:
        self.tables[name].clear()
        self.stamp_index[name].clear()

    def _next_id(self, name: str) -> str:
        prefix = KEY_PREFIXES[name]
        while True:
            self.counters[name] += 1
            candidate = make_id(prefix, self.counters[name])
            if candidate not in self.tables[name]:
                return candidate


def parse_moment(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None:
        raise ApiError(400, "INVALID_INPUT", f"not a datetime: {text}")
    return moment
