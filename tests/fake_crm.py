"""`FakeCrm`: the engine's `CrmGateway` port in memory, for fast tests of the sync handlers.

When to use which:

- **FakeCrm** (here) for handler tests: what `run_sync` decides and records for a given CRM
  state, in milliseconds, with no server, no HTTP and no real time. Records are plain dicts
  you add, edit, delete and merge directly; the clock only moves when the test calls
  `advance`; writes can be told to fail. It speaks the port's plain values (`CrmRow`,
  `WriteOutcome`), so it tests the engine, never a CRM's wire format.
- **The emulator** (`syncledger.emulator`, `tests/integration/sync/sync_support.py`) for
  integration and end-to-end tests: the real adapters (SOQL, Composite calls, headers,
  retries, TLS, error bodies) against a server that answers as Salesforce or Pipedrive do.
  Steps that have not moved behind the gateway yet (activities, Accounts, Lead Statuses use
  `run.client`) run only there: a test on the fake configures people steps only.

One fake stands for the CRM across a test's runs (its records must outlive them), while a
live run builds a gateway of its own: so `calls` add up over runs (the api_calls a run
records include earlier runs'), and a run's `spend_at_most` budget stays until cleared
(`budget = None`, as a new gateway would start).

Shaped as Salesforce by default (`Contact`/`Lead`, `SystemModstamp`-style stamps
`2026-11-01T10:00:00.000+0000`, 18-character ids); give `crm` and `people` (e.g. the
Pipedrive adapter's `PEOPLE`) for another CRM's shape (`run_sync` still refuses any CRM
but Salesforce, so such a fake serves the handlers' own tests for now).

    crm = FakeCrm(users_by_id={ALICE: "alice@team.example"})
    ada = crm.add("Contact", ALICE, FirstName="Ada", LastName="L", Email="ada@example.com")
    run_sync(app, "tm-alice", NOW, gateway=crm)
    crm.advance(minutes=10)                      # the next change is stamped later
    crm.edit("Contact", ada, LastName="Lovelace")
    crm.delete("Contact", ada, merged_into=other)  # deleted, or merged away
    crm.fail_next(1, "UNABLE_TO_LOCK_ROW", retryable=True, landed=True)  # a lost answer
    crm.calls["writes"], crm.sent, crm.live("Lead"), crm.by_email("Lead", "a@b.example")
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.crm_errors import CrmLimitReached
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.gateway import PEOPLE
from syncledger.commands.connect import Connection, record_connection
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.ports import CrmRow, PeopleSchema, RecordWrite, Removal, WriteOutcome

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
ALICE = "005000000000001AAA"
# Salesforce's own field lengths (as its describe says); any other field has 255.
LENGTHS = {"FirstName": 40, "LastName": 80, "Email": 80, "Company": 255}
LEAD_STATUSES = [("Open - Not Contacted", "Open - Not Contacted"), ("Replied", "Replied")]
ID_PREFIXES = {"Contact": "003", "Lead": "00Q", "Account": "001"}
EMAILS_PER_READ = 100


@dataclass
class FakeRecord:
    stream: str
    id: str
    fields: dict[str, Any]
    stamp: str
    created: str
    owner: str | None = None
    key: str | None = None  # the idempotency key of the create that made it
    deleted: bool = False
    merged_into: str | None = None
    converted: tuple[str | None, str | None] | None = None


@dataclass
class _Failure:
    code: str
    message: str
    retryable: bool
    landed: bool  # the write was applied, only its answer is a failure (a lost answer)


@dataclass
class FakeCrm:
    crm: str = "salesforce"
    people: PeopleSchema = PEOPLE
    users_by_id: dict[str, str] = field(default_factory=lambda: {ALICE: "alice@team.example"})
    current_user: str = ALICE  # who owns what is created without an owner
    now: datetime = START
    page_size: int = 2000
    lengths: dict[str, int] = field(default_factory=lambda: dict(LENGTHS))
    picklists: dict[tuple[str, str], list[tuple[str, str]]] = field(
        default_factory=lambda: {("Lead", "Status"): list(LEAD_STATUSES)})
    url: str = "https://fake-crm.example"
    limit: tuple[int, int] | None = None  # what api_limit() says
    call_kinds: tuple[str, ...] = ("reads", "writes")
    group_size: int = 200
    groups_at_once: int = 5
    side_by_side: bool = False  # no real time: every call where the run makes it
    readings: None = None
    calls: Counter[str] = field(default_factory=Counter)
    records: dict[str, dict[str, FakeRecord]] = field(default_factory=lambda: defaultdict(dict))
    sent: list[RecordWrite] = field(default_factory=list)  # every write asked, in order
    budget: int | None = None
    _keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (stream, key) -> id
    _failures: list[_Failure] = field(default_factory=list)
    _made: int = 0

    # -- the test's hands on the CRM (no call is counted) -----------------------------------
    def advance(self, **delta: float) -> None:
        """Move the clock: `advance(minutes=5)`. Stamps come from it alone."""
        self.now += timedelta(**delta)

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}+0000"

    def add(self, stream: str, owner: str | None = None, id: str | None = None,
            **fields: Any) -> str:
        """A record made in the CRM by one of its users; returns its id."""
        record = FakeRecord(stream, id or self._new_id(stream), dict(fields), self.stamp(),
                            self.stamp(), owner or self.current_user)
        self.records[stream][record.id] = record
        return record.id

    def edit(self, stream: str, record_id: str, owner: str | None = None,
             **fields: Any) -> None:
        record = self.records[stream][record_id]
        record.fields.update(fields)
        record.owner = owner or record.owner
        record.stamp = self.stamp()

    def delete(self, stream: str, record_id: str, merged_into: str | None = None) -> None:
        record = self.records[stream][record_id]
        record.deleted, record.merged_into, record.stamp = True, merged_into, self.stamp()

    def live(self, stream: str) -> list[FakeRecord]:
        return [r for r in self.records[stream].values() if not r.deleted]

    def by_email(self, stream: str, email: str) -> list[FakeRecord]:
        return [r for r in self.live(stream)
                if str(r.fields.get(self.people.email_field) or "").lower() == email.lower()]

    def fail_next(self, writes: int, code: str = "UNABLE_TO_LOCK_ROW", retryable: bool = True,
                  landed: bool = False, message: str = "failed as the test asked") -> None:
        """The next `writes` record writes fail with `code`; `landed`: they were applied
        all the same (the answer was lost on the way back)."""
        self._failures += [_Failure(code, message, retryable, landed) for _ in range(writes)]

    # -- the port ---------------------------------------------------------------------------
    def spend_at_most(self, calls: int) -> None:
        self.budget = calls

    def api_limit(self) -> tuple[int, int] | None:
        return self.limit

    def parse_stamp(self, stamp: str) -> datetime:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")

    def record_url(self, stream: str, record_id: str) -> str:
        return f"{self.url}/{stream}/{record_id}"

    def describe(self, stream: str) -> dict[str, Any]:
        self._spend("reads")
        names = {*self.lengths, *(n for r in self.records[stream].values() for n in r.fields)}
        return {name: {"name": name, "type": "string", "length": self.lengths.get(name, 255)}
                for name in sorted(names)}

    def users(self) -> dict[str, str]:
        self._spend("reads")
        return dict(self.users_by_id)

    def picklist(self, stream: str, name: str) -> list[tuple[str, str]]:
        self._spend("reads")
        return list(self.picklists.get((stream, name), []))

    def changed(self, stream: str, fields: Sequence[str], since: datetime | None
                ) -> Iterator[list[CrmRow]]:
        wanted = [*fields, *self.people.observed.get(stream, ())]
        found = sorted((r for r in self.live(stream)
                        if since is None or self.parse_stamp(r.stamp) >= since),
                       key=lambda r: (r.stamp, r.id))
        rows = [self._row(r, wanted) for r in found]
        for start in range(0, max(len(rows), 1), self.page_size):
            self._spend("reads")
            yield rows[start:start + self.page_size]

    def removed(self, stream: str, since: datetime) -> Iterator[list[Removal]]:
        self._spend("reads")
        gone = sorted((r for r in self.records[stream].values()
                       if r.deleted and self.parse_stamp(r.stamp) >= since),
                      key=lambda r: (r.stamp, r.id))
        yield [Removal(r.id, r.stamp, r.merged_into) for r in gone]

    def by_emails(self, stream: str, emails: Sequence[str]) -> Iterator[list[CrmRow]]:
        for start in range(0, len(emails), EMAILS_PER_READ):
            self._spend("reads")
            batch = {e.lower() for e in emails[start:start + EMAILS_PER_READ]}
            yield [self._row(r, [self.people.email_field]) for r in self.live(stream)
                   if str(r.fields.get(self.people.email_field) or "").lower() in batch]

    def find(self, stream: str, conditions: Sequence[Mapping[str, Any]],
             fields: Sequence[str]) -> Iterator[list[CrmRow]]:
        self._spend("reads")
        yield [self._row(r, fields) for r in self.live(stream)
               if any(all(str(r.fields.get(k)) == str(v) for k, v in c.items())
                      for c in conditions)]

    def by_keys(self, stream: str, keys: Sequence[str]) -> dict[str, str]:
        self._spend("reads")
        return {key: self._keys[(stream, key)] for key in keys if (stream, key) in self._keys}

    def as_held(self, stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return dict(fields)

    def write(self, groups: Sequence[Sequence[RecordWrite]]) -> list[list[WriteOutcome]]:
        """One call per `groups_at_once` groups (as one Composite call of Collections)."""
        outcomes: list[list[WriteOutcome]] = []
        for start in range(0, len(groups), self.groups_at_once):
            self._spend("writes")
            outcomes += [[self._write(w) for w in group]
                         for group in groups[start:start + self.groups_at_once]]
        return outcomes

    # -- inside -----------------------------------------------------------------------------
    def _spend(self, kind: str) -> None:
        if self.budget is not None and self.calls.total() >= self.budget:
            raise CrmLimitReached(f"the api_budget for today is spent ({self.budget} calls "
                                  "in this run)")
        self.calls[kind] += 1

    def _new_id(self, stream: str) -> str:
        self._made += 1
        prefix = ID_PREFIXES.get(stream)
        return f"{prefix}{self._made:012d}AAA" if prefix else str(self._made)

    def _row(self, record: FakeRecord, wanted: Sequence[str]) -> CrmRow:
        values = {name: record.fields.get(name) for name in wanted}
        if self.people.owner_field in values:
            values[self.people.owner_field] = record.owner
        opted_out = record.fields.get(self.people.opt_out_field)
        return CrmRow(id=record.id, stamp=record.stamp, values=values, owner=record.owner,
                      created=record.created,
                      opted_out=opted_out is True or opted_out == "unsubscribed",
                      converted=record.converted)

    def _write(self, write: RecordWrite) -> WriteOutcome:
        self.sent.append(write)
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure.landed:
            return WriteOutcome.failed(failure.code, failure.message, failure.retryable,
                                       write.crm_id)
        outcome = self._apply(write)
        if failure is not None and outcome.ok:
            return WriteOutcome.failed(failure.code, failure.message, failure.retryable,
                                       write.crm_id)
        return outcome

    def _apply(self, write: RecordWrite) -> WriteOutcome:
        too_long = [n for n, v in write.fields.items()
                    if isinstance(v, str) and len(v) > self.lengths.get(n, 255)]
        if too_long:
            return WriteOutcome.failed("STRING_TOO_LONG", f"{too_long[0]}: data value too "
                                       "large", False, write.crm_id)
        fields = dict(write.fields)
        owner = fields.pop(self.people.owner_field, None)
        records = self.records[write.stream]
        record_id = write.crm_id if write.action == "update" else \
            self._keys.get((write.stream, write.key))
        if write.action == "update" and (record_id not in records or records[record_id].deleted):
            return WriteOutcome.failed("ENTITY_IS_DELETED", "entity is deleted", False,
                                       write.crm_id)
        if record_id is not None and not records[record_id].deleted:  # an update, an upsert
            self.edit(write.stream, record_id, owner, **fields)
            return WriteOutcome(crm_id=record_id)
        missing = [n for n in self.people.required.get(write.stream, ()) if not fields.get(n)]
        if missing:
            return WriteOutcome.failed("REQUIRED_FIELD_MISSING", f"Required fields are "
                                       f"missing: [{missing[0]}]", False)
        record_id = self.add(write.stream, owner, **fields)
        records[record_id].key = write.key
        self._keys[(write.stream, write.key)] = record_id
        return WriteOutcome(crm_id=record_id, created=True)



def connect_people_steps(app: SyncLedger, crm: FakeCrm, actor: str) -> None:
    """The store connected to the fake CRM's org, its people steps alone switched on (the
    others still speak to a CRM through the live client, which the fake is not)."""
    record_connection(app, Connection(
        crm="salesforce", org_id="00D000000000001AAA", org_name="Fake", environment="production",
        instance_url=crm.url, user_id=ALICE, user_email="alice@team.example",
        missing_keys=[]), actor)
    ctx = Context("config:test", actor)
    integration = AggregateCache(app).find(integration_id("salesforce"))
    integration.switch(True, ctx)
    for step in integration.steps():
        if not step.is_people:
            integration.switch_step(step.name, False, ctx)
    app.save(integration)
