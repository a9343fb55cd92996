"""Given/when/then for the claim, mirror, activity, cursor, lease and run aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from syncledger.domain.app_records import Activity, TeamMember
from syncledger.domain.context import Context
from syncledger.domain.crm_record import Contact, Lead
from syncledger.domain.email_claim import EmailClaim, EmailTaken
from syncledger.domain.ids import activity_id, app_person_id, crm_record_id, email_claim_id
from syncledger.domain.integration import Integration, IntegrationError
from syncledger.domain.ledger import GENESIS, chain, covered_digest
from syncledger.domain.run_lease import RunLease
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.sync_run import SyncRun, empty_counts
from syncledger.domain.task import Task

CTX = Context(cause="run:r1", actor="system")
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def names(aggregate: object) -> list[str]:
    return [type(e).__qualname__ for e in aggregate.collect_events()]  # type: ignore[attr-defined]


def test_an_email_claim_is_per_lowercased_email_and_refuses_a_second_holder() -> None:
    first, second = uuid4(), uuid4()
    claim = EmailClaim.claim("app", "Ada@Example.com", first, CTX)
    assert claim.id == email_claim_id("app", "ada@example.com")
    with pytest.raises(EmailTaken):
        claim.take(second, CTX)
    claim.release(first, CTX)
    claim.take(second, CTX)
    assert claim.holder == second


def test_mirror_ids_include_the_org_because_sandboxes_copy_record_ids() -> None:
    production = crm_record_id("salesforce", "00D1", "Contact", "003A")
    sandbox = crm_record_id("salesforce", "00D2", "Contact", "003A")
    assert production != sandbox


def test_an_unchanged_observation_records_nothing_and_events_name_their_object() -> None:
    contact = Contact.discover("salesforce", "00D1", "003A", CTX)
    assert names(contact) == ["Contact.Discovered"]  # saved before it is observed
    assert contact.observe({"Email": " Ada@Example.com", "LastName": "L"}, "t1", "005A", CTX)
    assert not contact.observe({"Email": "ada@example.com", "LastName": "L "}, "t2", "005A",
                               CTX)
    assert names(contact) == ["Contact.Observed"]


def test_an_owner_change_alone_is_observed() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.observe({"LastName": "L"}, "t1", "005A", CTX)
    assert lead.observe({"LastName": "L"}, "t2", "005B", CTX)


def test_our_own_write_coming_back_is_an_echo() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.request_write("k1", "update", {"Email": "ada@example.com", "LastName": "L"}, CTX)
    lead.record_written("00QA", CTX)
    assert lead.is_echo({"Email": "ADA@example.com ", "LastName": "L", "Other": 1})
    assert not lead.is_echo({"Email": "ada@example.com", "LastName": "M"})


def test_a_converted_lead_is_never_written() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.mark_converted("003A", "001A", CTX)
    with pytest.raises(ValueError, match="converted"):
        lead.request_write("k1", "update", {"LastName": "L"}, CTX)


def test_a_failed_write_keeps_the_crm_error_and_whether_a_retry_helps() -> None:
    lead = Lead.discover("salesforce", "00D1", "00QA", CTX)
    lead.request_write("k1", "create", {"LastName": "L"}, CTX)
    lead.record_write_failed("REQUIRED_FIELD_MISSING", "Company", False, CTX)
    assert lead.last_error == {"code": "REQUIRED_FIELD_MISSING", "message": "Company",
                               "retryable": False}
    with pytest.raises(ValueError, match="no write"):
        lead.record_written("00QA", CTX)


def test_a_task_is_not_rewritten_when_the_crm_already_holds_the_same_content() -> None:
    task = Task.plan("salesforce", "00D1", uuid4(), uuid4(), CTX)
    assert task.request_write({"Subject": "Hi"}, CTX)
    task.record_written("00TA", CTX)
    assert not task.request_write({"Subject": "Hi"}, CTX)
    assert task.request_write({"Subject": "Hello"}, CTX)


def test_app_records_change_last_writer_wins() -> None:
    member = TeamMember.record("tm-alice", {"name": "Alice"}, T0, CTX)
    assert not member.change({"name": "Old"}, T0 - timedelta(days=1), CTX)
    assert member.change({"name": "Alice B."}, T0 + timedelta(days=1), CTX)
    assert member.attributes["name"] == "Alice B."


def test_an_activity_is_keyed_by_kind_and_id_and_covered_by_its_persons_key() -> None:
    subject = app_person_id("p-1")
    email = Activity.record("email", "e-1", "p-1", subject, "tm-alice", {"subject": "Hi"}, T0,
                            CTX)
    assert email.id == activity_id("email", "e-1")
    assert not email.change(subject, "tm-alice", {"subject": "Hi"}, T0, CTX)
    assert email.change(subject, "tm-alice", {"subject": "Hello"}, T0, CTX)
    # After its person was forgotten and imported again, everything is recorded afresh.
    assert email.change(uuid4(), "tm-alice", {"subject": "Hello"}, T0, CTX)
    assert email.details == {"subject": "Hello"}


def test_an_integration_refuses_an_unknown_profile_and_records_only_changes() -> None:
    integration = Integration.start("salesforce", CTX)
    with pytest.raises(IntegrationError, match="unknown profile"):
        integration.use_profile("fancy", CTX)
    integration.use_profile("default", CTX)
    integration.switch_step("Contacts to People", False, CTX)
    integration.switch_step("Contacts to People", False, CTX)
    assert names(integration) == ["Integration.Created", "Integration.StepSwitched"]


def test_reconnecting_another_org_is_reported() -> None:
    integration = Integration.start("salesforce", CTX)
    assert not integration.connect("00D1", "production", "https://a", "005A", [], CTX)
    assert not integration.connect("00D1", "production", "https://a", "005A", [], CTX)
    assert integration.connect("00D2", "production", "https://a", "005A", [], CTX)
    assert names(integration) == ["Integration.Created", "Integration.Connected",
                                  "Integration.Connected"]


def test_a_step_cursor_only_moves_forward() -> None:
    cursor = StepCursor.open("salesforce", "Contacts to People", CTX)
    cursor.advance_inbound("2026-11-01T10:00:00Z", "003B", CTX)
    cursor.advance_inbound("2026-11-01T10:00:00Z", "003A", CTX)
    cursor.advance_outbound(5, CTX)
    cursor.advance_outbound(3, CTX)
    assert cursor.watermark == ("2026-11-01T10:00:00Z", "003B")
    assert cursor.position == 5


def test_a_run_started_while_another_is_current_closes_that_one_as_interrupted() -> None:
    """The starter holds the run lock, so a run still current then is dead, however
    recently it started."""
    lease = RunLease.open("salesforce", CTX)
    assert lease.start("r1", CTX) is None
    assert lease.start("r2", CTX) == "r1"
    assert names(lease)[-2:] == ["RunLease.SyncRunInterrupted", "RunLease.SyncRunStarted"]
    lease.finish("r1", CTX)  # the dead one's end changes nothing
    assert lease.current == "r2"
    lease.finish("r2", CTX)
    assert lease.current is None
    assert lease.start("r3", CTX) is None


def test_a_run_with_failures_is_partial_and_cannot_finish_twice() -> None:
    run = SyncRun.begin("r1", "salesforce", ["Contacts to People"], T0, CTX)
    counts = empty_counts()
    counts["contacts"]["failed"] = 1
    run.finish(counts, {}, [], False, T0, CTX)
    assert run.outcome == "partial"
    with pytest.raises(RuntimeError, match="already ended"):
        run.finish(counts, {}, [], False, T0, CTX)


def test_the_seal_hash_covers_every_byte_and_the_order() -> None:
    a = (uuid4(), 1, "topic", b"state")
    b = (uuid4(), 1, "topic", b"other")
    assert covered_digest([a, b]) != covered_digest([b, a])
    assert covered_digest([a]) != covered_digest([(a[0], 1, "topic", b"statf")])
    assert chain(GENESIS, covered_digest([a])) != chain("1" * 64, covered_digest([a]))
