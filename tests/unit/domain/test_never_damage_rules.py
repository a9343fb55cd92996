"""The pure rules behind "never damage a customer's CRM": default owners, blanks, removed
records, and the mass-change guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncledger.domain.context import Context
from syncledger.domain.field_mapping import blanks
from syncledger.domain.mass_changes import StepChanges, refusal
from syncledger.domain.ownership import inbound_owner, outbound_owner
from syncledger.domain.person import Person
from syncledger.domain.steps import OwnerMapping

AT = datetime(2026, 11, 1, tzinfo=UTC)
CTX = Context("import:test", "tm-alice")


def test_the_default_owner_row_says_it_is_no_ones_decision() -> None:
    default = inbound_owner("005X", (), None, {}, {}, "tm-alice")
    assert (default.owner, default.by_default) == ("tm-alice", True)
    paired = inbound_owner("005X", (OwnerMapping("005X", "tm-bob"),), None, {}, {}, "tm-alice")
    assert (paired.owner, paired.by_default) == ("tm-bob", False)
    assert outbound_owner("tm-bob", (), None, {}, {}).by_default


def test_a_person_owned_by_default_becomes_owned_by_a_decision_when_reassigned() -> None:
    person = Person.record("p-1", {"email": "a@example.com", "owner": "tm-alice"}, AT, CTX,
                           owner_by_default=True)
    assert person.owner_by_default
    person.reassign_owner("tm-bob", AT, CTX, reason="pair")
    assert not person.owner_by_default


def test_only_a_recorded_clearing_may_blank_a_filled_crm_field() -> None:
    person = Person.record("p-1", {"email": "a@example.com", "fields": {"title": "CEO"}},
                           AT, CTX)
    mapped = {"Title": "title", "FirstName": "first_name"}
    changes = {"Title": None, "FirstName": None}
    known = {"Title": "Founder", "FirstName": "Ann"}
    # Given a person who never had a first name: nothing of hers blanks the CRM
    assert blanks(changes, known, mapped, person.cleared) == []
    # When the app clears the title, that clearing may go out
    person.update({"fields": {"title": None}}, AT + timedelta(days=1), CTX)
    assert blanks(changes, known, mapped, person.cleared) == ["Title"]
    # And a value given again is no longer a clearing
    person.update({"fields": {"title": "CTO"}}, AT + timedelta(days=2), CTX)
    assert blanks(changes, known, mapped, person.cleared) == []


def test_a_record_removed_in_the_crm_is_reported_until_a_live_link_replaces_it() -> None:
    person = Person.record("p-1", {"email": "a@example.com"}, AT, CTX)
    person.link("salesforce", "Contact", "003A", None, CTX)
    assert person.removed_record("salesforce") is None
    person.mark_link_deleted("salesforce", "Contact", "003A", CTX, merged_into="003M")
    removed = person.removed_record("salesforce")
    assert removed is not None and removed["merged_into"] == "003M"
    person.link("salesforce", "Contact", "003B", None, CTX)
    assert person.removed_record("salesforce") is None


def test_the_guard_stops_more_than_the_share_and_at_least_twenty() -> None:
    few = StepChanges("People to Contacts", "Contact", linked=30, owners=19)
    assert refusal([few], 0.1) is None
    many = StepChanges("People to Contacts", "Contact", linked=1000, owners=20)
    assert refusal([many], 0.1) is None  # 2%: within the limit
    over = StepChanges("People to Contacts", "Contact", linked=100, owners=20,
                       examples=["p-1: OwnerId 005B -> 005A"])
    message = refusal([over], 0.1)
    assert message is not None and "OwnerId on 20 of 100 linked Contacts" in message
    assert refusal([over], 0.5) is None
