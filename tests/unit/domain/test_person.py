"""Given past events, when a command, then new events or an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncledger.domain.context import Context
from syncledger.domain.ids import app_person_id
from syncledger.domain.person import Person, PersonError

CTX = Context(cause="import:test", actor="tm-alice")
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def names(person: Person) -> list[str]:
    return [type(e).__qualname__ for e in person.collect_events()]


def given_person(**data: object) -> Person:
    person = Person.record("p-1", {"email": "Ada@Example.com", "first_name": "Ada",
                                   "owner": "tm-alice", **data}, T0, CTX)
    person.collect_events()
    return person


def test_recording_a_person_lands_on_its_deterministic_id_with_a_lowercased_email() -> None:
    person = Person.record("p-1", {"email": "Ada@Example.com"}, T0, CTX)
    assert person.id == app_person_id("p-1")
    assert person.email == "ada@example.com"
    event = person.collect_events()[0]
    assert (event.cause, event.actor) == ("import:test", "tm-alice")  # type: ignore[attr-defined]


def test_a_person_needs_an_email() -> None:
    with pytest.raises(PersonError, match="needs an email"):
        Person.record("p-1", {"first_name": "Ada"}, T0, CTX)


def test_the_same_content_again_records_nothing() -> None:
    person = given_person()
    person.update({"email": "ada@example.com", "first_name": "Ada"}, T0, CTX)
    assert names(person) == []


def test_an_owner_change_is_its_own_event_with_the_previous_owner() -> None:
    person = given_person()
    person.update({"owner": "tm-bob"}, T0 + timedelta(hours=1), CTX)
    events = person.collect_events()
    assert [type(e).__qualname__ for e in events] == ["Person.OwnerReassigned"]
    assert events[0].previous == "tm-alice"  # type: ignore[attr-defined]
    assert person.owner == "tm-bob"


def test_a_key_left_out_keeps_its_value_and_null_clears_it() -> None:
    person = given_person(last_name="Lovelace", fields={"title": "CTO", "city": "London"})
    person.update({"last_name": None, "fields": {"city": None}}, T0 + timedelta(hours=1), CTX)
    assert person.first_name == "Ada"
    assert person.last_name is None
    assert person.fields == {"title": "CTO"}


def test_an_older_change_does_not_overwrite_a_newer_one() -> None:
    person = given_person()
    person.update({"first_name": "Augusta"}, T0 + timedelta(hours=2), CTX)
    person.collect_events()
    person.update({"first_name": "Old"}, T0 + timedelta(hours=1), CTX)
    assert names(person) == []
    assert person.first_name == "Augusta"


def test_an_email_change_returns_the_old_email_for_the_claim() -> None:
    person = given_person()
    old = person.update({"email": "ADA@new.example"}, T0 + timedelta(hours=1), CTX)
    assert old == "ada@example.com"
    assert person.email == "ada@new.example"
    assert names(person) == ["Person.EmailChanged"]


def test_a_deleted_person_refuses_changes() -> None:
    person = given_person()
    person.delete(T0, CTX)
    with pytest.raises(PersonError, match="deleted"):
        person.update({"first_name": "X"}, T0 + timedelta(hours=1), CTX)


def test_leaving_a_sequence_the_person_is_not_in_records_nothing() -> None:
    person = given_person()
    person.leave_sequence("seq-q4", T0, CTX)
    assert names(person) == []
    person.join_sequence("seq-q4", 1, True, T0, CTX)
    person.leave_sequence("seq-q4", T0, CTX)
    assert names(person) == ["Person.SequenceJoined", "Person.SequenceLeft"]
    assert person.sequence is None


def test_linking_twice_to_the_same_record_records_once_and_deletion_marks_the_link() -> None:
    person = given_person()
    person.link("salesforce", "Contact", "003A", "https://x/003A", CTX)
    person.link("salesforce", "Contact", "003A", "https://x/003A", CTX)
    person.mark_link_deleted("salesforce", "Contact", "003A", CTX)
    assert names(person) == ["Person.Linked", "Person.LinkDeleted"]
    assert person.links["salesforce:Contact"]["deleted"] is True


def test_a_forgotten_person_refuses_updates_and_restarts_under_a_new_key() -> None:
    person = given_person()
    first_subject = person.subject
    person.forget(CTX)
    forgotten = person.collect_events()
    assert [type(e).__qualname__ for e in forgotten] == ["Person.Forgotten"]
    assert not {"email", "first_name", "values"} & set(vars(forgotten[0]))
    with pytest.raises(PersonError, match="forgotten"):
        person.update({"first_name": "X"}, T0 + timedelta(hours=1), CTX)
    person.restart({"email": "ada@example.com", "first_name": "Ada"}, T0, CTX)
    assert person.subject != first_subject
    assert (person.first_name, person.forgotten) == ("Ada", False)
