"""The inbound decision over plain values: no store, no CRM. Given the record as read, its
mirror, the email's claims and the person as loaded, when a step decides, then it says what
the mirror observes, why a record is skipped, and what becomes of the person."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from syncledger.domain.content import content_hash, normalise
from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact
from syncledger.domain.inbound_decision import (
    FORGOTTEN,
    AppHolder,
    InboundRules,
    MirrorSeen,
    OrgClaim,
    OrgHolder,
    PersonSeen,
    Skip,
    TakeIn,
    claim_email,
    decide_inbound,
    read_record,
    settle_fields,
)
from syncledger.domain.ownership import OWNER_NOT_MAPPED, OwnerDecision
from syncledger.domain.person import Person
from syncledger.domain.ports import CrmRow
from syncledger.domain.steps import FieldMapping, FilterRule, SequenceMapping

MIRROR = UUID(int=1)
ADA = UUID(int=2)
BOB = UUID(int=3)
OTHER_MIRROR = UUID(int=4)
AT = datetime(2026, 11, 1, 10, tzinfo=UTC)
EARLIER = datetime(2026, 10, 1, tzinfo=UTC)

MAPPINGS = (FieldMapping("FirstName", "first_name"), FieldMapping("LastName", "last_name"),
            FieldMapping("Email", "email"), FieldMapping("Title", "title"))
RULES = InboundRules(MAPPINGS, (), (), "crm", "HasOptedOutOfEmail")
ALICE_RULE = OwnerDecision("tm-alice", "ownership mapping 005A -> tm-alice")
BY_DEFAULT = OwnerDecision("tm-carol", "no ownership mappings and no email match",
                           by_default=True)
VALUES = {"FirstName": "Ada", "LastName": "Lovelace", "Email": " Ada@Example.com ",
          "Title": "CTO"}


def row(owner: str | None = "005A", opted_out: bool = False,
        converted: tuple[str | None, str | None] | None = None, **values: Any) -> CrmRow:
    return CrmRow("003A", "2026-11-01T10:00:00Z", {**VALUES, **values}, owner=owner,
                  created="2026-01-01T00:00:00Z", opted_out=opted_out, converted=converted)


def mirror(stream: str = "Contact", **seen: Any) -> MirrorSeen:
    return MirrorSeen(MIRROR, "salesforce", stream, "003A",
                      (0 if stream == "Contact" else 1, "2026-01-01", 4, "003A"), **seen)


def observed(record: CrmRow) -> MirrorSeen:
    """The mirror once it observed `record`, linked to Ada."""
    content = read_record(record, mirror(), False, ALICE_RULE, RULES).observed or {}
    return mirror(content=content, content_hash=content_hash(content), owner=record.owner,
                  person=ADA)


def take_in(owner: OwnerDecision = ALICE_RULE, **fields: Any) -> TakeIn:
    reading = read_record(row(**fields), mirror(), False, owner, RULES)
    assert isinstance(reading.outcome, TakeIn)
    return reading.outcome


def ada(**seen: Any) -> PersonSeen:
    values = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
              "account": None, "status": None, "inbox_category": None,
              "fields": {"title": "CTO"}}
    return replace(PersonSeen(ADA, values, {"first_name": EARLIER}, owner="tm-alice",
                              links=frozenset({("salesforce", "Contact", "003A")})), **seen)


# -- what the record says ------------------------------------------------------------------
def test_a_forgotten_persons_record_is_skipped_and_nothing_of_it_observed() -> None:
    # Given a record whose person was forgotten, when it is read again
    reading = read_record(row(), mirror(person=ADA), True, ALICE_RULE, RULES)
    # Then nothing is observed, and the skip is not kept on the mirror
    assert reading.observed is None and reading.outcome == FORGOTTEN
    assert not FORGOTTEN.kept


def test_a_record_read_for_the_first_time_goes_on_with_its_values_as_the_app_names_them(
        ) -> None:
    reading = read_record(row(), mirror(), False, ALICE_RULE, RULES)
    # What the mirror observes is normalised (as the mirror keeps it), and hashed once.
    assert reading.observed == normalise({**VALUES, "HasOptedOutOfEmail": False})
    assert reading.digest == content_hash(reading.observed)
    read = reading.outcome
    assert isinstance(read, TakeIn)
    assert read.email == "ada@example.com"
    assert read.values == {"first_name": "Ada", "last_name": "Lovelace",
                           "email": "ada@example.com", "title": "CTO"}
    assert read.first_observation and not read.owner_learnt and read.owner == ALICE_RULE


def test_an_unchanged_record_or_our_own_write_coming_back_decides_nothing() -> None:
    # Given a mirror that already observed the record as it reads now
    seen = observed(row())
    # When it is read again, Then nothing is decided (and the observation records nothing)
    assert read_record(row(), seen, False, ALICE_RULE, RULES).outcome is None


def test_an_unchanged_record_is_decided_again_once_its_step_changed() -> None:
    again = replace(RULES, decide_again=True)
    assert isinstance(read_record(row(), observed(row()), False, ALICE_RULE, again).outcome,
                      TakeIn)


def test_a_changed_owner_alone_is_a_change() -> None:
    reading = read_record(row(owner="005B"), observed(row()), False, ALICE_RULE, RULES)
    assert isinstance(reading.outcome, TakeIn) and reading.outcome.previous_owner == "005A"


def test_the_owner_learnt_of_a_record_we_created_decides_nothing() -> None:
    # Given a record we created with no owner, linked to its person
    seen = replace(observed(row()), owner=None)
    # When it comes back with the owner the CRM gave it and nothing else changed
    reading = read_record(row(owner="005A"), seen, False, ALICE_RULE, RULES)
    # Then the owner is observed, and nothing is decided
    assert reading.observed is not None and reading.outcome is None


def test_a_record_outside_the_filter_is_skipped() -> None:
    rules = replace(RULES, filter_rules=(FilterRule("Email", "ends_with", "@acme.com"),))
    assert read_record(row(), mirror(), False, ALICE_RULE, rules).outcome == \
        Skip("filtered out")


def test_a_record_whose_owner_no_rule_maps_is_skipped() -> None:
    unmapped = OwnerDecision(None, "CRM owner 005X is in no ownership mapping",
                             OWNER_NOT_MAPPED)
    assert read_record(row(), mirror(), False, unmapped, RULES).outcome == \
        Skip(OWNER_NOT_MAPPED)


def test_a_record_without_an_email_is_skipped() -> None:
    assert read_record(row(Email="  "), mirror(), False, ALICE_RULE, RULES).outcome == \
        Skip("no email")


def test_a_converted_lead_is_marked_converted_even_when_skipped() -> None:
    reading = read_record(row(converted=("003C", "001A"), Email=None), mirror("Lead"), False,
                          ALICE_RULE, RULES)
    assert reading.converted == ("003C", "001A") and reading.outcome == Skip("no email")


def test_observed_fields_and_the_opt_out_are_part_of_what_the_mirror_observes() -> None:
    rules = replace(RULES, observed=("Status",))
    reading = read_record(row(opted_out=True, Status="Open"), mirror("Lead"), False,
                          ALICE_RULE, rules)
    assert reading.observed is not None
    assert reading.observed["Status"] == "Open" and reading.observed["HasOptedOutOfEmail"]


# -- who holds the email in the org --------------------------------------------------------
def test_an_email_unclaimed_free_or_already_the_records_own_is_the_records() -> None:
    assert claim_email(mirror(), None) == OrgClaim()
    assert claim_email(mirror(), OrgHolder(None)) == OrgClaim()
    assert claim_email(mirror(), OrgHolder(MIRROR)) == OrgClaim()


def test_a_contact_takes_the_email_from_a_lead_and_links_to_its_person() -> None:
    # Given a Lead of Bob holding the email, when a Contact with it is read
    lead = MirrorSeen(OTHER_MIRROR, "salesforce", "Lead", "00QA", (1, "2025-01-01", 4, "00QA"),
                      person=BOB)
    claimed = claim_email(mirror(), OrgHolder(OTHER_MIRROR, lead))
    # Then the Contact takes it over, and the record's person is Bob
    assert claimed == OrgClaim(released=OTHER_MIRROR, person=BOB)


def test_an_email_held_by_a_deleted_or_missing_record_is_taken_over() -> None:
    gone = MirrorSeen(OTHER_MIRROR, "salesforce", "Contact", "003Z", (0, "", 4, "003Z"),
                      deleted=True)
    assert claim_email(mirror(), OrgHolder(OTHER_MIRROR, gone)) == \
        OrgClaim(released=OTHER_MIRROR)
    assert claim_email(mirror(), OrgHolder(OTHER_MIRROR)) == OrgClaim(released=OTHER_MIRROR)


def test_a_record_outranked_for_its_email_is_a_duplicate_naming_the_winner() -> None:
    contact = MirrorSeen(OTHER_MIRROR, "salesforce", "Contact", "003B",
                         (0, "2025-01-01", 4, "003B"), person=BOB)
    claimed = claim_email(mirror("Lead"), OrgHolder(OTHER_MIRROR, contact))
    assert claimed.skip == Skip("duplicate email", "Contact 003B won")


def test_a_converted_lead_losing_its_email_is_skipped_as_converted() -> None:
    contact = MirrorSeen(OTHER_MIRROR, "salesforce", "Contact", "003B",
                         (0, "2025-01-01", 4, "003B"), person=BOB)
    claimed = claim_email(mirror("Lead", converted=True), OrgHolder(OTHER_MIRROR, contact))
    assert claimed.skip == Skip("converted lead")


# -- what becomes of the person ------------------------------------------------------------
def test_a_record_no_person_matches_records_a_new_person() -> None:
    # Given a record whose email no one holds
    decision = decide_inbound(take_in(), mirror(), None, None, False, AT, RULES)
    # Then a person is recorded from it, with its core values and its other fields apart
    recording = decision.recording
    assert decision.person is None and decision.skip is None and recording is not None
    assert recording.data == {"first_name": "Ada", "last_name": "Lovelace",
                              "email": "ada@example.com", "owner": "tm-alice"}
    assert recording.extras == {"title": "CTO"}
    assert not recording.owner_by_default
    # recorded linked to the record (no Linked of its own: issue 22), and reported as
    # created with every value new
    assert recording.linked and not decision.links and decision.outcome == "created"
    assert decision.changes["email"] == [None, "ada@example.com"]


def test_a_new_person_takes_a_free_claim_and_a_default_owner() -> None:
    decision = decide_inbound(take_in(BY_DEFAULT), mirror(), None, AppHolder(None), False, AT,
                              RULES)
    assert decision.skip is None and decision.recording is not None
    assert decision.recording.owner_by_default
    assert decision.recording.data["owner"] == "tm-carol"


def test_a_record_whose_earlier_person_kept_another_email_is_skipped() -> None:
    # Given a person recorded under this record's key before, no longer holding its email
    decision = decide_inbound(take_in(), mirror(), None, None, True, AT, RULES)
    # Then nothing is recorded, and the record is skipped
    assert decision.recording is None
    assert decision.skip == Skip("email already belongs to another person")


def test_a_forgotten_person_starts_a_new_life() -> None:
    forgotten = ada(forgotten=True)
    decision = decide_inbound(take_in(), mirror(person=ADA), forgotten, AppHolder(ADA), False,
                              AT, RULES)
    assert decision.person == ADA and decision.outcome == "created" and decision.skip is None
    assert decision.recording is not None
    assert decision.recording.data["title"] == "CTO"  # as given: restart keeps what it may
    # Its Restarted carries no link: it is linked to the record apart.
    assert not decision.recording.linked and decision.links


def test_a_forgotten_person_whose_email_another_holds_is_recorded_but_skipped() -> None:
    decision = decide_inbound(take_in(), mirror(person=ADA), ada(forgotten=True),
                              AppHolder(BOB), False, AT, RULES)
    assert decision.recording is not None and not decision.recording.linked
    assert decision.skip == Skip("email already belongs to another person")
    assert decision.outcome is None and not decision.links


def test_a_record_matches_the_person_holding_its_email_when_not_linked() -> None:
    # Given Ada holding the email, and a record not linked to anyone
    holder = AppHolder(ADA, ada(owner="tm-bob", links=frozenset()))
    decision = decide_inbound(take_in(), mirror(), None, holder, False, AT, RULES)
    # Then the record is linked to Ada, who takes the owner a rule maps (a first link)
    assert decision.person == ADA and decision.recording is None
    assert decision.links and decision.owner == ALICE_RULE and decision.outcome == "updated"


def test_changes_in_the_crm_go_to_the_person_and_both_sided_ones_are_settled() -> None:
    # Given Ada linked to the record as it was, her first name since changed in the app
    previous = observed(row())
    person = ada(values={**ada().values, "first_name": "Augusta"})
    # When the CRM changed the last name and the first name
    read = replace(take_in(), previous=previous.content, first_observation=False,
                   values={**take_in().values, "first_name": "A.", "last_name": "King"})
    decision = decide_inbound(read, previous, person, AppHolder(ADA), False, AT, RULES)
    # Then the last name goes in; the first name is a conflict the CRM wins (the policy)
    settled = decision.settled
    assert settled is not None
    assert settled.changes == {"first_name": "A.", "last_name": "King"}
    assert [(c["field"], c["winner"]) for c in settled.conflicts] == [("first_name", "crm")]
    assert decision.changes == {"first_name": ["Augusta", "A."],
                                "last_name": ["Lovelace", "King"]}
    assert decision.outcome == "updated"


def test_a_record_that_changes_nothing_for_its_person_is_no_update() -> None:
    previous = observed(row())
    read = replace(take_in(), previous=previous.content, first_observation=False,
                   previous_owner="005A")
    decision = decide_inbound(read, previous, ada(), AppHolder(ADA), False, AT, RULES)
    assert decision.settled is not None and decision.settled.changes == {}
    assert decision.owner is None and not decision.links and decision.sequence is None
    assert decision.outcome is None


def test_an_owner_changed_in_the_crm_moves_the_person_with_why() -> None:
    previous = observed(row())
    read = replace(take_in(), previous=previous.content, first_observation=False,
                   previous_owner="005B")
    decision = decide_inbound(read, previous, ada(owner="tm-bob"), AppHolder(ADA), False, AT,
                              RULES)
    assert decision.owner == ALICE_RULE and decision.outcome == "updated"


def test_the_default_owner_never_takes_an_existing_person() -> None:
    decision = decide_inbound(take_in(BY_DEFAULT), mirror(), ada(owner="tm-bob"),
                              AppHolder(ADA), False, AT, RULES)
    assert decision.owner is None


def test_an_opt_out_in_the_crm_flags_the_person_once() -> None:
    previous = observed(row())
    read = replace(take_in(opted_out=True), previous=previous.content,
                   first_observation=False, previous_owner="005A")
    flags = decide_inbound(read, previous, ada(), AppHolder(ADA), False, AT, RULES)
    again = decide_inbound(read, previous, ada(opted_out=True), AppHolder(ADA), False, AT,
                           RULES)
    assert flags.opts_out and flags.outcome == "updated"
    assert not again.opts_out and again.outcome is None


def test_a_person_is_routed_to_the_sequence_of_its_owner() -> None:
    rules = replace(RULES, sequence_mappings=(SequenceMapping("tm-alice", "seq-a", 2),))
    created = decide_inbound(take_in(), mirror(), None, None, False, AT, rules)
    assert created.sequence is not None and created.sequence.join.sequence == "seq-a"
    moved = decide_inbound(take_in(), observed(row()), ada(sequence="seq-old"),
                           AppHolder(ADA), False, AT, rules)
    assert moved.sequence is not None and moved.sequence.leave == "seq-old"
    assert moved.outcome == "updated"


def test_a_first_link_settles_every_differing_field_by_the_policy() -> None:
    # Given a person whose title differs from the master's, met for the first time
    mappings = (FieldMapping("Email", "email"), FieldMapping("Title", "title"))
    settled = settle_fields(mappings, "app", {}, {"title": "CEO", "email": "ada@example.com"},
                            ada().values, {}, True, AT)
    # Then the policy keeps the app's title, and the conflict is kept with both values
    assert "title" not in settled.changes
    assert settled.conflicts[0]["crm_value"] == "CEO" and settled.conflicts[0]["winner"] == "app"


# -- what the handler loads, as the decisions see it -----------------------------------------
def test_a_person_is_seen_with_its_values_owner_flags_links_and_sequence() -> None:
    ctx = Context("run:test")
    person = Person.record("p-1", {"email": "ada@example.com", "first_name": "Ada",
                                   "owner": "tm-alice"}, EARLIER, ctx)
    person.sync_in({"title": "CTO"}, [], EARLIER, ctx)
    person.flag("opted_out", EARLIER, ctx)
    person.link("salesforce", "Contact", "003A", None, ctx)
    person.link("salesforce", "Lead", "00QA", None, ctx)
    person.mark_link_deleted("salesforce", "Lead", "00QA", ctx)
    person.join_sequence("seq-a", 1, False, EARLIER, ctx)
    seen = PersonSeen.of(person)
    assert seen.id == person.id and seen.owner == "tm-alice" and not seen.owner_by_default
    assert seen.values["first_name"] == "Ada" and seen.values["fields"] == {"title": "CTO"}
    assert seen.opted_out and seen.sequence == "seq-a" and not seen.forgotten
    assert seen.links == frozenset({("salesforce", "Contact", "003A")})
    assert seen.times["first_name"] == EARLIER


def test_a_mirror_is_seen_with_what_was_last_observed_and_its_rank() -> None:
    ctx = Context("run:test")
    record = Contact.discover("salesforce", "00D1", "003A", ctx, created="2026-01-01")
    record.observe({"Email": "ada@example.com"}, "2026-11-01T10:00:00Z", "005A", ctx)
    record.link_person(ADA, ctx)
    seen = MirrorSeen.of(record)
    assert (seen.crm, seen.stream, seen.crm_record) == ("salesforce", "Contact", "003A")
    assert seen.content == {"Email": "ada@example.com"} and seen.owner == "005A"
    assert seen.content_hash == record.content_hash and seen.person == ADA
    assert seen.rank == record.rank() and not seen.converted and not seen.deleted
