"""The activity plan's decisions over plain values: no store, no CRM."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from syncledger.domain.activity_plan import (
    FILTERED_OUT,
    NOT_LINKED,
    ActivityFacts,
    ActivityRules,
    NothingToDo,
    PersonFacts,
    Skip,
    TaskMirror,
    Write,
    plan_activity,
    task_lookup,
    task_natural_key,
    updatable,
)
from syncledger.domain.content import content_hash, normalise
from syncledger.domain.message_bodies import body_digest, marker
from syncledger.domain.ownership import OWNER_NOT_MAPPED
from syncledger.domain.steps import IntegrationSettings, OwnerMapping, Step

LEAD_TASKS = Step("Lead emails", "app.emails", "salesforce.lead_tasks")
CONTACT_TASKS = Step("Contact emails", "app.emails", "salesforce.contact_tasks")
NOTES = Step("Lead notes", "app.notes", "salesforce.lead_notes", include_contents=True)
MAPPED = (OwnerMapping("005A", "m-1"),)
RULES = ActivityRules(
    crm="salesforce", streams=("Contact", "Lead"),
    steps={"email": {"Lead": [LEAD_TASKS], "Contact": [CONTACT_TASKS]},
           "note": {"Lead": [NOTES]}},
    settings=IntegrationSettings(owner_mappings=MAPPED), owner_field="OwnerId")
EVERY_STEP = frozenset({LEAD_TASKS.name, CONTACT_TASKS.name, NOTES.name})
AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
EMAIL = ActivityFacts("email", "e-1", {"subject": "Hello", "body": "Hi Ada"}, AT, "m-1")
NOTE = ActivityFacts("note", "n-1", {"text": "Met at the fair\nmore"}, AT, "m-1")
LEAD = {"salesforce:Lead": {"id": "00Q1", "deleted": False}}
PERSON = PersonFacts(LEAD, "m-1")
NEW = TaskMirror("k-1")


def _write(plan: object) -> Write:
    assert isinstance(plan, Write), plan
    return plan


def test_an_email_becomes_a_task_created_on_the_persons_lead() -> None:
    # Given a person linked to a Lead, and no Task written yet
    # When an email of theirs is planned
    write = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP, NEW))
    # Then the Lead step creates its Task, by the Task's key, owned as the mapping says
    assert (write.step, write.stream, write.action, write.key, write.who) == (
        LEAD_TASKS, "Task", "create", "k-1", "00Q1")
    assert write.fields == {"WhoId": "00Q1", "Subject": "Hello", "ActivityDate": "2024-03-01",
                            "Status": "Completed", "TaskSubtype": "Email", "Type": "Email",
                            "OwnerId": "005A"}
    assert write.content == write.fields
    assert write.held_fields == {} and write.notes == ()
    assert not write.auto_assign and not write.unsure and write.crm_id is None


def test_a_note_becomes_a_note_whose_title_ends_with_its_key() -> None:
    write = _write(plan_activity(RULES, NOTE, PERSON, EVERY_STEP, NEW))
    assert (write.stream, write.action, write.step) == ("Note", "create", NOTES)
    assert write.fields == {"ParentId": "00Q1", "Title": "Met at the fair [k-1]",
                            "Body": "Met at the fair\nmore", "OwnerId": "005A"}


def test_a_kind_no_step_carries_is_nothing_to_do() -> None:
    call = replace(EMAIL, kind="call")
    assert plan_activity(RULES, call, PERSON, EVERY_STEP, NEW) == NothingToDo()


def test_a_forgotten_or_deleted_persons_activity_never_goes_and_its_bodies_are_released(
        ) -> None:
    for gone in (replace(PERSON, forgotten=True), replace(PERSON, deleted=True)):
        assert plan_activity(RULES, EMAIL, gone, EVERY_STEP, NEW) == NothingToDo(
            release_held=True)


def test_an_activity_of_a_person_not_linked_yet_waits() -> None:
    # Given a person whose only link is deleted, or to an object no step writes to
    deleted = PersonFacts({"salesforce:Lead": {"id": "00Q1", "deleted": True}}, "m-1")
    elsewhere = PersonFacts({"salesforce:Contact": {"id": "0031", "deleted": False}}, "m-1")
    for person in (PersonFacts({}, "m-1"), deleted):
        # Then the activity is skipped against the kind's first step, and stays due
        assert plan_activity(RULES, EMAIL, person, EVERY_STEP, NEW) == Skip(
            NOT_LINKED, LEAD_TASKS, waits=True)
    assert plan_activity(RULES, NOTE, elsewhere, EVERY_STEP, NEW) == Skip(
        NOT_LINKED, NOTES, waits=True)


def test_a_contact_is_preferred_to_a_lead_in_the_order_of_the_streams() -> None:
    both = PersonFacts({**LEAD, "salesforce:Contact": {"id": "0031", "deleted": False}},
                       "m-1")
    write = _write(plan_activity(RULES, EMAIL, both, EVERY_STEP, NEW))
    assert (write.step, write.who, write.fields["WhoId"]) == (CONTACT_TASKS, "0031", "0031")


def test_an_activity_no_step_selects_is_skipped_against_the_first_step() -> None:
    assert plan_activity(RULES, EMAIL, PERSON, frozenset(), NEW) == Skip(
        FILTERED_OUT, LEAD_TASKS)


def test_the_first_step_that_selects_the_activity_writes_it() -> None:
    # Given two steps to Lead Tasks, the clone's filter alone selecting the person
    clone = Step("Lead emails (clone)", "app.emails", "salesforce.lead_tasks",
                 include_contents=True)
    rules = replace(RULES, steps={"email": {"Lead": [LEAD_TASKS, clone]}})
    # When the email is planned, Then the clone writes it
    write = _write(plan_activity(rules, EMAIL, PERSON, {clone.name}, NEW))
    assert write.step == clone and write.fields["Description"] == "Hi Ada"
    # And with both selecting, the first in configuration order does
    both = _write(plan_activity(rules, EMAIL, PERSON, {clone.name, LEAD_TASKS.name}, NEW))
    assert both.step == LEAD_TASKS and "Description" not in both.fields


def test_an_owner_no_mapping_pairs_names_the_skip_unless_a_later_step_takes_it() -> None:
    # Given a step whose own mappings pair no one with the activity's owner
    strict = replace(LEAD_TASKS, owner_mappings=(OwnerMapping("005B", "m-2"),))
    lenient = Step("Lead emails (clone)", "app.emails", "salesforce.lead_tasks")
    alone = replace(RULES, steps={"email": {"Lead": [strict]}})
    # Then the owner's refusal names the skip
    assert plan_activity(alone, EMAIL, PERSON, EVERY_STEP, NEW) == Skip(
        OWNER_NOT_MAPPED, strict)
    # And a later step whose rules give an owner writes it
    both = replace(RULES, steps={"email": {"Lead": [strict, lenient]}})
    write = _write(plan_activity(both, EMAIL, PERSON, {strict.name, lenient.name}, NEW))
    assert write.step == lenient and write.fields["OwnerId"] == "005A"


def test_the_activitys_own_owner_comes_before_the_persons() -> None:
    rules = replace(RULES, settings=IntegrationSettings(
        owner_mappings=(*MAPPED, OwnerMapping("005B", "m-2"))))
    write = _write(plan_activity(rules, replace(EMAIL, owner="m-2"), PERSON, EVERY_STEP, NEW))
    assert write.fields["OwnerId"] == "005B"


def test_without_mappings_no_owner_is_sent_and_the_crm_assigns_one() -> None:
    rules = replace(RULES, settings=IntegrationSettings())
    write = _write(plan_activity(rules, EMAIL, PERSON, EVERY_STEP, NEW))
    assert "OwnerId" not in write.fields and write.auto_assign


def test_a_task_already_created_keeps_the_owner_the_person_got_by_default() -> None:
    # Given a person whose owner is no one's decision, and their email's Task created
    by_default = replace(PERSON, owner_by_default=True)
    created = replace(NEW, crm_record="00T1")
    unowned = replace(EMAIL, owner=None)
    # Then its update sends no owner; a create still does
    update = _write(plan_activity(RULES, unowned, by_default, EVERY_STEP, created))
    create = _write(plan_activity(RULES, unowned, by_default, EVERY_STEP, NEW))
    assert "OwnerId" not in update.fields and create.fields["OwnerId"] == "005A"


def test_an_update_sends_no_field_only_a_create_may_set_but_records_them() -> None:
    created = TaskMirror("k-1", crm_record="00T1", written_hash="an older write")
    write = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP, created))
    assert (write.action, write.crm_id) == ("update", "00T1")
    assert "TaskSubtype" not in write.fields and write.content["TaskSubtype"] == "Email"
    assert write.fields == updatable("Task", write.content)


def test_what_the_crm_holds_already_is_nothing_to_do_and_releases_the_bodies() -> None:
    # Given the Task written with exactly what the email gives now
    first = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP, NEW))
    written = TaskMirror("k-1", "00T1", content_hash(first.content), normalise(first.content))
    # When it is planned again, Then nothing goes
    assert plan_activity(RULES, EMAIL, PERSON, EVERY_STEP, written) == NothingToDo(
        release_held=True)


def test_a_long_subject_is_cut_to_the_crm_length_and_noted() -> None:
    rules = replace(RULES, lengths={"Subject": 3, "Description": 255})
    write = _write(plan_activity(rules, EMAIL, PERSON, EVERY_STEP, NEW))
    assert write.fields["Subject"] == "Hel"
    assert write.notes == ("email e-1: Subject truncated to 3 characters",)


def test_a_write_that_may_have_landed_is_unsure() -> None:
    # An intent without a result, or a create that failed: the CRM may hold it
    pending = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP,
                                   replace(NEW, pending=True)))
    failed_create = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP,
                                         replace(NEW, failed=True)))
    # An update that failed did not create anything
    failed_update = _write(plan_activity(RULES, EMAIL, PERSON, EVERY_STEP,
                                         TaskMirror("k-1", "00T1", failed=True)))
    assert pending.unsure and failed_create.unsure and not failed_update.unsure


HELD = replace(EMAIL, details={"subject": "Hello", "body": marker("Hi Ada")})
DIGEST_TEXT = f"sha256:{body_digest('Hi Ada')}"
WITH_CONTENTS = replace(RULES, steps={"email": {"Lead": [replace(LEAD_TASKS,
                                                                 include_contents=True)]}})


def test_a_held_body_is_recorded_as_its_digest_and_sent_in_its_place() -> None:
    # Given a body the log holds only as its digest, and the body held outside the log
    held = replace(HELD, bodies={body_digest("Hi Ada"): "Hi Ada"})
    # When the email is planned
    write = _write(plan_activity(WITH_CONTENTS, held, PERSON, EVERY_STEP, NEW))
    # Then the intent records the digest, and the body goes in its place
    assert write.content["Description"] == DIGEST_TEXT == write.fields["Description"]
    assert write.held_fields == {"Description": "Hi Ada"}


def test_a_held_body_is_cut_as_it_is_sent() -> None:
    held = replace(HELD, bodies={body_digest("Hi Ada"): "Hi Ada"})
    rules = replace(WITH_CONTENTS, lengths={"Description": 2})
    write = _write(plan_activity(rules, held, PERSON, EVERY_STEP, NEW))
    assert write.held_fields == {"Description": "Hi"}
    assert write.content["Description"] == DIGEST_TEXT
    assert write.notes == ("email e-1: Description truncated to 2 characters",)


def test_a_body_no_longer_held_goes_without_it_and_a_create_notes_it() -> None:
    write = _write(plan_activity(WITH_CONTENTS, HELD, PERSON, EVERY_STEP, NEW))
    assert write.content["Description"] == DIGEST_TEXT
    assert write.held_fields == {"Description": None}  # not sent
    assert write.notes == ("email e-1: its body is no longer held, so Description went "
                           "without it",)


def test_an_update_without_a_body_the_crm_accepted_already_notes_nothing() -> None:
    # Given the Task written with this body, and the owner changed since
    first = _write(plan_activity(WITH_CONTENTS, replace(
        HELD, bodies={body_digest("Hi Ada"): "Hi Ada"}), PERSON, EVERY_STEP, NEW))
    written = TaskMirror("k-1", "00T1", content_hash(first.content), normalise(first.content))
    rules = replace(WITH_CONTENTS, settings=IntegrationSettings(
        owner_mappings=(OwnerMapping("005B", "m-1"),)))
    # When the body is no longer held
    write = _write(plan_activity(rules, HELD, PERSON, EVERY_STEP, written))
    # Then the update goes without it, the CRM keeping its own, and nothing is noted
    assert write.action == "update" and write.fields["OwnerId"] == "005B"
    assert write.held_fields == {"Description": None} and write.notes == ()


def test_a_task_without_the_key_field_is_found_by_its_natural_key() -> None:
    fields = {"WhoId": "00Q000000000001AAA", "Subject": "Hello",
              "ActivityDate": "2024-03-01"}
    # The 15 characters both id forms share, the subject as SOQL compares it, the date
    assert task_natural_key(fields) == ("00Q000000000001", "hello", "2024-03-01")
    assert task_natural_key({"WhoId": "00Q000000000001", "Subject": "HELLO",
                             "ActivityDate": "2024-03-01"}) == task_natural_key(fields)
    assert task_lookup(fields)["ActivityDate"] == datetime(2024, 3, 1).date()
    assert task_lookup({**fields, "ActivityDate": "soon"})["ActivityDate"] == "soon"
