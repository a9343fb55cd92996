"""An inbound people step (Contacts, Leads or Persons to People): pull through the CRM
gateway what changed since the step's (stamp, id) watermark, page by page, and decide each
page in batches; each batch's decisions and the watermark of its last record are saved
together, so a crash resumes from the last saved batch."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.kill_points import kill_point
from syncledger.adapters.read_ahead import read_ahead
from syncledger.commands.sync_context import RunContext, step_cursor
from syncledger.domain.content import normalise
from syncledger.domain.crm_record import MIRRORS, CrmRecord
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.field_mapping import app_value, crm_to_app, settle
from syncledger.domain.filters import all_match
from syncledger.domain.ids import crm_record_id, email_claim_id, step_cursor_id
from syncledger.domain.inbound_rules import OwnerChange, sequence_move, takes_owner
from syncledger.domain.ownership import inbound_owner
from syncledger.domain.person import Person
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


def run_inbound_step(run: RunContext, step: Step) -> None:
    cursor_id = step_cursor_id(run.crm, step.name)
    cursor = AggregateCache(run.app).get(cursor_id)
    since = None
    if isinstance(cursor, StepCursor) and cursor.watermark:
        overlap = parse_duration(run.integration.settings.overlap)
        since = run.gateway.parse_stamp(cursor.watermark[0]) - overlap
    for page in read_ahead(run.gateway.changed(step.crm_object, read_fields(step), since)):
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
    _fold_new(cache)
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
    claims = [c for c in (cache.get(email_claim_id(k, e)) for e in emails
                          for k in (side, "app")) if c is not None]
    holders = [h for c in claims for h in (c.holder, c.holder_on(side)) if h]
    people = [m.person for m in (cache.get(crm_record_id(run.crm, run.org, step.crm_object,
                                                         r.id))
                                 for r in batch) if m is not None and m.person]
    cache.prefetch([*holders, *people])


class BatchDecisions:
    """The decisions of one batch, tallied only once its save went through."""

    def __init__(self, run: RunContext, step: Step, cache: AggregateCache) -> None:
        self.run = run
        self.step = step
        self.cache = cache
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

    def _skip(self, record: CrmRow, reason: str) -> None:
        # Kept on the record too (a duplicate's, with the winner, already is), so that
        # `replay --run` can say why a record was skipped, not only how many were.
        mirror = self._mirror(record)
        if mirror.skipped is None or mirror.skipped[0] != reason:
            mirror.skip(reason, None, self.run.ctx)
        self.outcomes.append(("skipped", reason, record.id, None, {}))

    def record(self, record: CrmRow) -> None:
        run, step = self.run, self.step
        mirror = self._mirror(record)
        linked = self.cache.get(mirror.person) if mirror.person else None
        if isinstance(linked, Person) and linked.forgotten:
            # Their keys are destroyed: nothing of theirs enters the log again. The CRM
            # keeps its own copy, as `forget` says.
            self.outcomes.append(("skipped", "forgotten", record.id, None, {}))
            return
        previous = dict(mirror.content)
        first_observation = mirror.content_hash is None
        people = run.gateway.people
        values_read = record.values
        content = {m.crm: values_read.get(m.crm) for m in step.field_mappings}
        content[people.opt_out_field] = record.opted_out
        for name in people.observed.get(step.crm_object, ()):
            content[name] = values_read.get(name)
        previous_owner = mirror.owner
        previous_hash = mirror.content_hash
        if not mirror.observe(content, record.stamp, record.owner,
                              run.ctx) and step.name not in run.fresh_steps:
            return  # unchanged, or our own write coming back: nothing to record
        # A record we created without an owner: the owner the CRM gave it is learnt, not
        # a change of owner (else whoever syncs next would take every such person).
        learnt_owner = previous_owner is None and mirror.person is not None
        if learnt_owner and mirror.content_hash == previous_hash:
            return
        if record.converted is not None:
            mirror.mark_converted(*record.converted, run.ctx)
        if step.filter and not all_match(step.filter.rules, values_read):
            self._skip(record, "filtered out")
            return
        settings = run.integration.settings
        decision = inbound_owner(record.owner, step_owner_mappings(step, settings),
                                 step_owner_match(step, settings), run.directory.crm_user_emails,
                                 run.directory.member_by_email, run.settings.connecting_member)
        if decision.skip:
            self._skip(record, decision.skip)
            return
        values = crm_to_app(values_read, step.field_mappings)
        email = values.get("email")
        if not email:
            self._skip(record, "no email")
            return
        duplicate = self._claim_crm_email(mirror, str(email))
        if duplicate is not None:
            self._skip(record, duplicate)
            return
        at = run.gateway.parse_stamp(record.stamp)
        person, created = self._person(mirror, values, decision.owner, at,
                                       decision.by_default)
        before = len(person.pending_events) if person is not None else 0
        if person is None:
            self._skip(record, "email already belongs to another person")
            return
        changes: dict[str, Any] = {k: [None, v] for k, v in values.items()} if created else {}
        if not created:
            first_link = mirror.person != person.id
            changes = self._settle(person, mirror, values, previous,
                                   first_link or first_observation, at)
            # The default owner is for new people only: an existing person keeps its owner
            # unless a rule (a pair, an email match) maps the record's owner.
            if takes_owner(OwnerChange(decision.owner, decision.by_default), person.owner,
                           first_link, person.owner_by_default, learnt_owner, record.owner,
                           previous_owner):
                person.reassign_owner(decision.owner, at, run.ctx, reason=decision.why)
        if record.opted_out:
            person.flag("opted_out", at, run.ctx)  # an opt-out is never undone from here
        person.link(run.crm, step.crm_object, record.id,
                    run.record_url(step.crm_object, record.id), run.ctx)
        mirror.link_person(person.id, run.ctx)
        self._route_to_sequence(person, decision.owner, created, at)
        if not created and len(person.pending_events) == before:
            return  # decided again (a changed step), and nothing changed for the person
        self.outcomes.append(("created" if created else "updated", None, record.id,
                              person.app_id, changes))

    def _mirror(self, record: CrmRow) -> CrmRecord:
        cls = MIRRORS[self.step.crm_object]
        mirror_id = crm_record_id(self.run.crm, self.run.org, cls.STREAM, record.id)
        mirror = self.cache.get(mirror_id, CrmRecord)
        if mirror is None:
            mirror = cls.discover(self.run.crm, self.run.org, record.id, self.run.ctx,
                                  created=record.created)
            self.cache.add(mirror)
        return mirror

    def _claim_crm_email(self, mirror: CrmRecord, email: str) -> str | None:
        """One person per email: a Contact first, then the oldest record; the others are
        skipped naming the record that won."""
        side = f"{self.run.crm}:{self.run.org}"
        claim = self._crm_claim(email)
        if claim is None:
            self.cache.add(EmailClaim.claim_on(side, email, mirror.id, self.run.ctx))
            return None
        held_by = claim.holder_on(side)
        if held_by in (None, mirror.id):
            claim.take_on(side, mirror.id, self.run.ctx)
            return None
        holder = self.cache.get(held_by)
        if holder is None or holder.deleted or mirror.rank() < holder.rank():
            claim.release_on(side, held_by, self.run.ctx)
            claim.take_on(side, mirror.id, self.run.ctx)
            if holder is not None and holder.person is not None:
                mirror.link_person(holder.person, self.run.ctx)
            return None
        if mirror.converted:
            return "converted lead"
        mirror.skip("duplicate email", f"{holder.stream} {holder.crm_record} won",
                    self.run.ctx)
        return "duplicate email"

    def _crm_claim(self, email: str) -> EmailClaim | None:
        """The claim of `email` in this org: one made for the org alone before issue 22
        serves it still; else the email's one claim, which holds the org's side too."""
        side = f"{self.run.crm}:{self.run.org}"
        claim = self.cache.get(email_claim_id(side, email), EmailClaim)
        return claim or self.cache.get(email_claim_id("app", email), EmailClaim)

    def _person(self, mirror: CrmRecord, values: dict[str, Any], owner: str | None,
                at: Any, owner_by_default: bool) -> tuple[Person | None, bool]:
        run = self.run
        email = str(values["email"])
        person = self.cache.get(mirror.person) if mirror.person else None
        if person is None:
            claim = self.cache.get(email_claim_id("app", email))
            if claim is not None and claim.holder is not None:
                person = self.cache.get(claim.holder)
        if isinstance(person, Person) and not person.forgotten:
            return person, False
        data = {**{k: v for k, v in values.items() if k != "email"}, "email": email,
                "owner": owner}
        app_claim = self.cache.get(email_claim_id("app", email))
        if isinstance(person, Person):  # forgotten: a new life, under a new key
            person.restart(data, at, run.ctx, owner_by_default)
            run.note(f"person {person.app_id} had been forgotten; recorded again "
                             f"from {run.crm.capitalize()} under a new key")
        else:
            app_id = _app_key(run, mirror.stream, mirror.crm_record)
            existing = self.cache.get(Person.create_id(app_id))
            if existing is not None:  # an earlier person for this record kept its email
                return None, False
            person = Person.record(app_id, _without_extras(data), at, run.ctx,
                                   owner_by_default)
            extras = {k: v for k, v in values.items() if k not in _CORE}
            if extras:
                person.sync_in(extras, [], at, run.ctx)
            self.cache.add(person)
        if app_claim is None:
            self.cache.add(EmailClaim.claim("app", email, person.id, run.ctx))
        elif app_claim.holder != person.id:
            if app_claim.holder is not None:
                return None, False
            app_claim.take(person.id, run.ctx)
        return person, True

    def _settle(self, person: Person, mirror: CrmRecord, values: dict[str, Any],
                previous: dict[str, Any], first_link: bool, at: Any) -> dict[str, list[Any]]:
        """Apply what changed in the CRM to the person; returns field -> [old, new]."""
        settings = self.run.integration.settings
        current = {"email": person.email, "first_name": person.first_name,
                   "last_name": person.last_name, "account": person.account,
                   "status": person.status, "inbox_category": person.inbox_category,
                   "fields": person.fields}
        changes: dict[str, Any] = {}
        conflicts = []
        for mapping in self.step.field_mappings:
            before = normalise({mapping.crm: previous.get(mapping.crm)})[mapping.crm]
            settled = settle(mapping.app, None if first_link else before,
                             values.get(mapping.app), app_value(current, mapping.app),
                             mapping.conflict or settings.conflict, first_link, at,
                             person.times.get(mapping.app))
            if settled.changed:
                changes[mapping.app] = settled.value
            if settled.conflict:
                conflicts.append(settled.conflict)
        if "email" in changes:
            self._move_app_claim(person, str(changes["email"]))
        person.sync_in(changes, conflicts, at, self.run.ctx)
        return {name: [app_value(current, name), value] for name, value in changes.items()}

    def may_follow(self, person: Person, master: CrmRecord) -> bool:
        """A person follows a merge's master only when we have read the master and no other
        person follows it (one record, one person)."""
        if master.deleted or master.person not in (None, person.id):
            return False
        email = crm_to_app(master.content, self.step.field_mappings).get("email")
        if not email or email == person.email:
            return True
        claim = self.cache.get(email_claim_id("app", str(email)))
        return claim is None or claim.holder in (None, person.id)

    def follow_master(self, person: Person, merged: CrmRecord, master: CrmRecord) -> None:
        """Relink a person to the master of a merge. The master's current values meet the
        person's as on any first link (the conflict policy), never by overwrite."""
        run = self.run
        at = run.gateway.parse_stamp(master.modstamp) if master.modstamp else run.now
        values = crm_to_app(master.content, self.step.field_mappings)
        self._settle(person, master, values, {}, True, at)
        settings = run.integration.settings
        decision = inbound_owner(master.owner, step_owner_mappings(self.step, settings),
                                 step_owner_match(self.step, settings),
                                 run.directory.crm_user_emails, run.directory.member_by_email,
                                 run.settings.connecting_member)
        if not decision.skip and not decision.by_default and decision.owner != person.owner:
            person.reassign_owner(decision.owner, at, run.ctx, reason=decision.why)
        person.link(run.crm, master.stream, master.crm_record,
                    run.record_url(master.stream, master.crm_record), run.ctx)
        master.link_person(person.id, run.ctx)
        email = values.get("email")
        side = f"{run.crm}:{run.org}"
        claim = self._crm_claim(str(email)) if email else None
        if claim is not None and claim.holder_on(side) == merged.id:
            claim.release_on(side, merged.id, run.ctx)
            claim.take_on(side, master.id, run.ctx)

    def _move_app_claim(self, person: Person, email: str) -> None:
        old = self.cache.get(email_claim_id("app", person.email))
        if old is not None:
            old.release(person.id, self.run.ctx)
        new = self.cache.get(email_claim_id("app", email))
        if new is None:
            self.cache.add(EmailClaim.claim("app", email, person.id, self.run.ctx))
        else:
            new.take(person.id, self.run.ctx)

    def _route_to_sequence(self, person: Person, owner: str | None, created: bool,
                           at: Any) -> None:
        current = person.sequence.get("id") if person.sequence else None
        move = sequence_move(self.step.sequence_mappings, owner, created, current)
        if move is None:
            return
        if move.leave is not None:
            person.leave_sequence(move.leave, at, self.run.ctx)
        person.join_sequence(move.join.sequence, move.join.step, move.join.ignore_step_delay,
                             at, self.run.ctx)


def _fold_new(cache: AggregateCache) -> None:
    """Records and claims made in this batch record their first facts in one event each."""
    for aggregate in cache.changed():
        if isinstance(aggregate, CrmRecord):
            aggregate.fold_into_discovery()
        elif isinstance(aggregate, EmailClaim):
            aggregate.fold_into_claim()


def _app_key(run: RunContext, stream: str, record_id: str) -> str:
    """The app key of a person first seen in the CRM: `sf-contact-003...`."""
    return f"{run.gateway.people.app_key_prefix}-{stream.lower()}-{record_id}"


_CORE = ("email", "first_name", "last_name", "account", "owner", "status", "inbox_category")


def _without_extras(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in _CORE}


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
        mirror = cache.get(crm_record_id(run.crm, run.org, step.crm_object, record.id))
        if mirror is None or mirror.deleted:
            continue
        master = record.merged_into
        mirror.mark_removed(master, run.ctx)
        person = cache.get(mirror.person) if mirror.person else None
        if not isinstance(person, Person):
            continue
        merged = cache.get(crm_record_id(run.crm, run.org, step.crm_object, master)) \
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
