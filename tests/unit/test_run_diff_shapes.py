"""`replay --run` compares a run's decisions with its replay's: a person made from a CRM
record decides the same whether recorded as a Recorded and a Linked (before issue 22) or as
one Recorded carrying the link, whatever Updated came between."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncledger.domain.context import Context
from syncledger.domain.person import CrmLink, Person
from syncledger.replay.run_diff import decisions, side

CTX = Context(cause="run:r1", actor="system")
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
LINK = CrmLink("salesforce", "Contact", "003A", "https://x/lightning/r/Contact/003A/view")
DATA = {"email": "ada@example.com", "first_name": "Ada", "owner": "tm-alice"}


def _made(linked_apart: bool, then: Any = None) -> list[tuple[int, Any]]:
    """The events of a person made from the record, as the run recorded them."""
    person = Person.record("sf-contact-003A", DATA, T0, CTX,
                           link=None if linked_apart else LINK)
    person.sync_in({"title": "CTO"}, [], T0, CTX)  # a custom field
    person.flag("opted_out", T0, CTX)
    if linked_apart:
        person.link(LINK.crm, LINK.stream, LINK.record_id, LINK.url, CTX)
    if then is not None:
        then(person)
    return list(enumerate(person.collect_events(), start=1))


def _facts(events: list[tuple[int, Any]]) -> Any:
    (facts,) = decisions(events).values()
    return facts


def test_a_person_linked_apart_decides_as_one_recorded_with_its_link() -> None:
    # Given the same person recorded in either shape, a sequence joined after
    def joined(person: Person) -> None:
        person.join_sequence("seq-1", 1, False, T0, CTX)

    before, now = _made(True, joined), _made(False, joined)
    # When their decisions are read
    # Then they are the same facts: the Linked read as the Recorded's link
    assert _facts(before) == _facts(now)
    assert [name for name, _ in _facts(now)] == [
        "Person.Recorded", "Person.Updated", "Person.Updated", "Person.SequenceJoined"]
    recorded, values = side(decisions(now)[Person.create_id("sf-contact-003A")], [])
    assert recorded["action"] == "create" and values["link.Contact"] == "003A"


def test_a_link_after_another_decision_stays_a_link_of_its_own() -> None:
    # Given a person recorded without a link, who joined a sequence before being linked
    person = Person.record("p-1", DATA, T0, CTX)
    person.join_sequence("seq-1", 1, False, T0, CTX)
    person.link(LINK.crm, LINK.stream, LINK.record_id, LINK.url, CTX)
    facts = _facts(list(enumerate(person.collect_events(), start=1)))
    # Then its Linked is read as it was recorded
    assert [name for name, _ in facts] == [
        "Person.Recorded", "Person.SequenceJoined", "Person.Linked"]
    assert facts[0][1]["link"] is None
