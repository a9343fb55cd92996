"""The live projections, their tables registered on the shared metadata."""

from __future__ import annotations

from syncledger.adapters.database import metadata
from syncledger.projections.base import Projection
from syncledger.projections.event_index import EventIndex
from syncledger.projections.people import PeopleView

PEOPLE = PeopleView(metadata)
EVENT_INDEX = EventIndex(metadata)

LIVE: dict[str, Projection] = {p.name: p for p in (PEOPLE, EVENT_INDEX)}
