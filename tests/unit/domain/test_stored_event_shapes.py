"""The events of an existing store still load: every event class keeps its topic, and its
stored fields, upcast from their version of the day, are the fields it has now (issue 18).

tests/fixtures/event_shapes.json lists, as of commit 120fa57 (before CrmRecord and AppRecord
moved to `@event` methods), each event class's topic, class_version and dataclass fields.
Written once by walking the domain's aggregates; not to be regenerated, or it would pin
today's shapes instead of the ones stores hold."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from syncledger.domain.app_records import TeamMember
from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact, Lead

SHAPES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "event_shapes.json").read_text())
# Not in a stored state: the mapper keeps them in the stored event's own columns.
COLUMNS = {"originator_id", "originator_version"}
# What every event class has: the library's default created event, when the aggregate's own
# created event is another, is never recorded.
BASE = ["originator_id", "originator_topic", "originator_version", "timestamp"]
CTX = Context(cause="run:r1", actor="tm-alice")
AT = datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("topic", sorted(SHAPES))
def test_an_event_class_keeps_its_topic(topic: str) -> None:
    assert get_topic(resolve_topic(topic)) == topic


@pytest.mark.parametrize("topic", sorted(t for t, shape in SHAPES.items()
                                         if not (t.endswith(".Created")
                                                 and shape["fields"] == BASE)))
def test_a_stored_state_of_the_day_upcasts_to_the_fields_of_today(topic: str) -> None:
    cls = resolve_topic(topic)
    then = SHAPES[topic]
    state: dict[str, Any] = dict.fromkeys(set(then["fields"]) - COLUMNS)
    version = then["class_version"]
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    assert set(state) == {f.name for f in dataclasses.fields(cls)} - COLUMNS


@pytest.mark.parametrize("topic", sorted(t for t, shape in SHAPES.items()
                                         if "cause" in shape["fields"]))
def test_an_event_stored_with_its_cause_and_actor_has_them_from_the_one_base(topic: str) -> None:
    assert issubclass(resolve_topic(topic), CausedAggregate.Event)


def test_each_record_class_records_its_own_events_with_their_cause_and_actor() -> None:
    contact = Contact.discover("salesforce", "00D1", "003A", CTX)
    discovered = contact.collect_events()  # saved: what follows is not folded into it
    contact.observe({"LastName": "L"}, "t1", "005A", CTX)
    contact.skip("owner not mapped", None, CTX)
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.request_write("k1", "update", {"LastName": "L"}, CTX)
    lead.record_written("00QA", CTX)
    member = TeamMember.record("tm-bob", {"email": "bob@team.example"}, AT, CTX)
    member.change({"email": "robert@team.example"}, AT, CTX)
    events = [*discovered, *contact.collect_events(), *lead.collect_events(),
              *member.collect_events()]
    assert [get_topic(type(e)).partition(":")[2] for e in events] == [
        "Contact.Discovered", "Contact.Observed", "Contact.Skipped", "Lead.Discovered",
        "Lead.WriteRequested", "Lead.Written", "TeamMember.Recorded", "TeamMember.Changed"]
    assert {(e.cause, e.actor) for e in events} == {("run:r1", "tm-alice")}  # type: ignore[attr-defined]


def test_an_event_replays_into_the_record_it_came_from() -> None:
    contact = Contact.discover("salesforce", "00D1", "003A", CTX)
    contact.observe({"LastName": "L"}, "t1", "005A", CTX)
    contact.request_write("k1", "update", {"LastName": "M"}, CTX)
    contact.record_write_failed("FIELD_INTEGRITY_EXCEPTION", "bad", False, CTX)
    contact.mark_removed("003B", CTX)
    replayed = None
    for event in contact.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == \
        {k: v for k, v in vars(contact).items() if k != "_pending_events"}
    assert type(replayed) is Contact and replayed.merged_into == "003B"
