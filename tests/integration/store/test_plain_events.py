"""The log read as the projections read it (plain JSON, personal fields opened): the same
values the library's mapper gives, for every shape of stored event, old schemas included."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import uuid4

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from sqlalchemy import select

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.person_keys import person_keys
from syncledger.adapters.plain_events import PlainDecoder, Row, hex_of, text_of
from syncledger.domain.app_records import Activity
from syncledger.domain.context import Context
from syncledger.domain.person import Person
from syncledger.domain.privacy import FORGOTTEN
from syncledger.domain.sync_run import SyncRun

CTX = Context(cause="import:test", actor="tm-alice")
AT = datetime(2026, 11, 1, 10, tzinfo=UTC)

# SyncRun.Started as version 1 stored it, before it carried `full` and `only`.
STARTED_V1 = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-01T10:00:00+00:00"},'
              b'"originator_topic":"syncledger.domain.sync_run:SyncRun","run_id":"r-1",'
              b'"crm":"salesforce","steps":["Contacts to People"],"at":{"_type_":'
              b'"datetime_iso","_data_":"2026-11-01T10:00:00+00:00"},"cause":"run:r-1",'
              b'"actor":"system","class_version":1}')


def rows_of(app: SyncLedger, *stored: StoredEvent) -> list[Row]:
    """Stored events as the log reader returns them (each with its originator's key, as
    stored: wrapped)."""
    with app.database.reader.connect() as connection:
        keys = dict(connection.execute(select(person_keys.c.subject, person_keys.c.key)).all())
    return [(n, s.originator_id.hex, s.originator_version, s.topic, s.state,
             keys.get(s.originator_id.hex)) for n, s in enumerate(stored, 1)]


def test_personal_fields_are_opened_as_the_mapper_opens_them(sqlite_store: SyncLedger) -> None:
    person = Person.record("p-1", {"email": "Ada@Example.com", "first_name": "Ada",
                                   "fields": {"title": "CTO"}}, AT, CTX)
    sqlite_store.save(person)
    stored = sqlite_store.recorder.select_events(person.id)

    (logged,) = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, stored[0]))

    event = sqlite_store.mapper.to_domain_event(stored[0])
    assert logged.kind == "Person.Recorded" and logged.originator == person.id.hex
    assert logged.data["email"] == event.email == "ada@example.com"  # type: ignore[attr-defined]
    assert logged.data["values"] == event.values  # type: ignore[attr-defined]
    assert hex_of(logged.data["subject"]) == person.id.hex
    assert text_of(logged.data["at"]) == AT.isoformat()


def test_an_activity_is_opened_with_its_persons_key(sqlite_store: SyncLedger) -> None:
    person = Person.record("p-1", {"email": "ada@example.com"}, AT, CTX)
    activity = Activity.record("email", "e-1", "p-1", person.subject, "tm-alice",
                               {"subject": "Hello", "body": "Dear Ada"}, AT, CTX)
    sqlite_store.save(person, activity)
    stored = sqlite_store.recorder.select_events(activity.id)[0]

    (logged,) = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, stored))

    assert logged.data["details"] == {"subject": "Hello", "body": "Dear Ada"}


def test_a_forgotten_subject_reads_as_redacted(sqlite_store: SyncLedger) -> None:
    person = Person.record("p-1", {"email": "ada@example.com", "first_name": "Ada"}, AT, CTX)
    sqlite_store.save(person)
    sqlite_store.keys.destroy([person.subject])
    stored = sqlite_store.recorder.select_events(person.id)[0]

    (logged,) = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, stored))

    assert logged.data["email"] == FORGOTTEN
    assert logged.data["values"] == {}


def test_an_old_schema_version_is_upcast_by_its_class(sqlite_store: SyncLedger) -> None:
    stored = StoredEvent(originator_id=uuid4(), originator_version=1,
                         topic="syncledger.domain.sync_run:SyncRun.Started", state=STARTED_V1)

    (logged,) = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, stored))

    event = sqlite_store.mapper.to_domain_event(stored)
    assert isinstance(event, SyncRun.Started)
    assert (logged.data["full"], logged.data["only"]) == (event.full, event.only) == (False, None)
    assert logged.data["run_id"] == "r-1"


def test_a_state_orjson_refuses_is_read_by_the_standard_parser(sqlite_store: SyncLedger
                                                                ) -> None:
    state = orjson.loads(STARTED_V1)
    state.update(class_version=2, full=False, only=None)
    text = orjson.dumps(state).replace(b'"full":false', b'"full":false,"big":' +
                                       str(2**70).encode())
    stored = StoredEvent(originator_id=uuid4(), originator_version=1,
                         topic="syncledger.domain.sync_run:SyncRun.Started", state=text)

    (logged,) = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, stored))

    assert logged.data["big"] == 2**70


def test_values_the_stored_row_gives_are_left_out_of_its_state_and_read_back(
        sqlite_store: SyncLedger) -> None:
    """adapters/omitted_values.py: a created event's aggregate topic, a subject that is the
    originator, and the timestamp's type wrapper."""
    person = Person.record("p-1", {"email": "ada@example.com"}, AT, CTX)
    sqlite_store.save(person)
    new = sqlite_store.recorder.select_events(person.id)[0]
    event = sqlite_store.mapper.to_domain_event(new)
    # As stored before they were left out (as STARTED_V1 above is), and an event whose
    # values are not the ones its row gives, which keeps them.
    old_state = orjson.loads(new.state) | {
        "originator_topic": get_topic(Person),
        "subject": {"_type_": "uuid_hex", "_data_": person.id.hex},
        "timestamp": {"_type_": "datetime_iso", "_data_": event.timestamp.isoformat()}}
    old = StoredEvent(originator_id=person.id, originator_version=1, topic=new.topic,
                      state=orjson.dumps(old_state))
    other = uuid4()
    elsewhere = dataclasses.replace(event, originator_topic="syncledger.domain.person:Elsewhere",
                                    subject=other)
    kept = sqlite_store.mapper.to_stored_event(elsewhere)

    stored = orjson.loads(new.state)
    assert "originator_topic" not in stored and "subject" not in stored
    assert stored["timestamp"] == event.timestamp.isoformat()
    assert orjson.loads(kept.state)["originator_topic"] == "syncledger.domain.person:Elsewhere"
    assert orjson.loads(kept.state)["subject"] == {"_type_": "uuid_hex", "_data_": other.hex}
    read = [sqlite_store.mapper.to_domain_event(s) for s in (new, old, kept)]
    assert [(e.originator_topic, e.subject, e.timestamp)  # type: ignore[attr-defined]
            for e in read] == [(get_topic(Person), person.id, event.timestamp)] * 2 + [
                ("syncledger.domain.person:Elsewhere", other, event.timestamp)]
    assert vars(read[0]) == vars(read[1])
    plain = PlainDecoder(sqlite_store.keys).decode(rows_of(sqlite_store, new, old))
    assert [(logged.data["originator_topic"], hex_of(logged.data["subject"]),
             text_of(logged.data["timestamp"])) for logged in plain] == \
        [(get_topic(Person), person.id.hex, event.timestamp.isoformat())] * 2
    assert sqlite_store.repository.get(person.id).email == "ada@example.com"
