"""Issue 22: a person made from a CRM record is recorded with its link to it, one event where
there were two (a Recorded, then a Linked); the person it replays into is the one the two
made. A Recorded stored before (version 1) reads with no link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncledger.domain.context import Context
from syncledger.domain.person import CrmLink, Person

CTX = Context(cause="run:r1", actor="system")
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
LINK = CrmLink("salesforce", "Contact", "003A", "https://x/lightning/r/Contact/003A/view")
DATA = {"email": "Ada@Example.com", "first_name": "Ada", "owner": "tm-alice"}


def replayed(events: list[Any]) -> Any:
    person = None
    for event in events:
        person = event.mutate(person)
    return person


def state(person: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(person).items()
            if k not in ("_pending_events", "_version", "_created_on", "_modified_on")}


def test_a_person_made_from_a_record_is_one_event_carrying_its_link() -> None:
    # When a person is recorded from a CRM record, with its link
    person = Person.record("sf-contact-003A", DATA, T0, CTX, link=LINK)
    # Then one Recorded carries the link, as a Linked's facts
    events = person.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Person.Recorded"]
    recorded: Any = events[0]
    assert recorded.link == {"crm": "salesforce", "stream": "Contact", "record_id": "003A",
                             "url": "https://x/lightning/r/Contact/003A/view"}
    # and the person is linked, as a Linked would have left it
    assert person.links == {"salesforce:Contact": {
        "crm": "salesforce", "object": "Contact", "id": "003A",
        "url": "https://x/lightning/r/Contact/003A/view", "deleted": False}}
    assert state(replayed(events)) == state(person)


def test_it_replays_into_the_person_a_recorded_and_a_linked_made() -> None:
    # Given the same person recorded, then linked apart (the shape before issue 22)
    apart = Person.record("sf-contact-003A", DATA, T0, CTX)
    apart.link(LINK.crm, LINK.stream, LINK.record_id, LINK.url, CTX)
    two = apart.collect_events()
    # When it is recorded with its link instead
    one = Person.record("sf-contact-003A", DATA, T0, CTX, link=LINK).collect_events()
    # Then both replay into the same person, one version apart
    assert len(two) == 2 and len(one) == 1
    assert state(replayed(one)) == state(replayed(two))


def test_linking_it_again_to_its_record_records_nothing() -> None:
    # Given a person recorded with its link
    person = Person.record("sf-contact-003A", DATA, T0, CTX, link=LINK)
    person.collect_events()
    # When it is linked to the same record again
    person.link(LINK.crm, LINK.stream, LINK.record_id, LINK.url, CTX)
    # Then nothing is recorded; its link deleted is recorded as for any link
    assert person.collect_events() == []
    person.mark_link_deleted("salesforce", "Contact", "003A", CTX)
    assert [type(e).__qualname__ for e in person.collect_events()] == ["Person.LinkDeleted"]
    assert person.links["salesforce:Contact"]["deleted"] is True


def test_a_person_recorded_otherwise_carries_no_link() -> None:
    person = Person.record("p-1", DATA, T0, CTX)
    recorded: Any = person.collect_events()[0]
    assert recorded.link is None and person.links == {}


def test_a_recorded_stored_before_reads_with_no_link() -> None:
    # Given the state a version 1 Recorded was stored with
    stored: dict[str, Any] = {"app_id": "p-1", "email": "ada@example.com", "owner": None,
                              "values": {}, "attributes": {}, "owner_by_default": False}
    # When it is upcast to today's version
    Person.Recorded.upcast_v1_v2(stored)
    # Then it has no link
    assert stored["link"] is None
    assert Person.Recorded.class_version == 2
