"""The sync run's handlers on a real SQLite store, with only the CRM faked (tests/fake_crm.py):
what a run pulls, writes and records, in milliseconds and without HTTP. The emulator's
tests (tests/integration/sync) cover the same ground through the real adapters."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fake_crm import ALICE, FakeCrm, connect_people_steps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.pipedrive.gateway import PEOPLE as PIPEDRIVE_PEOPLE
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.session import caught_up, store_session
from syncledger.commands.sync import RunReport, run_sync
from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.person import Person
from syncledger.domain.ports import RecordWrite
from syncledger.domain.steps import OwnerMapping

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BOB = "005000000000002AAA"
STRANGER = "005000000000009AAA"
USERS = {ALICE: "alice@team.example", BOB: "bob@team.example",
         STRANGER: "sam@elsewhere.example"}
TEAM = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"}]
NO_CHANGE = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}


@dataclass
class World:
    """A store connected to a FakeCrm (no HTTP: the connection's facts are recorded as
    `connect` would), with the people steps only: the activity and Lead Status steps
    still talk to Salesforce's client, not to the gateway."""

    app: SyncLedger
    crm: FakeCrm
    tmp: Path
    imports: int = 0

    def sync(self, **kwargs: Any) -> RunReport:
        # A live run builds its gateway afresh, with no budget until it sets its own.
        self.crm.budget = None
        report = run_sync(self.app, "tm-alice", NOW, gateway=self.crm, **kwargs)
        self.crm.advance(minutes=10)  # runs are apart, as the scheduler's are
        return report

    def import_lines(self, lines: list[dict[str, Any]]) -> None:
        self.imports += 1
        path = self.tmp / f"import-{self.imports}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        import_file(self.app, path, "tm-alice")

    def people(self) -> dict[str, dict[str, Any]]:
        return {p["email"]: p for p in views.people(caught_up(self.app), None)}

    def person(self, app_id: str) -> Person:
        found = AggregateCache(self.app).find(Person.create_id(app_id))
        assert isinstance(found, Person)
        return found

    def new_events(self, after: int) -> list[str]:
        return [n.topic for n in self.app.recorder.select_notifications(start=after + 1,
                                                                        limit=1000)]

    def records_events(self, after: int) -> list[str]:
        """The events after `after` of people and CRM records (not the run's bookkeeping)."""
        return [topic.split(":")[1] for topic in self.new_events(after)
                if topic.split(":")[1].startswith(("Person.", "Contact.", "Lead."))]

    def position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def use_pairs(self, *pairs: OwnerMapping) -> None:
        """The Custom profile with ownership pairs, recorded on the integration directly:
        `config apply` would check it against the CRM's describe through Salesforce's
        client, which the fake is not."""
        ctx = Context("config:test", "tm-alice")
        integration = AggregateCache(self.app).find(integration_id("salesforce"))
        current = integration.configuration()
        config = replace(current, profile="custom",
                         steps=tuple(s for s in current.steps if s.is_people),
                         settings=replace(current.settings, owner_mappings=pairs))
        integration.apply_configuration(config, [], ctx)
        self.app.save(integration)


def connected(app: SyncLedger, tmp: Path, crm: FakeCrm | None = None) -> World:
    crm = crm or FakeCrm(users_by_id=dict(USERS))
    connect_people_steps(app, crm, "tm-alice")
    world = World(app, crm, tmp)
    world.import_lines(TEAM)
    return world


def add_contact(crm: FakeCrm, n: int, owner: str = ALICE, **fields: Any) -> str:
    return crm.add("Contact", owner, **{"FirstName": f"C{n}", "LastName": f"Last{n}",
                                        "Email": f"contact{n}@example.com", **fields})


def app_person(n: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "account": f"Acct{n}",
            "owner": "tm-alice", **extra}


