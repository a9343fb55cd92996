"""The ownership table of DESIGN.md, row by row, and how a field changed on both sides is
settled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncledger.domain.field_mapping import settle
from syncledger.domain.filters import rule_matches
from syncledger.domain.ownership import OWNER_NOT_MAPPED, agrees, inbound_owner, outbound_owner
from syncledger.domain.steps import FilterRule, OwnerMapping

CRM_EMAILS = {"005A": "alice@team.example", "005S": "sam@elsewhere.example",
              "005B": "bob@team.example"}
MEMBERS = {"alice@team.example": "tm-alice", "bob@team.example": "tm-bob"}
MEMBER_EMAILS = {"tm-alice": "alice@team.example", "tm-bob": "bob@team.example",
                 "tm-carol": "carol@team.example"}
CRM_BY_EMAIL = {email: user for user, email in CRM_EMAILS.items()}
PAIRS = (OwnerMapping("005S", "tm-carol"),)


@pytest.mark.parametrize(("pairs", "crm_owner", "match", "owner", "skip"), [
    ((), "005B", "email", "tm-bob", None),  # none, email match found
    ((), "005S", "email", "tm-alice", None),  # none, no email match: the connecting member
    (PAIRS, "005S", "email", "tm-carol", None),  # some, in the pairs
    (PAIRS, "005B", "email", "tm-bob", None),  # some, not in pairs, email match
    (PAIRS, "005X", "email", None, OWNER_NOT_MAPPED),  # some, neither
    ((), "005B", None, "tm-alice", None),  # no owner_match: the connecting member
])
def test_inbound_owner_follows_the_table(pairs: tuple[OwnerMapping, ...], crm_owner: str,
                                         match: str | None, owner: str | None,
                                         skip: str | None) -> None:
    decision = inbound_owner(crm_owner, pairs, match, CRM_EMAILS, MEMBERS, "tm-alice")
    assert (decision.owner, decision.skip) == (owner, skip)
    assert decision.why


@pytest.mark.parametrize(("pairs", "member", "owner", "skip"), [
    ((), "tm-bob", "005B", None),  # none, email match: that CRM user
    ((), "tm-carol", None, None),  # none, no email match: no OwnerId sent
    (PAIRS, "tm-carol", "005S", None),  # some, in the pairs
    (PAIRS, "tm-bob", "005B", None),  # some, not in pairs, email match
    ((OwnerMapping("005S", "tm-alice"),), "tm-carol", None, OWNER_NOT_MAPPED),  # neither
])
def test_outbound_owner_follows_the_table(pairs: tuple[OwnerMapping, ...], member: str,
                                          owner: str | None, skip: str | None) -> None:
    decision = outbound_owner(member, pairs, "email", MEMBER_EMAILS, CRM_BY_EMAIL)
    assert (decision.owner, decision.skip) == (owner, skip)


@pytest.mark.parametrize(("pairs", "match", "person", "record", "agreed"), [
    # Two CRM users paired with one member: the record keeps the one it has.
    ((OwnerMapping("005S", "tm-carol"), OwnerMapping("005B", "tm-carol")), None, "tm-carol",
     "005B", True),
    ((), "email", "tm-alice", "005S", True),  # no member matches 005S: the connecting one
    ((), "email", "tm-bob", "005B", True),  # the email match itself
    ((), "email", "tm-bob", "005A", False),  # the app moved the person to another member
    (PAIRS, "email", "tm-carol", "005X", False),  # an unmapped owner stands for nobody
    ((), "email", "tm-alice", None, False),  # no owner known: nothing to keep
])
def test_a_record_owner_that_stands_for_the_persons_owner_is_kept(
        pairs: tuple[OwnerMapping, ...], match: str | None, person: str, record: str | None,
        agreed: bool) -> None:
    assert agrees(person, record, pairs, match, CRM_EMAILS, MEMBERS, "tm-alice") is agreed


T1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
T2 = datetime(2026, 11, 1, 11, tzinfo=UTC)


def test_a_crm_change_alone_reaches_the_person() -> None:
    settled = settle("last_name", "Old", "New", "Old", "crm", False, T1, T1)
    assert (settled.value, settled.changed, settled.conflict) == ("New", True, None)


def test_an_app_change_alone_is_left_for_the_outbound_step() -> None:
    settled = settle("last_name", "Old", "Old", "Mine", "crm", False, T1, T1)
    assert (settled.value, settled.changed) == ("Mine", False)


@pytest.mark.parametrize(("policy", "crm_at", "app_at", "winner"), [
    ("crm", T1, T2, "crm"), ("app", T2, T1, "app"), ("latest", T1, T2, "app"),
    ("latest", T2, T1, "crm")])
def test_a_field_changed_on_both_sides_is_settled_by_the_policy_keeping_both_values(
        policy: str, crm_at: datetime, app_at: datetime, winner: str) -> None:
    settled = settle("last_name", "Old", "Theirs", "Mine", policy, False, crm_at, app_at)
    assert settled.conflict == {"field": "last_name", "policy": policy, "winner": winner,
                                "crm_value": "Theirs", "app_value": "Mine"}
    assert settled.value == ("Theirs" if winner == "crm" else "Mine")


def test_on_a_first_link_an_empty_value_never_wins_over_a_filled_one() -> None:
    assert settle("title", None, None, "CTO", "crm", True, T1, T1).value == "CTO"
    assert settle("title", None, "CTO", None, "app", True, T1, T1).value == "CTO"


@pytest.mark.parametrize(("op", "value", "field_value", "expected"), [
    ("eq", "Acme", "acme", True), ("ne", "Acme", "Other", True),
    ("contains", "corp", "Big Corp", True), ("starts_with", "big", "Big Corp", True),
    ("ends_with", "@acme.com", "a@ACME.com", True), ("in", ["a", "b"], "B", True),
    ("is_empty", None, "", True), ("is_empty", False, "x", True), ("eq", "x", None, False),
    ("contains", "replied", ["opened", "replied"], True)])
def test_filter_operators(op: str, value: object, field_value: object, expected: bool) -> None:
    assert rule_matches(FilterRule("f", op, value), {"f": field_value}) is expected
