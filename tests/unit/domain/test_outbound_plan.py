"""The outbound plan's decisions over plain values: no store, no CRM."""

from __future__ import annotations

from syncledger.domain.outbound_plan import record_content, update_changes
from syncledger.domain.steps import FieldMapping

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
