"""Issue 22: a record, and an email's claim, made in one unit of work record their first facts
in one event each; the state they replay into is the same as from the separate events (which
the same facts record when the created event was saved before them)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact, CrmRecord, Lead
from syncledger.domain.email_claim import EmailClaim, EmailTaken
from syncledger.domain.ids import email_claim_id

CTX = Context(cause="run:r1", actor="system")
SIDE = "salesforce:00D1"
TIMES = ("_created_on", "_modified_on", "_version")  # of a record discovered apart


def replayed(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def apart(aggregate: Any, *facts: Any) -> Any:
    """The aggregate replayed from its created event and `facts` applied after it was saved:
    each fact an event of its own."""
    events = aggregate.collect_events()
    for fact in facts:
        fact(aggregate)
    return replayed([*events, *aggregate.collect_events()])


def test_a_new_records_observation_and_person_link_fold_into_its_discovery() -> None:
    person = uuid4()
    contact = Contact.discover("salesforce", "00D1", "003A", CTX, created="2026-01-01")
    contact.observe({"Email": "Ada@Example.com", "LastName": "L"}, "t1", "005A", CTX)
    contact.link_person(person, CTX)
    events = contact.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Contact.Discovered"]
    assert events[0].content == {"Email": "ada@example.com", "LastName": "L"}
    assert (events[0].modstamp, events[0].owner, events[0].person) == ("t1", "005A", person)
    folded = replayed(events)
    assert state(folded) == state(contact)
    # The same record as from the three events, one version on.
    separate = apart(Contact.discover("salesforce", "00D1", "003A", CTX, created="2026-01-01"),
                     lambda c: c.observe({"Email": "Ada@Example.com", "LastName": "L"}, "t1",
                                         "005A", CTX),
                     lambda c: c.link_person(person, CTX))
    assert separate.version == 3
    assert {k: v for k, v in state(folded).items() if k not in TIMES} \
        == {k: v for k, v in state(separate).items() if k not in TIMES}


def test_what_follows_another_kind_of_event_stays_and_is_renumbered() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.observe({"LastName": "L"}, "t1", "005A", CTX)
    lead.skip("duplicate email", "Contact 003A won", CTX)
    lead.link_person(uuid4(), CTX)
    events = lead.collect_events()
    assert [(type(e).__qualname__, e.originator_version) for e in events] == [
        ("Lead.Discovered", 1), ("Lead.Skipped", 2), ("Lead.PersonLinked", 3)]
    assert lead.version == 3
    assert state(replayed(events)) == state(lead)


def test_a_saved_record_and_a_discovery_alone_are_left_as_they_are() -> None:
    contact = Contact.discover("salesforce", "00D1", "003A", CTX)
    assert [e.content for e in contact.collect_events()] == [None]
    contact.observe({"LastName": "L"}, "t1", "005A", CTX)
    assert [type(e).__qualname__ for e in contact.collect_events()] == ["Contact.Observed"]


def test_a_discovery_of_version_1_reads_with_nothing_observed() -> None:
    stored = {"crm": "salesforce", "org": "00D1", "sobject": "Contact", "record_id": "003A",
              "created": None, "cause": "run:r0", "actor": "system"}
    CrmRecord.Discovered.upcast_v1_v2(stored)
    assert stored["content"] is None and stored["person"] is None
    assert CrmRecord.Discovered.class_version == Contact.Discovered.class_version == 4


def test_a_created_records_write_and_person_link_fold_into_its_discovery() -> None:
    # given a Lead the sync has just created for a person, recorded as it was until the fold
    person = uuid4()
    sent = {"Email": "Ada@Example.com", "LastName": "L", "Company": "C", "OwnerId": "005A"}
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    # when its write and person link are recorded in the unit of work that discovered it
    lead.record_written("00QA", CTX, content=sent)
    lead.link_person(person, CTX)
    # then it is one Discovered, carrying what was written and the person, and it replays
    # into the record the three events made apart, one version on
    events = lead.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Lead.Discovered"]
    assert events[0].written == {"Company": "C", "Email": "ada@example.com", "LastName": "L",
                                 "OwnerId": "005A"}  # normalised, as a Written's content
    assert (events[0].person, events[0].content, events[0].owner) == (person, None, None)
    folded = replayed(events)
    assert state(folded) == state(lead)
    separate = apart(Lead.discover("salesforce", "00D1", "00QA", CTX),
                     lambda r: r.record_written("00QA", CTX, content=sent),
                     lambda r: r.link_person(person, CTX))
    assert {k: v for k, v in state(folded).items() if k not in TIMES} \
        == {k: v for k, v in state(separate).items() if k not in TIMES}
    assert (folded.last_written, folded.owner, folded.crm_record) == (
        events[0].written, "005A", "00QA")
    assert "OwnerId" not in folded.content and folded.content_hash is not None
    assert folded.is_echo({"Email": "ada@example.com", "LastName": "L", "Company": "C",
                           "OwnerId": "005A"})


def test_an_observation_after_the_write_stays_apart() -> None:
    # given a created record observed, in the same unit of work, after its write
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.record_written("00QA", CTX, content={"LastName": "L"})
    lead.observe({"LastName": "M"}, "t1", "005A", CTX)
    lead.link_person(uuid4(), CTX)
    # then the Discovered carries the write alone: read first, the observation would be
    # overwritten by the write it came after
    events = lead.collect_events()
    assert [(type(e).__qualname__, e.originator_version) for e in events] == [
        ("Lead.Discovered", 1), ("Lead.Observed", 2), ("Lead.PersonLinked", 3)]
    assert (events[0].written, events[0].content) == ({"LastName": "L"}, None)
    assert state(replayed(events)) == state(lead)
    assert lead.content["LastName"] == "M"


def test_an_observation_then_a_write_fold_both() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.observe({"LastName": "L", "Email": "a@b.example"}, "t1", "005A", CTX)
    lead.record_written("00QA", CTX, content={"LastName": "M"})
    events = lead.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Lead.Discovered"]
    assert state(replayed(events)) == state(lead)
    assert lead.content == {"LastName": "M", "Email": "a@b.example"}


def test_a_write_that_answered_an_intent_or_names_another_record_stays_apart() -> None:
    # a record's own intent, then its result: the Written keeps the intent's key
    contact = Contact.discover("salesforce", "00D1", "003A", CTX)
    contact.request_write("k1", "update", {"LastName": "L"}, CTX)
    contact.record_written("003A", CTX)
    assert [type(e).__qualname__ for e in contact.collect_events()] == [
        "Contact.Discovered", "Contact.WriteRequested", "Contact.Written"]
    # a Written naming an id other than the discovered one would change the record's id
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.record_written("00QB", CTX, content={"LastName": "L"})
    events = lead.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Lead.Discovered", "Lead.Written"]
    assert state(replayed(events)) == state(lead)


def test_a_saved_record_written_again_keeps_its_events_apart() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.collect_events()  # saved by an earlier unit of work
    lead.record_written("00QA", CTX, content={"LastName": "L"})
    lead.link_person(uuid4(), CTX)
    assert [type(e).__qualname__ for e in lead.collect_events()] == [
        "Lead.Written", "Lead.PersonLinked"]


def test_a_discovery_of_version_3_reads_with_nothing_written() -> None:
    stored = {"crm": "salesforce", "org": "00D1", "stream": "Lead", "record_id": "00QA",
              "created": None, "content": None, "content_hash": None, "modstamp": None,
              "owner": None, "person": uuid4(), "cause": "run:r0", "actor": "system"}
    CrmRecord.Discovered.upcast_v3_v4(stored)
    assert stored["written"] is None
    event = Lead.Discovered(originator_id=uuid4(), originator_version=1,
                            timestamp=Lead.Discovered.create_timestamp(),
                            originator_topic="syncledger.domain.crm_record:Lead", **stored)
    lead = replayed([event])
    assert (lead.last_written, lead.content, lead.content_hash) == (None, {}, None)
    assert lead.person == stored["person"]


def test_an_emails_claim_made_for_a_record_then_taken_by_a_person_is_one_event() -> None:
    record, person = uuid4(), uuid4()
    claim = EmailClaim.claim_on(SIDE, "Ada@Example.com", record, CTX)
    assert claim.id == email_claim_id("app", "ada@example.com")
    assert (claim.holder, claim.holder_on(SIDE), claim.holder_on("app")) == (None, record, None)
    claim.take(person, CTX)
    events = claim.collect_events()
    assert [type(e).__qualname__ for e in events] == ["EmailClaim.Claimed"]
    assert (events[0].holder, events[0].sides) == (person, {SIDE: record})
    assert not hasattr(events[0], "claim_id")  # the event's originator already is
    again = replayed(events)
    assert (again.holder, again.holder_on(SIDE), again.side) == (person, record, "app")


def test_a_side_is_held_by_one_record_at_a_time() -> None:
    first, second, person = uuid4(), uuid4(), uuid4()
    claim = EmailClaim.claim("app", "ada@example.com", person, CTX)
    claim.collect_events()
    claim.take_on(SIDE, first, CTX)
    with pytest.raises(EmailTaken):
        claim.take_on(SIDE, second, CTX)
    claim.release_on(SIDE, second, CTX)  # not its holder: nothing
    claim.release_on(SIDE, first, CTX)
    claim.take_on(SIDE, second, CTX)  # saved before: its events stay apart
    assert [type(e).__qualname__ for e in claim.collect_events()] == [
        "EmailClaim.SideTaken", "EmailClaim.SideReleased", "EmailClaim.SideTaken"]
    assert (claim.holder, claim.holder_on(SIDE)) == (person, second)


def test_a_claim_of_version_1_reads_with_no_other_side() -> None:
    stored = {"claim_id": uuid4(), "side": SIDE, "holder": uuid4(), "cause": "run:r0",
              "actor": "system"}
    EmailClaim.Claimed.upcast_v1_v2(stored)
    assert "claim_id" not in stored and stored["sides"] is None
