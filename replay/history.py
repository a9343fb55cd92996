"""The change trail of one record: every event about it, oldest first, with its position,
time, type, cause, actor and data (personal values read as [forgotten] once forgotten)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.log_reader import log_table
from syncledger.domain.app_records import ACTIVITY_KINDS
from syncledger.domain.ids import (
    activity_id,
    app_person_id,
    email_claim_id,
    integration_id,
    person_subject_id,
    sync_run_id,
)
from syncledger.domain.person import Person
from syncledger.domain.steps import CRMS
from syncledger.domain.task import Task
from syncledger.projections.base import event_type
from syncledger.projections.event_index import positions_for
from syncledger.projections.event_names import events_of
from syncledger.projections.people import find_person
from syncledger.projections.registry import CRM_RECORDS, EVENT_INDEX, PEOPLE

HIDDEN = ("originator_id", "originator_version", "timestamp", "cause", "actor",
          "originator_topic", "subject")
RESTARTED = get_topic(events_of(Person).Restarted)  # from the class: see event_names


class UnknownRecord(LookupError):
    pass


def history(app: SyncLedger, key: str) -> list[dict[str, Any]]:
    return history_page(app, key)[0]


def history_page(app: SyncLedger, key: str, after: int = 0, limit: int | None = None
                 ) -> tuple[list[dict[str, Any]], int | None]:
    """The trail from after position `after`, at most `limit` entries, and the position to
    continue after (None: the end). Keyset paging: only the page's events are read."""
    ids, cause = _resolve(app, key)
    found = stored_events_about(app, ids, cause, after, None if limit is None else limit + 1)
    following = None
    if limit is not None and len(found) > limit:
        found = found[:limit]
        following = found[-1][0]
    entries = [_entry(position, app.mapper.to_domain_event(stored))
               for position, stored in found]
    if not entries and cause is not None and not after:
        # A mistyped run id would otherwise look like a run that did nothing.
        raise UnknownRecord(f"no events for {key!r}: no run with that id in this log")
    return entries, following


def stored_events_about(app: SyncLedger, ids: list[UUID], cause: str | None = None,
                        after: int = 0, limit: int | None = None
                        ) -> list[tuple[int, StoredEvent]]:
    """(position, stored event) of every event whose originator or subject is one of `ids`,
    or whose cause is `cause`, oldest first: found in the event index, read by stream; only
    those after position `after`, the first `limit` of them when given."""
    with app.database.reader.connect() as connection:
        found = positions_for(connection, log_table(app), EVENT_INDEX.tables["event_index"],
                              ids, cause)
    found = [entry for entry in found if entry[0] > after][:limit]
    wanted: dict[str, dict[int, int]] = defaultdict(dict)
    for position, originator, version in found:
        wanted[originator][version] = position
    events = []
    for originator, versions in wanted.items():
        low, high = min(versions), max(versions)
        for stored in app.recorder.select_events(UUID(originator), gt=low - 1, lte=high):
            at = versions.get(stored.originator_version)
            if at is not None:
                events.append((at, stored))
    return sorted(events, key=lambda pair: pair[0])


def resolve_person(app: SyncLedger, key: str, other_keys: str = "") -> dict[str, Any]:
    """The people view's row for an app id, email or linked CRM id."""
    with app.database.reader.connect() as connection:
        person = find_person(connection, PEOPLE.tables["people"],
                         CRM_RECORDS.tables["crm_records"], key)
    if person is None:
        raise UnknownRecord(f"no record found for {key!r} (try an app id, a CRM id"
                            f"{other_keys or ' or an email'})")
    return person


def person_subjects(app: SyncLedger, person_id: UUID) -> list[UUID]:
    """The key (subject) of each life of the person: activities are filed under them.

    Each `Person.Restarted` begins the next life; its stored events are counted, not
    decoded: a person with a long trail is not rebuilt to know how many lives it had."""
    generation = sum(1 for stored in app.recorder.select_events(person_id)
                     if stored.topic == RESTARTED)
    return [person_subject_id(person_id, g) for g in range(generation + 1)]


def _resolve(app: SyncLedger, key: str) -> tuple[list[UUID], str | None]:
    if key.startswith("integration:"):
        return [integration_id(key.removeprefix("integration:"))], None
    if key.startswith("run:"):
        run = key.removeprefix("run:")
        return [sync_run_id(run)], f"run:{run}"
    try:
        person = resolve_person(app, key, ", an email, an activity's app id, "
                                "integration:salesforce or run:RUN_ID")
    except UnknownRecord:
        activity = activity_ids(app, key)
        if activity:
            return activity, None
        raise
    ids = person_subjects(app, app_person_id(person["id"]))
    if "@" in person["email"]:
        ids.append(email_claim_id("app", person["email"]))
    return ids, None


def activity_ids(app: SyncLedger, key: str) -> list[UUID]:
    """An app activity (email, call, task, note or LinkedIn) by its app id, with the CRM
    Task or Note it became in each org connected: their ids, or [] when there is none."""
    found = [activity_id(kind, key) for kind in ACTIVITY_KINDS]
    found = [i for i in found if app.recorder.select_events(i, limit=1)]
    tasks = []
    for crm in CRMS:
        try:
            integration: Any = app.repository.get(integration_id(crm))
        except AggregateNotFoundError:
            continue
        org = getattr(integration, "org_id", None)
        if org:
            tasks += [Task.create_id(crm, org, activity) for activity in found]
    return [*found, *tasks]


def _entry(position: int, event: Any) -> dict[str, Any]:
    return {"position": position, "time": event.timestamp.isoformat(),
            "type": event_type(event), "cause": getattr(event, "cause", None),
            "actor": getattr(event, "actor", None),
            "data": {k: plain(v) for k, v in vars(event).items() if k not in HIDDEN}}


def plain(value: Any) -> Any:
    """JSON-ready: ids as hex, times as ISO 8601."""
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value
