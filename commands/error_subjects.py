"""Whose key seals a run's error message: the person the failed record is about.

A CRM's message may quote the person's values ("duplicate value found: ada@example.com"), so
in the run's `errors` it is personal (domain.privacy.PERSONAL_ITEMS): each error carries the
hex of its person's current key, `subject`, and the store encrypts its message under it.
`forget` then redacts it with the rest of the person, in the log and in the Logs view."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from syncledger.adapters.event_store import SyncLedger
from syncledger.domain.activity_mapping import COUNT_KIND
from syncledger.domain.ids import activity_id, app_person_id

# "emails" -> "email", ...: an activity's error names the activity, a record's its person.
ACTIVITY_OF_COUNT = {count: kind for kind, count in COUNT_KIND.items()}


def error_subject(app: SyncLedger, kind: str, record: str | None) -> str | None:
    """The subject (hex) of the person an error of this count kind is about, whose app id
    (or activity id, for activities) is `record`; None when it cannot be told (the message
    is then kept with its email addresses masked)."""
    if record is None:
        return None
    activity = ACTIVITY_OF_COUNT.get(kind)
    aggregate_id = activity_id(activity, record) if activity else app_person_id(record)
    try:
        aggregate: Any = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    subject = getattr(aggregate, "subject", None)
    return subject.hex if isinstance(subject, UUID) else None
