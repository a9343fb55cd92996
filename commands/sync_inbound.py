"""An inbound people step (Contacts, Leads or Persons to People): pull through the CRM
gateway what changed since the step's (stamp, id) watermark, page by page, and decide each
page in batches; each batch's decisions and the watermark of its last record are saved
together, so a crash resumes from the last saved batch. The steps' first pages are asked side
by side as they start (when the gateway's calls may go so), so that a run waits one round
trip for them all rather than one a step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.read_ahead import PagesAhead, read_ahead
from syncledger.commands.sync_context import RunContext, step_cursor
from syncledger.domain.crm_record import MIRRORS, CrmRecord
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.field_mapping import crm_to_app
from syncledger.domain.ids import crm_record_id, email_claim_id, step_cursor_id
from syncledger.domain.inbound_decision import (
    AppHolder,
    InboundDecision,
    InboundRules,
    MirrorSeen,
    OrgHolder,
    PersonSeen,
    Recording,
    Settlement,
    Skip,
    TakeIn,
    claim_email,
    decide_inbound,
    read_record,
    settle_fields,
)
from syncledger.domain.ownership import inbound_owner
from syncledger.domain.person import CrmLink, Person
from syncledger.domain.ports import CrmRow, Removal
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import Step, read_fields, step_owner_mappings, step_owner_match

KIND = "people"
# Records decided and saved together. A batch's aggregates, events and stored rows are the
# run's peak memory (about 12 KiB a record), so the batch, not the CRM's page (2,000 records
# from Salesforce), bounds it; smaller batches would only add saves and seals.
BATCH = 1000


def parse_duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


@dataclass(frozen=True)
class Pull:
    """A step's pull of what changed since its watermark (less the overlap window), its
    first page asked ahead."""

    since: datetime | None
    pages: PagesAhead[list[CrmRow]]


def run_inbound_steps(run: RunContext, steps: list[Step]) -> None:
    """The steps one after the other, each pull's first page asked as they start. A step
    never reached (an earlier one failed) leaves its first page unread, never a call in
    flight."""
    pulls = [_pull(run, step) for step in steps]
    try:
        for step, pull in zip(steps, pulls, strict=True):
            run_inbound_step(run, step, pull)
    finally:
        for pull in pulls:
            pull.pages.close()


def _pull(run: RunContext, step: Step) -> Pull:
    cursor_id = step_cursor_id(run.crm, step.name)
    cursor = AggregateCache(run.app).get(cursor_id, StepCursor)
    since = None
    if cursor is not None and cursor.watermark:
        overlap = parse_duration(run.integration.settings.overlap)
        since = run.gateway.parse_stamp(cursor.watermark[0]) - overlap
    pages = run.gateway.changed(step.crm_object, read_fields(step), since)
    return Pull(since, PagesAhead(pages, run.gateway.side_by_side))


def run_inbound_step(run: RunContext, step: Step, pull: Pull) -> None:
    since = pull.since
    for page in read_ahead(iter(pull.pages)):
        kill_point("inbound.page_read")
        for start in range(0, len(page), BATCH):
            run.app.decide(partial(_save_batch, run, step, page[start:start + BATCH]))
            kill_point("inbound.batch_saved")
            run.advanced(step.name, len(page[start:start + BATCH]))
            if run.should_stop():
                return
    if since is not None:
        _pull_deletions(run, step, since)


def _save_batch(run: RunContext, step: Step, batch: list[CrmRow]) -> None:
    cache = AggregateCache(run.app)
    _prefetch_batch(run, step, cache, batch)
    decisions = BatchDecisions(run, step, cache)
    for record in batch:
        decisions.record(record)
    cursor = step_cursor(run, step, cache)
    last = batch[-1]
    cursor.advance_inbound(last.stamp, last.id, run.ctx)
    kill_point("inbound.batch_decided")
    run.app.save(*cache.changed())
    decisions.tally()


def _prefetch_batch(run: RunContext, step: Step, cache: AggregateCache,
                    batch: list[CrmRow]) -> None:
    """Mirrors, email claims and people of a batch, in a few queries instead of one each."""
    side = f"{run.crm}:{run.org}"
    email_field = run.gateway.people.email_field
    emails = [str(r.values[email_field]).strip().lower() for r in batch
              if r.values.get(email_field)]
    cache.prefetch([step_cursor_id(run.crm, step.name),
                    *(crm_record_id(run.crm, run.org, step.crm_object, r.id) for r in batch),
                    *(email_claim_id(side, e) for e in emails),
                    *(email_claim_id("app", e) for e in emails),
                    *(Person.create_id(_app_key(run, step.crm_object, r.id)) for r in batch)])
    claims = [c for c in (cache.get(email_claim_id(k, e), EmailClaim) for e in emails
                          for k in (side, "app")) if c is not None]
    holders = [h for c in claims for h in (c.holder, c.holder_on(side)) if h]
    people = [m.person for m in (cache.get(crm_record_id(run.crm, run.org, step.crm_object,
                                                         r.id), CrmRecord)
                                 for r in batch) if m is not None and m.person]
    cache.prefetch([*holders, *people])


class BatchDecisions:
    """The decisions of one batch, tallied only once its save went through. A record is
    decided in three pure steps (domain/inbound_decision.py), each over what the one before
    had this load, and each applied through the aggregates' own methods before the next."""

    def __init__(self, run: RunContext, step: Step, cache: AggregateCache) -> None:
        self.run = run
        self.step = step
        self.cache = cache
        self.side = f"{run.crm}:{run.org}"
        settings = run.integration.settings
        people = run.gateway.people
        self.rules = InboundRules(step.field_mappings, step.filter.rules if step.filter else (),
                                  step.sequence_mappings, settings.conflict,
                                  people.opt_out_field, people.observed.get(step.crm_object, ()),
                                  decide_again=step.name in run.fresh_steps)
        # What inbound_owner reads a record's owner against: the ownership table.
        self.owners = (step_owner_mappings(step, settings), step_owner_match(step, settings),
                       run.directory.crm_user_emails, run.directory.member_by_email,
                       run.settings.connecting_member)
        # (outcome, skip reason, CRM id, app id, changes)
        self.outcomes: list[tuple[str, str | None, str, str | None, dict[str, Any]]] = []

    def tally(self) -> None:
        for outcome, reason, crm, app, changes in self.outcomes:
            if outcome == "skipped":
                self.run.skip(KIND, reason or "skipped")
            else:
                self.run.count(KIND, outcome)
            action = {"created": "create", "updated": "update"}.get(outcome, "skip")
            self.run.planned(self.step, app, crm, action, reason, changes)

    def record(self, record: CrmRow) -> None:
        mirror = self._mirror(record)
        linked = self.cache.get(mirror.person, Person) if mirror.person else None
        reading = read_record(record, MirrorSeen.of(mirror),
                              linked is not None and linked.forgotten,
                              inbound_owner(record.owner, *self.owners), self.rules)
        if reading.observed is not None:
            mirror.observe(reading.observed, record.stamp, record.owner, self.run.ctx,
                           reading.digest)
        if reading.converted is not None:
            mirror.mark_converted(*reading.converted, self.run.ctx)
        if isinstance(reading.outcome, Skip):
            self._skip(record, mirror, reading.outcome)
        elif reading.outcome is not None and self._claim_email(record, mirror,
                                                               reading.outcome.email):
            self._take_in(record, mirror, reading.outcome)

    def _skip(self, record: CrmRow, mirror: CrmRecord, skip: Skip) -> None:
        if skip.kept:
            mirror.skip(skip.reason, skip.detail, self.run.ctx)
        self.outcomes.append(("skipped", skip.reason, record.id, None, {}))

    def _mirror(self, record: CrmRow) -> CrmRecord:
        cls = MIRRORS[self.step.crm_object]
        mirror_id = crm_record_id(self.run.crm, self.run.org, cls.STREAM, record.id)
        mirror = self.cache.get(mirror_id, CrmRecord)
        if mirror is None:
            mirror = cls.discover(self.run.crm, self.run.org, record.id, self.run.ctx,
                                  created=record.created)
            self.cache.add(mirror)
        return mirror

    def _claim_email(self, record: CrmRow, mirror: CrmRecord, email: str) -> bool:
        """Which record holds the email in the org; False: another one, this one is skipped."""
        claim = self._crm_claim(email)
        holder = None
        if claim is not None:
            held_by = claim.holder_on(self.side)
            other = self.cache.get(held_by, CrmRecord) \
                if held_by not in (None, mirror.id) else None
            holder = OrgHolder(held_by, MirrorSeen.of(other) if other is not None else None)
        claimed = claim_email(MirrorSeen.of(mirror), holder)
        if claimed.skip is not None:
            self._skip(record, mirror, claimed.skip)
            return False
        if claim is None:
            self.cache.add(EmailClaim.claim_on(self.side, email, mirror.id, self.run.ctx))
            return True
        if claimed.released is not None:
            claim.release_on(self.side, claimed.released, self.run.ctx)
        claim.take_on(self.side, mirror.id, self.run.ctx)
        if claimed.person is not None:
            mirror.link_person(claimed.person, self.run.ctx)
        return True

    def _crm_claim(self, email: str) -> EmailClaim | None:
        """The claim of `email` in this org: one made for the org alone before issue 22
        serves it still; else the email's one claim, which holds the org's side too."""
        claim = self.cache.get(email_claim_id(self.side, email), EmailClaim)
        return claim or self.cache.get(email_claim_id("app", email), EmailClaim)

    def _take_in(self, record: CrmRow, mirror: CrmRecord, read: TakeIn) -> None:
        """The person the record matches, decided and brought up to date."""
        at = self.run.gateway.parse_stamp(record.stamp)
        linked = self.cache.get(mirror.person, Person) if mirror.person else None
        claim = self.cache.get(email_claim_id("app", read.email), EmailClaim)
        holder = None
        if claim is not None:
            holding = self.cache.get(claim.holder, Person) if claim.holder else None
            holder = AppHolder(claim.holder, _seen(holding))
        key = Person.create_id(_app_key(self.run, mirror.stream, mirror.crm_record))
        decision = decide_inbound(read, MirrorSeen.of(mirror), _seen(linked), holder,
                                  self.cache.find(key) is not None, at, self.rules)
        person = self.cache.get(decision.person, Person) if decision.person else None
        if decision.recording is not None:
            person = self._record_person(mirror, person, decision.recording, at)
        if decision.skip is not None:
            self._skip(record, mirror, decision.skip)
            return
        assert person is not None
        if decision.recording is not None:
            self._hold_email(person, read.email)
        self._apply(person, record, mirror, decision, at)

    def _record_person(self, mirror: CrmRecord, forgotten: Person | None,
                       recording: Recording, at: datetime) -> Person:
        run = self.run
        if forgotten is not None:  # a new life, under a new key
            person = forgotten
            person.restart(recording.data, at, run.ctx, recording.owner_by_default)
            run.note(f"person {person.app_id} had been forgotten; recorded again "
                     f"from {run.crm.capitalize()} under a new key")
        else:
            link = self._link(mirror.crm_record) if recording.linked else None
            person = Person.record(_app_key(run, mirror.stream, mirror.crm_record),
                                   recording.data, at, run.ctx, recording.owner_by_default,
                                   link)
            if recording.extras:
                person.sync_in(recording.extras, [], at, run.ctx)
            self.cache.add(person)
        return person

    def _apply(self, person: Person, record: CrmRow, mirror: CrmRecord,
               decision: InboundDecision, at: datetime) -> None:
        ctx = self.run.ctx
        if decision.settled is not None:
            self._sync_in(person, decision.settled, at)
        if decision.owner is not None:
            person.reassign_owner(decision.owner.owner, at, ctx, reason=decision.owner.why)
        if decision.opts_out:
            person.flag("opted_out", at, ctx)
        if decision.links:
            link = self._link(record.id)
            person.link(link.crm, link.stream, link.record_id, link.url, ctx)
        mirror.link_person(person.id, ctx)
        if decision.sequence is not None:
            move = decision.sequence
            if move.leave is not None:
                person.leave_sequence(move.leave, at, ctx)
            person.join_sequence(move.join.sequence, move.join.step,
                                 move.join.ignore_step_delay, at, ctx)
        if decision.outcome is not None:
            self.outcomes.append((decision.outcome, None, record.id, person.app_id,
                                  decision.changes))

    def _link(self, record_id: str) -> CrmLink:
        """The link to one of the step's records, whether a person is recorded with it or
        linked to it apart."""
        stream = self.step.crm_object
        return CrmLink(self.run.crm, stream, record_id, self.run.record_url(stream, record_id))

    def _sync_in(self, person: Person, settled: Settlement, at: datetime) -> None:
        if "email" in settled.changes:
            self._move_app_claim(person, str(settled.changes["email"]))
        person.sync_in(settled.changes, settled.conflicts, at, self.run.ctx)

    def _move_app_claim(self, person: Person, email: str) -> None:
        old = self.cache.get(email_claim_id("app", person.email), EmailClaim)
        if old is not None:
            old.release(person.id, self.run.ctx)
        self._hold_email(person, email)

    def _hold_email(self, person: Person, email: str) -> None:
        """The person holds the email's app claim, made when there is none yet."""
        claim = self.cache.get(email_claim_id("app", email), EmailClaim)
        if claim is None:
            self.cache.add(EmailClaim.claim("app", email, person.id, self.run.ctx))
        else:
            claim.take(person.id, self.run.ctx)

    def may_follow(self, person: Person, master: CrmRecord) -> bool:
        """A person follows a merge's master only when we have read the master and no other
        person follows it (one record, one person)."""
        if master.deleted or master.person not in (None, person.id):
            return False
        email = crm_to_app(master.content, self.step.field_mappings).get("email")
        if not email or email == person.email:
            return True
        claim = self.cache.get(email_claim_id("app", str(email)), EmailClaim)
        return claim is None or claim.holder in (None, person.id)

    def follow_master(self, person: Person, merged: CrmRecord, master: CrmRecord) -> None:
        """Relink a person to the master of a merge. The master's current values meet the
        person's as on any first link (the conflict policy), never by overwrite."""
        run = self.run
        at = run.gateway.parse_stamp(master.modstamp) if master.modstamp else run.now
        values = crm_to_app(master.content, self.step.field_mappings)
        seen = PersonSeen.of(person)
        self._sync_in(person, settle_fields(self.rules.field_mappings, self.rules.conflict, {},
                                            values, seen.values, seen.times, True, at), at)
        decision = inbound_owner(master.owner, *self.owners)
        if not decision.skip and not decision.by_default and decision.owner != person.owner:
            person.reassign_owner(decision.owner, at, run.ctx, reason=decision.why)
        person.link(run.crm, master.stream, master.crm_record,
                    run.record_url(master.stream, master.crm_record), run.ctx)
        master.link_person(person.id, run.ctx)
        email = values.get("email")
        claim = self._crm_claim(str(email)) if email else None
        if claim is not None and claim.holder_on(self.side) == merged.id:
            claim.release_on(self.side, merged.id, run.ctx)
            claim.take_on(self.side, master.id, run.ctx)


