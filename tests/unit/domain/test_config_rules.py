"""Each configuration rule, accepted and refused, over plain values: given a configuration
and what exists (describe, users, team members, sequences), then its errors and warnings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from syncledger.domain.config_rules import (
    CrmUser,
    Known,
    check_configuration,
    crm_objects,
    referenced_owners,
    related_objects,
    renamed_steps,
)
from syncledger.domain.field_types import (
    CrmField,
    canonical_app_field,
    infer_app_type,
    type_mismatch,
)
from syncledger.domain.steps import (
    CORE_PEOPLE_MAPPINGS,
    DEFAULT_STEPS,
    LEAD_PEOPLE_MAPPINGS,
    Configuration,
    FieldMapping,
    FilterRule,
    IntegrationSettings,
    OwnerMapping,
    SequenceMapping,
    StatusMapping,
    Step,
    StepFilter,
)

ALICE_SF = "0058d0000000001AAA"
BOB_SF = "0058d0000000002AAA"
IDLE_SF = "0058d0000000003AAA"


def text(name: str, length: int = 80, **kw: object) -> CrmField:
    return CrmField(name, "string", name, length, **kw)  # type: ignore[arg-type]


def readonly(name: str, kind: str = "string") -> CrmField:
    return CrmField(name, kind, name, 0, createable=False, updateable=False)


PERSON_FIELDS = [text("FirstName", 40), text("LastName"), CrmField("Email", "email", "Email", 80),
                 text("Title", 128), readonly("Name"), readonly("Id", "id"),
                 CrmField("OwnerId", "reference", "Owner ID", 18, reference_to=("User",),
                          relationship="Owner"),
                 CrmField("Interests__c", "multipicklist", "Interests", 4099),
                 CrmField("Score__c", "double", "Score"),
                 CrmField("Birthdate", "date", "Birthdate"),
                 CrmField("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
                 CrmField("Assistant", "string", "Assistant", 40, createable=True,
                          updateable=False)]
CONTACT = {f.name: f for f in [*PERSON_FIELDS,
                               CrmField("AccountId", "reference", "Account ID", 18,
                                        reference_to=("Account",), relationship="Account"),
                               CrmField("WhoId", "reference", "Who", 18,
                                        reference_to=("Contact", "Lead"), relationship="Who")]}
LEAD = {f.name: f for f in [*PERSON_FIELDS, text("Company", 255),
                            CrmField("Status", "picklist", "Status", 255,
                                     picklist=("Open - Not Contacted", "Working - Contacted",
                                               "Replied"))]}
ACCOUNT = {f.name: f for f in [text("Name", 255), readonly("Id", "id")]}
USER = {f.name: f for f in [CrmField("Email", "email", "Email", 128), readonly("Id", "id")]}

KNOWN = Known(
    objects={"Contact": CONTACT, "Lead": LEAD, "Account": ACCOUNT, "User": USER},
    crm_users={ALICE_SF: CrmUser(ALICE_SF, "Alice"), BOB_SF: CrmUser(BOB_SF, "Bob"),
               IDLE_SF: CrmUser(IDLE_SF, "Ina", active=False)},
    team_members=frozenset({"tm-alice", "tm-bob"}),
    sequences={"seq-q4": (1, 2)}, saved_filters=frozenset({"Enterprise"}),
    lists=frozenset({"l-webinar", "Q4 webinar"}),
    app_fields={"title": "text", "score": "number", "birthday": "date"})

CONTACTS_IN = Step("Contacts in", "salesforce.contacts", "app.people",
                   field_mappings=CORE_PEOPLE_MAPPINGS)
CONTACTS_OUT = Step("Contacts out", "app.people", "salesforce.contacts",
                    field_mappings=CORE_PEOPLE_MAPPINGS)
LEADS_IN = Step("Leads in", "salesforce.leads", "app.people",
                field_mappings=LEAD_PEOPLE_MAPPINGS)
LEADS_OUT = Step("Leads out", "app.people", "salesforce.leads",
                 field_mappings=LEAD_PEOPLE_MAPPINGS)


def custom(*steps: Step, **settings: object) -> Configuration:
    return Configuration("salesforce", "custom", IntegrationSettings(**settings),  # type: ignore[arg-type]
                         tuple(steps))


def errors(config: Configuration, known: Known = KNOWN) -> list[str]:
    return [str(p) for p in check_configuration(config, known).errors]


def refused(config: Configuration, *fragments: str) -> str:
    found = errors(config)
    assert found, "expected the configuration to be refused"
    assert len(found) == 1, found
    for fragment in fragments:
        assert fragment in found[0], found[0]
    return found[0]


def mapped(step: Step, *extra: FieldMapping) -> Step:
    return replace(step, field_mappings=(*step.field_mappings, *extra))


# -- the starting points are accepted ----------------------------------------------------
def test_the_default_steps_as_a_custom_configuration_pass() -> None:
    config = custom(*DEFAULT_STEPS["salesforce"])
    review = check_configuration(config, KNOWN)
    assert review.errors == ()
    assert len(review.warnings) == 1


def test_the_default_profile_with_steps_switched_off_passes() -> None:
    steps = tuple(replace(s, enabled=i % 2 == 0)
                  for i, s in enumerate(DEFAULT_STEPS["salesforce"]))
    config = Configuration("salesforce", "default", IntegrationSettings(), steps)
    assert errors(config, Known()) == []


# -- the Default profile cannot be changed --------------------------------------------------
@pytest.mark.parametrize(("change", "fragment"), [
    (lambda s: (*s, replace(s[0], name="Clone")), "cannot be added to or cloned"),
    (lambda s: s[1:], "cannot be removed"),
    (lambda s: (replace(s[0], field_mappings=s[0].field_mappings[:2]), *s[1:]),
     "field mappings cannot be changed"),
    (lambda s: (replace(s[0], filter=StepFilter(rules=(FilterRule("Email", "is_empty"),))),
                *s[1:]), "filtering rules cannot be changed"),
    (lambda s: (replace(s[0], source="app.people", target="salesforce.contacts"), *s[1:]),
     "direction cannot be changed"),
])
def test_any_change_under_the_default_profile_says_to_switch_to_custom(change, fragment
                                                                       ) -> None:  # type: ignore[no-untyped-def]
    steps = change(DEFAULT_STEPS["salesforce"])
    config = Configuration("salesforce", "default", IntegrationSettings(), tuple(steps))
    message = refused(config, fragment, "switch to the Custom profile")
    assert "step '" in message


def test_the_default_profile_has_no_owner_pairs() -> None:
    config = Configuration("salesforce", "default",
                           IntegrationSettings(owner_mappings=(OwnerMapping(ALICE_SF,
                                                                            "tm-alice"),)),
                           DEFAULT_STEPS["salesforce"])
    refused(config, "[integration], owner_mappings", "Custom profile")


# -- names and kinds ------------------------------------------------------------------------
def test_step_names_are_unique() -> None:
    refused(custom(CONTACTS_IN, replace(LEADS_IN, name="contacts IN")), "'contacts IN'",
            "names are unique")


def test_a_renamed_step_is_a_warning_that_it_starts_afresh() -> None:
    renamed = replace(CONTACTS_IN, name="Contacts in, Q4")
    review = check_configuration(custom(renamed), KNOWN, previous=[CONTACTS_IN])
    assert review.errors == ()
    assert any("'Contacts in' was renamed 'Contacts in, Q4'" in w and "afresh" in w
               for w in review.warnings)
    assert renamed_steps([CONTACTS_IN], [CONTACTS_IN]) == []


@pytest.mark.parametrize(("source", "target", "fragment"), [
    ("salesforce.opportunities", "app.people", "from: 'salesforce.opportunities' is not"),
    ("app.emails", "salesforce.leads", "to: app.emails cannot flow to 'salesforce.leads'"),
    ("pipedrive.persons", "app.people", "not a source of salesforce steps"),
])
def test_step_kinds_and_directions_are_checked(source: str, target: str,
                                                fragment: str) -> None:
    refused(custom(Step("Odd", source, target)), "step 'Odd'", fragment)


def test_every_designed_kind_and_both_directions_of_people_pass() -> None:
    steps = [Step("Emails", "app.emails", "salesforce.contact_tasks", include_contents=True),
             Step("Notes", "app.notes", "salesforce.lead_notes"),
             Step("Statuses", "app.inbox_categories", "salesforce.lead_statuses"),
             CONTACTS_IN, CONTACTS_OUT]
    assert errors(custom(*steps)) == []


# -- required mappings ----------------------------------------------------------------------
def test_contacts_steps_require_first_last_name_and_email() -> None:
    step = replace(CONTACTS_OUT, field_mappings=CORE_PEOPLE_MAPPINGS[:2])
    refused(custom(step), "step 'Contacts out', field_mappings",
            "required mappings missing: Email → email")


def test_leads_steps_also_require_company_to_account() -> None:
    step = replace(LEADS_IN, field_mappings=CORE_PEOPLE_MAPPINGS)
    refused(custom(step), "step 'Leads in'", "Company → account")
    assert errors(custom(LEADS_IN)) == []


# -- CRM fields against describe -----------------------------------------------------------
def test_an_unknown_crm_field_is_named_with_a_suggestion() -> None:
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Titel", "title"))),
            "step 'Contacts in', field_mappings[3].crm", "unknown field Titel on Contact",
            "did you mean Title?")


def test_a_read_only_field_is_refused_outbound_and_accepted_inbound() -> None:
    mapping = FieldMapping("Name", "full_name")
    refused(custom(mapped(CONTACTS_OUT, mapping)), "field_mappings[3].crm", "read-only")
    assert errors(custom(mapped(CONTACTS_IN, mapping))) == []


def test_a_field_writable_on_create_only_is_a_warning() -> None:
    review = check_configuration(custom(mapped(CONTACTS_OUT, FieldMapping("Assistant",
                                                                          "assistant"))),
                                 KNOWN)
    assert review.errors == ()
    assert any("Contact.Assistant can be written on create only" in w
               for w in review.warnings)


def test_multi_select_picklists_are_refused_both_ways() -> None:
    for step in (CONTACTS_IN, CONTACTS_OUT):
        refused(custom(mapped(step, FieldMapping("Interests__c", "interests"))),
                "Interests__c is a multi-select picklist")


@pytest.mark.parametrize(("crm", "app", "inbound", "ok"), [
    ("Score__c", "score", True, True),
    ("Score__c", "title", True, True),       # any value reads into text
    ("Title", "score", True, False),         # text does not read into a number
    ("Title", "score", False, True),         # a number writes into text
    ("Score__c", "title", False, False),     # text does not write into a number
    ("Birthdate", "birthday", False, True),
    ("Birthdate", "title", False, False),
    ("Title", "email", False, True),         # the app's email may go to a second field
    ("HasOptedOutOfEmail", "title", False, False),
    ("AccountId", "account", False, False),  # a lookup takes an id
    ("OwnerId", "newfield", True, True),     # an unseen custom field takes anything inbound
    ("OwnerId", "newfield", False, False),
])
def test_types_must_match_in_the_step_direction(crm: str, app: str, inbound: bool,
                                                 ok: bool) -> None:
    step = mapped(CONTACTS_IN if inbound else CONTACTS_OUT, FieldMapping(crm, app))
    found = errors(custom(step))
    if ok:
        assert found == []
    else:
        assert len(found) == 1 and "type mismatch" in found[0], found


def test_only_an_email_or_text_field_reads_into_the_app_email() -> None:
    assert type_mismatch("email", CONTACT["Email"], inbound=True) is None
    assert type_mismatch("email", CONTACT["Title"], inbound=True) is None
    assert type_mismatch("email", CONTACT["Score__c"], inbound=True) == ""
    assert type_mismatch("text", CONTACT["AccountId"], inbound=False) is not None


def test_account_name_maps_on_contacts_both_ways_but_no_other_related_field_goes_out() -> None:
    account = FieldMapping("Account.Name", "fields.company")
    assert errors(custom(mapped(CONTACTS_IN, account), mapped(CONTACTS_OUT, account))) == []
    refused(custom(mapped(CONTACTS_OUT, FieldMapping("Owner.Email", "fields.owner_email"))),
            "a field of a related record")
    assert errors(custom(mapped(CONTACTS_IN, FieldMapping("Owner.Email", "owner_email")))) \
        == []
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Who.Name", "who"))),
            "may point at Contact, Lead")
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Boss.Name", "boss"))),
            "Contact has no relationship 'Boss'")


def test_related_objects_follow_one_relationship() -> None:
    config = custom(mapped(CONTACTS_IN, FieldMapping("Account.Name", "company")))
    assert crm_objects(config) == {"Contact"}
    assert related_objects(config, {"Contact": CONTACT}) == {"Account"}


def test_a_mapping_twice_and_the_owner_field_are_refused() -> None:
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Title", "first_name"))),
            "field_mappings[3].app", "first_name is mapped twice")
    refused(custom(mapped(CONTACTS_OUT, FieldMapping("FirstName", "fields.nickname"))),
            "field_mappings[3].crm", "FirstName is mapped twice")
    assert errors(custom(mapped(CONTACTS_IN, FieldMapping("FirstName", "nickname")))) == []
    refused(custom(mapped(CONTACTS_IN, FieldMapping("OwnerId", "owner"))),
            "field_mappings[3].app", "set by ownership mappings")
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Title", "fields.email"))),
            "cannot be named like the person's own email")


def test_field_mappings_belong_to_people_steps() -> None:
    step = Step("Emails", "app.emails", "salesforce.lead_tasks",
                field_mappings=(FieldMapping("Subject", "subject"),))
    refused(custom(step), "step 'Emails', field_mappings", "people steps")


def test_conflict_policies_are_crm_app_or_latest() -> None:
    refused(custom(mapped(CONTACTS_IN, FieldMapping("Title", "title", "newest"))),
            "field_mappings[3].conflict", "'newest' is not one of crm, app, latest")
    assert errors(custom(mapped(CONTACTS_IN, FieldMapping("Title", "title", "latest")))) == []
    refused(custom(CONTACTS_IN, conflict="sometimes"), "[integration], conflict")


def test_custom_app_fields_may_be_written_with_or_without_their_prefix() -> None:
    assert canonical_app_field("fields.title") == "title"
    assert canonical_app_field("title") == "title"
    assert canonical_app_field("fields.email") == "fields.email"  # refused by the checks


# -- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(("setting", "value"), [
    ("every", "often"), ("every", "0h"), ("overlap", "5 minutes"), ("api_budget", 0.0),
    ("api_budget", 1.5), ("owner_match", "name")])
def test_integration_settings_are_checked(setting: str, value: object) -> None:
    refused(custom(CONTACTS_IN, **{setting: value}), f"[integration], {setting}")


# -- filters --------------------------------------------------------------------------------
def test_inbound_rules_name_crm_fields_and_known_operators() -> None:
    ok = StepFilter(rules=(FilterRule("Email", "ends_with", "@acme.com"),
                           FilterRule("Title", "in", ("CEO", "CTO")),
                           FilterRule("Owner.Email", "eq", "alice@team.example")))
    assert errors(custom(replace(CONTACTS_IN, filter=ok))) == []
    refused(custom(replace(CONTACTS_IN, filter=StepFilter(rules=(FilterRule("Emial", "eq",
                                                                             "x"),)))),
            "filter.rules[0].field", "unknown field Emial")
    refused(custom(replace(CONTACTS_IN, filter=StepFilter(rules=(FilterRule("Email", "like",
                                                                             "x"),)))),
            "filter.rules[0].op")
    refused(custom(replace(CONTACTS_IN, filter=StepFilter(rules=(FilterRule("Email", "in",
                                                                             "x"),)))),
            "takes a list of values")


def test_outbound_filters_are_saved_filters_or_lists() -> None:
    for ok in (StepFilter(saved="Replied"), StepFilter(saved="Opted out"),
               StepFilter(saved="Enterprise"), StepFilter(list="l-webinar"),
               StepFilter(list="Q4 webinar")):
        emails = Step("Emails", "app.emails", "salesforce.contact_tasks", filter=ok)
        assert errors(custom(replace(CONTACTS_OUT, filter=ok), emails)) == []
    refused(custom(replace(CONTACTS_OUT, filter=StepFilter(saved="Smiled"))), "filter.saved",
            "no saved filter 'Smiled'")
    refused(custom(replace(CONTACTS_OUT, filter=StepFilter(saved="opted out"))),
            "did you mean 'Opted out'?")
    refused(custom(replace(CONTACTS_OUT, filter=StepFilter(list="l-nope"))), "filter.list")
    refused(custom(replace(CONTACTS_OUT, filter=StepFilter(rules=(FilterRule("Email",
                                                                             "is_empty"),)))),
            "filter.rules", "inbound steps")
    refused(custom(replace(CONTACTS_IN, filter=StepFilter(saved="Replied"))), "filter",
            "outbound steps")


def test_an_owner_filter_with_ownership_mappings_is_contradictory() -> None:
    pairs = (OwnerMapping(ALICE_SF, "tm-alice"),)
    owner_filter = StepFilter(rules=(FilterRule("OwnerId", "eq", ALICE_SF),))
    refused(custom(replace(CONTACTS_IN, filter=owner_filter, owner_mappings=pairs)),
            "step 'Contacts in', filter.rules[0].field", "contradicts")
    # the integration's pairs apply to the step too
    refused(custom(replace(CONTACTS_IN, filter=owner_filter), owner_mappings=pairs),
            "contradicts")
    assert errors(custom(replace(CONTACTS_IN, filter=owner_filter))) == []


# -- ownership ------------------------------------------------------------------------------
def test_a_source_owner_maps_once_and_a_target_owner_may_repeat() -> None:
    inbound = replace(CONTACTS_IN, owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),
                                                   OwnerMapping(BOB_SF, "tm-alice")))
    outbound = replace(CONTACTS_OUT, owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),
                                                     OwnerMapping(ALICE_SF, "tm-bob")))
    assert errors(custom(inbound, outbound)) == []
    refused(custom(replace(inbound, owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),
                                                    OwnerMapping(ALICE_SF, "tm-bob")))),
            "step 'Contacts in', owner_mappings[1].crm", f"CRM user {ALICE_SF} is mapped twice")
    refused(custom(replace(outbound, owner_mappings=inbound.owner_mappings)),
            "step 'Contacts out', owner_mappings[1].app", "team member tm-alice is mapped twice")


def test_the_integration_list_is_read_in_each_step_direction_naming_the_step() -> None:
    pairs = (OwnerMapping(ALICE_SF, "tm-alice"), OwnerMapping(BOB_SF, "tm-alice"))
    message = refused(custom(CONTACTS_IN, CONTACTS_OUT, owner_mappings=pairs),
                      "step 'Contacts out'", "(of [integration])", "mapped twice")
    assert "Contacts in" not in message
    # a step's own list replaces it
    own = replace(CONTACTS_OUT, owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),))
    assert errors(custom(CONTACTS_IN, own, owner_mappings=pairs)) == []


def test_owners_must_exist_and_an_inactive_user_is_a_warning() -> None:
    refused(custom(replace(CONTACTS_IN, owner_mappings=(OwnerMapping("005000000000999AAA",
                                                                     "tm-alice"),))),
            "owner_mappings[0].crm", "no CRM user 005000000000999AAA")
    refused(custom(replace(CONTACTS_IN, owner_mappings=(OwnerMapping(ALICE_SF, "tm-zed"),))),
            "owner_mappings[0].app", "no team member tm-zed")
    refused(custom(CONTACTS_IN, owner_mappings=(OwnerMapping(ALICE_SF, "tm-zed"),)),
            "[integration], owner_mappings[0].app")
    short = replace(CONTACTS_IN, owner_mappings=(OwnerMapping(ALICE_SF[:15], "tm-alice"),))
    assert errors(custom(short)) == []  # Salesforce's 15-character ids too
    review = check_configuration(custom(CONTACTS_IN, owner_mappings=(OwnerMapping(
        IDLE_SF, "tm-alice"),)), KNOWN)
    assert review.errors == () and any("inactive" in w for w in review.warnings)


def test_ownership_mappings_belong_to_people_steps() -> None:
    step = Step("Emails", "app.emails", "salesforce.lead_tasks",
                owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),))
    refused(custom(step), "step 'Emails', owner_mappings", "people steps")


def test_referenced_owners_are_what_the_handler_looks_up() -> None:
    config = custom(replace(CONTACTS_IN, owner_mappings=(OwnerMapping(ALICE_SF, "tm-alice"),),
                            sequence_mappings=(SequenceMapping("tm-bob", "seq-q4"),)))
    assert referenced_owners(config) == ({ALICE_SF}, {"tm-alice", "tm-bob"})


# -- people to sequence ---------------------------------------------------------------------
def test_sequence_mappings_only_on_inbound_people_steps() -> None:
    routed = (SequenceMapping("tm-alice", "seq-q4", 2, ignore_step_delay=True),)
    assert errors(custom(replace(CONTACTS_IN, sequence_mappings=routed))) == []
    refused(custom(replace(CONTACTS_OUT, sequence_mappings=routed)),
            "step 'Contacts out', sequence_mappings", "inbound people step")


def test_one_sequence_per_team_member_per_step() -> None:
    twice = (SequenceMapping("tm-alice", "seq-q4"), SequenceMapping("tm-alice", "seq-q4", 2))
    refused(custom(replace(CONTACTS_IN, sequence_mappings=twice)),
            "sequence_mappings[1].owner", "two sequences")
    everyone_and_one = (SequenceMapping("*", "seq-q4"), SequenceMapping("tm-bob", "seq-q4"))
    refused(custom(replace(CONTACTS_IN, sequence_mappings=everyone_and_one)), "two sequences")


def test_with_pairs_the_sequence_owner_must_be_paired_without_any_member_or_everyone() -> None:
    pairs = (OwnerMapping(ALICE_SF, "tm-alice"),)
    refused(custom(replace(CONTACTS_IN, owner_mappings=pairs,
                           sequence_mappings=(SequenceMapping("tm-bob", "seq-q4"),))),
            "sequence_mappings[0].owner", "not among this step's ownership mappings")
    refused(custom(replace(CONTACTS_IN, owner_mappings=pairs,
                           sequence_mappings=(SequenceMapping("*", "seq-q4"),))),
            "\"*\" (everyone)")
    assert errors(custom(replace(CONTACTS_IN, owner_mappings=pairs,
                                 sequence_mappings=(SequenceMapping("tm-alice",
                                                                    "seq-q4"),)))) == []
    assert errors(custom(replace(CONTACTS_IN, sequence_mappings=(SequenceMapping("*",
                                                                                 "seq-q4"),)))
                  ) == []
    assert errors(custom(replace(CONTACTS_IN, sequence_mappings=(SequenceMapping("tm-bob",
                                                                                 "seq-q4"),)))
                  ) == []
    refused(custom(replace(CONTACTS_IN, sequence_mappings=(SequenceMapping("tm-zed",
                                                                           "seq-q4"),))),
            "no team member tm-zed")


def test_the_sequence_and_its_step_must_exist() -> None:
    refused(custom(replace(CONTACTS_IN, sequence_mappings=(SequenceMapping("tm-alice",
                                                                           "seq-x"),))),
            "sequence_mappings[0].sequence", "no sequence seq-x")
    refused(custom(replace(CONTACTS_IN, sequence_mappings=(SequenceMapping("tm-alice",
                                                                           "seq-q4", 3),))),
            "sequence_mappings[0].step", "has no step 3 (its steps: 1, 2)")


# -- statuses and contents ------------------------------------------------------------------
def test_status_mappings_name_the_orgs_lead_statuses() -> None:
    ok = Step("Statuses", "app.person_statuses", "salesforce.lead_statuses",
              status_mappings=(StatusMapping("Replied", "Working - Contacted"),))
    assert errors(custom(ok)) == []
    refused(custom(replace(ok, status_mappings=(StatusMapping("Replied", "Hot"),))),
            "status_mappings[0].crm", "'Hot' is not a Lead Status")
    refused(custom(replace(CONTACTS_IN, status_mappings=ok.status_mappings)),
            "status_mappings", "status steps")


def test_message_contents_belong_to_activity_steps() -> None:
    refused(custom(replace(CONTACTS_IN, include_contents=True)), "include_contents")


# -- warnings -------------------------------------------------------------------------------
def test_people_to_contacts_and_to_leads_both_on_is_a_warning_saying_what_happens() -> None:
    review = check_configuration(custom(CONTACTS_OUT, LEADS_OUT), KNOWN)
    assert review.errors == ()
    assert len(review.warnings) == 1
    assert "a new person becomes a Lead" in review.warnings[0]
    off = replace(LEADS_OUT, enabled=False)
    assert check_configuration(custom(CONTACTS_OUT, off), KNOWN).warnings == ()


# -- app field types ------------------------------------------------------------------------
def test_custom_field_types_come_from_the_values_people_hold() -> None:
    assert infer_app_type(["CTO", None]) == "text"
    assert infer_app_type([3, 4.5]) == "number"
    assert infer_app_type([True]) == "boolean"
    assert infer_app_type(["2026-01-01"]) == "date"
    assert infer_app_type(["2026-01-01", "2026-01-01T10:00:00Z"]) == "datetime"
    assert infer_app_type(["x", 3]) == "text"
    assert infer_app_type([]) == "any"
