"""Given: logs for the replay tools, written the way the engine writes them (app imports, and
sync-like decisions made through the domain aggregates and saved in one save each)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.app_import import import_file
from syncledger.commands.session import caught_up, store_session
from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact
from syncledger.domain.ids import app_person_id, crm_record_id, integration_id
from syncledger.domain.integration import Integration
from syncledger.domain.sync_run import SyncRun, empty_counts

ORG = "00D000000000001AAA"
CONTACT_ID = "003000000000001AAA"
AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"First{n}", "last_name": f"Last{n}", "owner": "tm-alice", **extra}


def import_lines(app: SyncLedger, path: Path, lines: list[dict[str, Any]],
                 actor: str = "tm-alice") -> int:
    """Import the lines; returns the log's position after it."""
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    import_file(app, path, actor)
    return app.recorder.max_notification_id() or 0


def people(app: SyncLedger) -> list[dict[str, Any]]:
    return views.people(caught_up(app), None)


opened = store_session  # a store opened for the block, closed after


class Sync:
    """Stands for the sync's own conflict event (DESIGN: "a ConflictResolved event keeps
    both"), in the shape the explain command expects from it."""

    class ConflictResolved(Aggregate.Event):
        field: str
        winner: Any
        loser: Any
        policy: str
        cause: str
        actor: str


class Sides:
    """The same fact in the other shape the sync may give it: `winner` names the side, and
    both values are kept in `values` (personal, so encrypted with the person's key)."""

    class ConflictResolved(Aggregate.Event):
        subject: UUID
        field: str
        policy: str
        winner: str
        values: dict[str, Any]
        cause: str
        actor: str


def run_contact_sync(app: SyncLedger, app_id: str, run: str, crm_owner: str,
                     content: dict[str, Any], owner: str | None = None,
                     reason: str | None = None) -> None:
    """One run as the sync would record it: the run starts, the Contact is observed, the
    person linked to it and, when `owner` is given, reassigned with the mapping's reason."""
    ctx = Context(cause=f"run:{run}", actor="system")
    integration = _integration(app, ctx)
    contact = _contact(app, ctx)
    contact.observe(content, "2026-11-02T09:00:00Z", crm_owner, ctx)
    member = app.repository.get(app_person_id(app_id))
    member.link("salesforce", "Contact", CONTACT_ID, f"https://sf.example/{CONTACT_ID}", ctx)
    if owner is not None:
        member.reassign_owner(owner, AT, ctx, reason=reason)
    sync_run = SyncRun.begin(run, "salesforce", ["Contacts to People"], AT, ctx)
    app.save(*(a for a in (integration, contact, member, sync_run) if a is not None))
    sync_run.finish(empty_counts(), {}, [], False, AT, ctx)
    app.save(sync_run)


def write_contact(app: SyncLedger, run: str, content: dict[str, Any]) -> None:
    """An outbound write as the sync records it: the intent first, then the result."""
    ctx = Context(cause=f"run:{run}", actor="system")
    contact = _contact(app, ctx)
    contact.request_write(f"key-{run}", "update", content, ctx)
    app.save(contact)
    contact.record_written(CONTACT_ID, ctx)
    app.save(contact)


def settle_conflict(app: SyncLedger, app_id: str, run: str, field: str, winner: Any,
                    loser: Any, policy: str) -> None:
    ctx = Context(cause=f"run:{run}", actor="system")
    member = app.repository.get(app_person_id(app_id))
    member.trigger_event(Sync.ConflictResolved, field=field, winner=winner, loser=loser,
                         policy=policy, cause=ctx.cause, actor=ctx.actor)
    app.save(member)


def settle_conflict_by_side(app: SyncLedger, app_id: str, run: str, field: str,
                            winner: str, values: dict[str, Any], policy: str) -> None:
    ctx = Context(cause=f"run:{run}", actor="system")
    member = app.repository.get(app_person_id(app_id))
    member.trigger_event(Sides.ConflictResolved, subject=member.subject, field=field,
                         policy=policy, winner=winner, values=values, cause=ctx.cause,
                         actor=ctx.actor)
    app.save(member)


def _integration(app: SyncLedger, ctx: Context) -> Integration | None:
    existing = AggregateCache(app).find(integration_id("salesforce"))
    if existing is not None:
        return None
    integration = Integration.start("salesforce", ctx)
    integration.connect(ORG, "production", "https://sf.example", "005000000000001AAA", [],
                        ctx)
    return integration


def _contact(app: SyncLedger, ctx: Context) -> Contact:
    existing = AggregateCache(app).find(crm_record_id("salesforce", ORG, "Contact", CONTACT_ID))
    if isinstance(existing, Contact):
        return existing
    contact: Contact = Contact.discover("salesforce", ORG, CONTACT_ID, ctx)
    return contact
