"""The log read in plain rows, as the passes over all of it read it: a span's events of the
topics asked for and no others (`_` in a topic prefix is no wildcard), originators as hex
digits, and the values the event index reads out of each stored state, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from uuid import UUID, uuid4

import orjson
from eventsourcing.persistence import StoredEvent

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import IdSpan, log_table, read_rows, span_pages

TOPICS = ["syncledger.domain.crm_record:CrmRecord.Discovered",
          "syncledger.domain.crmXrecord:CrmRecord.Discovered",  # `_` read as a wildcard
          "syncledger.domain.crm_record",  # shorter than the prefix
          "syncledger.domain.person:Person.Recorded",
          "syncledger.domain.person:Personal.Recorded"]


def _store(app: SyncLedger, originator: UUID, topic: str, state: dict[str, object],
           version: int = 1) -> None:
    app.recorder.insert_events([StoredEvent(originator_id=originator,
                                            originator_version=version, topic=topic,
                                            state=orjson.dumps(state))])


def test_a_span_reads_only_the_topics_asked_for_in_aggregate_order(store: SyncLedger) -> None:
    ids = sorted((uuid4() for _ in TOPICS), key=lambda u: u.hex)
    for originator, topic in zip(reversed(ids), TOPICS, strict=True):
        _store(store, originator, topic, {"cause": "test"})
    head = store.recorder.max_notification_id() or 0

    pages = list(span_pages(store, IdSpan("0" * 32, None), head, 2,
                            ["syncledger.domain.crm_record:", "syncledger.domain.person:Person."]))

    rows = [row for page in pages for row in page]
    assert [row[3] for row in rows] == [TOPICS[3], TOPICS[0]]  # in the order of their ids
    assert [row[1] for row in rows] == [ids[1].hex, ids[4].hex]
    assert [len(page) for page in pages] == [2]


def test_rows_in_log_order_carry_their_originators_as_hex(store: SyncLedger) -> None:
    originator = uuid4()
    _store(store, originator, TOPICS[3], {"cause": "test"})

    (row,) = read_rows(store, 0, 10)

    assert row[1:4] == (originator.hex, 1, TOPICS[3])
    assert orjson.loads(row[4]) == {"cause": "test"}


def test_the_values_read_inside_stored_states_are_their_plain_text(store: SyncLedger) -> None:
    originator, person = uuid4(), uuid4()
    causes = ['run:"r-1"\\ é\n', "", None]
    for version, cause in enumerate(causes, 1):
        _store(store, originator, TOPICS[3], {
            "cause": cause, "subject": {"_type_": "uuid_hex", "_data_": person.hex}}, version)
    _store(store, originator, TOPICS[3], {"subject": "not an id"}, len(causes) + 1)
    log = log_table(store)

    with store.database.reader.connect() as connection:
        found = connection.exec_driver_sql(
            log.plain_rows(log.positions(1, 10), subject=("subject", "_data_"),
                           cause=("cause",)) + " ORDER BY position").all()

    assert [(row.originator, row.version) for row in found] == \
        [(originator.hex, version) for version in range(1, len(causes) + 2)]
    assert [row.cause for row in found] == [*causes, None]
    assert [row.subject for row in found] == [person.hex] * len(causes) + [None]
