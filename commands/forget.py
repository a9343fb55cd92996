"""`syncledger forget KEY`: crypto-shred one person. The log never changes: the person's key
is destroyed, so every event of theirs reads as [forgotten]; the read models' plaintext rows
are rewritten and the database is told to drop the old bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.held_contents import forget_subjects
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.old_bytes import drop_old_bytes
from syncledger.domain.context import Context
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.ids import (
    app_person_id,
    crm_record_id,
    email_claim_id,
    integration_id,
    person_subject_id,
)
from syncledger.domain.integration import Integration
from syncledger.domain.person import Person
from syncledger.projections.crm_records import forget_emails, linked_to
from syncledger.projections.logs import forget_errors
from syncledger.projections.people import find_person
from syncledger.projections.registry import CRM_RECORDS, LIVE, LOGS, PEOPLE
from syncledger.projections.runner import catch_up
from syncledger.replay.history import UnknownRecord


@dataclass
class Forgotten:
    person: str
    keys: int
    crm_copies: list[dict[str, Any]] = field(default_factory=list)


def find_person_id(app: SyncLedger, key: str) -> UUID:
    catch_up(app, list(LIVE.values()))
    with app.database.reader.connect() as connection:
        row = find_person(connection, PEOPLE.tables["people"],
                         CRM_RECORDS.tables["crm_records"], key)
    if row is None:
        raise UnknownRecord(f"no person found for {key!r} (an app id, email or CRM id)")
    return app_person_id(row["id"])


def forget(app: SyncLedger, person_id: UUID, actor: str) -> Forgotten:
    ctx = Context(cause=f"forget:{uuid4().hex[:12]}", actor=actor)
    # Every CRM record ever linked to the person holds their values, not only those linked
    # now (a merged-away record, a link replaced).
    catch_up(app, [CRM_RECORDS])
    with app.database.reader.connect() as connection:
        linked = [UUID(uuid) for uuid in linked_to(
            connection, CRM_RECORDS.tables["crm_records"], person_id.hex)]

    def decide() -> tuple[Person, list[UUID]]:
        cache = AggregateCache(app)
        person = cache.find(person_id)
        if not isinstance(person, Person):
            raise UnknownRecord(f"no person {person_id}")
        subjects = list(dict.fromkeys([person.subject, *_mirror_subjects(cache, person),
                                       *linked]))
        if not person.forgotten:
            claim = cache.get(email_claim_id("app", person.email), EmailClaim)
            if claim is not None:
                claim.release(person.id, ctx)
            person.forget(ctx)
            app.save(*cache.changed())
        return person, subjects

    person, subjects = app.decide(decide)
    kill_point("forget.recorded")
    # After the event: a crash in between leaves a Forgotten person whose keys a second
    # `forget` destroys; the reverse order could leave keys gone but nothing recorded.
    app.keys.destroy(subjects)
    kill_point("forget.keys_destroyed")
    # Bodies held for the CRM (store_contents = false) under any of the person's lives.
    lives = [person_subject_id(person.id, g) for g in range(person.generation + 1)]
    forget_subjects(app.database, [*lives, *subjects])
    catch_up(app, list(LIVE.values()))
    kill_point("forget.views_caught_up")
    # The views drop what the log no longer reads, at once: a rebuild would agree.
    with app.database.writer.begin() as connection:
        forget_emails(connection, CRM_RECORDS.tables["crm_records"], [s.hex for s in subjects])
        forget_errors(connection, LOGS.tables["sync_logs"],
                      [s.hex for s in (*lives, *subjects)])
    scrub(app)
    copies = [dict(link) for link in person.links.values()]
    return Forgotten(person=person.app_id, keys=len(subjects), crm_copies=copies)


def _mirror_subjects(cache: AggregateCache, person: Person) -> list[UUID]:
    subjects = []
    for link in person.links.values():
        integration = cache.get(integration_id(link["crm"]), Integration)
        org = getattr(integration, "org_id", None)
        if org:
            subjects.append(crm_record_id(link["crm"], org, link["object"], link["id"]))
    return subjects


def scrub(app: SyncLedger) -> None:
    """The rows rewritten or deleted above must not linger in the database's old bytes."""
    drop_old_bytes(app.database, ("people", "person_keys", "held_contents", "crm_records",
                                  "sync_logs"))
