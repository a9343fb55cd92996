"""The sObjects' streams: where each holds our key (what the connect checks look for, what a
Note's Title ends with), and what a pull of each reads and how it is ordered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncledger.adapters.crm_connections import SALESFORCE_KEYED_OBJECTS
from syncledger.adapters.salesforce import soql, streams
from syncledger.adapters.salesforce.streams import KEY_FIELD, LEAD, NOTE, STREAMS
from syncledger.domain.activity_mapping import note_fields

KEY = "0123456789abcdef0123456789abcdef"


def test_the_objects_that_upsert_on_the_key_field_are_those_the_connect_checks_describe(
        ) -> None:
    upserting = {s.name for s in STREAMS.values() if s.upserts}
    assert upserting == set(SALESFORCE_KEYED_OBJECTS)
    assert all(STREAMS[name].key_field == KEY_FIELD for name in upserting)


@pytest.mark.parametrize("text", ["", "A call went well", "x" * 200, "two\nlines [not it]"])
def test_a_note_s_key_is_read_back_from_the_title_it_was_written_with(text: str) -> None:
    fields = note_fields({"text": text}, "003000000000001", KEY, include_contents=False)
    assert NOTE.key_of(fields) == KEY
    assert fields["Title"].endswith(NOTE.key_pattern(KEY).removeprefix("%"))


@pytest.mark.parametrize("title", ["", "no key", "open [", "[] ", None])
def test_a_title_without_a_key_holds_none(title: str | None) -> None:
    assert NOTE.key_of({"Title": title}) == ""


def test_a_keyed_record_holds_its_key_in_the_key_field() -> None:
    assert streams.named("Task").key_of({KEY_FIELD: KEY, "Title": f"x [{KEY[::-1]}]"}) == KEY
    assert streams.named("Task").key_of({}) == ""


def test_only_a_lead_is_pulled_with_its_status_and_conversion() -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert soql.changed_since("Lead", soql.pulled_fields("Lead", ["Email"]), since) == (
        "SELECT Id, SystemModstamp, CreatedDate, OwnerId, HasOptedOutOfEmail, Email, Status, "
        "IsConverted, ConvertedContactId, ConvertedAccountId FROM Lead WHERE SystemModstamp "
        ">= 2026-01-02T03:04:05Z ORDER BY SystemModstamp, Id")
    assert soql.pulled_fields("Contact", ["Email"])[-1] == "Email"
    assert LEAD.picklist_object("Status") == "LeadStatus"
    assert streams.named("Contact").picklist_object("Status") is None


def test_a_made_up_id_carries_its_object_s_prefix() -> None:
    assert streams.made_up_id("Lead", "DRYRUN", 7) == "00QDRYRUN000000007"
    assert streams.made_up_id("Opportunity", "REPLAY", 7) == "000REPLAY000000007"
    with pytest.raises(ValueError, match="Opportunity"):
        streams.named("Opportunity")
