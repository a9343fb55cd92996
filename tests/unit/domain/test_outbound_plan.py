"""The outbound plan's decisions over plain values: no store, no CRM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from syncledger.domain.outbound_person_plan import (
    AccountFailure,
    AccountLookup,
    AwaitAccount,
    Create,
    HeldRecord,
    NothingToSend,
    OutboundPerson,
    OutboundRules,
    Owners,
    RemovedRecord,
    Skip,
    Target,
    Update,
    plan_outbound,
)
from syncledger.domain.outbound_plan import record_content, update_changes
from syncledger.domain.ports import PeopleSchema
from syncledger.domain.steps import (
    CORE_PEOPLE_MAPPINGS,
    LEAD_PEOPLE_MAPPINGS,
    PIPEDRIVE_PEOPLE_MAPPINGS,
    FieldMapping,
    IntegrationSettings,
    OwnerMapping,
    Step,
)

MAPPINGS = (FieldMapping("Email", "email"), FieldMapping("LastName", "last_name"),
            FieldMapping("Title", "title"))
APP_FIELDS = {"Email": "email", "LastName": "last_name", "Title": "title"}
PERSON = {"email": "ada@example.com", "last_name": "Lovelace", "fields": {"title": "CTO"}}


def test_a_record_carries_the_mapped_fields_and_the_opt_out() -> None:
    # Given a person and a step's mappings, when its record is made
    content = record_content(PERSON, MAPPINGS, {}, True, "HasOptedOutOfEmail", "p-1: Lead")
    # Then it holds each mapped field, and the opt-out as the app has it
    assert content.record == {"Email": "ada@example.com", "LastName": "Lovelace",
                              "Title": "CTO", "HasOptedOutOfEmail": True}
    assert content.notes == [] and content.refusal is None


def test_a_long_field_is_cut_to_the_crm_length_and_noted() -> None:
    content = record_content(PERSON, MAPPINGS, {"LastName": 4}, False, "HasOptedOutOfEmail",
                             "p-1: Lead")
    assert content.record["LastName"] == "Love"
    assert content.notes == ["p-1: Lead.LastName truncated to 4 characters"]


def test_a_long_email_is_never_cut_and_the_record_not_sent() -> None:
    content = record_content(PERSON, MAPPINGS, {"Email": 5}, False, "HasOptedOutOfEmail",
                             "p-1: Lead")
    assert content.refusal == ("Email longer than the CRM's 5 characters (an identity is "
                               "never truncated)")


def test_an_update_sends_only_what_changed() -> None:
    # Given a record whose title alone differs from what the CRM holds
    held = {"Email": "ada@example.com", "LastName": "Lovelace", "Title": "CEO"}
    known = {"Email": "ada@example.com", "LastName": "Lovelace", "Title": "CTO"}
    # When the update is planned
    planned = update_changes(held, known, None, None, "OwnerId", "HasOptedOutOfEmail",
                             APP_FIELDS, set())
    # Then only the title goes
    assert planned.changes == {"Title": "CEO"} and planned.blanked == []


def test_an_empty_value_the_app_never_chose_leaves_the_crm_value() -> None:
    planned = update_changes({"Title": None}, {"Title": "CTO"}, None, None, "OwnerId",
                             "HasOptedOutOfEmail", APP_FIELDS, set())
    assert planned.changes == {}


def test_a_clearing_the_app_recorded_empties_the_crm_field() -> None:
    planned = update_changes({"Title": None}, {"Title": "CTO"}, None, None, "OwnerId",
                             "HasOptedOutOfEmail", APP_FIELDS, {"title"})
    assert planned.changes == {"Title": None} and planned.blanked == ["Title"]


def test_an_opt_out_in_the_crm_is_never_undone() -> None:
    planned = update_changes({"HasOptedOutOfEmail": False}, {"HasOptedOutOfEmail": True},
                             None, None, "OwnerId", "HasOptedOutOfEmail", APP_FIELDS, set())
    assert planned.changes == {}


def test_the_owner_goes_only_when_it_differs() -> None:
    same = update_changes({}, {}, "005A", "005A", "OwnerId", "HasOptedOutOfEmail",
                          APP_FIELDS, set())
    other = update_changes({}, {}, "005B", "005A", "OwnerId", "HasOptedOutOfEmail",
                           APP_FIELDS, set())
    none = update_changes({}, {}, None, "005A", "OwnerId", "HasOptedOutOfEmail",
                          APP_FIELDS, set())
    assert same.changes == {} and other.changes == {"OwnerId": "005B"} and none.changes == {}


# -- plan_outbound: what one due person's write is ----------------------------------------
ORG = "00D000000000001"
UUID_HEX = "0123456789abcdef0123456789abcdef"
# Pinned: a change to how a write's key is made would create a second record for every
# person whose create is pending.
LEAD_KEY = "1cd9a4270ef755a383fe8958cae2e68c"
LEAD_KEY_AFTER_00Q9 = "2f9e3a4245485d9ab71eac70f3ef2bd4"
CONTACT_KEY = "cfea4b66a0925f738cd16bb75cc2eb38"
SALESFORCE = PeopleSchema(streams=("Contact", "Lead"), owner_field="OwnerId",
                          opt_out_field="HasOptedOutOfEmail", email_field="Email",
                          required={"Lead": ("LastName", "Company"), "Contact": ("LastName",)},
                          kinds={"Lead": "leads", "Contact": "contacts"})
CONTACTS = Step("People to Contacts", "app.people", "salesforce.contacts",
                field_mappings=(*CORE_PEOPLE_MAPPINGS, FieldMapping("Account.Name", "account")))
LEADS = Step("People to Leads", "app.people", "salesforce.leads",
             field_mappings=LEAD_PEOPLE_MAPPINGS)
# Ada's team member u-ada is paired with two CRM users; u-bob with one.
PAIRS = (OwnerMapping("005A", "u-ada"), OwnerMapping("005B", "u-ada"),
         OwnerMapping("005C", "u-bob"))
RULES = OutboundRules(steps={"Contact": CONTACTS, "Lead": LEADS},
                      settings=IntegrationSettings(owner_mappings=PAIRS), people=SALESFORCE,
                      owners=Owners({"u-ada": "ada@team.example"}, {},
                                    {"ada@team.example": "u-ada"}, {}, "u-ada"), org=ORG,
                      lengths=lambda stream: {}, as_held=lambda stream, fields: dict(fields))
ADA = OutboundPerson(app_id="p-1", uuid_hex=UUID_HEX,
                     values={"email": "ada@example.com", "first_name": "Ada",
                             "last_name": "Lovelace", "account": "Analytical Engines",
                             "fields": {}},
                     owner="u-ada")
LEAD_RECORD = {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com",
               "Company": "Analytical Engines", "HasOptedOutOfEmail": False}
HELD_LEAD = HeldRecord(content=dict(LEAD_RECORD), owner="005A")
NEW_LEAD, LEAD_00Q1 = Target("Lead"), Target("Lead", "00Q000000000001")
CONTACT_003 = Target("Contact", "003000000000001")


def never_read(stream: str) -> dict[str, int | None]:
    raise AssertionError(f"the describe of {stream} was read")


def test_a_new_person_is_created_with_its_mapped_owner_under_its_key() -> None:
    # Given a person no record stands for, whose owner is paired
    # When its plan is made
    plan = plan_outbound(ADA, NEW_LEAD, None, None, RULES)
    # Then it creates a Lead under the person's key, with the paired CRM user as owner
    assert plan == Create("Lead", LEAD_KEY, {**LEAD_RECORD, "OwnerId": "005A"},
                          auto_assign=False, reconcile=False, status=False)


def test_a_create_already_pending_under_the_same_key_is_reconciled() -> None:
    # Given a person whose create was requested (and may have landed) under its key
    pending = replace(ADA, pending_key=LEAD_KEY)
    # When it is planned again, then the same create goes, reconciled
    plan = plan_outbound(pending, NEW_LEAD, None, None, RULES)
    assert isinstance(plan, Create) and plan.key == LEAD_KEY and plan.reconcile


def test_a_pending_create_under_another_key_is_a_new_intent() -> None:
    plan = plan_outbound(replace(ADA, pending_key=CONTACT_KEY), NEW_LEAD, None, None, RULES)
    assert isinstance(plan, Create) and not plan.reconcile


def test_with_no_owner_to_send_the_crm_may_assign_one() -> None:
    # Given no ownership mappings and no email match: the CRM decides
    rules = replace(RULES, settings=IntegrationSettings())
    plan = plan_outbound(ADA, NEW_LEAD, None, None, rules)
    assert isinstance(plan, Create) and "OwnerId" not in plan.record and plan.auto_assign


def test_a_record_deleted_in_the_crm_is_never_created_again() -> None:
    # Given a person whose Lead was deleted in the CRM
    gone = replace(ADA, removed=RemovedRecord("Lead", "00Q000000000009"))
    # When it is planned (the handler looked for no target)
    plan = plan_outbound(gone, Target(None), None, None, RULES)
    # Then it is skipped, naming the deleted record, and leaves the due set
    assert plan == Skip("Lead", "leads", "deleted in CRM", "00Q000000000009")


def test_a_record_merged_away_says_into_which() -> None:
    merged = replace(ADA, removed=RemovedRecord("Lead", "00Q000000000009", "00Q000000000002"))
    plan = plan_outbound(merged, Target(None), None, None, RULES)
    assert plan == Skip("Lead", "leads", "merged into 00Q000000000002", "00Q000000000009")


def test_a_deleted_record_the_filter_leaves_out_is_not_even_skipped() -> None:
    gone = replace(ADA, removed=RemovedRecord("Lead", "00Q000000000009"),
                   filtered_out=frozenset({"Lead"}))
    assert plan_outbound(gone, Target(None), None, None, RULES) == NothingToSend()


def test_recreate_makes_the_deleted_stream_again_under_a_key_of_its_own() -> None:
    # Given a deleted Lead and `--recreate`, with no record found for the person
    gone = replace(ADA, removed=RemovedRecord("Lead", "00Q000000000009"))
    rules = replace(RULES, recreate=True, steps={"Lead": LEADS, "Contact": CONTACTS})
    # When planned with the new person's default target (a Contact here)
    plan = plan_outbound(gone, Target("Contact"), None, None, rules)
    # Then a new Lead is created, never under the deleted one's key
    assert isinstance(plan, Create) and plan.stream == "Lead"
    assert plan.key == LEAD_KEY_AFTER_00Q9


def test_a_person_the_filter_leaves_out_gets_nothing() -> None:
    left_out = replace(ADA, filtered_out=frozenset({"Lead"}))
    assert plan_outbound(left_out, NEW_LEAD, None, None, RULES) == NothingToSend()


def test_a_person_linked_to_a_stream_no_step_writes_gets_nothing() -> None:
    assert plan_outbound(ADA, Target(None), None, None, RULES) == NothingToSend()


def test_a_converted_lead_is_never_written() -> None:
    converted = replace(HELD_LEAD, converted=True)
    plan = plan_outbound(ADA, LEAD_00Q1, converted, None, replace(RULES, lengths=never_read))
    assert plan == Skip("Lead", "leads", "converted lead", "00Q000000000001")


def test_an_owner_in_no_mapping_is_skipped_before_any_describe_is_read() -> None:
    # Given a person owned by a team member no pair names
    unmapped = replace(ADA, owner="u-carol")
    # When planned (the CRM's field lengths would cost a call)
    plan = plan_outbound(unmapped, NEW_LEAD, None, None, replace(RULES, lengths=never_read))
    # Then it is skipped, and no describe was read for it
    assert plan == Skip("Lead", "leads", "owner not mapped", None)


def test_an_email_longer_than_the_crm_field_is_refused_not_cut() -> None:
    rules = replace(RULES, lengths=lambda stream: {"Email": 5})
    plan = plan_outbound(ADA, LEAD_00Q1, HELD_LEAD, None, rules)
    assert plan == Skip("Lead", "leads", "Email longer than the CRM's 5 characters (an "
                        "identity is never truncated)", "00Q000000000001")


def test_a_long_field_is_cut_and_the_cut_noted_with_the_write() -> None:
    rules = replace(RULES, lengths=lambda stream: {"LastName": 4})
    plan = plan_outbound(ADA, NEW_LEAD, None, None, rules)
    assert isinstance(plan, Create) and plan.record["LastName"] == "Love"
    assert plan.notes == ("p-1: Lead.LastName truncated to 4 characters",)


def test_an_owner_given_by_default_is_never_sent_to_an_existing_record() -> None:
    # Given a person whose owner came from the ownership table's default row, and its Lead
    # owned by a CRM user nobody pairs with that member
    by_default = replace(ADA, owner_by_default=True,
                         values={**ADA.values, "first_name": "Augusta"})
    held = replace(HELD_LEAD, owner="005Z")
    # When its update is planned
    plan = plan_outbound(by_default, LEAD_00Q1, held, None, RULES)
    # Then the names go, the owner does not
    assert isinstance(plan, Update) and plan.changes == {"FirstName": "Augusta"}


def test_an_owner_given_by_default_owns_a_new_record() -> None:
    plan = plan_outbound(replace(ADA, owner_by_default=True), NEW_LEAD, None, None, RULES)
    assert isinstance(plan, Create) and plan.record["OwnerId"] == "005A"


def test_a_record_owner_that_reads_back_as_the_person_owner_is_kept() -> None:
    # Given a Lead owned by 005B, which the pairs read as u-ada, the person's owner
    held = replace(HELD_LEAD, owner="005B")
    changed = replace(ADA, values={**ADA.values, "first_name": "Augusta"})
    # When its update is planned, then it is not reassigned to 005A
    plan = plan_outbound(changed, LEAD_00Q1, held, None, RULES)
    assert isinstance(plan, Update) and "OwnerId" not in plan.changes and plan.auto_assign


def test_a_record_owned_by_another_member_user_is_reassigned() -> None:
    # Given a Lead owned by 005C (u-bob's) while the person is u-ada's
    plan = plan_outbound(ADA, LEAD_00Q1, replace(HELD_LEAD, owner="005C"), None, RULES)
    # Then the update sends the owner alone, and says what the CRM held before
    assert isinstance(plan, Update)
    assert plan.changes == {"OwnerId": "005A"} and not plan.auto_assign
    assert plan.before == {**HELD_LEAD.content, "OwnerId": "005C"}


def test_a_new_record_missing_a_required_field_waits_for_it() -> None:
    # Given a person with no last name, whom no Lead stands for yet
    nameless = replace(ADA, values={**ADA.values, "last_name": None})
    # When planned, then it is skipped and stays due, to be created once named
    plan = plan_outbound(nameless, NEW_LEAD, None, None, RULES)
    assert plan == Skip("Lead", "leads", "missing required field LastName", None,
                        stay_due=True)


def test_an_existing_record_is_updated_without_a_required_field() -> None:
    nameless = replace(ADA, values={**ADA.values, "last_name": None, "first_name": "Augusta"})
    plan = plan_outbound(nameless, LEAD_00Q1, HELD_LEAD, None, RULES)
    assert isinstance(plan, Update) and plan.changes == {"FirstName": "Augusta"}


def test_a_composed_required_field_is_given_by_any_of_its_parts() -> None:
    pipedrive = PeopleSchema(streams=("person",), owner_field="owner_id",
                             opt_out_field="marketing_status", required={"person": ("name",)},
                             composed={"name": ("first_name", "last_name")},
                             kinds={"person": "persons"})
    persons = Step("People to Persons", "app.people", "pipedrive.persons",
                   field_mappings=PIPEDRIVE_PEOPLE_MAPPINGS)
    rules = replace(RULES, steps={"person": persons}, people=pipedrive,
                    settings=IntegrationSettings())
    plan = plan_outbound(replace(ADA, values={**ADA.values, "first_name": None}),
                         Target("person"), None, None, rules)
    assert isinstance(plan, Create) and plan.record["last_name"] == "Lovelace"


def test_a_contact_waits_for_its_company_account() -> None:
    # Given a Contact whose company has not been looked up yet this chunk
    account = AccountLookup("Contact", "Analytical Engines")
    # When planned, then it waits for the Account, naming the company
    plan = plan_outbound(ADA, Target("Contact"), None, account, RULES)
    assert plan == AwaitAccount("Analytical Engines")


def test_a_contact_whose_account_could_not_be_made_stays_due() -> None:
    failed = AccountLookup("Contact", "Analytical Engines", AccountFailure("no Account"))
    plan = plan_outbound(ADA, Target("Contact"), None, failed, RULES)
    assert plan == Skip("Contact", "contacts", "no Account", None, stay_due=True)


def test_a_contact_carries_its_resolved_account() -> None:
    found = AccountLookup("Contact", "Analytical Engines", "001000000000001")
    plan = plan_outbound(ADA, Target("Contact"), None, found, RULES)
    assert isinstance(plan, Create) and plan.key == CONTACT_KEY
    assert plan.record["AccountId"] == "001000000000001"


def test_a_contact_whose_account_bears_the_company_already_sends_no_account() -> None:
    # Given a Contact whose Account's name is the person's company already
    held = HeldRecord({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com",
                       "HasOptedOutOfEmail": False, "Account.Name": "Analytical Engines"},
                      "005A")
    # When planned before the company is looked up, then nothing waits and nothing goes
    plan = plan_outbound(ADA, CONTACT_003, held, AccountLookup("Contact", "Analytical Engines"),
                         RULES)
    assert plan == NothingToSend()


def test_a_lead_carries_the_status_a_status_step_would_write() -> None:
    # Given a status step that would move a Lead in "Open" to "Working"
    asked: list[str | None] = []

    def lead_status(current: str | None) -> str | None:
        asked.append(current)
        return "Working"

    held = HeldRecord({**LEAD_RECORD, "Status": "Open"}, "005A")
    # When the Lead's write is planned
    plan = plan_outbound(ADA, LEAD_00Q1, held, None, RULES, lead_status)
    # Then it carries that status, asked of the Lead's own
    assert isinstance(plan, Update) and plan.changes == {"Status": "Working"} and plan.status
    assert asked == ["Open"]


def test_a_new_lead_carries_its_status_and_a_contact_none() -> None:
    lead = plan_outbound(ADA, NEW_LEAD, None, None, RULES, lambda current: "Working")
    contact = plan_outbound(ADA, Target("Contact"), None, None, RULES, lambda current: "Working")
    assert isinstance(lead, Create) and lead.record["Status"] == "Working" and lead.status
    assert isinstance(contact, Create) and "Status" not in contact.record and not contact.status


def test_an_update_with_nothing_changed_sends_nothing_but_its_notes() -> None:
    # Given a Lead that holds what the person has, a field of which the CRM cuts
    rules = replace(RULES, lengths=lambda stream: {"Company": 10})
    held = HeldRecord({**LEAD_RECORD, "Company": "Analytical"}, "005A")
    # When planned, then nothing is sent, and the cut is still noted
    plan = plan_outbound(ADA, LEAD_00Q1, held, None, rules)
    assert plan == NothingToSend(("p-1: Lead.Company truncated to 10 characters",))


def test_a_record_first_known_by_its_email_is_discovered_and_linked() -> None:
    # Given a Lead found by email, with no mirror yet and no link from the person
    plan = plan_outbound(ADA, LEAD_00Q1, None, None, RULES)
    # Then the update sends everything, on the person's key, discovering and linking it
    assert isinstance(plan, Update) and plan.key == LEAD_KEY
    assert plan.changes == {**LEAD_RECORD, "OwnerId": "005A"}
    assert plan.discover and plan.link and plan.before == {"OwnerId": None}


def test_a_linked_record_is_neither_discovered_nor_linked_again() -> None:
    linked = replace(ADA, linked=frozenset({"Lead"}), values={**ADA.values, "first_name": "A"})
    plan = plan_outbound(linked, LEAD_00Q1, HELD_LEAD, None, RULES)
    assert isinstance(plan, Update) and not plan.discover and not plan.link


def test_an_update_blanks_only_a_field_the_app_cleared() -> None:
    cleared = replace(ADA, values={**ADA.values, "first_name": None},
                      cleared=frozenset({"first_name"}))
    plan = plan_outbound(cleared, LEAD_00Q1, HELD_LEAD, None, RULES)
    assert isinstance(plan, Update)
    assert plan.changes == {"FirstName": None} and plan.blanked == ["FirstName"]


def test_an_update_compares_what_the_crm_would_hold() -> None:
    # Given a CRM that holds the company upper-cased, whatever is sent
    def as_held(stream: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v.upper() if k == "Company" else v for k, v in fields.items()}

    held = HeldRecord({**LEAD_RECORD, "Company": "ANALYTICAL ENGINES"}, "005A")
    # Then its echo is no change
    assert plan_outbound(ADA, LEAD_00Q1, held, None, replace(RULES, as_held=as_held)) \
        == NothingToSend()
