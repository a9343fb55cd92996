"""The ownership table of DESIGN.md, as two pure functions.

Pairs are the step's ownership mappings (CRM user -> team member), read in the step's
direction; "email match" is owner_match = "email": a CRM user and a team member with the
same email."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncledger.domain.quick_init import quick_init
from syncledger.domain.steps import OwnerMapping

OWNER_NOT_MAPPED = "owner not mapped"


@quick_init
@dataclass(frozen=True)
class OwnerDecision:
    owner: str | None  # inbound: team member id; outbound: CRM user id (None: send none)
    why: str  # in words, for `explain`
    skip: str | None = None  # a skip reason: the record is not synced
    # The row "no pairs, no email match": no one's decision. It owns a new person, never
    # takes an existing one from its owner, and is never written to an existing record.
    by_default: bool = False


def inbound_owner(crm_owner: str | None, pairs: Sequence[OwnerMapping], owner_match: str | None,
                  crm_user_emails: Mapping[str, str], member_by_email: Mapping[str, str],
                  connecting_member: str | None) -> OwnerDecision:
    if pairs:
        for pair in pairs:
            if pair.crm == crm_owner:
                return OwnerDecision(pair.app, f"ownership mapping {pair.crm} -> {pair.app}")
    matched = _email_match(crm_owner, owner_match, crm_user_emails, member_by_email)
    if matched is not None:
        return OwnerDecision(matched, f"CRM owner {crm_owner} has the email of {matched}")
    if pairs:
        return OwnerDecision(None, f"CRM owner {crm_owner} is in no ownership mapping",
                             OWNER_NOT_MAPPED)
    return OwnerDecision(connecting_member,
                         f"no ownership mappings and no email match for CRM owner "
                         f"{crm_owner}: a new person goes to the connecting team member "
                         f"{connecting_member}", by_default=True)


def outbound_owner(member: str | None, pairs: Sequence[OwnerMapping], owner_match: str | None,
                   member_emails: Mapping[str, str], crm_user_by_email: Mapping[str, str]
                   ) -> OwnerDecision:
    if pairs:
        for pair in pairs:
            if pair.app == member:
                return OwnerDecision(pair.crm, f"ownership mapping {pair.app} -> {pair.crm}")
    matched = _email_match(member, owner_match, member_emails, crm_user_by_email)
    if matched is not None:
        return OwnerDecision(matched, f"team member {member} has the email of CRM user "
                                      f"{matched}")
    if pairs:
        return OwnerDecision(None, f"team member {member} is in no ownership mapping",
                             OWNER_NOT_MAPPED)
    return OwnerDecision(None, "no ownership mappings and no email match: no OwnerId sent, "
                               "the CRM decides", by_default=True)


def agrees(person_owner: str | None, record_owner: str | None, pairs: Sequence[OwnerMapping],
           owner_match: str | None, crm_user_emails: Mapping[str, str],
           member_by_email: Mapping[str, str], connecting_member: str | None) -> bool:
    """Whether a record's CRM owner already stands for the person's owner: read inbound, it
    gives that team member. Then an update sends no OwnerId: the record keeps an owner the
    mapping accepts (another CRM user paired with the same member, or one no member matches
    when the person went to the connecting member), instead of being reassigned to the one
    CRM user the outbound reading picks, with nothing changed on either side."""
    if record_owner is None:
        return False
    back = inbound_owner(record_owner, pairs, owner_match, crm_user_emails, member_by_email,
                         connecting_member)
    return back.skip is None and back.owner == person_owner


def _email_match(owner: str | None, owner_match: str | None, emails: Mapping[str, str],
                 other_by_email: Mapping[str, str]) -> str | None:
    if owner_match != "email" or owner is None:
        return None
    email = emails.get(owner)
    return other_by_email.get(email.lower()) if email else None
