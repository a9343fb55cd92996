"""`syncledger app import FILE.jsonl`: validate the whole file in one streaming pass, then
record it in batches between ImportStarted and ImportCompleted."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.collector import collector_paused
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.held_contents import HeldBody, discard, hold
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.person_keys import KeyConflict
from syncledger.commands.import_format import (
    ActivityLine,
    ImportLineError,
    ListLine,
    PersonDeletedLine,
    PersonLine,
    SavedFilterLine,
    SequenceLeftLine,
    SequenceLine,
    TeamMemberLine,
    parse_line,
)
from syncledger.domain.app_import import AppImport
from syncledger.domain.app_records import Activity, AppRecord, PersonList, SavedFilter, TeamMember
from syncledger.domain.app_records import Sequence as SequenceRecord
from syncledger.domain.context import Context
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.ids import (
    activity_id,
    app_person_id,
    email_claim_id,
    import_id,
    integration_id,
    person_list_id,
    saved_filter_id,
    sequence_id,
    team_member_id,
)
from syncledger.domain.integration import Integration
from syncledger.domain.message_bodies import BODY_FIELD, body_digest, withhold
from syncledger.domain.person import Person
from syncledger.domain.steps import CRMS

LINES_PER_BATCH = 1000


@dataclass
class ImportSummary:
    import_id: str
    lines: int
    recorded: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    already_imported: bool = False


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines, numbered from 1, each decoded on its own so that text that
    is not UTF-8 is reported at its line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ImportLineError(str(path), number, f"not UTF-8 text ({error.reason}: "
                                      f"0x{raw[error.start]:02x}, byte {error.start + 1} "
                                      "of the line)") from None
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte order mark some editors write
            if text.strip():
                yield number, text


def validate(path: Path) -> tuple[str, int]:
    """One streaming pass: every line valid, or ImportLineError naming file:line."""
    digest = hashlib.sha256()
    count = 0
    for number, text in _lines(path):
        parse_line(str(path), number, text)
        digest.update(text.strip().encode())
        digest.update(b"\n")
        count += 1
    return digest.hexdigest(), count


def import_file(app: SyncLedger, path: Path, actor: str,
                progress: Callable[[int], None] | None = None) -> ImportSummary:
    content_hash, count = validate(path)
    import_uuid = import_id(content_hash)
    summary = ImportSummary(import_id=import_uuid.hex[:12], lines=count)
    ctx = Context(cause=f"import:{summary.import_id}", actor=actor)
    now = datetime.now(UTC)
    cache = AggregateCache(app)
    existing = cache.get(import_uuid, AppImport)
    if existing is not None and existing.completed:
        summary.already_imported = True
        return summary
    withhold_bodies = bodies_stay_out(cache)
    batch: list[tuple[int, Any]] = []
    for number, text in _lines(path):
        batch.append((number, parse_line(str(path), number, text)))
        if len(batch) == LINES_PER_BATCH:
            _record_batch(app, batch, content_hash, str(path), count, now, ctx, summary,
                          withhold_bodies)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        _record_batch(app, batch, content_hash, str(path), count, now, ctx, summary,
                      withhold_bodies)
        if progress:
            progress(len(batch))
    app.decide(lambda: _complete(app, import_uuid, summary, ctx))
    kill_point("import.completed")
    return summary


def bodies_stay_out(cache: AggregateCache) -> bool:
    """`store_contents = false` on a configured integration: its promise that message bodies
    stay out of the log holds for every import while it is in force."""
    integrations = (cache.get(integration_id(crm), Integration) for crm in CRMS)
    return any(i is not None and not i.settings.store_contents
               for i in integrations)


def _complete(app: SyncLedger, import_uuid: Any, summary: ImportSummary, ctx: Context) -> None:
    started = AggregateCache(app).get(import_uuid, AppImport)
    if started is not None:  # nothing recorded: no import events either
        started.complete(summary.recorded, summary.skipped, ctx)
        app.save(started)


def _record_batch(app: SyncLedger, batch: list[tuple[int, Any]], content_hash: str,
                  source: str, count: int, now: datetime, ctx: Context,
                  summary: ImportSummary, withhold_bodies: bool) -> None:
    def attempt() -> tuple[dict[str, int], list[dict[str, Any]], list[str]]:
        cache = AggregateCache(app)
        cache.prefetch([import_id(content_hash), *_ids_of(line for _, line in batch)])
        recorder = LineRecorder(cache, now, ctx, withhold_bodies)
        for number, line in batch:
            recorder.record(number, line)
        changed = cache.changed()
        if changed:
            started = cache.get(import_id(content_hash), AppImport)
            if started is None:
                changed.append(AppImport.start(content_hash, source, count, ctx))
            held = hold(app.database, recorder.held)
            kill_point("import.batch_decided")
            try:
                app.save(*changed)
            except (IntegrityError, KeyConflict):
                # Lost a race: kept, for the retry or for the writer that won, whose events
                # may name the very rows this attempt added.
                raise
            except BaseException:
                discard(app.database, held)  # the import fails: its bodies must not stay
                raise
        return recorder.recorded, recorder.skipped, recorder.notes

    with collector_paused():
        recorded, skipped, notes = app.decide(attempt)
    kill_point("import.batch_saved")
    summary.notes.extend(notes)
    for kind, n in recorded.items():
        summary.recorded[kind] = summary.recorded.get(kind, 0) + n
    summary.skipped.extend(skipped)


def _ids_of(lines: Iterable[Any]) -> Iterator[Any]:
    """The aggregates a batch of lines will touch, to load them in a few queries."""
    for line in lines:
        if isinstance(line, PersonLine):
            yield app_person_id(line.id)
            if line.email:
                yield email_claim_id("app", line.email)
        elif isinstance(line, ActivityLine):
            yield activity_id(line.kind, line.id)
            yield app_person_id(line.person)
        elif isinstance(line, SequenceLeftLine):
            yield app_person_id(line.person)
        elif isinstance(line, PersonDeletedLine):
            yield app_person_id(line.id)
        elif isinstance(line, TeamMemberLine):
            yield team_member_id(line.id)
        elif isinstance(line, SequenceLine):
            yield sequence_id(line.id)
        elif isinstance(line, ListLine):
            yield person_list_id(line.id)
        elif isinstance(line, SavedFilterLine):
            yield saved_filter_id(line.name)


class LineRecorder:
    """Turns validated lines into commands on aggregates held by one batch's cache."""

    def __init__(self, cache: AggregateCache, now: datetime, ctx: Context,
                 withhold_bodies: bool = False) -> None:
        self.cache = cache
        self.now = now
        self.ctx = ctx
        self.withhold_bodies = withhold_bodies  # store_contents = false
        self.held: list[HeldBody] = []  # bodies to keep outside the log, for the CRM
        self.recorded: dict[str, int] = {}
        self.skipped: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def record(self, number: int, line: Any) -> None:
        reason = self._dispatch(line)
        if reason is not None:
            self.skipped.append({"line": number, "reason": reason})

    def _count(self, kind: str) -> None:
        self.recorded[kind] = self.recorded.get(kind, 0) + 1

    def _at(self, line: Any) -> datetime:
        at = getattr(line, "at", None)
        return at if at is not None else self.now

    def _dispatch(self, line: Any) -> str | None:
        if isinstance(line, PersonLine):
            return self._person(line)
        if isinstance(line, ActivityLine):
            return self._activity(line)
        if isinstance(line, TeamMemberLine):
            return self._app_record(TeamMember, team_member_id(line.id), line.id, line)
        if isinstance(line, SequenceLine):
            data = line.given()
            if "steps" in data:
                data["steps"] = [step.model_dump() for step in line.steps]
            return self._app_record(SequenceRecord, sequence_id(line.id), line.id, line, data)
        if isinstance(line, SavedFilterLine):
            data = {"rules": [rule.model_dump() for rule in line.rules]}
            return self._app_record(SavedFilter, saved_filter_id(line.name), line.name, line,
                                    data)
        if isinstance(line, ListLine):
            return self._app_record(PersonList, person_list_id(line.id), line.id, line)
        if isinstance(line, SequenceLeftLine):
            return self._sequence_left(line)
        if isinstance(line, PersonDeletedLine):
            return self._person_deleted(line)
        raise AssertionError(f"unhandled line kind {line.kind}")

    def _app_record(self, cls: type[AppRecord], uuid: Any, key: str, line: Any,
                    data: dict[str, Any] | None = None) -> str | None:
        attributes = data if data is not None else line.given()
        current = self.cache.get(uuid, cls)
        if current is None:
            self.cache.add(cls.record(key, attributes, self.now, self.ctx))
            self._count(line.kind)
        elif current.change(attributes, self.now, self.ctx):
            self._count(line.kind)
        return None

    def _person(self, line: PersonLine) -> str | None:
        uuid = app_person_id(line.id)
        data = line.given()
        at = self._at(line)
        person = self.cache.get(uuid, Person)
        email = str(data.get("email") or (person.email if person else ""))
        claim = self.cache.get(email_claim_id("app", email), EmailClaim)
        if claim is not None and claim.holder not in (None, uuid):
            # The reason is recorded in the log in the clear: name the holder, not the email.
            holder = self.cache.get(claim.holder, Person)
            return f"email already belongs to person {holder.app_id if holder else '?'}"
        if person is None:
            person = Person.record(line.id, data, at, self.ctx)
            self.cache.add(person)
            self._take(claim, email, uuid)
            self._count("person")
            return None
        if person.deleted:
            return f"person {line.id} was deleted"
        if person.forgotten:
            person.restart(data if "email" in data else {**data, "email": email}, at, self.ctx)
            self._take(claim, person.email, uuid)
            self._count("person")
            self.notes.append(f"person {line.id} was forgotten; recorded again as a new "
                              "person, under a new key")
            return None
        version = person.version
        old_email = person.update(data, at, self.ctx)
        if old_email is not None:
            released = self.cache.get(email_claim_id("app", old_email), EmailClaim)
            if released is not None:
                released.release(uuid, self.ctx)
            self._take(claim, person.email, uuid)
        if person.version != version:
            self._count("person")
        return None

    def _take(self, claim: Any, email: str, holder: Any) -> None:
        if claim is None:
            self.cache.add(EmailClaim.claim("app", email, holder, self.ctx))
        else:
            claim.take(holder, self.ctx)

    def _activity(self, line: ActivityLine) -> str | None:
        details = {k: v.isoformat() if hasattr(v, "isoformat") else v
                   for k, v in line.given().items() if k not in ("person", "owner")}
        uuid = activity_id(line.kind, line.id)
        current = self.cache.get(uuid, Activity)
        at = self._at(line)
        person = self.cache.get(app_person_id(line.person), Person)
        subject = person.subject if person is not None else app_person_id(line.person)
        known = current if current is not None and current.subject == subject else None
        details, body = withhold(line.kind, details, known.details if known else None,
                                 self.withhold_bodies)
        name = BODY_FIELD[line.kind]
        before = None if current is None else (current.subject, current.details.get(name))
        if current is None:
            self.cache.add(Activity.record(line.kind, line.id, line.person, subject,
                                           line.owner, details, at, self.ctx))
            self._count(line.kind)
        elif current.change(subject, line.owner, details, at, self.ctx):
            self._count(line.kind)
        else:
            return None
        if body is not None and before != (subject, details[name]):
            # Held only when this import records its digest: the same body again is
            # nothing new, and one already sent is in the CRM.
            self.held.append(HeldBody(uuid, name, body_digest(body), subject, body))
        return None

    def _sequence_left(self, line: SequenceLeftLine) -> str | None:
        return self._on_person(line.person, line.kind, lambda person: person.leave_sequence(
            line.sequence, self._at(line), self.ctx))

    def _person_deleted(self, line: PersonDeletedLine) -> str | None:
        return self._on_person(line.id, line.kind,
                               lambda person: person.delete(self._at(line), self.ctx))

    def _on_person(self, person_id: str, kind: str,
                   action: Callable[[Person], None]) -> str | None:
        """An action on a person already imported; counted only when it records something."""
        person = self.cache.get(app_person_id(person_id), Person)
        if person is None:
            return f"person {person_id} is not imported"
        version = person.version
        action(person)
        if person.version != version:
            self._count(kind)
        return None
