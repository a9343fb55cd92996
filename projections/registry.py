"""The live projections, their tables registered on the shared metadata."""

from __future__ import annotations

from syncledger.adapters.database import metadata
from syncledger.projections.base import Projection
from syncledger.projections.crm_records import CrmRecords
from syncledger.projections.directory import Directory
from syncledger.projections.event_index import EventIndex
from syncledger.projections.logs import LogsView
from syncledger.projections.people import PeopleView

PEOPLE = PeopleView(metadata)
EVENT_INDEX = EventIndex(metadata)
DIRECTORY = Directory(metadata)
CRM_RECORDS = CrmRecords(metadata)
LOGS = LogsView(metadata)

LIVE: dict[str, Projection] = {p.name: p for p in (PEOPLE, EVENT_INDEX, DIRECTORY,
                                                   CRM_RECORDS, LOGS)}
