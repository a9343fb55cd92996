"""Values an event's stored state leaves out, as its stored row gives them already, and
puts back on reading: the mapper as typed values, the plain decoder in their stored form.

- A created event's `originator_topic` (its aggregate's class, which the library keeps in
  the state). The event class is declared in the aggregate's (Person.Recorded in Person,
  Contact.Discovered in Contact), so the event's topic names the aggregate's too.
- `subject` where it is the originator itself (a person's own events, sealed under its own
  key). The event index already files such an event under no subject of its own.
- The transcoder's type wrapper around `timestamp`, which every event has and which is
  always a datetime: its ISO text alone.

Each is left out only where reading puts back the very value, so a state stored before
(with them) reads as it did. That is 52, 74 and 35 bytes of a new record's events."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

ORIGINATOR_TOPIC = "originator_topic"
SUBJECT = "subject"
TIMESTAMP = "timestamp"


class Omissible(NamedTuple):
    """What an event class's states may leave out."""

    aggregate_topic: str  # a created event's aggregate, as its topic names it; else ""
    subject: bool  # the class has a `subject`


@lru_cache(maxsize=1024)
def aggregate_topic(event_topic: str) -> str:
    """The topic of the class an event class is declared in: "m:Person" of "m:Person.Recorded"."""
    return event_topic.rpartition(".")[0]


@lru_cache(maxsize=1024)
def omissible(event_class: type, topic: str) -> Omissible:
    """`topic`: the event's topic as stored (a renamed class's old one reads as stored)."""
    fields = getattr(event_class, "__dataclass_fields__", {})
    return Omissible(aggregate_topic(topic) if ORIGINATOR_TOPIC in fields else "",
                     SUBJECT in fields)


def leave_out(state: dict[str, Any], omits: Omissible, originator_id: UUID) -> None:
    """`state`: an event's attributes, about to be encoded."""
    if omits.aggregate_topic and state.get(ORIGINATOR_TOPIC) == omits.aggregate_topic:
        del state[ORIGINATOR_TOPIC]
    if omits.subject and state.get(SUBJECT) == originator_id:
        del state[SUBJECT]
    timestamp = state.get(TIMESTAMP)
    if type(timestamp) is datetime:
        state[TIMESTAMP] = timestamp.isoformat()


def put_back(state: dict[str, Any], omits: Omissible, subject: Any) -> None:
    """`state`: a decoded event's attributes, typed (`subject`: its originator's UUID), or
    parsed as plain JSON (`subject`: the originator as a stored UUID is, the form `hex_of`
    reads; a timestamp stays as stored there, as `text_of` reads either form)."""
    if omits.aggregate_topic and ORIGINATOR_TOPIC not in state:
        state[ORIGINATOR_TOPIC] = omits.aggregate_topic
    if omits.subject and SUBJECT not in state:
        state[SUBJECT] = subject


def typed_timestamp(state: dict[str, Any]) -> None:
    """A decoded event's timestamp as the datetime it was, when stored as ISO text."""
    timestamp = state.get(TIMESTAMP)
    if type(timestamp) is str:
        state[TIMESTAMP] = datetime.fromisoformat(timestamp)