def _seen(person: Person | None) -> PersonSeen | None:
    return PersonSeen.of(person) if person is not None else None


def _app_key(run: RunContext, stream: str, record_id: str) -> str:
    """The app key of a person first seen in the CRM: `sf-contact-003...`."""
    return f"{run.gateway.people.app_key_prefix}-{stream.lower()}-{record_id}"


def _pull_deletions(run: RunContext, step: Step, since: Any) -> None:
    """Deleted and merged records: the person stays, its link is marked deleted, or moved to
    the record it was merged into."""
    for page in run.gateway.removed(step.crm_object, since):
        if page:
            run.app.decide(partial(_save_deletions, run, step, page))
            kill_point("deletions.saved")


def _save_deletions(run: RunContext, step: Step, page: list[Removal]) -> None:
    cache = AggregateCache(run.app)
    decisions = BatchDecisions(run, step, cache)
    for record in page:
        mirror = cache.get(crm_record_id(run.crm, run.org, step.crm_object, record.id), CrmRecord)
        if mirror is None or mirror.deleted:
            continue
        master = record.merged_into
        mirror.mark_removed(master, run.ctx)
        person = cache.get(mirror.person, Person) if mirror.person else None
        if person is None:
            continue
        merged = cache.get(crm_record_id(run.crm, run.org, step.crm_object, master), CrmRecord) \
            if master else None
        if merged is not None and decisions.may_follow(person, merged):
            person.mark_link_deleted(run.crm, step.crm_object, record.id, run.ctx)
            decisions.follow_master(person, mirror, merged)
        else:
            # Deleted; or merged into a master another person follows (or we never read):
            # the person stays, and no sync writes to that record for it.
            person.mark_link_deleted(run.crm, step.crm_object, record.id, run.ctx,
                                     merged_into=master)
    kill_point("deletions.decided")
    run.app.save(*cache.changed())