def test_an_inbound_pull_of_three_contacts_makes_three_people_linked_to_them(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given three Contacts in the CRM, one of them Bob's,
    world = connected(sqlite_store, tmp_path)
    ids = [add_contact(world.crm, 1), add_contact(world.crm, 2, BOB), add_contact(world.crm, 3)]
    # when a run syncs,
    report = world.sync()
    # then each is a person linked to its Contact, and nothing was written back.
    assert report.outcome == "succeeded", report.errors
    assert report.counts["people"]["created"] == 3
    people = world.people()
    for n, crm_id in enumerate(ids, start=1):
        link = people[f"contact{n}@example.com"]["links"][0]
        assert (link["crm"], link["object"], link["id"]) == ("salesforce", "Contact", crm_id)
        assert link["url"] == world.crm.record_url("Contact", crm_id)
    assert people["contact1@example.com"]["first_name"] == "C1"
    # Default profile: no pairs, so the member who connected owns them all.
    assert people["contact2@example.com"]["owner"] == "tm-alice"
    assert world.crm.calls["writes"] == 0
    assert views.person(sqlite_store, ids[1])["email"] == "contact2@example.com"


def test_a_second_run_with_nothing_changed_writes_nothing_and_records_nothing_for_people(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    add_contact(world.crm, 1)
    add_contact(world.crm, 2, BOB)
    world.crm.add("Lead", FirstName="L1", LastName="Lead1", Email="lead1@example.com",
                  Company="Co1")
    world.import_lines([app_person(9)])
    world.sync()
    before, sent = world.position(), len(world.crm.sent)
    # when nothing changed on either side,
    again = world.sync()
    # then the run writes nothing and records only its own bookkeeping.
    assert again.outcome == "succeeded", again.errors
    assert again.counts["people"] == again.counts["leads"] == again.counts["contacts"] \
        == NO_CHANGE
    assert len(world.crm.sent) == sent
    # Only the Lead the first run made is read back once (the owner the CRM gave it learnt);
    # a third run records nothing of people or records at all.
    assert world.records_events(before) == ["Lead.Observed"]
    before = world.position()
    world.sync()
    assert world.records_events(before) == []


def test_an_app_change_to_a_linked_person_is_written_once_with_only_that_field(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    crm_id = add_contact(world.crm, 1)
    world.sync()
    app_id = world.people()["contact1@example.com"]["id"]
    # Given the app renames a linked person,
    world.import_lines([{"kind": "person", "id": app_id, "email": "contact1@example.com",
                         "first_name": "C1", "last_name": "Renamed", "owner": "tm-alice"}])
    sent = len(world.crm.sent)
    # when a run syncs,
    report = world.sync()
    # then one update carries only the changed field,
    writes = world.crm.sent[sent:]
    assert [(w.action, w.crm_id, dict(w.fields)) for w in writes] == [
        ("update", crm_id, {"LastName": "Renamed"})]
    assert report.counts["contacts"]["updated"] == 1
    assert world.crm.records["Contact"][crm_id].fields["LastName"] == "Renamed"
    # and its echo, read back next run, is no change at all.
    again = world.sync()
    assert len(world.crm.sent) == sent + 1
    assert again.counts["people"] == NO_CHANGE


def test_a_new_app_person_is_created_once_under_an_idempotency_key(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    world.import_lines([app_person(1), {"kind": "person", "id": "p-2",
                                        "email": "nocompany@example.com",
                                        "last_name": "Nobody", "owner": "tm-alice"}])
    report = world.sync()
    # One Lead (a prospect is a Lead), made under a key; the one with no company waits.
    assert report.counts["leads"]["created"] == 1
    assert report.skip_reasons.get("missing required field Company") == 1
    [create] = [w for w in world.crm.sent if w.action == "create"]
    assert create.stream == "Lead" and create.key
    [lead] = world.crm.live("Lead")
    assert (lead.key, lead.fields["Company"], lead.fields["Email"]) == (
        create.key, "Acct1", "person1@example.com")
    assert world.person("p-1").links["salesforce:Lead"]["id"] == lead.id
    assert world.crm.live("Contact") == []
    # The next run reads the Lead back as our own write: nothing more is written.
    sent = len(world.crm.sent)
    world.sync()
    assert len(world.crm.sent) == sent
    assert len(world.crm.live("Lead")) == 1


def test_a_create_whose_answer_was_lost_lands_on_one_record_when_retried(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    world.import_lines([app_person(1)])
    # Given the CRM made the Lead, but its answer was lost (a retryable failure),
    world.crm.fail_next(1, "UNABLE_TO_LOCK_ROW", retryable=True, landed=True)
    first = world.sync()
    assert first.counts["leads"]["failed"] == 1
    assert [e["code"] for e in first.errors] == ["UNABLE_TO_LOCK_ROW"]
    # when the next run tries again,
    second = world.sync()
    # then the person is linked to that one Lead, never a second.
    assert second.outcome == "succeeded", second.errors
    [lead] = world.crm.live("Lead")
    assert world.person("p-1").links["salesforce:Lead"]["id"] == lead.id
    assert {w.key for w in world.crm.sent} == {lead.key}
    world.sync()
    assert len(world.crm.live("Lead")) == 1


def test_a_retryable_failure_is_retried_next_run_and_a_final_one_is_not(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    world.import_lines([app_person(1), app_person(2)])
    world.crm.fail_next(1, "UNABLE_TO_LOCK_ROW", retryable=True)
    world.crm.fail_next(1, "INVALID_EMAIL_ADDRESS", retryable=False)
    first = world.sync()
    assert first.counts["leads"]["failed"] == 2
    assert world.crm.live("Lead") == []
    retried, final = world.crm.sent  # in the order the fake failed them
    second = world.sync()
    # The retryable one is written now, under the key of its first try; the final one
    # waits for a change (it would fail the same way again).
    [lead] = world.crm.live("Lead")
    assert (lead.fields["Email"], lead.key) == (retried.fields["Email"], retried.key)
    assert [w.key for w in world.crm.sent[2:]] == [retried.key]
    assert second.counts["leads"]["created"] == 1 and second.counts["leads"]["failed"] == 0


def test_a_record_deleted_in_the_crm_is_never_created_again(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    crm_id = add_contact(world.crm, 1)
    world.sync()
    app_id = world.people()["contact1@example.com"]["id"]
    # Given the Contact is deleted in the CRM and its deletion pulled,
    world.crm.delete("Contact", crm_id)
    world.sync()
    assert world.person(app_id).links["salesforce:Contact"]["deleted"]
    # when the app changes the person,
    world.import_lines([{"kind": "person", "id": app_id, "email": "contact1@example.com",
                         "first_name": "C1", "last_name": "Changed", "account": "Acme",
                         "owner": "tm-alice"}])
    sent = len(world.crm.sent)
    report = world.sync()
    # then nothing is written: the person stays, skipped as deleted in the CRM.
    assert report.skip_reasons == {"deleted in CRM": 1}
    assert len(world.crm.sent) == sent
    assert world.crm.live("Contact") == world.crm.live("Lead") == []
    assert world.people()["contact1@example.com"]["last_name"] == "Changed"


def test_a_person_follows_the_duplicate_its_contact_was_merged_into(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given two Contacts of one email: the first is the person's, the other a duplicate,
    world = connected(sqlite_store, tmp_path)
    loser = add_contact(world.crm, 1)
    master = add_contact(world.crm, 2, Email="contact1@example.com", LastName="Merged")
    first = world.sync()
    assert first.skip_reasons == {"duplicate email": 1}
    app_id = world.people()["contact1@example.com"]["id"]
    # when the first is merged into the duplicate,
    world.crm.delete("Contact", loser, merged_into=master)
    world.crm.edit("Contact", master, LastName="Merged")
    world.sync()
    # then the person follows the master, and takes its values (the CRM wins conflicts).
    person = world.person(app_id)
    assert person.links["salesforce:Contact"]["id"] == master
    assert not person.links["salesforce:Contact"]["deleted"]
    assert world.people()["contact1@example.com"]["last_name"] == "Merged"


def test_a_person_stays_unlinked_when_merged_into_another_persons_record(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    loser, master = add_contact(world.crm, 1), add_contact(world.crm, 2)
    world.sync()
    app_id = world.people()["contact1@example.com"]["id"]
    world.crm.delete("Contact", loser, merged_into=master)
    world.sync()
    link = world.person(app_id).links["salesforce:Contact"]
    assert (link["id"], link["deleted"], link.get("merged_into")) == (loser, True, master)
    # An app change to it then writes nowhere: skipped as merged.
    world.import_lines([{"kind": "person", "id": app_id, "email": "contact1@example.com",
                         "first_name": "C1", "last_name": "Later", "owner": "tm-alice"}])
    sent = len(world.crm.sent)
    report = world.sync()
    assert report.skip_reasons == {f"merged into {master}": 1}
    assert len(world.crm.sent) == sent


def test_owners_follow_the_ownership_pairs_both_ways(sqlite_store: SyncLedger,
                                                     tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    world.use_pairs(OwnerMapping(ALICE, "tm-alice"), OwnerMapping(BOB, "tm-bob"))
    add_contact(world.crm, 1, BOB)
    add_contact(world.crm, 2, STRANGER)
    world.import_lines([app_person(7, owner="tm-bob")])
    report = world.sync()
    people = world.people()
    # In: Bob's Contact is Bob's person; a stranger's is skipped, not given to anyone.
    assert people["contact1@example.com"]["owner"] == "tm-bob"
    assert "contact2@example.com" not in people
    assert report.skip_reasons["owner not mapped"] == 1
    # Out: Bob's person becomes a Lead of Bob's, sent with its owner (no assignment rules).
    [lead] = world.crm.by_email("Lead", "person7@example.com")
    assert lead.owner == BOB
    [create] = [w for w in world.crm.sent if w.action == "create"]
    assert create.fields["OwnerId"] == BOB and not create.auto_assign


def test_a_spent_budget_stops_the_run_and_the_next_one_resumes(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    world = connected(sqlite_store, tmp_path)
    world.crm.page_size = 2
    for n in range(1, 6):
        add_contact(world.crm, n)
    world.crm.limit = (0, 4)  # api_budget 0.5: two calls left for the run after users()
    stopped = world.sync()
    assert [e["code"] for e in stopped.errors] == ["REQUEST_LIMIT_EXCEEDED"]
    assert 0 < stopped.counts["people"]["created"] < 5
    assert stopped.outcome == "limited"  # a spent budget is no failure: it resumes
    world.crm.limit = (0, 100)  # a larger limit: the next run takes the rest, from the cursor
    rest = world.sync()
    assert rest.counts["people"]["created"] == 5 - stopped.counts["people"]["created"]
    assert len(world.people()) == 5


def test_the_fake_upserts_a_retried_create_on_its_key() -> None:
    crm = FakeCrm()
    create = RecordWrite("Lead", "create", {"LastName": "A", "Company": "C",
                                            "Email": "a@example.com"}, key="k1")
    [[first]] = crm.write([[create]])
    [[again]] = crm.write([[replace(create, reconcile=True)]])
    assert first.created and not again.created and first.crm_id == again.crm_id
    [[gone]] = crm.write([[RecordWrite("Lead", "update", {"LastName": "B"}, key="k2",
                                       crm_id="00Q999999999999AAA")]])
    assert (gone.code, gone.retryable) == ("ENTITY_IS_DELETED", False)
    assert crm.calls == {"writes": 3}


def test_a_pipedrive_shaped_fake_keeps_pipedrives_names() -> None:
    crm = FakeCrm(crm="pipedrive", people=PIPEDRIVE_PEOPLE, picklists={})
    [[nameless, made]] = crm.write([[
        RecordWrite("person", "create", {"email": "a@example.com"}, key="k1"),
        RecordWrite("person", "create", {"name": "Ada", "email": "a@example.com",
                                         "owner_id": "7"}, key="k2")]])
    assert nameless.code == "REQUIRED_FIELD_MISSING" and made.crm_id == "1"
    crm.edit("person", "1", marketing_status="unsubscribed")
    [[row]] = list(crm.changed("person", ["name", "email"], None))
    assert (row.values, row.owner, row.opted_out) == ({"name": "Ada", "email": "a@example.com"},
                                                      "7", True)


# -- a property: any small set of Contacts, synced twice, is written at most once ---------
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                max_size=12)
contacts = st.lists(st.tuples(NAMES, NAMES, st.sampled_from([ALICE, BOB, STRANGER]),
                              st.booleans()), max_size=4)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contacts)
def test_the_second_sync_of_any_contacts_writes_nothing(
        given_contacts: list[tuple[str, str, str, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            store_session(f"sqlite:///{Path(tmp) / 'store.db'}") as app:
        world = connected(app, Path(tmp))
        for n, (first, last, owner, shouting) in enumerate(given_contacts):
            email = f"contact{n}@example.com"
            world.crm.add("Contact", owner, FirstName=first, LastName=last,
                          Email=email.upper() if shouting else email)
        first_run = world.sync()
        assert first_run.outcome == "succeeded", first_run.errors
        writes = world.crm.calls["writes"]
        second = world.sync()
        assert world.crm.calls["writes"] == writes, world.crm.sent
        assert second.counts["people"] == NO_CHANGE
