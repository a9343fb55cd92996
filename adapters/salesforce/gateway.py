"""Salesforce behind the engine's `CrmGateway` port: SOQL pulls on (SystemModstamp, Id),
`queryAll` deletions, batched email lookups, sObject Collections writes (upserts on
`Syncledger_Key__c`, `Sforce-Auto-Assign`) sent as Composite calls, Lightning record URLs.
What differs from one sObject to another is its stream's (streams.py).

It wraps any `SalesforceClient` (the real one, a dry run's, a replay's), and keeps what the
run read besides records in the `Readings` it is given, for the run to record."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.salesforce import soql, streams
from syncledger.adapters.salesforce.client import (
    COLLECTION_SIZE,
    COMPOSITE_COLLECTIONS,
    IN_FLIGHT,
    RETRYABLE_CODES,
    SalesforceClient,
    WritesStopped,
    collections_call,
)
from syncledger.adapters.salesforce.readings import Readings
from syncledger.adapters.salesforce.streams import SalesforceStream
from syncledger.domain.ports import CrmRow, PeopleSchema, RecordWrite, Removal, WriteOutcome
from syncledger.domain.ports import WritesStopped as PortWritesStopped

PEOPLE = PeopleSchema(streams=("Contact", "Lead"), owner_field="OwnerId",
                      opt_out_field="HasOptedOutOfEmail", email_field="Email",
                      required={"Lead": ("LastName", "Company"), "Contact": ("LastName",)},
                      observed={"Lead": ("Status",)}, app_key_prefix="sf",
                      kinds={"Lead": "leads", "Contact": "contacts"})


class SalesforceGateway:
    crm = "salesforce"
    people = PEOPLE
    call_kinds: tuple[str, ...] = ("query", "query_more", "describe", "sobject_read",
                                   "sobject_write", "collections", "collections_read", "bulk",
                                   "auth")
    group_size = COLLECTION_SIZE
    # Enough full Collections calls to keep IN_FLIGHT Composite calls busy.
    groups_at_once = COMPOSITE_COLLECTIONS * IN_FLIGHT

    def __init__(self, client: SalesforceClient, instance_url: str,
                 missing_keys: Sequence[str] = (), readings: Readings | None = None,
                 budget: CallBudget | None = None) -> None:
        self.client = client
        self._budget = budget or client.budget  # the one the factory gave them both
        self.instance_url = instance_url
        # Objects without the key field: their creates cannot be upserts on it.
        self.missing_keys = frozenset(missing_keys)
        self._readings = readings
        self.side_by_side = client.side_by_side
        # One batch of writes at a time (a run plans the next while one is in flight, and may
        # write Accounts meanwhile): they are admitted against the budget in the order they
        # were asked, and each reads the limit its own calls met (client.limit_reached).
        self._writing = threading.Lock()

    @property
    def readings(self) -> Readings | None:
        """What the run read besides records (lengths, Lead Statuses, email matches), kept
        for its replay; None when nothing is kept (a replay's own gateway)."""
        return self._readings

    @property
    def calls(self) -> Mapping[str, int]:
        return self.client.calls

    def spend_at_most(self, calls: int) -> None:
        self._budget.limit = calls

    def api_limit(self) -> tuple[int, int] | None:
        return self.client.api_limit()

    def parse_stamp(self, stamp: str) -> datetime:
        return soql.parse_salesforce_datetime(stamp)

    def record_url(self, stream: str, record_id: str) -> str:
        return f"{self.instance_url}/lightning/r/{stream}/{record_id}/view"

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return dict(fields)

    def describe(self, stream: str) -> dict[str, Any]:
        answer = self.client.describe(stream)
        if self._readings is not None:
            self._readings.described(stream, answer)
        return {f["name"]: f for f in answer["fields"]}

    def _query(self, query: str, include_deleted: bool = False
               ) -> Iterator[list[dict[str, Any]]]:
        pages = self.client.query(query, include_deleted=include_deleted)
        return pages if self._readings is None else self._readings.watch(query, pages)

    # -- reads ------------------------------------------------------------------------------
    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        query = soql.changed_since(stream, soql.pulled_fields(stream, fields), since)
        yield from self._rows(streams.named(stream), query)

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        stamp = streams.named(stream).replication_key
        for page in self._query(soql.deleted_since(stream, since), include_deleted=True):
            yield [Removal(str(r["Id"]), r.get(stamp), r.get("MasterRecordId")) for r in page]

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        sobject = streams.named(stream)
        for query in soql.by_emails(stream, sobject.matched, emails):
            yield from self._rows(sobject, query)

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        names = {name for condition in conditions for name in condition}
        if len(names) == 1:  # one field: `Name IN (...)`
            [name] = names
            queries = soql.by_keys(stream, fields, name,
                                   [str(c[name]) for c in conditions])
        else:
            queries = soql.any_of(stream, fields, [
                "(" + " AND ".join(f"{k} = {_literal(v)}" for k, v in c.items()) + ")"
                for c in conditions])
        sobject = streams.named(stream)
        for query in queries:
            yield from self._rows(sobject, query)

    def _rows(self, sobject: SalesforceStream, query: str) -> Iterator[list[CrmRow]]:
        for page in self._query(query):
            yield [_row(sobject, record) for record in page]

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        """Where a key is held is the stream's: a field of its own, or the end of a Note's
        Title, found with LIKE."""
        sobject = streams.named(stream)
        field = sobject.key_field
        if sobject.key_is_suffix:
            conditions = [f"{field} LIKE {soql.quote(sobject.key_pattern(key))}" for key in keys]
            queries = soql.any_of(stream, ["Id", field], conditions)
        else:
            queries = soql.by_keys(stream, ["Id", field], field, sorted(keys))
        found: dict[str, str] = {}
        wanted = set(keys)
        for query in queries:
            for page in self._query(query):
                for row in page:
                    key = sobject.key_of(row)
                    if key in wanted:
                        found.setdefault(key, str(row["Id"]))
        return found

    def users(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._query("SELECT Id, Email FROM User"):
            found.update({row["Id"]: row.get("Email") or "" for row in page})
        return found

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        """Read from the object that holds the picklist's values when there is one (the
        Lead Status's say which are converted), else from describe."""
        holder = streams.named(stream).picklist_object(name)
        if holder is not None:
            query = f"SELECT ApiName, MasterLabel FROM {holder}"
            return [(str(row["ApiName"]), str(row["MasterLabel"]))
                    for page in self._query(query) for row in page]
        described = self.describe(stream).get(name, {})
        return [(str(v["value"]), str(v.get("label") or v["value"]))
                for v in described.get("picklistValues") or ()]

    # -- writes -----------------------------------------------------------------------------
    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        """Each group is one Collections call; they go as Composite calls of up to
        COMPOSITE_COLLECTIONS (the daily API limit counts each once), up to IN_FLIGHT of
        them at once. A limit met or a refusal stops the batch: WritesStopped carries every
        write's outcome, so that the run records them before it stops."""
        calls = [self._call(group) for group in groups]
        with self._writing:
            self.client.limit_reached = None
            try:
                answers = self.client.collections_pipelined(calls)
            except WritesStopped as stopped:
                raise PortWritesStopped(_outcomes(groups, stopped.results), stopped) from None
            limit = self.client.limit_reached
        outcomes = _outcomes(groups, answers)
        if limit is not None:
            raise PortWritesStopped(outcomes, limit)
        return outcomes

    def _call(self, group: Sequence[RecordWrite]) -> Any:
        first = group[0]
        sobject = streams.named(first.stream)
        # A suffixed key is in the fields already (the Note's Title holds it).
        keyed = sobject.upserts and first.stream not in self.missing_keys
        records = []
        for write in group:
            body = dict(write.fields)
            if keyed and write.key:
                body[sobject.key_field] = write.key
            if write.action == "update":
                body["Id"] = write.crm_id
            records.append(body)
        action = "upsert" if first.action == "create" and keyed else first.action
        return collections_call(action, first.stream, records, first.auto_assign,
                                sobject.key_field)


def _literal(value: Any) -> str:
    """A SOQL value: a date unquoted, as SOQL compares dates; anything else a string."""
    return value.isoformat() if isinstance(value, date) else soql.quote(str(value))


def _outcomes(groups: Sequence[Sequence[RecordWrite]], answers: list[list[dict[str, Any]]]
              ) -> list[list[WriteOutcome]]:
    return [[_outcome(write, result) for write, result in zip(group, answer, strict=True)]
            for group, answer in zip(groups, answers, strict=True)]


def _row(sobject: SalesforceStream, record: dict[str, Any]) -> CrmRow:
    converted = (record.get("ConvertedContactId"), record.get("ConvertedAccountId")) \
        if record.get("IsConverted") else None
    return CrmRow(id=str(record["Id"]), stamp=str(record.get(sobject.replication_key) or ""),
                  values=record, owner=record.get("OwnerId"),
                  created=record.get("CreatedDate"),
                  opted_out=bool(record.get("HasOptedOutOfEmail")), converted=converted)


def _outcome(write: RecordWrite, result: dict[str, Any]) -> WriteOutcome:
    if result.get("success"):
        return WriteOutcome(crm_id=str(result.get("id") or write.crm_id),
                            created=write.action == "create")
    error = (result.get("errors") or [{}])[0]
    code = str(error.get("statusCode", "UNKNOWN"))
    return WriteOutcome.failed(code, str(error.get("message", "")), code in RETRYABLE_CODES,
                               write.crm_id)
